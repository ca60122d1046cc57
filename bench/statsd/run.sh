#!/usr/bin/env bash
# StatsD HTTP benchmark (not a test: it asserts nothing, it measures and reports).
#
# In one run, on 127.0.0.1 only:
#   - a UDP counter (bench/UdpCounter) stands in for the StatsD daemon,
#   - the cloudproxy host (Release, embedded transport) forwards to it,
#   - a bare ASP.NET Core endpoint (bench/BareEndpoint) is the baseline,
# then wrk loads host and bare ALTERNATELY (same connections, same duration, order swapped every
# round) with POST /count/bench.metric, and loads the host's POST /batch with BATCH_LINES StatsD
# lines per request. Reports req/s of each, the host/bare ratio, batch metrics/s, the share of
# accepted metrics that reached the UDP counter, and the host's peak RSS (VmHWM).
# Results: bench/results/statsd-<date>.md (also printed).
#
# Environment (defaults in brackets):
#   ROUNDS [3]  DURATION [10s]  WARMUP [5s]  CONNECTIONS [64]  THREADS [2]
#   BATCH_ROUNDS [3]  BATCH_LINES [500]  BATCH_CONNECTIONS [CONNECTIONS]
#   BENCH_SKIP_HOST [0]  1 = load the bare endpoint only (to try the script without the host)
#   BENCH_SKIP_BUILD [0] 1 = use the existing Release build
#   HOST_ARGS []         extra arguments for cloudproxy
#   GUARD_ROUNDS [3]     issue 16: single-metric rounds alternating the host with a second host that runs the
#                        flood limits (per client IP, rate high enough to refuse nothing) and the cardinality
#                        guard (MaxNamesPerPrefix, MaxPrefixes) on; 0 skips the phase. GUARD_ARGS overrides them.
#   GUARD_WARMUP [15s]   warm-up of that second host (it starts cold, the first is warm from the phases before)
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd)"

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-5s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
BATCH_ROUNDS="${BATCH_ROUNDS:-3}"
BATCH_LINES="${BATCH_LINES:-500}"
BATCH_CONNECTIONS="${BATCH_CONNECTIONS:-$CONNECTIONS}"
BENCH_SKIP_HOST="${BENCH_SKIP_HOST:-0}"
GUARD_ROUNDS="${GUARD_ROUNDS:-3}"
GUARD_WARMUP="${GUARD_WARMUP:-15s}" # the second host starts cold while the first is warm from every phase before
GUARD_ARGS="${GUARD_ARGS:---statsd-client-rps 1e9 --CloudProxy:StatsD:Ingress:ClientBurst=1e9 --statsd-max-names-per-prefix 10000 --CloudProxy:StatsD:Ingress:MaxPrefixes=10000}"
export BATCH_LINES

. bench/lib.sh

# ---------------------------------------------------------------------------------------------
# Tools and builds
# ---------------------------------------------------------------------------------------------
need_tools wrk:wrk

host_project=src/CloudProxy.Host
[ "$BENCH_SKIP_HOST" = 1 ] && host_project=
# shellcheck disable=SC2086 # an empty host_project is no argument
build_release bench/UdpCounter bench/BareEndpoint $host_project
counter_bin="bench/UdpCounter/bin/Release/net10.0/UdpCounter.dll"
bare_bin="bench/BareEndpoint/bin/Release/net10.0/BareEndpoint.dll"
host_bin="src/CloudProxy.Host/bin/Release/net10.0/cloudproxy.dll"

# ---------------------------------------------------------------------------------------------
# Processes (every one we start is stopped by pid on exit)
# ---------------------------------------------------------------------------------------------
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"

say "starting UDP counter"
dotnet "$counter_bin" > "$tmp/udp.jsonl" 2> "$tmp/udp.log" &
udp_pid=$!; pids+=("$udp_pid")
deadline=$((SECONDS + 15))
until [ -s "$tmp/udp.jsonl" ]; do
  [ "$SECONDS" -lt "$deadline" ] || die "UDP counter did not start"
  sleep 0.1
done
udp_port="$(head -1 "$tmp/udp.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["port"])')"

