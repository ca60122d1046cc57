#!/usr/bin/env bash
# Durable-log benchmark (issues 11 and 13; not a test: it measures and reports).
#
# Phase "mode" (issue 11): two hosts run side by side, one --durability durable, one --durability memory, each
#   with its own upstream counter (bench/HttpCounter); wrk loads them ALTERNATELY (order swapped every round,
#   same envelope, connections, duration). Reports accepted envelopes/s per round, the durable/memory ratio
#   (median of per-round ratios; target >= 0.85), the share of accepted envelopes that reached each upstream,
#   and peak RSS (VmHWM).
# Phases "statsd" and "graphite" (issue 11): the same for the other two ingresses. StatsD: POST /batch with
#   BATCH_LINES lines per request, each host forwarding to its own daemon counter (bench/UdpCounter, or
#   bench/TcpLineCounter with STATSD_PROTOCOL=Tcp); Graphite: POST /ingest with a polymur-proxy gzip body of
#   GRAPHITE_LINES lines, each host forwarding to its own carbon counter (bench/TcpLineCounter). Accepted is the
#   host's own counter (cloudproxy_statsd_lines_accepted_total / cloudproxy_graphite_points_accepted_total),
#   delivered is the line count at the counter once it stops moving.
# Phase "dapr" (issue 11): the Dapr topology end to end against the embedded one, in the same run, alternating:
#   ingress (--services sentry-ingress --transport dapr) -> its sidecar -> Redis Streams -> the forwarder's sidecar
#   -> forwarder (--services sentry-forwarder --transport dapr) -> upstream counter, where the sidecars are the
#   tests' daprd double (bench/DaprSidecar: DaprSidecarDouble over a real redis-server, configured from
#   components/ and dapr.yaml); embedded: one host with both services -> upstream counter. Each round loads the
#   ingress for DAPR_LOAD, then waits until the counter has every envelope the ingress accepted (or stops moving
#   for DAPR_STALL seconds, at most DAPR_DRAIN_MAX); delivered envelopes/s = delivered / (time from the start of
#   the load to the last delivery). Reports the dapr/embedded ratio (target >= 0.5), delivered share, peak RSS.
# Phase "memory" (issue 13): for each Outbox MaxBytes in MAXBYTES and each GC setting in GCS, one host
#   (durable) under sustained Sentry load for MEM_DURATION against an upstream answering after SLOW_MS; reports
#   accepted/s, peak RSS vs MaxBytes + 200 MiB, and the largest spool size on disk (sampled every second) vs
#   --spool-max-bytes.
# After each run the bench waits (at most SETTLE_MAX s) until that host has delivered what it accepted, so one
#   host's backlog is not written and forwarded during the other host's run (before 2026-12-03 it was, which
#   favoured whichever mode acknowledged before writing).
# Every load is wrk -d (bounded in time); every wait is bounded.
#
# Environment: ROUNDS [3] DURATION [10s] WARMUP [5s] CONNECTIONS [32] THREADS [2]
#   PHASES [mode,statsd,graphite,dapr,memory]  BATCH_LINES [500] STATSD_PROTOCOL [Udp] GRAPHITE_LINES [5000]
#   GRAPHITE_CONNECTIONS [8] DAPR_LOAD [2s] DAPR_STALL [10] DAPR_DRAIN_MAX [120] DAPR_WARMUP_ROUNDS [3]
#   MAXBYTES ["64MiB 256MiB"] GCS ["ws server"] MEM_DURATION [60s] SLOW_MS [500] SPOOL_MAX [2147483648]
#   SETTLE_MAX [60] DAPR_BULK [the sentry-forwarder's in dapr.yaml] BENCH_SKIP_BUILD [0]
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd)"
ROUNDS="${ROUNDS:-3}"; DURATION="${DURATION:-10s}"; WARMUP="${WARMUP:-5s}"
CONNECTIONS="${CONNECTIONS:-32}"; THREADS="${THREADS:-2}"; PHASES="${PHASES:-mode,statsd,graphite,dapr,memory}"
BATCH_LINES="${BATCH_LINES:-500}"; STATSD_PROTOCOL="${STATSD_PROTOCOL:-Udp}"; GRAPHITE_LINES="${GRAPHITE_LINES:-5000}"
GRAPHITE_CONNECTIONS="${GRAPHITE_CONNECTIONS:-8}"; DAPR_LOAD="${DAPR_LOAD:-2s}"; DAPR_STALL="${DAPR_STALL:-10}"
DAPR_DRAIN_MAX="${DAPR_DRAIN_MAX:-120}"; DAPR_WARMUP_ROUNDS="${DAPR_WARMUP_ROUNDS:-3}"; statsd_lines="$BATCH_LINES"
MAXBYTES="${MAXBYTES:-64MiB 256MiB}"; GCS="${GCS:-ws server}"; MEM_DURATION="${MEM_DURATION:-60s}"
SLOW_MS="${SLOW_MS:-500}"; SPOOL_MAX="${SPOOL_MAX:-2147483648}"; SETTLE_MAX="${SETTLE_MAX:-60}"
has_phase() { case ",$PHASES," in *",$1,"*) return 0;; *) return 1;; esac; }
. bench/lib.sh
need_tools wrk:wrk
projects=(bench/HttpCounter src/CloudProxy.Host)
{ has_phase statsd || has_phase graphite; } && projects+=(bench/UdpCounter bench/TcpLineCounter)
has_phase dapr && projects+=(bench/DaprSidecar)
build_release "${projects[@]}"
counter_bin="bench/HttpCounter/bin/Release/net10.0/HttpCounter.dll"
udp_bin="bench/UdpCounter/bin/Release/net10.0/UdpCounter.dll"
tcp_bin="bench/TcpLineCounter/bin/Release/net10.0/TcpLineCounter.dll"
sidecar_bin="bench/DaprSidecar/bin/Release/net10.0/DaprSidecar.dll"
host_bin="src/CloudProxy.Host/bin/Release/net10.0/cloudproxy.dll"
load_start="$(uptime)"
out="$tmp/rows.jsonl"; : > "$out"

