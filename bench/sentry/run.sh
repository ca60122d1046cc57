#!/usr/bin/env bash
# Sentry ingress benchmark (not a test: it asserts nothing, it measures and reports).
#
# In one run, on 127.0.0.1 only, a bare ASP.NET Core endpoint (bench/BareEndpoint, POST
# /api/{project}/envelope/: reads the body, answers 200) is the baseline, and two phases follow:
#
#   1. ingress-only (the production shape: the ingress is its own Deployment and only publishes to its Dapr
#      sidecar): the host runs as --services sentry-ingress --transport dapr against the tests' daprd double
#      (bench/DaprSidecar hosting tests/CloudProxy.Tests.Common/Dapr/DaprSidecarDouble, rebuilt from daprd's source,
#      configured from components/ and dapr.yaml) over a real redis-server: every publish is wrapped in a CloudEvent
#      and XADDed to the stream as daprd does. The sink count is Redis' own entries-added of the 'sentry' stream.
#      Reports the host/bare ratio, the share of accepted envelopes that reached the stream, peak RSS.
#   2. embedded (end-to-end delivery): an HTTP counter (bench/HttpCounter) stands in for an upstream Sentry
#      that keeps up, and the host (embedded transport, --services sentry-ingress,sentry-forwarder) validates,
#      spools AND forwards every envelope to it over HTTP in one process on the same cores.
#      Reports the host/bare ratio, the share of accepted envelopes (the host's ogre_put_to_queue_total) that
#      reached the counter, peak RSS (VmHWM), and the spool: the counter is stopped, the host loaded for
#      SPOOL_DURATION, the spool depth read, the counter started again and the time until every accepted
#      envelope arrived measured.
#
# In each phase wrk loads host and bare ALTERNATELY with a ~1.8 KB envelope (same connections, same
# duration, order swapped every round). Only one host runs at a time.
# Results: bench/results/sentry-<date>.md (also printed).
#
# Environment (defaults in brackets):
#   ROUNDS [3]  DURATION [10s]  WARMUP [15s]  CONNECTIONS [64]  THREADS [2]  SPOOL_DURATION [10s]
#   BENCH_SKIP_BUILD [0] 1 = use the existing Release build     HOST_ARGS []  extra cloudproxy arguments
#   PHASES [ingress,embedded]  which phases to run
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd)"

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
# The host has far more code than the bare endpoint to tier up: in a 5 s warm-up the JIT's tiering thread still
# took ~19% of the host's CPU samples over the next 10 s (3% after 25 s), so the warm-up is longer than elsewhere.
WARMUP="${WARMUP:-15s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
SPOOL_DURATION="${SPOOL_DURATION:-10s}"
PHASES="${PHASES:-ingress,embedded}"
has_phase() { case ",$PHASES," in *",$1,"*) return 0;; *) return 1;; esac; }

. bench/lib.sh

need_tools wrk:wrk

build_release bench/HttpCounter bench/BareEndpoint bench/DaprSidecar src/CloudProxy.Host
counter_bin="bench/HttpCounter/bin/Release/net10.0/HttpCounter.dll"
bare_bin="bench/BareEndpoint/bin/Release/net10.0/BareEndpoint.dll"
host_bin="src/CloudProxy.Host/bin/Release/net10.0/cloudproxy.dll"
sidecar_bin="bench/DaprSidecar/bin/Release/net10.0/DaprSidecar.dll"