udp_lines() { # asks the counter for a snapshot; prints its line count
  local before; before="$(wc -l < "$tmp/udp.jsonl")"
  kill -HUP "$udp_pid"
  local deadline=$((SECONDS + 5))
  while [ "$(wc -l < "$tmp/udp.jsonl")" -le "$before" ]; do
    [ "$SECONDS" -lt "$deadline" ] || die "UDP counter did not answer SIGHUP"
    sleep 0.05
  done
  tail -1 "$tmp/udp.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["lines"])'
}

udp_drained() { # waits until the counter's line count holds still for 2 s (at most 60 s); prints it
  local last now stable=0 deadline=$((SECONDS + 60))
  last="$(udp_lines)"
  while [ "$stable" -lt 2 ] && [ "$SECONDS" -lt "$deadline" ]; do
    sleep 1
    now="$(udp_lines)"
    if [ "$now" = "$last" ]; then stable=$((stable + 1)); else stable=0; last="$now"; fi
  done
  echo "$last"
}

host_counter() { # sum of every sample of a counter on the host's /metrics ("" when absent)
  curl -sf "http://127.0.0.1:$host_port/metrics" | awk -v n="$1" '
    $1 == n || index($1, n "{") == 1 { sum += $NF; found = 1 } END { if (found) printf "%.0f\n", sum }'
}

kernel_udp() { # RcvbufErrors SndbufErrors from /proc/net/snmp
  awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) col[$i] = i; h = 1 } else print $col["RcvbufErrors"], $col["SndbufErrors"] }' /proc/net/snmp
}

bare_port="$(free_port)"
say "starting bare endpoint on 127.0.0.1:$bare_port"
dotnet "$bare_bin" --urls "http://127.0.0.1:$bare_port" > "$tmp/bare.log" 2>&1 &
bare_pid=$!; pids+=("$bare_pid")
wait_http "http://127.0.0.1:$bare_port/heartbeat" bare "$bare_pid"

host_pid=""
if [ "$BENCH_SKIP_HOST" != 1 ]; then
  host_port="$(free_port)"
  say "starting cloudproxy on 127.0.0.1:$host_port (StatsD -> 127.0.0.1:$udp_port)"
  # shellcheck disable=SC2086 # HOST_ARGS is a list of arguments
  dotnet "$host_bin" --urls "http://127.0.0.1:$host_port" \
    --statsd-host 127.0.0.1 --statsd-port "$udp_port" \
    --CloudProxy:Spool:Path="$tmp/spool" \
    --Logging:LogLevel:Default=Warning \
    ${HOST_ARGS:-} > "$tmp/host.log" 2>&1 &
  host_pid=$!; pids+=("$host_pid")
  wait_http "http://127.0.0.1:$host_port/healthz" host "$host_pid"
fi

# ---------------------------------------------------------------------------------------------
# Load
# ---------------------------------------------------------------------------------------------
run_wrk() { # label script url duration connections -> appends {"label":..,...} to results
  local out="$tmp/wrk-$1.txt"
  timeout $(( $(secs "$4") + 60 )) wrk -t"$THREADS" -c"$5" -d"$4" -s "bench/statsd/$2" "$3" > "$out" 2>&1 \
    || die "wrk failed for $1: $(tail -5 "$out")"
  local json; json="$(sed -n 's/^WRK_JSON //p' "$out")"
  [ -n "$json" ] || die "wrk printed no summary for $1: $(tail -5 "$out")"
  printf '{"label":"%s",%s\n' "$1" "${json#\{}" >> "$tmp/results.jsonl"
}
: > "$tmp/results.jsonl"

targets=(bare)
[ -n "$host_pid" ] && targets=(host bare)
url_of() { if [ "$1" = host ]; then echo "http://127.0.0.1:$host_port"; else echo "http://127.0.0.1:$bare_port"; fi; }

single_before=""; single_acc_before=""; single_acc_after=""
say "warm-up ($WARMUP each)"
for t in "${targets[@]}"; do run_wrk "warmup-$t" count.lua "$(url_of "$t")/count/bench.metric" "$WARMUP" "$CONNECTIONS"; done
if [ -n "$host_pid" ]; then
  single_before="$(udp_drained)"; single_acc_before="$(host_counter cloudproxy_statsd_lines_accepted_total)"
fi

