#!/usr/bin/env bash
# Graphite gateway benchmark (not a test: it asserts nothing, it measures and reports).
#
# In one run, on 127.0.0.1 only:
#   - a TCP line counter (bench/TcpLineCounter) stands in for carbon, one per server under load,
#   - the cloudproxy host (Release, graphite-gateway + graphite-forwarder, embedded transport) forwards to it,
#   - a bare relay (bench/GraphiteBare: gunzip and write to one socket, nothing else) is the baseline,
# then wrk posts a prebuilt polymur-proxy batch (BATCH_LINES lines, gzip, X-Polymur-Key, no
# Content-Encoding) to host and bare ALTERNATELY (order swapped every round). For each run it reports
# points/s accepted (200 responses x lines) and points/s delivered (lines the counter received, over the
# time until the counter stopped moving), the share of accepted points delivered, the host/bare ratio,
# and the peak RSS (VmHWM) of both. Results: bench/results/graphite-<date>.md (also printed).
#
# Environment (defaults in brackets):
#   ROUNDS [3]  DURATION [10s]  WARMUP [3s]  CONNECTIONS [8]  THREADS [2]  BATCH_LINES [5000]
#   BENCH_SKIP_BUILD [0]  1 = use the existing Release build
#   HOST_ARGS []          extra arguments for cloudproxy
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-3s}"
CONNECTIONS="${CONNECTIONS:-8}"
THREADS="${THREADS:-2}"
BATCH_LINES="${BATCH_LINES:-5000}"
export BATCH_LINES

. bench/lib.sh

need_tools wrk:wrk

build_release bench/TcpLineCounter bench/GraphiteBare src/CloudProxy.Host
counter_bin="bench/TcpLineCounter/bin/Release/net10.0/TcpLineCounter.dll"
bare_bin="bench/GraphiteBare/bin/Release/net10.0/GraphiteBare.dll"
host_bin="src/CloudProxy.Host/bin/Release/net10.0/cloudproxy.dll"

load_start="$(cut -d' ' -f1-3 /proc/loadavg)"

start_counter() { # name -> sets counter_pid_<name>, counter_port_<name>
  dotnet "$counter_bin" > "$tmp/$1.jsonl" 2> "$tmp/$1.log" &
  local pid=$!; pids+=("$pid")
  local deadline=$((SECONDS + 15))
  until [ -s "$tmp/$1.jsonl" ]; do
    [ "$SECONDS" -lt "$deadline" ] || die "counter $1 did not start"
    sleep 0.1
  done
  eval "counter_pid_$1=$pid"
  eval "counter_port_$1=$(head -1 "$tmp/$1.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["port"])')"
}

counter_lines() { # name pid -> current line count
  local before; before="$(wc -l < "$tmp/$1.jsonl")"
  kill -HUP "$2"
  local deadline=$((SECONDS + 5))
  while [ "$(wc -l < "$tmp/$1.jsonl")" -le "$before" ]; do
    [ "$SECONDS" -lt "$deadline" ] || die "counter $1 did not answer SIGHUP"
    sleep 0.02
  done
  tail -1 "$tmp/$1.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["lines"])'
}

say "building the batch body ($BATCH_LINES lines, gzip)"
python3 - "$tmp/body.gz" "$BATCH_LINES" <<'PY'
import gzip, sys, time
now = int(time.time())
lines = "".join(f"bench.host{i % 97}.service{i % 13}.metric{i} {i * 0.5} {now}\n" for i in range(int(sys.argv[2])))
open(sys.argv[1], "wb").write(gzip.compress(lines.encode(), 6))
PY
export BODY_FILE="$tmp/body.gz"
body_bytes="$(stat -c %s "$tmp/body.gz")"

start_counter hostsink
start_counter baresink

host_port="$(free_port)"
say "starting cloudproxy on 127.0.0.1:$host_port (carbon -> 127.0.0.1:$counter_port_hostsink)"
# shellcheck disable=SC2086 # HOST_ARGS is a list of arguments
dotnet "$host_bin" --urls "http://127.0.0.1:$host_port" \
  --services graphite-gateway,graphite-forwarder -dev-mode \
  -destinations "127.0.0.1:$counter_port_hostsink" \
  --CloudProxy:Graphite:Gateway:PlaintextAddress= --CloudProxy:Graphite:Gateway:AdminAddress= \
  --CloudProxy:Spool:Path="$tmp/spool" --CloudProxy:State:Path="$tmp/spool/state.db" \
  --CloudProxy:Graphite:Forwarder:SpoolDirectory="$tmp/spool/graphite" \
  --Logging:LogLevel:Default=Warning \
  ${HOST_ARGS:-} > "$tmp/host.log" 2>&1 &
host_pid=$!; pids+=("$host_pid")
wait_http "http://127.0.0.1:$host_port/healthz" host "$host_pid"

bare_port="$(free_port)"
say "starting bare relay on 127.0.0.1:$bare_port"
dotnet "$bare_bin" --urls "http://127.0.0.1:$bare_port" --sink-port "$counter_port_baresink" > "$tmp/bare.log" 2>&1 &
bare_pid=$!; pids+=("$bare_pid")
wait_http "http://127.0.0.1:$bare_port/healthz" bare "$bare_pid"