bytes_of() { case "$1" in *GiB) echo $(( ${1%GiB} * 1073741824 ));; *MiB) echo $(( ${1%MiB} * 1048576 ));; *) echo "$1";; esac; }
metric() { curl -sf "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $NF } END { printf "%.0f\n", s }'; }
count_of() { curl -sf "http://127.0.0.1:$1/_count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])'; }
start_counter() { # name delay_ms -> sets cport_<name>, pid
  local port; port="$(free_port)"
  DELAY_MS="$2" dotnet "$counter_bin" --urls "http://127.0.0.1:$port" > "$tmp/counter-$1.log" 2>&1 &
  local pid=$!; pids+=("$pid"); wait_http "http://127.0.0.1:$port/_count" "counter-$1" "$pid"
  eval "cport_$1=$port cpid_$1=$pid"
}
start_host() { # name upstream_port extra-args... -> hport_<name>, hpid_<name>
  local name="$1" up="$2"; shift 2
  local port; port="$(free_port)"; mkdir -p "$tmp/data-$name"
  dotnet "$host_bin" --urls "http://127.0.0.1:$port" --services sentry-ingress,sentry-forwarder \
    --pusher.sentry.host "http://127.0.0.1:$up" --CloudProxy:DataDirectory="$tmp/data-$name" \
    --CloudProxy:Spool:Path="$tmp/data-$name/spool" --Logging:LogLevel:Default=Warning "$@" > "$tmp/host-$name.log" 2>&1 &
  local pid=$!; pids+=("$pid"); wait_http "http://127.0.0.1:$port/healthz" "host-$name" "$pid"
  eval "hport_$name=$port hpid_$name=$pid"
}
run_wrk() { # label port duration
  local f="$tmp/wrk-$1.txt"
  timeout $(( $(secs "$3") + 60 )) wrk -t"$THREADS" -c"$CONNECTIONS" -d"$3" -s bench/sentry/envelope.lua \
    "http://127.0.0.1:$2/api/42/envelope/" > "$f" 2>&1 || die "wrk failed for $1: $(tail -5 "$f")"
  local json; json="$(sed -n 's/^WRK_JSON //p' "$f")"; [ -n "$json" ] || die "no wrk summary for $1"
  printf '{"label":"%s",%s\n' "$1" "${json#\{}" >> "$out"
}
drain() { # host_port counter_port max_secs: waits until the counter has every accepted envelope or stalls 5 s
  local want last now stable=0 deadline=$((SECONDS + $3))
  want="$(metric "$1" ogre_put_to_queue_total)"; last="$(count_of "$2")"
  while [ "$last" -lt "$want" ] && [ "$stable" -lt 5 ] && [ "$SECONDS" -lt "$deadline" ]; do
    sleep 1; now="$(count_of "$2")"; if [ "$now" = "$last" ]; then stable=$((stable + 1)); else stable=0; last="$now"; fi
  done
  echo "$want $last"
}


# ---- line counters (StatsD daemon, carbon): each prints {"port":N} first and a JSON line with "lines" on SIGHUP ----
start_lines() { # name bin -> lport_<name>, lpid_<name>
  dotnet "$2" > "$tmp/$1.jsonl" 2> "$tmp/$1.log" &
  local pid=$! deadline=$((SECONDS + 30)); pids+=("$pid")
  until [ -s "$tmp/$1.jsonl" ]; do
    [ "$SECONDS" -lt "$deadline" ] || die "counter $1 did not start: $(tail -5 "$tmp/$1.log")"; sleep 0.1
  done
  eval "lport_$1=$(head -1 "$tmp/$1.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["port"])') lpid_$1=$pid"
}
lines_of() { # name -> the counter's line count now
  local pid before deadline=$((SECONDS + 5)); eval "pid=\$lpid_$1"; before="$(wc -l < "$tmp/$1.jsonl")"
  kill -HUP "$pid"
  while [ "$(wc -l < "$tmp/$1.jsonl")" -le "$before" ]; do [ "$SECONDS" -lt "$deadline" ] || die "counter $1 did not answer SIGHUP"; sleep 0.02; done
  tail -1 "$tmp/$1.jsonl" | sed -n 's/.*"lines":\([0-9]*\).*/\1/p'
}
drain_lines() { # host_port metric counter max_secs: until the counter has the host's accepted count or holds still 3 s
  local want last now stable=0 deadline=$((SECONDS + $4))
  want="$(metric "$1" "$2")"; last="$(lines_of "$3")"
  while [ "$last" -lt "$want" ] && [ "$stable" -lt 3 ] && [ "$SECONDS" -lt "$deadline" ]; do
    sleep 1; now="$(lines_of "$3")"; if [ "$now" = "$last" ]; then stable=$((stable + 1)); else stable=0; last="$now"; fi
  done
  echo "$want $last"
}
start_service_host() { # name log-label args... -> hport_<name>, hpid_<name>
  local name="$1"; shift
  local port; port="$(free_port)"; mkdir -p "$tmp/data-$name"
  dotnet "$host_bin" --urls "http://127.0.0.1:$port" --CloudProxy:DataDirectory="$tmp/data-$name" \
    --CloudProxy:Spool:Path="$tmp/data-$name/spool" --Logging:LogLevel:Default=Warning "$@" > "$tmp/host-$name.log" 2>&1 &
  local pid=$!; pids+=("$pid"); wait_http "http://127.0.0.1:$port/healthz" "host-$name" "$pid"
  eval "hport_$name=$port hpid_$name=$pid"
}
run_wrk_script() { # label port path script connections duration
  local f="$tmp/wrk-$1.txt"
  timeout $(( $(secs "$6") + 60 )) wrk -t"$THREADS" -c"$5" -d"$6" -s "$4" "http://127.0.0.1:$2$3" > "$f" 2>&1 || die "wrk failed for $1: $(tail -5 "$f")"
  local json; json="$(sed -n 's/^WRK_JSON //p' "$f")"; [ -n "$json" ] || die "no wrk summary for $1"
  printf '{"label":"%s",%s\n' "$1" "${json#\{}" >> "$out"
}
kernel_udp() { awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) col[$i] = i; h = 1 } else print $col["RcvbufErrors"], $col["SndbufErrors"] }' /proc/net/snmp; }
mode_phase() { # service path script connections accepted-metric: durable vs memory hosts (hport_<service>_<mode>), alternating
  local svc="$1" path="$2" script="$3" conns="$4" acc_metric="$5" m r p
  for m in durable memory; do eval "p=\$hport_${svc}_$m"; say "$svc warm-up $m"; run_wrk_script "$svc-warmup-$m" "$p" "$path" "$script" "$conns" "$WARMUP"; done
  for r in $(seq 1 "$ROUNDS"); do
    local order=(durable memory); [ $((r % 2)) -eq 0 ] && order=(memory durable)
    for m in "${order[@]}"; do
      eval "p=\$hport_${svc}_$m"; say "$svc round $r: $m"; run_wrk_script "$svc-$m-$r" "$p" "$path" "$script" "$conns" "$DURATION"
      drain_lines "$p" "$acc_metric" "${svc}sink_$m" "$SETTLE_MAX" > /dev/null # its backlog must not run during the other's load
    done
  done
  local hp hpid acc dlv
  for m in durable memory; do
    eval "hp=\$hport_${svc}_$m hpid=\$hpid_${svc}_$m"
    read -r acc dlv < <(drain_lines "$hp" "$acc_metric" "${svc}sink_$m" 120)
    printf '{"label":"final-%s-%s","accepted":%s,"delivered":%s,"hwm":%s}\n' "$svc" "$m" "$acc" "$dlv" "$(hwm "$hpid")" >> "$out"
    kill "$hpid"; wait "$hpid" 2>/dev/null || true
  done
}