for r in $(seq 1 "$ROUNDS"); do
  order=("${targets[@]}")
  # Swap the order every other round so neither side always runs on a warmer (or hotter) machine.
  if [ $((r % 2)) -eq 0 ] && [ "${#targets[@]}" -eq 2 ]; then order=(bare host); fi
  for t in "${order[@]}"; do
    say "round $r/$ROUNDS: $t, $DURATION, $CONNECTIONS connections"
    run_wrk "single-$t-$r" count.lua "$(url_of "$t")/count/bench.metric" "$DURATION" "$CONNECTIONS"
  done
done

single_after=""; batch_before=""; batch_after=""; kernel_before=""; kernel_after=""
batch_acc_before=""; batch_acc_after=""; send_errors=""
if [ -n "$host_pid" ]; then
  single_after="$(udp_drained)"; single_acc_after="$(host_counter cloudproxy_statsd_lines_accepted_total)"
  say "batch warm-up ($WARMUP)"
  run_wrk "warmup-batch" batch.lua "$(url_of host)/batch" "$WARMUP" "$BATCH_CONNECTIONS"
  batch_before="$(udp_drained)"; batch_acc_before="$(host_counter cloudproxy_statsd_lines_accepted_total)"
  kernel_before="$(kernel_udp)"
  for r in $(seq 1 "$BATCH_ROUNDS"); do
    say "batch round $r/$BATCH_ROUNDS: $BATCH_LINES lines per request, $DURATION, $BATCH_CONNECTIONS connections"
    run_wrk "batch-$r" batch.lua "$(url_of host)/batch" "$DURATION" "$BATCH_CONNECTIONS"
  done
  batch_after="$(udp_drained)"; batch_acc_after="$(host_counter cloudproxy_statsd_lines_accepted_total)"
  kernel_after="$(kernel_udp)"
  send_errors="$(host_counter cloudproxy_statsd_send_errors_total)"
fi

guard_pid=""; guard_port=""; guard_refused=""
if [ -n "$host_pid" ] && [ "$GUARD_ROUNDS" -gt 0 ]; then
  guard_port="$(free_port)"
  say "starting guarded cloudproxy on 127.0.0.1:$guard_port ($GUARD_ARGS)"
  # shellcheck disable=SC2086 # HOST_ARGS and GUARD_ARGS are lists of arguments
  dotnet "$host_bin" --urls "http://127.0.0.1:$guard_port" \
    --statsd-host 127.0.0.1 --statsd-port "$udp_port" \
    --CloudProxy:Spool:Path="$tmp/spool-guard" \
    --Logging:LogLevel:Default=Warning \
    ${HOST_ARGS:-} $GUARD_ARGS > "$tmp/guard.log" 2>&1 &
  guard_pid=$!; pids+=("$guard_pid")
  wait_http "http://127.0.0.1:$guard_port/healthz" guard "$guard_pid"
  say "guard warm-up ($GUARD_WARMUP)"
  run_wrk "warmup-guard" count.lua "http://127.0.0.1:$guard_port/count/bench.metric" "$GUARD_WARMUP" "$CONNECTIONS"
  for r in $(seq 1 "$GUARD_ROUNDS"); do
    order=(on off); [ $((r % 2)) -eq 0 ] && order=(off on)
    for t in "${order[@]}"; do
      url="http://127.0.0.1:$host_port"; [ "$t" = on ] && url="http://127.0.0.1:$guard_port"
      say "guard round $r/$GUARD_ROUNDS: limits $t, $DURATION, $CONNECTIONS connections"
      run_wrk "guard-$t-$r" count.lua "$url/count/bench.metric" "$DURATION" "$CONNECTIONS"
    done
  done
  guard_refused="$(curl -sf "http://127.0.0.1:$guard_port/metrics" | awk '$1 ~ /^cloudproxy_statsd_(refusals|lines_refused)_total/ { s += $NF } END { printf "%.0f", s }')"
fi

load_end="$(cut -d' ' -f1-3 /proc/loadavg)"
host_hwm=0; [ -n "$host_pid" ] && host_hwm="$(hwm "$host_pid")"
guard_hwm=0; [ -n "$guard_pid" ] && guard_hwm="$(hwm "$guard_pid")"
bare_hwm="$(hwm "$bare_pid")"

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
mkdir -p bench/results
report="bench/results/statsd-$(date -u +%Y-%m-%d).md"
n=2; while [ -e "$report" ]; do report="bench/results/statsd-$(date -u +%Y-%m-%d)-$n.md"; n=$((n + 1)); done