: > "$tmp/results.jsonl"
run_one() { # label port sink sinkpid
  local before after last now stable=0 start end
  before="$(counter_lines "$3" "$4")"
  start="$(date +%s.%N)"
  local out json
  out="$(wrk -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" -s bench/graphite/ingest.lua "http://127.0.0.1:$2/ingest")"
  json="$(printf '%s\n' "$out" | sed -n 's/^WRK_JSON //p')"
  [ -n "$json" ] || die "wrk printed no result for $1: $out"
  # Delivery ends when the counter stops moving (checked every 0.2 s, stable for 2 s, at most 60 s).
  last="$(counter_lines "$3" "$4")"; end="$(date +%s.%N)"
  local deadline=$((SECONDS + 60))
  while [ "$stable" -lt 10 ] && [ "$SECONDS" -lt "$deadline" ]; do
    sleep 0.2
    now="$(counter_lines "$3" "$4")"
    if [ "$now" = "$last" ]; then stable=$((stable + 1)); else stable=0; last="$now"; end="$(date +%s.%N)"; fi
  done
  after="$last"
  printf '{"label":"%s","delivered":%d,"delivery_s":%s,%s\n' "$1" "$((after - before))" \
    "$(python3 -c "print($end - $start)")" "${json#\{}" >> "$tmp/results.jsonl"
}

say "warm-up ($WARMUP each)"
DURATION_SAVE="$DURATION"; DURATION="$WARMUP"
run_one warmup-host "$host_port" hostsink "$counter_pid_hostsink"
run_one warmup-bare "$bare_port" baresink "$counter_pid_baresink"
DURATION="$DURATION_SAVE"
: > "$tmp/results.jsonl"

for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) -eq 1 ]; then order="host bare"; else order="bare host"; fi
  for who in $order; do
    say "round $round: $who ($DURATION, $CONNECTIONS connections)"
    if [ "$who" = host ]; then run_one host "$host_port" hostsink "$counter_pid_hostsink";
    else run_one bare "$bare_port" baresink "$counter_pid_baresink"; fi
  done
done

host_hwm="$(hwm "$host_pid")"; bare_hwm="$(hwm "$bare_pid")"
host_spooled="$(curl -sf "http://127.0.0.1:$host_port/metrics" | awk '$1 ~ /^cloudproxy_graphite_destination_spooled_points_total/ { s += $NF } END { printf "%.0f", s }')"
load_end="$(cut -d' ' -f1-3 /proc/loadavg)"

mkdir -p bench/results
report="bench/results/graphite-$(date -u +%Y-%m-%d).md"
n=2; while [ -e "$report" ]; do report="bench/results/graphite-$(date -u +%Y-%m-%d)-$n.md"; n=$((n + 1)); done
python3 - "$tmp/results.jsonl" "$report" <<PY
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def stats(label):
    r = [x for x in rows if x["label"] == label]
    acc = sum(x["ok"] * x["lines_per_request"] for x in r)
    secs = sum(x["duration_us"] for x in r) / 1e6
    dsecs = sum(x["delivery_s"] for x in r)
    dl = sum(x["delivered"] for x in r)
    return r, acc, secs, dl, dsecs
lines = ["# Graphite gateway benchmark", "",
         f"wrk: $CONNECTIONS connections, $THREADS threads, $DURATION x $ROUNDS rounds per server (alternating); "
         f"body: $BATCH_LINES lines, $body_bytes bytes gzip (polymur-proxy shape); load average $load_start -> $load_end", "",
         "| run | requests | non-200 | accepted points/s | delivered points/s | delivered / accepted | p50 ms | p99 ms |",
         "|---|---|---|---|---|---|---|---|"]
for x in rows:
    acc = x["ok"] * x["lines_per_request"]
    lines.append(f"| {x['label']} | {x['requests']} | {x['not_ok']} | {acc / (x['duration_us'] / 1e6):,.0f} | "
                 f"{x['delivered'] / x['delivery_s']:,.0f} | {x['delivered'] / acc if acc else 0:.4f} | {x['p50_us'] / 1000:.1f} | {x['p99_us'] / 1000:.1f} |")
_, hacc, hsecs, hdl, hds = stats("host")
_, bacc, bsecs, bdl, bds = stats("bare")
lines += ["",
          f"- host: accepted {hacc / hsecs:,.0f} points/s, delivered {hdl / hds:,.0f} points/s; delivered {hdl:,} of {hacc:,} accepted ({hdl / hacc:.2%})",
          f"- bare relay: accepted {bacc / bsecs:,.0f} points/s, delivered {bdl / bds:,.0f} points/s; delivered {bdl:,} of {bacc:,} ({bdl / bacc:.2%})",
          f"- ratio host/bare, delivered points/s: {(hdl / hds) / (bdl / bds):.3f}",
          f"- host points spooled on the way (destination queue full): {int('$host_spooled' or 0):,}",
          f"- peak RSS (VmHWM): host {int('$host_hwm') / 1024:,.0f} MiB, bare {int('$bare_hwm') / 1024:,.0f} MiB",
          "", "Delivered points/s counts until the sink stopped moving, so a backlog drained after wrk ended is",
          "charged to the run. The bare relay validates nothing, queues nothing and keeps nothing on disk."]
text = "\n".join(lines) + "\n"
open(sys.argv[2], "w").write(text)
print(text)
PY
say "results: $report"