if has_phase mode; then
  start_counter durable 0; start_counter memory 0
  start_host durable "$cport_durable" --durability durable
  start_host memory "$cport_memory" --durability memory
  for m in durable memory; do eval "p=\$hport_$m"; say "warm-up $m"; run_wrk "warmup-$m" "$p" "$WARMUP"; done
  for r in $(seq 1 "$ROUNDS"); do
    order=(durable memory); [ $((r % 2)) -eq 0 ] && order=(memory durable)
    for m in "${order[@]}"; do
      eval "p=\$hport_$m cp=\$cport_$m"; say "round $r: $m"; run_wrk "mode-$m-$r" "$p" "$DURATION"
      drain "$p" "$cp" "$SETTLE_MAX" > /dev/null
    done
  done
  for m in durable memory; do
    eval "hp=\$hport_$m cp=\$cport_$m hpid=\$hpid_$m"
    read -r acc dlv < <(drain "$hp" "$cp" 120)
    printf '{"label":"final-%s","accepted":%s,"delivered":%s,"hwm":%s}\n' "$m" "$acc" "$dlv" "$(hwm "$hpid")" >> "$out"
    kill "$hpid"
  done
fi

if has_phase statsd; then
  export BATCH_LINES
  kb="$(kernel_udp)"
  for m in durable memory; do
    if [ "$STATSD_PROTOCOL" = Tcp ]; then start_lines "statsdsink_$m" "$tcp_bin"; else start_lines "statsdsink_$m" "$udp_bin"; fi
  done
  for m in durable memory; do
    eval "sp=\$lport_statsdsink_$m"
    start_service_host "statsd_$m" --services statsd-ingress,statsd-forwarder --statsd-host 127.0.0.1 --statsd-port "$sp" \
      --CloudProxy:StatsD:Forwarder:Protocol="$STATSD_PROTOCOL" --durability "$m"
  done
  mode_phase statsd /batch bench/statsd/batch.lua "$CONNECTIONS" cloudproxy_statsd_lines_accepted_total
  ka="$(kernel_udp)"
  printf '{"label":"statsd-kernel","before":"%s","after":"%s"}\n' "$kb" "$ka" >> "$out"