python3 - "$tmp/results.jsonl" "$report" <<PY
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
out = sys.argv[2]
by = {r["label"]: r for r in rows}
rps = lambda r: r["requests"] / (r["duration_us"] / 1e6)
ok = lambda r: r["requests"] - r["status_errors"]
# Throughput counts successful (2xx) responses only: a 404 or 503 is fast but is not a metric.
okps = lambda r: ok(r) / (r["duration_us"] / 1e6)
rounds, batch_rounds = int("$ROUNDS"), int("$BATCH_ROUNDS")
has_host = "$host_pid" != ""
L = []
w = L.append

def delivery(delivered, wrk_ok_lines, acc_before, acc_after):
    """Share of accepted metrics that reached the listener. The exact denominator is the host's own
    cloudproxy_statsd_lines_accepted_total; wrk's count (200 responses x lines) misses the requests
    still in flight when each run stopped, so it is only a lower bound."""
    text = f"{delivered:,} lines reached the UDP listener; wrk counted {wrk_ok_lines:,} accepted (200 x lines, excludes requests in flight at each run's end)"
    if acc_before and acc_after:
        acc = int(acc_after) - int(acc_before)
        share = delivered / acc if acc else 0
        return text + f"; the host counted {acc:,} lines accepted: {share:.2%} delivered"
    share = delivered / wrk_ok_lines if wrk_ok_lines else 0
    return text + f" ({share:.2%}; host counter cloudproxy_statsd_lines_accepted_total not found)"

w("# StatsD HTTP benchmark, $(date -u +'%Y-%m-%d %H:%M') UTC")
w("")
w("Commit \`$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)\`$(git -C "$repo" diff --quiet 2>/dev/null || echo ' (with local changes)'), "
  "$(nproc) cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(free -g | awk '/^Mem:/ { print $2 }') GiB, "
  "$(dotnet --version) SDK. wrk $THREADS threads, load generator and servers share the machine. "
  "Load average (1/5/15 min) at start $load_start, at end $load_end: above ~2 means other work shared the cores.")
w("")
w("## Single metric: POST /count/bench.metric (form body value=1), $CONNECTIONS connections, $DURATION per run")
w("")
w("Rates count 2xx responses only.")
w("")
w("| round | host req/s | bare req/s | host/bare | host p99 ms | bare p99 ms | host non-2xx | bare non-2xx |")
w("|---|---|---|---|---|---|---|---|")
ratios, hs, bs = [], [], []
bad = 0
for i in range(1, rounds + 1):
    b = by[f"single-bare-{i}"]; bs.append(okps(b)); bad += b["status_errors"]
    if has_host:
        h = by[f"single-host-{i}"]; hs.append(okps(h)); bad += h["status_errors"]
        ratios.append(okps(h) / okps(b) if okps(b) else 0)
        w(f"| {i} | {okps(h):,.0f} | {okps(b):,.0f} | {ratios[-1]:.3f} | {h['p99_us']/1000:.1f} | {b['p99_us']/1000:.1f} | {h['status_errors']} | {b['status_errors']} |")
    else:
        w(f"| {i} | - | {okps(b):,.0f} | - | - | {b['p99_us']/1000:.1f} | - | {b['status_errors']} |")
w("")
summary = []
if bad:
    summary.append(f"WARNING: {bad:,} non-2xx responses during the single-metric rounds (see the table); rates exclude them")
if has_host:
    med = statistics.median(ratios)
    summary.append(f"single metric: host {statistics.median(hs):,.0f} req/s, bare {statistics.median(bs):,.0f} req/s, "
                   f"ratio {med:.3f} (median of per-round ratios; target >= 0.9: {'met' if med >= 0.9 else 'NOT met'})")
    wrk_ok = sum(ok(by[f"single-host-{i}"]) for i in range(1, rounds + 1))
    delivered = int("${single_after:-0}") - int("${single_before:-0}")
    summary.append("single metric delivery: " + delivery(delivered, wrk_ok, "${single_acc_before}", "${single_acc_after}"))
else:
    summary.append(f"single metric: bare {statistics.median(bs):,.0f} req/s (host not run: BENCH_SKIP_HOST=1)")