load_start="$(cut -d' ' -f1-3 /proc/loadavg)"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; } # utime + stime of a process
clk_tck="$(getconf CLK_TCK)"
: > "$tmp/cpu.jsonl"
: > "$tmp/results.jsonl"
: > "$tmp/phases.jsonl"
run_wrk() { # label url duration
  local out="$tmp/wrk-$1.txt"
  timeout $(( $(secs "$3") + 60 )) wrk -t"$THREADS" -c"$CONNECTIONS" -d"$3" -s bench/sentry/envelope.lua "$2" > "$out" 2>&1 \
    || die "wrk failed for $1: $(tail -5 "$out")"
  local json; json="$(sed -n 's/^WRK_JSON //p' "$out")"
  [ -n "$json" ] || die "wrk printed no summary for $1: $(tail -5 "$out")"
  printf '{"label":"%s",%s\n' "$1" "${json#\{}" >> "$tmp/results.jsonl"
}
url_of() { if [ "$1" = host ]; then echo "http://127.0.0.1:$host_port/api/42/envelope/"; else echo "http://127.0.0.1:$bare_port/api/42/envelope/"; fi; }
metric() { # sum of every sample of a metric on the host's /metrics (0 when absent)
  curl -sf "http://127.0.0.1:$host_port/metrics" | awk -v n="$1" '
    $1 == n || index($1, n "{") == 1 { sum += $NF } END { printf "%.0f\n", sum }'
}
# The phase's sink: the upstream counter (embedded) or the Redis stream behind the sidecar double (ingress-only); a function that
# prints how many envelopes it has, and its pid for the CPU table.
sink_count=
sink_pid=
drained() { # waits until the sink has every accepted envelope or holds still for 5 s (at most $1 s)
  local want last now stable=0 deadline=$((SECONDS + $1))
  want="$(metric ogre_put_to_queue_total)"; last="$($sink_count)"
  while [ "$last" -lt "$want" ] && [ "$stable" -lt 5 ] && [ "$SECONDS" -lt "$deadline" ]; do
    sleep 1; now="$($sink_count)"
    if [ "$now" = "$last" ]; then stable=$((stable + 1)); else stable=0; last="$now"; fi
  done
  echo "$last"
}
alternate() { # phase: warm-up, then ROUNDS rounds of host and bare in alternating order
  say "$1: warm-up ($WARMUP each)"
  for t in host bare; do run_wrk "$1-warmup-$t" "$(url_of "$t")" "$WARMUP"; done
  for r in $(seq 1 "$ROUNDS"); do
    order=(host bare)
    [ $((r % 2)) -eq 0 ] && order=(bare host)
    for t in "${order[@]}"; do
      say "$1 round $r/$ROUNDS: $t, $DURATION, $CONNECTIONS connections"
      h0="$(cpu_ticks "$host_pid")"; s0="$(cpu_ticks "$sink_pid")"; b0="$(cpu_ticks "$bare_pid")"
      run_wrk "$1-round-$t-$r" "$(url_of "$t")" "$DURATION"
      # CPU seconds each server used during the round: shows where the host's cycles went (its own work vs
      # the sink it publishes or forwards to, which shares the same two cores only in this benchmark).
      printf '{"label":"%s-round-%s-%s","host":%s,"sink":%s,"bare":%s}\n' "$1" "$t" "$r" \
        "$(( $(cpu_ticks "$host_pid") - h0 ))" "$(( $(cpu_ticks "$sink_pid") - s0 ))" "$(( $(cpu_ticks "$bare_pid") - b0 ))" >> "$tmp/cpu.jsonl"
    done
  done
}
stop_host() { kill "$host_pid"; wait "$host_pid" 2>/dev/null || true; }

bare_port="$(free_port)"
say "starting bare endpoint on 127.0.0.1:$bare_port"
dotnet "$bare_bin" --urls "http://127.0.0.1:$bare_port" > "$tmp/bare.log" 2>&1 &
bare_pid=$!; pids+=("$bare_pid")
wait_http "http://127.0.0.1:$bare_port/heartbeat" bare "$bare_pid"