fi

if has_phase graphite; then
  export BATCH_LINES="$GRAPHITE_LINES" BODY_FILE="$tmp/graphite-body.gz"
  python3 - "$BODY_FILE" "$GRAPHITE_LINES" <<'GZ'
import gzip, sys, time
now = int(time.time())
lines = "".join(f"bench.host{i % 97}.service{i % 13}.metric{i} {i * 0.5} {now}\n" for i in range(int(sys.argv[2])))
open(sys.argv[1], "wb").write(gzip.compress(lines.encode(), 6))
GZ
  for m in durable memory; do
    start_lines "graphitesink_$m" "$tcp_bin"
    eval "gp=\$lport_graphitesink_$m"
    start_service_host "graphite_$m" --services graphite-gateway,graphite-forwarder -dev-mode -destinations "127.0.0.1:$gp" \
      --CloudProxy:Graphite:Gateway:PlaintextAddress= --CloudProxy:Graphite:Gateway:AdminAddress= \
      --CloudProxy:State:Path="$tmp/data-graphite_$m/state.db" \
      --CloudProxy:Graphite:Forwarder:SpoolDirectory="$tmp/data-graphite_$m/graphite" --durability "$m"
  done
  mode_phase graphite /ingest bench/graphite/ingest.lua "$GRAPHITE_CONNECTIONS" cloudproxy_graphite_points_accepted_total
  export BATCH_LINES="$statsd_lines"
fi