if has_host:
    w(f"## Batch: POST /batch, $BATCH_LINES StatsD lines per request (text/plain), $BATCH_CONNECTIONS connections, $DURATION per run")
    w("")
    w("| round | req/s | accepted (200) | other status | metrics/s accepted | p99 ms |")
    w("|---|---|---|---|---|---|")
    acc_lines, mps = 0, []
    for i in range(1, batch_rounds + 1):
        r = by[f"batch-{i}"]
        secs = r["duration_us"] / 1e6
        m = r["ok"] * r["lines_per_request"] / secs
        mps.append(m); acc_lines += r["ok"] * r["lines_per_request"]
        w(f"| {i} | {rps(r):,.0f} | {r['ok']:,} | {r['not_ok']:,} | {m:,.0f} | {r['p99_us']/1000:.1f} |")
    w("")
    delivered = int("${batch_after:-0}") - int("${batch_before:-0}")
    kb, ka = "${kernel_before:-0 0}".split(), "${kernel_after:-0 0}".split()
    summary.append(f"batch: {statistics.median(mps):,.0f} metrics/s accepted (median; target >= 1,000,000: "
                   f"{'met' if statistics.median(mps) >= 1_000_000 else 'NOT met'})")
    summary.append("batch delivery: " + delivery(delivered, acc_lines, "${batch_acc_before}", "${batch_acc_after}")
                   + f"; kernel UDP drops in the batch phase: RcvbufErrors +{int(ka[0]) - int(kb[0])}, SndbufErrors +{int(ka[1]) - int(kb[1])}"
                   + f"; host send errors (whole run): {'${send_errors}' or 'n/a'}")
    summary.append(f"peak RSS (VmHWM): host {int('$host_hwm') / 1024:,.0f} MiB, bare {int('$bare_hwm') / 1024:,.0f} MiB")
else:
    summary.append(f"peak RSS (VmHWM): bare {int('$bare_hwm') / 1024:,.0f} MiB")

guard_rounds = int("$GUARD_ROUNDS") if "$guard_pid" else 0
if guard_rounds:
    w(f"## Flood limit + cardinality guard: POST /count/bench.metric, on vs off, $CONNECTIONS connections, $DURATION per run")
    w("")
    w("A second host with \`$GUARD_ARGS\` (nothing is refused: the cost of the checks) alternates with the host above.")
    w("")
    w("| round | on req/s | off req/s | on/off | on p99 ms | off p99 ms | on non-2xx | off non-2xx |")
    w("|---|---|---|---|---|---|---|---|")
    gr = []
    for i in range(1, guard_rounds + 1):
        a, b = by[f"guard-on-{i}"], by[f"guard-off-{i}"]
        gr.append(okps(a) / okps(b) if okps(b) else 0)
        w(f"| {i} | {okps(a):,.0f} | {okps(b):,.0f} | {gr[-1]:.3f} | {a['p99_us']/1000:.1f} | {b['p99_us']/1000:.1f} | {a['status_errors']} | {b['status_errors']} |")
    w("")
    gmed = statistics.median(gr)
    summary.append(f"flood limit + cardinality guard on/off: ratio {gmed:.3f} (median of per-round ratios; target >= 0.9: "
                   f"{'met' if gmed >= 0.9 else 'NOT met'}); refusals on the guarded host: {'${guard_refused}' or 'n/a'}; "
                   f"its peak RSS {int('$guard_hwm') / 1024:,.0f} MiB")

w("## Summary")
w("")
for s in summary:
    w(f"- {s}")
w("")
w("Reproduce: \`bench/statsd/run.sh\` (ROUNDS=$ROUNDS DURATION=$DURATION CONNECTIONS=$CONNECTIONS THREADS=$THREADS "
  "BATCH_ROUNDS=$BATCH_ROUNDS BATCH_LINES=$BATCH_LINES GUARD_ROUNDS=$GUARD_ROUNDS GUARD_WARMUP=$GUARD_WARMUP HOST_ARGS=\"${HOST_ARGS:-}\"). Numbers on a shared 2-core machine move by several percent "
  "between runs; the ratio, measured in the same run with alternating order, is the figure to compare.")
open(out, "w").write("\n".join(L) + "\n")
PY

echo
cat "$report"
echo "(written to $report)"
