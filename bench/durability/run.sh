#!/usr/bin/env bash
# Durable-log benchmark (issues 11 and 13; not a test: it measures and reports).
#
# Phase "mode" (issue 11): two hosts run side by side, one --durability durable, one --durability memory, each
#   with its own upstream counter (bench/HttpCounter); wrk loads them ALTERNATELY (order swapped every round,
#   same envelope, connections, duration). Reports accepted envelopes/s per round, the durable/memory ratio
#   (median of per-round ratios; target >= 0.85), the share of accepted envelopes that reached each upstream,
#   and peak RSS (VmHWM).
# Phase "memory" (issue 13): for each Outbox MaxBytes in MAXBYTES and each GC setting in GCS, one host
#   (durable) under sustained Sentry load for MEM_DURATION against an upstream answering after SLOW_MS; reports
#   accepted/s, peak RSS vs MaxBytes + 200 MiB, and the largest spool size on disk (sampled every second) vs
#   --spool-max-bytes.
# Every load is wrk -d (bounded in time); every wait is bounded.
#
# Environment: ROUNDS [3] DURATION [8s] WARMUP [5s] CONNECTIONS [32] THREADS [2] PHASES [mode,memory]
#   MAXBYTES ["64MiB 256MiB"] GCS ["ws server"] MEM_DURATION [60s] SLOW_MS [500] SPOOL_MAX [2147483648]
#   BENCH_SKIP_BUILD [0]
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd)"
ROUNDS="${ROUNDS:-3}"; DURATION="${DURATION:-8s}"; WARMUP="${WARMUP:-5s}"
CONNECTIONS="${CONNECTIONS:-32}"; THREADS="${THREADS:-2}"; PHASES="${PHASES:-mode,memory}"
MAXBYTES="${MAXBYTES:-64MiB 256MiB}"; GCS="${GCS:-ws server}"; MEM_DURATION="${MEM_DURATION:-60s}"
SLOW_MS="${SLOW_MS:-500}"; SPOOL_MAX="${SPOOL_MAX:-2147483648}"
has_phase() { case ",$PHASES," in *",$1,"*) return 0;; *) return 1;; esac; }
. bench/lib.sh
need_tools wrk:wrk
build_release bench/HttpCounter src/CloudProxy.Host
counter_bin="bench/HttpCounter/bin/Release/net10.0/HttpCounter.dll"
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

if has_phase mode; then
  start_counter durable 0; start_counter memory 0
  start_host durable "$cport_durable" --durability durable
  start_host memory "$cport_memory" --durability memory
  for m in durable memory; do eval "p=\$hport_$m"; say "warm-up $m"; run_wrk "warmup-$m" "$p" "$WARMUP"; done
  for r in $(seq 1 "$ROUNDS"); do
    order=(durable memory); [ $((r % 2)) -eq 0 ] && order=(memory durable)
    for m in "${order[@]}"; do eval "p=\$hport_$m"; say "round $r: $m"; run_wrk "mode-$m-$r" "$p" "$DURATION"; done
  done
  for m in durable memory; do
    eval "hp=\$hport_$m cp=\$cport_$m hpid=\$hpid_$m"
    read -r acc dlv < <(drain "$hp" "$cp" 120)
    printf '{"label":"final-%s","accepted":%s,"delivered":%s,"hwm":%s}\n' "$m" "$acc" "$dlv" "$(hwm "$hpid")" >> "$out"
    kill "$hpid"
  done
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
w("# Durable log benchmark (Sentry ingress), $(date -u +'%Y-%m-%d %H:%M') UTC"); w("")
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
w("Reproduce: \`ROUNDS=$ROUNDS DURATION=$DURATION WARMUP=$WARMUP CONNECTIONS=$CONNECTIONS PHASES=$PHASES MAXBYTES=\"$MAXBYTES\" GCS=\"$GCS\" MEM_DURATION=$MEM_DURATION SLOW_MS=$SLOW_MS SPOOL_MAX=$SPOOL_MAX bench/durability/run.sh\`")
open(sys.argv[2], "w").write("\n".join(L) + "\n")
PY
cat "$report"; echo "(written to $report)"