if has_phase dapr; then
  http_count() { curl -sf "http://127.0.0.1:$1/_count" | sed -n 's/.*"requests":\([0-9]*\).*/\1/p'; }
  start_counter dapr 0; start_counter embedded 0
  dport="$(free_port)"
  say "dapr: starting redis-server and the daprd doubles (bench/DaprSidecar)"
  dotnet "$sidecar_bin" --http-port "$dport" --apps sentry-ingress,sentry-forwarder > "$tmp/sidecar.log" 2>&1 &
  sidecar_pid=$!; pids+=("$sidecar_pid"); wait_http "http://127.0.0.1:$dport/_sidecars" sidecar "$sidecar_pid"
  sidecars="$(curl -sf "http://127.0.0.1:$dport/_sidecars")"
  sc_of() { printf '%s' "$sidecars" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
  ing_ep="$(sc_of sentry-ingress)"; fwd_ep="$(sc_of sentry-forwarder)"
  # The Sentry forwarder's own bulk size from dapr.yaml (before 2026-12-03 the bench took the first one in the file, StatsD's 10).
  bulk="${DAPR_BULK:-$(awk '/appID:/ { app = $NF } app == "sentry-forwarder" && /BulkSubscribeMaxMessages:/ { gsub(/"/, "", $NF); print $NF; exit }' dapr.yaml)}"
  start_service_host dapr_ingress --services sentry-ingress --transport dapr --DAPR_GRPC_ENDPOINT="$ing_ep" --DAPR_HTTP_ENDPOINT="$ing_ep"
  start_service_host dapr_forwarder --services sentry-forwarder --transport dapr --DAPR_GRPC_ENDPOINT="$fwd_ep" --DAPR_HTTP_ENDPOINT="$fwd_ep" \
    --pusher.sentry.host "http://127.0.0.1:$cport_dapr" ${bulk:+--CloudProxy:Transport:BulkSubscribeMaxMessages=$bulk}
  curl -sf -X POST "http://127.0.0.1:$dport/_subscribe?app=sentry-forwarder&url=http://127.0.0.1:$hport_dapr_forwarder/" > "$tmp/subscribed.json" \
    || die "the forwarder's sidecar could not subscribe it: $(tail -5 "$tmp/sidecar.log")"
  start_service_host dapr_embedded --services sentry-ingress,sentry-forwarder --pusher.sentry.host "http://127.0.0.1:$cport_embedded"
  # CPU per process over each round (utime + stime): the CloudProxy processes apart from the stand-ins for daprd and
  # the broker, which here share the same two cores (in a cluster daprd and Redis run on cores of their own).
  declare -A cpu_pids=([ingress]="$hpid_dapr_ingress" [forwarder]="$hpid_dapr_forwarder" [embedded]="$hpid_dapr_embedded"
    [sidecars]="$sidecar_pid" [redis]="$(pgrep -P "$sidecar_pid" redis-server | head -1)")
  dapr_round() { # label topology(dapr|embedded) duration
    local ip cp start last now t_last stable=0 acc0 dl0 acc deadline
    if [ "$2" = dapr ]; then ip="$hport_dapr_ingress"; else ip="$hport_dapr_embedded"; fi
    cp="$(eval echo "\$cport_$2")"
    acc0="$(metric "$ip" ogre_put_to_queue_total)"; dl0="$(http_count "$cp")"
    local -A cpu0; local p cpu=""
    for p in "${!cpu_pids[@]}"; do cpu0[$p]="$(cpu_ticks "${cpu_pids[$p]}")"; done
    start="$(date +%s.%N)"
    run_wrk_script "$1" "$ip" /api/42/envelope/ bench/sentry/envelope.lua "$CONNECTIONS" "$3"
    acc=$(( $(metric "$ip" ogre_put_to_queue_total) - acc0 ))
    last=$(( $(http_count "$cp") - dl0 )); t_last="$(date +%s.%N)"; deadline=$((SECONDS + DAPR_DRAIN_MAX))
    while [ "$last" -lt "$acc" ] && [ "$stable" -lt $((DAPR_STALL * 5)) ] && [ "$SECONDS" -lt "$deadline" ]; do
      sleep 0.2; now=$(( $(http_count "$cp") - dl0 ))
      if [ "$now" = "$last" ]; then stable=$((stable + 1)); else stable=0; last="$now"; t_last="$(date +%s.%N)"; fi
    done
    # Requests still in flight when wrk stopped may be accepted after the count above: the share uses the count now.
    acc=$(( $(metric "$ip" ogre_put_to_queue_total) - acc0 ))
    for p in "${!cpu_pids[@]}"; do cpu+="${cpu:+,}\"$p\":$(( $(cpu_ticks "${cpu_pids[$p]}") - ${cpu0[$p]} ))"; done
    printf '{"label":"%s-e2e","accepted":%s,"delivered":%s,"secs":%s,"cpu":{%s}}\n' "$1" "$acc" "$last" "$(python3 -c "print($t_last - $start)")" "$cpu" >> "$out"
  }
  # Five processes start cold: a profile of the first measured round (perf, 2026-12-03) found about a fifth of the
  # CPU in the runtime's tiered-compilation threads, the idle topology's included, so both warm up several rounds.
  for w in $(seq 1 "$DAPR_WARMUP_ROUNDS"); do
    for t in embedded dapr; do say "dapr phase warm-up $w: $t"; dapr_round "dapr-warmup-$t-$w" "$t" "$DAPR_LOAD"; done
  done
  for r in $(seq 1 "$ROUNDS"); do
    order=(dapr embedded); [ $((r % 2)) -eq 0 ] && order=(embedded dapr)
    for t in "${order[@]}"; do say "dapr phase round $r: $t"; dapr_round "dapr-$t-$r" "$t" "$DAPR_LOAD"; done
  done
  printf '{"label":"final-dapr","ingress_hwm":%s,"forwarder_hwm":%s,"embedded_hwm":%s,"sidecar_hwm":%s,"published":%s,"publish_failed":%s,"stream":%s,"subscribed":%s}\n' \
    "$(hwm "$hpid_dapr_ingress")" "$(hwm "$hpid_dapr_forwarder")" "$(hwm "$hpid_dapr_embedded")" "$(hwm "$sidecar_pid")" \
    "$(curl -sf "http://127.0.0.1:$hport_dapr_ingress/metrics" | awk '/^cloudproxy_dapr_publish_envelopes_total/ && /result="published"/ { s += $NF } END { printf "%.0f", s }')" \
    "$(curl -sf "http://127.0.0.1:$hport_dapr_ingress/metrics" | awk '/^cloudproxy_dapr_publish_envelopes_total/ && /result="failed"/ { s += $NF } END { printf "%.0f", s }')" \
    "$(curl -sf "http://127.0.0.1:$dport/_count?topic=sentry")" "$(cat "$tmp/subscribed.json")" >> "$out"
  for h in "$hpid_dapr_ingress" "$hpid_dapr_forwarder" "$hpid_dapr_embedded"; do kill "$h"; wait "$h" 2>/dev/null || true; done
  kill "$sidecar_pid"; wait "$sidecar_pid" 2>/dev/null || true