# ---- phase 1: ingress-only, publishing to the daprd double over a real redis-server -----------------------
if has_phase ingress; then
  sidecar_http_port="$(free_port)"
  say "ingress: starting redis-server and the daprd double (bench/DaprSidecar), control on 127.0.0.1:$sidecar_http_port"
  dotnet "$sidecar_bin" --http-port "$sidecar_http_port" --apps sentry-ingress > "$tmp/sidecar.log" 2>&1 &
  sidecar_pid=$!; pids+=("$sidecar_pid")
  wait_http "http://127.0.0.1:$sidecar_http_port/_sidecars" sidecar "$sidecar_pid"
  sidecar_endpoint="$(curl -sf "http://127.0.0.1:$sidecar_http_port/_sidecars" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sentry-ingress"])')"
  sidecar_count() { curl -sf "http://127.0.0.1:$sidecar_http_port/_count?topic=sentry" | sed -n 's/.*"entries_added":\([0-9]*\).*/\1/p'; }
  sink_count=sidecar_count; sink_pid="$sidecar_pid"

  host_port="$(free_port)"
  say "ingress: starting cloudproxy --services sentry-ingress --transport dapr on 127.0.0.1:$host_port"
  # The publisher resolves the sidecar as the Dapr SDK does: DAPR_GRPC_ENDPOINT first (here the double's, on 127.0.0.1).
  # shellcheck disable=SC2086 # HOST_ARGS is a list of arguments
  dotnet "$host_bin" --urls "http://127.0.0.1:$host_port" --services sentry-ingress --transport dapr \
    --DAPR_GRPC_ENDPOINT="$sidecar_endpoint" --DAPR_HTTP_ENDPOINT="$sidecar_endpoint" \
    --CloudProxy:Spool:Path="$tmp/spool-ingress" --Logging:LogLevel:Default=Warning \
    ${HOST_ARGS:-} > "$tmp/host-ingress.log" 2>&1 &
  host_pid=$!; pids+=("$host_pid")
  wait_http "http://127.0.0.1:$host_port/healthz" host-ingress "$host_pid"

  alternate ingress
  say "ingress: waiting for the publisher to hand everything accepted to the sidecar"
  ing_accepted="$(metric ogre_put_to_queue_total)"
  drain_start=$SECONDS
  ing_published="$(drained 120)"
  printf '{"phase":"ingress","accepted":%s,"delivered":%s,"drain_secs":%s,"publish_errors":%s,"spool_left":%s,"host_hwm":%s,"sink_hwm":%s,"bare_hwm":%s}\n' \
    "$ing_accepted" "$ing_published" "$((SECONDS - drain_start))" "$(metric cloudproxy_dapr_publish_errors_total)" \
    "$(metric cloudproxy_core_spool_envelopes)" "$(hwm "$host_pid")" "$(hwm "$sidecar_pid")" "$(hwm "$bare_pid")" >> "$tmp/phases.jsonl"
  grep -q '^fail\|^crit' "$tmp/host-ingress.log" && say "ingress host logged errors: $(grep -c '^fail\|^crit' "$tmp/host-ingress.log")"
  stop_host
  kill "$sidecar_pid"; wait "$sidecar_pid" 2>/dev/null || true
fi

# ---- phase 2: embedded, ingress and forwarder in one process, delivering to an upstream counter --------
if has_phase embedded; then
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

  say "embedded: starting upstream counter on 127.0.0.1:$counter_port"
  start_counter
  sink_count=delivered; sink_pid="$counter_pid"

  host_port="$(free_port)"
  say "embedded: starting cloudproxy on 127.0.0.1:$host_port (upstream http://127.0.0.1:$counter_port)"
  # shellcheck disable=SC2086 # HOST_ARGS is a list of arguments
  dotnet "$host_bin" --urls "http://127.0.0.1:$host_port" --services sentry-ingress,sentry-forwarder \
    --pusher.sentry.host "http://127.0.0.1:$counter_port" \
    --CloudProxy:Spool:Path="$tmp/spool" --Logging:LogLevel:Default=Warning \
    ${HOST_ARGS:-} > "$tmp/host.log" 2>&1 &
  host_pid=$!; pids+=("$host_pid")
  wait_http "http://127.0.0.1:$host_port/healthz" host "$host_pid"

  alternate embedded

  say "embedded: waiting for the forwarder to deliver everything accepted"
  accepted="$(metric ogre_put_to_queue_total)"
  drain_start=$SECONDS
  delivered_ok="$(drained 120)"
  drain_secs=$((SECONDS - drain_start))
  forwarded_failed="$(metric ogre_sentry_failed_request_total)"

  say "embedded spool: stopping the upstream and loading the host for $SPOOL_DURATION"
  delivered_before_restart="$(delivered)"
  stop_counter
  spool_accepted_before="$(metric ogre_put_to_queue_total)"
  run_wrk "embedded-spool-host" "$(url_of host)" "$SPOOL_DURATION"
  spool_accepted=$(( $(metric ogre_put_to_queue_total) - spool_accepted_before ))
  spool_envelopes="$(metric cloudproxy_core_spool_envelopes)"
  spool_bytes="$(metric cloudproxy_core_spool_bytes)"
  spool_refused="$(metric cloudproxy_core_envelopes_refused_total)"
  say "embedded spool holds $spool_envelopes envelopes; starting the upstream again"
  restart_at=$SECONDS
  start_counter
  spool_delivered="$(drained 180)"
  spool_drain_secs=$((SECONDS - restart_at))
  total_accepted="$(metric ogre_put_to_queue_total)"
  spool_left="$(metric cloudproxy_core_spool_envelopes)"
  printf '{"phase":"embedded","accepted":%s,"delivered":%s,"drain_secs":%s,"failed":%s,"spool_accepted":%s,"spool_envelopes":%s,"spool_bytes":%s,"spool_refused":%s,"spool_delivered":%s,"spool_drain_secs":%s,"total_accepted":%s,"spool_left":%s,"host_hwm":%s,"sink_hwm":%s,"bare_hwm":%s}\n' \
    "$accepted" "$delivered_ok" "$drain_secs" "$forwarded_failed" "$spool_accepted" "$spool_envelopes" "$spool_bytes" \
    "$spool_refused" "$spool_delivered" "$spool_drain_secs" "$total_accepted" "$spool_left" \
    "$(hwm "$host_pid")" "$(hwm "$counter_pid")" "$(hwm "$bare_pid")" >> "$tmp/phases.jsonl"
