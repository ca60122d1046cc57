#!/usr/bin/env bash
# Sentry ingress benchmark (not a test: it asserts nothing, it measures and reports).
#
# In one run, on 127.0.0.1 only:
#   - an HTTP counter (bench/HttpCounter) stands in for an upstream Sentry that keeps up,
#   - the cloudproxy host (Release, embedded transport, --services sentry-ingress,sentry-forwarder)
#     forwards to it,
#   - a bare ASP.NET Core endpoint (bench/BareEndpoint, POST /api/{project}/envelope/: reads the body,
#     answers 200) is the baseline,
# then wrk loads host and bare ALTERNATELY with a ~1.8 KB envelope (same connections, same duration,
# order swapped every round). Reports req/s of each and the host/bare ratio, the share of accepted
# envelopes (the host's ogre_put_to_queue_total) that reached the counter, peak RSS (VmHWM), and the
# spool: the counter is stopped, the host loaded for SPOOL_DURATION, the spool depth read, the counter
# started again and the time until every accepted envelope arrived measured.
# Results: bench/results/sentry-<date>.md (also printed).
#
# Environment (defaults in brackets):
#   ROUNDS [3]  DURATION [10s]  WARMUP [5s]  CONNECTIONS [64]  THREADS [2]  SPOOL_DURATION [10s]
#   BENCH_SKIP_BUILD [0] 1 = use the existing Release build     HOST_ARGS []  extra cloudproxy arguments
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd)"

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-5s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
SPOOL_DURATION="${SPOOL_DURATION:-10s}"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

if ! command -v wrk >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || die "wrk is missing; install it with: sudo sh -c 'apt-get update && apt-get install -y wrk'"
  say "installing wrk (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
command -v python3 >/dev/null 2>&1 || die "python3 is needed to read the results"
command -v curl >/dev/null 2>&1 || die "curl is needed to wait for the servers"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 MSBUILDDISABLENODEREUSE=1
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  say "building Release"
  for p in bench/HttpCounter bench/BareEndpoint src/CloudProxy.Host; do
    dotnet build "$p" -c Release -v q -nologo >/dev/null || die "build of $p failed (run: dotnet build $p -c Release)"
  done
fi
counter_bin="bench/HttpCounter/bin/Release/net10.0/HttpCounter.dll"
bare_bin="bench/BareEndpoint/bin/Release/net10.0/BareEndpoint.dll"
host_bin="src/CloudProxy.Host/bin/Release/net10.0/cloudproxy.dll"

load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
tmp="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_http() { # url name pid: up to 30 s
  local deadline=$((SECONDS + 30))
  until curl -sf -o /dev/null "$1"; do
    kill -0 "$3" 2>/dev/null || die "$2 exited during start-up; its log:
$(tail -20 "$tmp/$2.log")"
    [ "$SECONDS" -lt "$deadline" ] || die "$2 did not answer $1 within 30 s"
    sleep 0.2
  done
}