fi

if has_phase memory; then
  start_counter slow "$SLOW_MS"
  for mb in $MAXBYTES; do for gc in $GCS; do
    name="mem_${mb}_${gc}"; gcenv=(DOTNET_gcServer=0)
    case "$gc" in server) gcenv=(DOTNET_gcServer=1);; conserve) gcenv=(DOTNET_gcServer=1 DOTNET_GCConserveMemory=5);; esac
    say "memory: Outbox MaxBytes $mb, GC $gc, $MEM_DURATION, upstream answers after $SLOW_MS ms"
    # shellcheck disable=SC2034
    eval "export ${gcenv[*]}"
    start_host "$name" "$cport_slow" --durability durable --CloudProxy:Outbox:MaxBytes="$(bytes_of "$mb")" --spool-max-bytes "$SPOOL_MAX"
    unset DOTNET_gcServer DOTNET_GCConserveMemory
    eval "hp=\$hport_$name hpid=\$hpid_$name"
    spool_max_seen=0
    ( end=$((SECONDS + $(secs "$MEM_DURATION") + 5)); while [ "$SECONDS" -lt "$end" ]; do
        du -sb "$tmp/data-$name/spool" 2>/dev/null | cut -f1; sleep 1; done ) > "$tmp/du-$name.txt" &
    dupid=$!
    run_wrk "$name" "$hp" "$MEM_DURATION"
    wait "$dupid" || true
    spool_max_seen="$(sort -n "$tmp/du-$name.txt" | tail -1)"
    printf '{"label":"final-%s","accepted":%s,"refused":%s,"hwm":%s,"spool_max_seen":%s,"maxbytes":%s}\n' "$name" \
      "$(metric "$hp" ogre_put_to_queue_total)" "$(metric "$hp" cloudproxy_core_envelopes_refused_total)" "$(hwm "$hpid")" \
      "${spool_max_seen:-0}" "$(bytes_of "$mb")" >> "$out"
    kill "$hpid"; wait "$hpid" 2>/dev/null || true
  done; done
fi

load_end="$(uptime)"
mkdir -p bench/results
report="bench/results/durability-$(date -u +%Y-%m-%d).md"
n=2; while [ -e "$report" ]; do report="bench/results/durability-$(date -u +%Y-%m-%d)-$n.md"; n=$((n + 1)); done
python3 - "$out" "$report" <<PY
import json, statistics, sys
rows = {r["label"]: r for r in (json.loads(l) for l in open(sys.argv[1]) if l.strip())}
rate = lambda r: r["ok"] / (r["duration_us"] / 1e6)
mib = lambda kb: int(kb) / 1024
L = []; w = L.append
w("# Durable log benchmark (issues 11 and 13), $(date -u +'%Y-%m-%d %H:%M') UTC"); w("")
w("Commit \`$(git -C "$repo" rev-parse --short HEAD)\`$(git -C "$repo" diff --quiet || echo ' (with local changes)'), $(nproc) cores shared with other engineers.")
w(""); w("- uptime at start: \`$load_start\`"); w("- uptime at end: \`$load_end\`"); w("")
rounds = int("$ROUNDS")
if "final-durable" in rows:
    w("## Durable vs memory (embedded, fast upstream), $CONNECTIONS connections, $DURATION per run, alternating"); w("")
    w("| round | durable env/s | memory env/s | durable/memory | durable p99 ms | memory p99 ms |"); w("|---|---|---|---|---|---|")
    ratios = []
    for i in range(1, rounds + 1):
        d, m = rows[f"mode-durable-{i}"], rows[f"mode-memory-{i}"]
        ratios.append(rate(d) / rate(m) if rate(m) else 0)
        w(f"| {i} | {rate(d):,.0f} | {rate(m):,.0f} | {ratios[-1]:.3f} | {d['p99_us']/1000:.1f} | {m['p99_us']/1000:.1f} |")
    med = statistics.median(ratios); w("")
    w(f"**Median ratio durable/memory: {med:.3f}** (target >= 0.85: {'met' if med >= 0.85 else 'NOT met'})"); w("")
    for m in ("durable", "memory"):
        f = rows[f"final-{m}"]; a, d = int(f["accepted"]), int(f["delivered"])
        w(f"- {m}: delivered {d:,} of {a:,} accepted ({d / a if a else 0:.2%}), peak RSS {mib(f['hwm']):,.0f} MiB")
    w("")