fi

load_end="$(cut -d' ' -f1-3 /proc/loadavg)"

mkdir -p bench/results
report="bench/results/sentry-$(date -u +%Y-%m-%d).md"
n=2; while [ -e "$report" ]; do report="bench/results/sentry-$(date -u +%Y-%m-%d)-$n.md"; n=$((n + 1)); done

python3 - "$tmp/results.jsonl" "$report" "$tmp/cpu.jsonl" "$tmp/phases.jsonl" <<PY
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
cpu = {c["label"]: c for c in (json.loads(l) for l in open(sys.argv[3]) if l.strip())}
phases = {p["phase"]: p for p in (json.loads(l) for l in open(sys.argv[4]) if l.strip())}
tck = float("$clk_tck")
by = {r["label"]: r for r in rows}
okps = lambda r: r["ok"] / (r["duration_us"] / 1e6)
rounds = int("$ROUNDS")
mib = lambda kb: f"{int(kb) / 1024:,.0f} MiB"
share = lambda a, b: f"{(a / b if b else 0):.2%}"
L = []; w = L.append
summary = []
w("# Sentry ingress benchmark, $(date -u +'%Y-%m-%d %H:%M') UTC")
w("")
w("Commit \`$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)\`$(git -C "$repo" diff --quiet 2>/dev/null || echo ' (with local changes)'), "
  "$(nproc) cores, $(free -g | awk '/^Mem:/ { print $2 }') GiB, $(dotnet --version) SDK. wrk $THREADS threads; load generator, "
  "host, its sink and the baseline share the machine. Load average at start $load_start, at end $load_end.")
w("")
first = next(iter(phases), None)
body = by[f"{first}-warmup-host"]["body_bytes"] if first else 0
w(f"Envelope: POST /api/42/envelope/, {body} bytes, X-Sentry-Auth, $CONNECTIONS connections, $DURATION per run, "
  "host and bare endpoint loaded alternately (order swapped every round). The bare endpoint only reads the body. "
  "Rates count 200 responses only.")

def rounds_table(phase, sink_name):
    w("")
    w("| round | host req/s | bare req/s | host/bare | host p99 ms | bare p99 ms | host non-200 | bare non-200 |")
    w("|---|---|---|---|---|---|---|---|")
    ratios, hs, bs = [], [], []
    for i in range(1, rounds + 1):
        h, b = by[f"{phase}-round-host-{i}"], by[f"{phase}-round-bare-{i}"]
        hs.append(okps(h)); bs.append(okps(b)); ratios.append(okps(h) / okps(b) if okps(b) else 0)
        w(f"| {i} | {okps(h):,.0f} | {okps(b):,.0f} | {ratios[-1]:.3f} | {h['p99_us']/1000:.1f} | {b['p99_us']/1000:.1f} | {h['not_ok']} | {b['not_ok']} |")
    w("")
    w(f"CPU seconds used during each round, and 200 responses per CPU second of the server that answered (the host's own process;")
    w(f"the {sink_name}'s share is what publishing/forwarding costs the machine in this setup):")
    w("")
    w(f"| round | host CPU-s | {sink_name} CPU-s | bare CPU-s | host req per host CPU-s | bare req per bare CPU-s | ratio |")
    w("|---|---|---|---|---|---|---|")
    eff = []
    for i in range(1, rounds + 1):
        h, b = cpu.get(f"{phase}-round-host-{i}"), cpu.get(f"{phase}-round-bare-{i}")
        if not h or not b:
            continue
        hc, sc, bc = h["host"] / tck, h["sink"] / tck, b["bare"] / tck
        he = by[f"{phase}-round-host-{i}"]["ok"] / hc if hc else 0
        be = by[f"{phase}-round-bare-{i}"]["ok"] / bc if bc else 0
        eff.append(he / be if be else 0)
        w(f"| {i} | {hc:.1f} | {sc:.1f} | {bc:.1f} | {he:,.0f} | {be:,.0f} | {eff[-1]:.3f} |")
    med = statistics.median(ratios)
    line = (f"host {statistics.median(hs):,.0f} req/s, bare {statistics.median(bs):,.0f} req/s, ratio {med:.3f} "
            f"(median of per-round ratios; target >= 0.8: {'met' if med >= 0.8 else 'NOT met'})")
    effline = f"CPU efficiency (host req per host CPU-s / bare req per bare CPU-s): {statistics.median(eff):.3f}" if eff else ""
    return line, effline