counter_port="$(free_port)"
start_counter() {
  dotnet "$counter_bin" --urls "http://127.0.0.1:$counter_port" >> "$tmp/counter.log" 2>&1 &
  counter_pid=$!; pids+=("$counter_pid")
  wait_http "http://127.0.0.1:$counter_port/_count" counter "$counter_pid"
}
stop_counter() { kill "$counter_pid"; wait "$counter_pid" 2>/dev/null || true; }
# The counter restarts from zero, so deliveries are summed across its lives.
delivered_before_restart=0
delivered() { echo $(( delivered_before_restart + $(curl -sf "http://127.0.0.1:$counter_port/_count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])') )); }

say "starting upstream counter on 127.0.0.1:$counter_port"
start_counter

bare_port="$(free_port)"
say "starting bare endpoint on 127.0.0.1:$bare_port"
dotnet "$bare_bin" --urls "http://127.0.0.1:$bare_port" > "$tmp/bare.log" 2>&1 &
bare_pid=$!; pids+=("$bare_pid")
wait_http "http://127.0.0.1:$bare_port/heartbeat" bare "$bare_pid"

host_port="$(free_port)"
say "starting cloudproxy on 127.0.0.1:$host_port (upstream http://127.0.0.1:$counter_port)"
# shellcheck disable=SC2086 # HOST_ARGS is a list of arguments
dotnet "$host_bin" --urls "http://127.0.0.1:$host_port" --services sentry-ingress,sentry-forwarder \
  --pusher.sentry.host "http://127.0.0.1:$counter_port" \
  --CloudProxy:Spool:Path="$tmp/spool/spool.db" --Logging:LogLevel:Default=Warning \
  ${HOST_ARGS:-} > "$tmp/host.log" 2>&1 &
host_pid=$!; pids+=("$host_pid")
wait_http "http://127.0.0.1:$host_port/healthz" host "$host_pid"

metric() { # sum of every sample of a metric on the host's /metrics (0 when absent)
  curl -sf "http://127.0.0.1:$host_port/metrics" | awk -v n="$1" '
    $1 == n || index($1, n "{") == 1 { sum += $NF } END { printf "%.0f\n", sum }'
}
drained() { # waits until the counter has every accepted envelope or holds still for 5 s (at most $1 s)
  local want last now stable=0 deadline=$((SECONDS + $1))
  want="$(metric ogre_put_to_queue_total)"; last="$(delivered)"
  while [ "$last" -lt "$want" ] && [ "$stable" -lt 5 ] && [ "$SECONDS" -lt "$deadline" ]; do
    sleep 1; now="$(delivered)"
    if [ "$now" = "$last" ]; then stable=$((stable + 1)); else stable=0; last="$now"; fi
  done
  echo "$last"
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; } # utime + stime of a process
clk_tck="$(getconf CLK_TCK)"
: > "$tmp/cpu.jsonl"
secs() { case "$1" in *m) echo $(( ${1%m} * 60 ));; *s) echo "${1%s}";; *) echo "$1";; esac; }
: > "$tmp/results.jsonl"
run_wrk() { # label url duration
  local out="$tmp/wrk-$1.txt"
  timeout $(( $(secs "$3") + 60 )) wrk -t"$THREADS" -c"$CONNECTIONS" -d"$3" -s bench/sentry/envelope.lua "$2" > "$out" 2>&1 \
    || die "wrk failed for $1: $(tail -5 "$out")"
  local json; json="$(sed -n 's/^WRK_JSON //p' "$out")"
  [ -n "$json" ] || die "wrk printed no summary for $1: $(tail -5 "$out")"
  printf '{"label":"%s",%s\n' "$1" "${json#\{}" >> "$tmp/results.jsonl"
}
url_of() { if [ "$1" = host ]; then echo "http://127.0.0.1:$host_port/api/42/envelope/"; else echo "http://127.0.0.1:$bare_port/api/42/envelope/"; fi; }

say "warm-up ($WARMUP each)"
for t in host bare; do run_wrk "warmup-$t" "$(url_of "$t")" "$WARMUP"; done
for r in $(seq 1 "$ROUNDS"); do
  order=(host bare)
  [ $((r % 2)) -eq 0 ] && order=(bare host)
  for t in "${order[@]}"; do
    say "round $r/$ROUNDS: $t, $DURATION, $CONNECTIONS connections"
    h0="$(cpu_ticks "$host_pid")"; c0="$(cpu_ticks "$counter_pid")"; b0="$(cpu_ticks "$bare_pid")"
    run_wrk "round-$t-$r" "$(url_of "$t")" "$DURATION"
    # CPU seconds each server used during the round: shows where the host's cycles went (its own work vs
    # the upstream counter it forwards to, which shares the same two cores only in this benchmark).
    printf '{"label":"round-%s-%s","host":%s,"counter":%s,"bare":%s}\n' "$t" "$r" \
      "$(( $(cpu_ticks "$host_pid") - h0 ))" "$(( $(cpu_ticks "$counter_pid") - c0 ))" "$(( $(cpu_ticks "$bare_pid") - b0 ))" >> "$tmp/cpu.jsonl"
  done
done

say "waiting for the forwarder to deliver everything accepted"
accepted="$(metric ogre_put_to_queue_total)"
drain_start=$SECONDS
delivered_ok="$(drained 120)"
drain_secs=$((SECONDS - drain_start))
forwarded_failed="$(metric ogre_sentry_failed_request_total)"

say "spool: stopping the upstream and loading the host for $SPOOL_DURATION"
delivered_before_restart="$(delivered)"
stop_counter
spool_accepted_before="$(metric ogre_put_to_queue_total)"
run_wrk "spool-host" "$(url_of host)" "$SPOOL_DURATION"
spool_accepted=$(( $(metric ogre_put_to_queue_total) - spool_accepted_before ))
spool_envelopes="$(metric cloudproxy_core_spool_envelopes)"
spool_bytes="$(metric cloudproxy_core_spool_bytes)"
spool_refused="$(metric cloudproxy_core_envelopes_refused_total)"
say "spool holds $spool_envelopes envelopes; starting the upstream again"
restart_at=$SECONDS
start_counter
spool_delivered="$(drained 180)"
spool_drain_secs=$((SECONDS - restart_at))
total_accepted="$(metric ogre_put_to_queue_total)"
spool_left="$(metric cloudproxy_core_spool_envelopes)"

load_end="$(cut -d' ' -f1-3 /proc/loadavg)"
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
host_hwm="$(hwm "$host_pid")"; bare_hwm="$(hwm "$bare_pid")"

mkdir -p bench/results
report="bench/results/sentry-$(date -u +%Y-%m-%d).md"
n=2; while [ -e "$report" ]; do report="bench/results/sentry-$(date -u +%Y-%m-%d)-$n.md"; n=$((n + 1)); done

python3 - "$tmp/results.jsonl" "$report" "$tmp/cpu.jsonl" <<PY
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
cpu = {c["label"]: c for c in (json.loads(l) for l in open(sys.argv[3]) if l.strip())}
tck = float("$clk_tck")
by = {r["label"]: r for r in rows}
okps = lambda r: r["ok"] / (r["duration_us"] / 1e6)
rounds = int("$ROUNDS")
L = []; w = L.append
w("# Sentry ingress benchmark, $(date -u +'%Y-%m-%d %H:%M') UTC")
w("")
w("Commit \`$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)\`$(git -C "$repo" diff --quiet 2>/dev/null || echo ' (with local changes)'), "
  "$(nproc) cores, $(free -g | awk '/^Mem:/ { print $2 }') GiB, $(dotnet --version) SDK. wrk $THREADS threads; load generator, "
  "host, its upstream and the baseline share the machine. Load average at start $load_start, at end $load_end.")
w("")
w(f"## Envelope: POST /api/42/envelope/, {by['warmup-host']['body_bytes']} bytes, X-Sentry-Auth, $CONNECTIONS connections, $DURATION per run")
w("")
w("The host validates, answers and forwards every envelope to the upstream counter in the same process and on the same")
w("2 cores; the bare endpoint only reads the body. Rates count 200 responses only.")
w("")
w("| round | host req/s | bare req/s | host/bare | host p99 ms | bare p99 ms | host non-200 | bare non-200 |")
w("|---|---|---|---|---|---|---|---|")
ratios, hs, bs = [], [], []
for i in range(1, rounds + 1):
    h, b = by[f"round-host-{i}"], by[f"round-bare-{i}"]
    hs.append(okps(h)); bs.append(okps(b)); ratios.append(okps(h) / okps(b) if okps(b) else 0)
    w(f"| {i} | {okps(h):,.0f} | {okps(b):,.0f} | {ratios[-1]:.3f} | {h['p99_us']/1000:.1f} | {b['p99_us']/1000:.1f} | {h['not_ok']} | {b['not_ok']} |")
w("")
w("CPU seconds used by each server during its rounds, and 200 responses per CPU second of the server that answered")
w("(the host's own process; the upstream counter's share is what forwarding costs the machine in this setup):")
w("")
w("| round | host CPU-s | upstream counter CPU-s | bare CPU-s | host req per host CPU-s | bare req per bare CPU-s | ratio |")
w("|---|---|---|---|---|---|---|")
eff = []
for i in range(1, rounds + 1):
    h, b = cpu.get(f"round-host-{i}"), cpu.get(f"round-bare-{i}")
    if not h or not b:
        continue
    hc, cc, bc = h["host"] / tck, h["counter"] / tck, b["bare"] / tck
    he = by[f"round-host-{i}"]["ok"] / hc if hc else 0
    be = by[f"round-bare-{i}"]["ok"] / bc if bc else 0
    eff.append(he / be if be else 0)
    w(f"| {i} | {hc:.1f} | {cc:.1f} | {bc:.1f} | {he:,.0f} | {be:,.0f} | {eff[-1]:.3f} |")
w("")
acc, dlv = int("$accepted"), int("$delivered_ok")
spool_acc, spool_dlv, total = int("$spool_accepted"), int("$spool_delivered"), int("$total_accepted")
med = statistics.median(ratios)
w("## Summary")
w("")
w(f"- throughput: host {statistics.median(hs):,.0f} req/s, bare {statistics.median(bs):,.0f} req/s, ratio {med:.3f} "
  f"(median of per-round ratios; target >= 0.8: {'met' if med >= 0.8 else 'NOT met'})")
if eff:
    w(f"- CPU efficiency: host answers {statistics.median(eff):.3f} as many requests per CPU second of its own process as the bare endpoint "
      "(validation, outbox AND forwarding each envelope over HTTP are all in the host's process)")
w(f"- delivered share at a fast upstream: {dlv:,} of {acc:,} accepted envelopes reached it ({(dlv / acc if acc else 0):.2%}), "
  f"{int('$drain_secs')} s after the load stopped; failed upstream requests: {int('$forwarded_failed'):,}")
w(f"- spool with the upstream stopped for $SPOOL_DURATION of load: {spool_acc:,} envelopes accepted meanwhile "
  f"(non-200 answers: {by['spool-host']['not_ok']:,}), spool at the end of the load: {int('$spool_envelopes'):,} envelopes, "
  f"{int('$spool_bytes') / 1048576:,.1f} MiB; refused (spool full): {int('$spool_refused'):,}")
w(f"- after the upstream came back: {spool_dlv:,} of {total:,} accepted envelopes delivered in total "
  f"({(spool_dlv / total if total else 0):.2%}) within {int('$spool_drain_secs')} s; spool left: {int('$spool_left'):,}")
w(f"- peak RSS (VmHWM): host {int('$host_hwm') / 1024:,.0f} MiB, bare {int('$bare_hwm') / 1024:,.0f} MiB")
w("")
w("Reproduce: \`bench/sentry/run.sh\` (ROUNDS=$ROUNDS DURATION=$DURATION CONNECTIONS=$CONNECTIONS SPOOL_DURATION=$SPOOL_DURATION HOST_ARGS=\"${HOST_ARGS:-}\"). "
  "The ratio, measured in the same run with alternating order, is the figure to compare.")
open(sys.argv[2], "w").write("\n".join(L) + "\n")
PY

echo
cat "$report"
echo "(written to $report)"