def lines_phase(svc, title, unit):
    if f"final-{svc}-durable" not in rows: return
    w(f"## {title}"); w("")
    lps = lambda r: r["ok"] * r["lines_per_request"] / (r["duration_us"] / 1e6)
    w(f"| round | durable {unit}/s | memory {unit}/s | durable/memory | durable p99 ms | memory p99 ms | non-200 (d/m) |"); w("|---|---|---|---|---|---|---|")
    ratios = []
    for i in range(1, rounds + 1):
        d, m = rows[f"{svc}-durable-{i}"], rows[f"{svc}-memory-{i}"]
        ratios.append(lps(d) / lps(m) if lps(m) else 0)
        w(f"| {i} | {lps(d):,.0f} | {lps(m):,.0f} | {ratios[-1]:.3f} | {d['p99_us']/1000:.1f} | {m['p99_us']/1000:.1f} | {d['not_ok']}/{m['not_ok']} |")
    med = statistics.median(ratios); w("")
    w(f"**Median ratio durable/memory: {med:.3f}** (target >= 0.85: {'met' if med >= 0.85 else 'NOT met'})"); w("")
    for m in ("durable", "memory"):
        f = rows[f"final-{svc}-{m}"]; a, d = int(f["accepted"]), int(f["delivered"])
        w(f"- {m}: {d:,} {unit} at the counter of {a:,} the host counted as accepted ({d / a if a else 0:.2%}), peak RSS {mib(f['hwm']):,.0f} MiB")
    if svc == "statsd" and "statsd-kernel" in rows:
        k = rows["statsd-kernel"]; b, a = k["before"].split(), k["after"].split()
        w(f"- kernel UDP counters over the phase (whole machine): RcvbufErrors +{int(a[0]) - int(b[0])}, SndbufErrors +{int(a[1]) - int(b[1])}")
    w("")
lines_phase("statsd", "StatsD: POST /batch ($BATCH_LINES lines per request, $STATSD_PROTOCOL to the daemon counter), $CONNECTIONS connections, $DURATION per run, alternating", "lines")
lines_phase("graphite", "Graphite: POST /ingest ($GRAPHITE_LINES points per gzip body, TCP to the carbon counter), $GRAPHITE_CONNECTIONS connections, $DURATION per run, alternating", "points")
if "final-dapr" in rows:
    f = rows["final-dapr"]
    w("## Dapr topology vs embedded (Sentry, end to end to the upstream counter)"); w("")
    w("Dapr: ingress process -> daprd double -> Redis Streams (real redis-server) -> daprd double -> forwarder process -> counter;")
    w("embedded: one process with both services -> counter. Each round: $DAPR_LOAD of load at $CONNECTIONS connections, then the wait")
    w("until the counter has every envelope the ingress accepted; delivered env/s = delivered / (load start to last delivery).")
    w("")
    w("| round | dapr accepted | dapr delivered | dapr s | dapr env/s | embedded accepted | embedded delivered | embedded s | embedded env/s | dapr/embedded |"); w("|---|---|---|---|---|---|---|---|---|---|")
    ratios = []; tot = {"dapr": [0, 0], "embedded": [0, 0]}
    e2e = lambda r: r["delivered"] / r["secs"] if r["secs"] else 0
    for i in range(1, rounds + 1):
        d, e = rows[f"dapr-dapr-{i}-e2e"], rows[f"dapr-embedded-{i}-e2e"]
        for k, r in (("dapr", d), ("embedded", e)): tot[k][0] += r["accepted"]; tot[k][1] += r["delivered"]
        ratios.append(e2e(d) / e2e(e) if e2e(e) else 0)
        w(f"| {i} | {d['accepted']:,} | {d['delivered']:,} | {d['secs']:.1f} | {e2e(d):,.0f} | {e['accepted']:,} | {e['delivered']:,} | {e['secs']:.1f} | {e2e(e):,.0f} | {ratios[-1]:.3f} |")
    med = statistics.median(ratios); w("")
    w(f"**Median ratio dapr/embedded, delivered env/s: {med:.3f}** (target >= 0.5: {'met' if med >= 0.5 else 'NOT met'})"); w("")
    if all("cpu" in rows[f"dapr-{t}-{i}-e2e"] for t in ("dapr", "embedded") for i in range(1, rounds + 1)):
        w("CPU per 1,000 delivered envelopes (clock ticks of utime + stime, 100 per CPU-second, summed over the measured rounds):"); w("")
        w("| topology | ingress | forwarder | embedded host | daprd doubles | redis-server | CloudProxy processes | everything |"); w("|---|---|---|---|---|---|---|---|")
        per = {}
        for t in ("dapr", "embedded"):
            c = {}; dl = 0
            for i in range(1, rounds + 1):
                r = rows[f"dapr-{t}-{i}-e2e"]; dl += r["delivered"]
                for k, v in r["cpu"].items(): c[k] = c.get(k, 0) + v
            k1000 = lambda k: c.get(k, 0) * 1000 / dl if dl else 0
            own = k1000("ingress") + k1000("forwarder") if t == "dapr" else k1000("embedded")
            per[t] = own
            w(f"| {t} | {k1000('ingress'):.1f} | {k1000('forwarder'):.1f} | {k1000('embedded'):.1f} | {k1000('sidecars'):.1f} | {k1000('redis'):.1f} | {own:.1f} | {sum(k1000(k) for k in c):.1f} |")
        w("")
        if per["dapr"]:
            w(f"**Delivered envelopes per CPU-second of the CloudProxy processes, dapr/embedded: {per['embedded'] / per['dapr']:.3f}** "
              "(what the ratio tends to when daprd and the broker have cores of their own; each topology's idle processes included)"); w("")
    for k in ("dapr", "embedded"):
        a, d = tot[k]; w(f"- {k}: delivered {d:,} of {a:,} accepted in the measured rounds ({d / a if a else 0:.2%})")
    w(f"- ingress published to its sidecar: {int(f['published'] or 0):,} envelopes, failed {int(f['publish_failed'] or 0):,}; stream 'sentry': {json.dumps(f['stream'])}; forwarder subscribed to {f['subscribed']}")
    w(f"- peak RSS (VmHWM): dapr ingress {mib(f['ingress_hwm']):,.0f} MiB, dapr forwarder {mib(f['forwarder_hwm']):,.0f} MiB, embedded {mib(f['embedded_hwm']):,.0f} MiB, "
      f"sidecar doubles + their process {mib(f['sidecar_hwm']):,.0f} MiB (the bench runs the double with RecordCalls off; redis-server not counted)")
    w("")