if "ingress" in phases:
    p = phases["ingress"]
    w("")
    w("## Phase 1: ingress-only (production shape), \`--services sentry-ingress --transport dapr\`")
    w("")
    w("The host validates, answers and spools every envelope, and its publisher hands them to the tests' daprd double")
    w("(bench/DaprSidecar: DaprSidecarDouble, rebuilt from daprd's source and configured from components/ and dapr.yaml, over a")
    w("real redis-server: CloudEvent wrapping and XADD per entry, on the same cores). No forwarding happens in this process,")
    w("as in the ingress Deployment.")
    line, effline = rounds_table("ingress", "sidecar double")
    summary.append(f"- **ingress-only** throughput: {line}")
    if effline:
        summary.append(f"  - {effline}")
    summary.append(f"  - published share: Redis counted {int(p['delivered']):,} entries added to the 'sentry' stream of {int(p['accepted']):,} accepted envelopes "
                   f"({share(int(p['delivered']), int(p['accepted']))}) {p['drain_secs']} s after the load stopped; publish errors {int(p['publish_errors']):,}, "
                   f"spool left {int(p['spool_left']):,}")
    summary.append(f"  - peak RSS (VmHWM): host {mib(p['host_hwm'])}, sidecar double {mib(p['sink_hwm'])} (redis-server not counted), bare {mib(p['bare_hwm'])}")

if "embedded" in phases:
    p = phases["embedded"]
    w("")
    w("## Phase 2: embedded, \`--services sentry-ingress,sentry-forwarder\` (end-to-end delivery)")
    w("")
    w("The host validates, answers, spools AND forwards every envelope over HTTP to an upstream counter (bench/HttpCounter),")
    w("in one process on the same 2 cores: forwarding costs about as much CPU as serving, so this ratio is not the")
    w("ingress target's shape; it shows that everything accepted is delivered.")
    line, effline = rounds_table("embedded", "upstream counter")
    summary.append(f"- **embedded** throughput: {line}")
    if effline:
        summary.append(f"  - {effline}")
    acc, dlv = int(p["accepted"]), int(p["delivered"])
    summary.append(f"  - delivered share at a fast upstream: {dlv:,} of {acc:,} accepted envelopes reached it ({share(dlv, acc)}), "
                   f"{p['drain_secs']} s after the load stopped; failed upstream requests: {int(p['failed']):,}")
    summary.append(f"  - spool with the upstream stopped for $SPOOL_DURATION of load: {int(p['spool_accepted']):,} envelopes accepted meanwhile "
                   f"(non-200 answers: {by['embedded-spool-host']['not_ok']:,}), spool at the end of the load: {int(p['spool_envelopes']):,} envelopes, "
                   f"{int(p['spool_bytes']) / 1048576:,.1f} MiB; refused (spool full): {int(p['spool_refused']):,}")
    total, sdlv = int(p["total_accepted"]), int(p["spool_delivered"])
    summary.append(f"  - after the upstream came back: {sdlv:,} of {total:,} accepted envelopes delivered in total "
                   f"({share(sdlv, total)}) within {p['spool_drain_secs']} s; spool left: {int(p['spool_left']):,}")
    summary.append(f"  - peak RSS (VmHWM): host {mib(p['host_hwm'])}, upstream counter {mib(p['sink_hwm'])}, bare {mib(p['bare_hwm'])}")

w("")
w("## Summary")
w("")
L.extend(summary)
w("")
w("Reproduce: \`bench/sentry/run.sh\` (ROUNDS=$ROUNDS DURATION=$DURATION CONNECTIONS=$CONNECTIONS SPOOL_DURATION=$SPOOL_DURATION PHASES=$PHASES HOST_ARGS=\"${HOST_ARGS:-}\"). "
  "The ratio, measured in the same run with alternating order, is the figure to compare; the ingress-only ratio is the one the issue's target is about.")
open(sys.argv[2], "w").write("\n".join(L) + "\n")
PY

echo
cat "$report"
echo "(written to $report)"