mem = [r for k, r in rows.items() if k.startswith("final-mem_")]
if mem:
    w("## Peak RSS vs Outbox MaxBytes, upstream answering after $SLOW_MS ms, $MEM_DURATION of load, $CONNECTIONS connections"); w("")
    w("| MaxBytes | GC | accepted env/s | accepted | refused | peak RSS MiB | bound MiB (MaxBytes+200) | RSS within | max spool on disk MiB | spool bound MiB |"); w("|---|---|---|---|---|---|---|---|---|---|")
    for k, f in rows.items():
        if not k.startswith("final-mem_"): continue
        name = k[len("final-"):]; _, mb, gc = name.split("_", 2); r = rows[name]
        bound = f["maxbytes"] / 1048576 + 200; rss = mib(f["hwm"])
        w(f"| {mb} | {gc} | {rate(r):,.0f} | {int(f['accepted']):,} | {int(f['refused']):,} | {rss:,.0f} | {bound:,.0f} | {'yes' if rss <= bound else 'NO'} | {f['spool_max_seen'] / 1048576:,.1f} | {$SPOOL_MAX / 1048576:,.0f} |")
    w("")
    w("GC: ws = DOTNET_gcServer=0 (workstation, concurrent); server = DOTNET_gcServer=1; conserve = server + DOTNET_GCConserveMemory=5.")
    w("")
w("Reproduce: \`ROUNDS=$ROUNDS DURATION=$DURATION WARMUP=$WARMUP CONNECTIONS=$CONNECTIONS PHASES=$PHASES BATCH_LINES=$BATCH_LINES STATSD_PROTOCOL=$STATSD_PROTOCOL GRAPHITE_LINES=$GRAPHITE_LINES GRAPHITE_CONNECTIONS=$GRAPHITE_CONNECTIONS DAPR_LOAD=$DAPR_LOAD DAPR_STALL=$DAPR_STALL DAPR_DRAIN_MAX=$DAPR_DRAIN_MAX DAPR_WARMUP_ROUNDS=$DAPR_WARMUP_ROUNDS MAXBYTES=\"$MAXBYTES\" GCS=\"$GCS\" MEM_DURATION=$MEM_DURATION SLOW_MS=$SLOW_MS SPOOL_MAX=$SPOOL_MAX SETTLE_MAX=$SETTLE_MAX bench/durability/run.sh\`")
open(sys.argv[2], "w").write("\n".join(L) + "\n")
PY
cat "$report"; echo "(written to $report)"
