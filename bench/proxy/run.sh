#!/usr/bin/env bash
# Reverse proxy benchmark (not a test: it asserts nothing, it measures and reports).
#
# In one run, on 127.0.0.1 only, with nginx as the fast back end (a static 1 KiB file):
#   hit:  GET /cached through cloudproxy's reverse proxy (a cache HIT every time)
#         vs a bare ASP.NET Core endpoint answering the same bytes (bench/ProxyBaseline --mode bare)
#   pass: GET /pass (Cache-Control: no-store, so never cached) through cloudproxy
#         vs raw YARP with no features (bench/ProxyBaseline --mode yarp) and vs nginx as a proxy
# wrk loads each target in turn, the order rotated every round. Reports req/s, p50/p99, the ratios
# (targets: hit/bare >= 0.8, pass cloudproxy/yarp >= 0.9) and peak RSS (VmHWM) of every server.
# Results: bench/results/proxy-<date>.md (also printed).
#
# Environment (defaults in brackets):
#   ROUNDS [3]  DURATION [10s]  WARMUP [3s]  CONNECTIONS [64]  THREADS [2]  BODY_BYTES [1024]
#   BENCH_SKIP_BUILD [0]  1 = use the existing Release build
#   HOST_ARGS []          extra arguments for cloudproxy
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd)"

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
WARMUP="${WARMUP:-3s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
BODY_BYTES="${BODY_BYTES:-1024}"

. bench/lib.sh

# ---------------------------------------------------------------------------------------------
# Tools and builds
# ---------------------------------------------------------------------------------------------
need_tools wrk:wrk nginx:nginx-light
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"

build_release bench/ProxyBaseline src/CloudProxy.Host
baseline_bin="bench/ProxyBaseline/bin/Release/net10.0/ProxyBaseline.dll"
host_bin="src/CloudProxy.Host/bin/Release/net10.0/cloudproxy.dll"

# ---------------------------------------------------------------------------------------------
# Processes (every one we start is stopped by pid on exit)
# ---------------------------------------------------------------------------------------------
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
chmod 755 "$tmp"   # nginx workers drop root and must read the static files

mkdir -p "$tmp/www" "$tmp/nginx"
head -c "$BODY_BYTES" /dev/zero | tr '\0' 'x' > "$tmp/www/body"
backend_port="$(free_port)"; nginx_proxy_port="$(free_port)"
cat > "$tmp/nginx/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body; proxy_temp_path $tmp/nginx/proxy; fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi; scgi_temp_path $tmp/nginx/scgi;
  keepalive_requests 1000000;
  # The back end every proxy forwards to.
  server {
    listen 127.0.0.1:$backend_port;
    location = /cached { default_type text/plain; add_header Cache-Control "max-age=600"; alias $tmp/www/body; }
    location = /pass   { default_type text/plain; add_header Cache-Control "no-store"; alias $tmp/www/body; }
  }
  # nginx as a proxy: the reference pass-through.
  upstream backend { server 127.0.0.1:$backend_port; keepalive 128; }
  server {
    listen 127.0.0.1:$nginx_proxy_port;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGINX
say "starting nginx (back end 127.0.0.1:$backend_port, proxy 127.0.0.1:$nginx_proxy_port)"
"$nginx_bin" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" > "$tmp/nginx.log" 2>&1 &
nginx_pid=$!; pids+=("$nginx_pid")
wait_http "http://127.0.0.1:$backend_port/pass" nginx "$nginx_pid"
backend="http://127.0.0.1:$backend_port"

bare_port="$(free_port)"
say "starting bare endpoint on 127.0.0.1:$bare_port"
dotnet "$baseline_bin" --urls "http://127.0.0.1:$bare_port" --mode bare --body-file "$tmp/www/body" > "$tmp/bare.log" 2>&1 &
bare_pid=$!; pids+=("$bare_pid")
wait_http "http://127.0.0.1:$bare_port/healthz" bare "$bare_pid"

yarp_port="$(free_port)"
say "starting raw YARP on 127.0.0.1:$yarp_port"
dotnet "$baseline_bin" --urls "http://127.0.0.1:$yarp_port" --mode yarp --backend "$backend" > "$tmp/yarp.log" 2>&1 &
yarp_pid=$!; pids+=("$yarp_pid")
wait_http "http://127.0.0.1:$yarp_port/pass" yarp "$yarp_pid"

host_port="$(free_port)"; proxy_port="$(free_port)"
say "starting cloudproxy reverse proxy on 127.0.0.1:$proxy_port (admin 127.0.0.1:$host_port)"
# shellcheck disable=SC2086 # HOST_ARGS is a list of arguments
dotnet "$host_bin" --urls "http://127.0.0.1:$host_port" --services reverse-proxy \
  -proxy-url "$backend" -listen-address "127.0.0.1:$proxy_port" \
  --CloudProxy:Spool:Path="$tmp/spool" --Logging:LogLevel:Default=Warning \
  ${HOST_ARGS:-} > "$tmp/host.log" 2>&1 &
host_pid=$!; pids+=("$host_pid")
wait_http "http://127.0.0.1:$host_port/healthz" host "$host_pid"
wait_http "http://127.0.0.1:$proxy_port/pass" host "$host_pid"
curl -sf -o /dev/null "http://127.0.0.1:$proxy_port/cached"
[ "$(curl -sf -o /dev/null -w '%header{x-cache}' "http://127.0.0.1:$proxy_port/cached")" = HIT ] \
  || die "the proxy does not answer /cached from its cache"
cmp -s <(curl -sf "http://127.0.0.1:$proxy_port/cached") <(curl -sf "http://127.0.0.1:$bare_port/cached") \
  || die "the proxy's cache hit and the bare endpoint do not serve the same bytes"

# ---------------------------------------------------------------------------------------------
# Load
# ---------------------------------------------------------------------------------------------
run_wrk() { # label url duration
  local out="$tmp/wrk-$1.txt"
  timeout $(( $(secs "$3") + 60 )) wrk -t"$THREADS" -c"$CONNECTIONS" -d"$3" -s bench/proxy/get.lua "$2" > "$out" 2>&1 \
    || die "wrk failed for $1: $(tail -5 "$out")"
  local json; json="$(sed -n 's/^WRK_JSON //p' "$out")"
  [ -n "$json" ] || die "wrk printed no summary for $1: $(tail -5 "$out")"
  printf '{"label":"%s",%s\n' "$1" "${json#\{}" >> "$tmp/results.jsonl"
}
: > "$tmp/results.jsonl"

declare -A url=(
  [hit-proxy]="http://127.0.0.1:$proxy_port/cached" [hit-bare]="http://127.0.0.1:$bare_port/cached"
  [pass-proxy]="http://127.0.0.1:$proxy_port/pass" [pass-yarp]="http://127.0.0.1:$yarp_port/pass"
  [pass-nginx]="http://127.0.0.1:$nginx_proxy_port/pass"
)
targets=(hit-proxy hit-bare pass-proxy pass-yarp pass-nginx)
say "warm-up ($WARMUP each)"
for t in "${targets[@]}"; do run_wrk "warmup-$t" "${url[$t]}" "$WARMUP"; done
for r in $(seq 1 "$ROUNDS"); do
  # Rotate the order each round so no target always runs first (or on a hotter machine).
  order=("${targets[@]:$(( (r - 1) % ${#targets[@]} ))}" "${targets[@]:0:$(( (r - 1) % ${#targets[@]} ))}")
  for t in "${order[@]}"; do
    say "round $r/$ROUNDS: $t, $DURATION, $CONNECTIONS connections"
    run_wrk "$t-$r" "${url[$t]}" "$DURATION"
  done
done

load_end="$(cut -d' ' -f1-3 /proc/loadavg)"
nginx_hwm=0
for p in $(pgrep -P "$nginx_pid" 2>/dev/null) "$nginx_pid"; do nginx_hwm=$((nginx_hwm + $(hwm "$p"))); done
hits="$(curl -sf "http://127.0.0.1:$host_port/metrics" | awk '$1 ~ /^cloudproxy_reverseproxy_cache_lookups_total\{/ && /result="hit"/ { s += $NF } END { printf "%.0f", s }')"

# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
mkdir -p bench/results
report="bench/results/proxy-$(date -u +%Y-%m-%d).md"
n=2; while [ -e "$report" ]; do report="bench/results/proxy-$(date -u +%Y-%m-%d)-$n.md"; n=$((n + 1)); done

python3 - "$tmp/results.jsonl" "$report" <<PY
import json, statistics, sys
rows = {r["label"]: r for r in (json.loads(l) for l in open(sys.argv[1]) if l.strip())}
rounds = int("$ROUNDS")
ok = lambda r: (r["requests"] - r["status_errors"]) / (r["duration_us"] / 1e6)
L = []; w = L.append
w("# Reverse proxy benchmark, $(date -u +'%Y-%m-%d %H:%M') UTC")
w("")
w("Commit \`$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)\`$(git -C "$repo" diff --quiet 2>/dev/null || echo ' (with local changes)'), "
  "$(nproc) cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(dotnet --version) SDK, nginx 1 worker. "
  "wrk $THREADS threads, $CONNECTIONS connections, $DURATION per run, GET of a $BODY_BYTES-byte body; load generator, proxies and back end "
  "share the machine. Load average at start $load_start, at end $load_end.")
w("")
w("| round | " + " | ".join(f"{t} req/s" for t in ["hit-proxy","hit-bare","pass-proxy","pass-yarp","pass-nginx"]) + " | hit/bare | pass proxy/yarp | pass proxy/nginx |")
w("|---" * 9 + "|")
ratios = {"hit": [], "yarp": [], "nginx": []}
bad = 0
for i in range(1, rounds + 1):
    v = {t: rows[f"{t}-{i}"] for t in ["hit-proxy","hit-bare","pass-proxy","pass-yarp","pass-nginx"]}
    bad += sum(r["status_errors"] + r["connect_errors"] + r["read_errors"] + r["timeouts"] for r in v.values())
    ratios["hit"].append(ok(v["hit-proxy"]) / ok(v["hit-bare"]))
    ratios["yarp"].append(ok(v["pass-proxy"]) / ok(v["pass-yarp"]))
    ratios["nginx"].append(ok(v["pass-proxy"]) / ok(v["pass-nginx"]))
    w(f"| {i} | " + " | ".join(f"{ok(r):,.0f}" for r in v.values()) + f" | {ratios['hit'][-1]:.3f} | {ratios['yarp'][-1]:.3f} | {ratios['nginx'][-1]:.3f} |")
w("")
w("Latency (median over rounds of each run's percentile), ms:")
w("")
w("| target | p50 | p99 |")
w("|---|---|---|")
for t in ["hit-proxy","hit-bare","pass-proxy","pass-yarp","pass-nginx"]:
    p50 = statistics.median(rows[f"{t}-{i}"]["p50_us"] for i in range(1, rounds + 1)) / 1000
    p99 = statistics.median(rows[f"{t}-{i}"]["p99_us"] for i in range(1, rounds + 1)) / 1000
    w(f"| {t} | {p50:.2f} | {p99:.2f} |")
w("")
hit, yarp, ngx = (statistics.median(ratios[k]) for k in ("hit", "yarp", "nginx"))
w("## Summary")
w("")
if bad:
    w(f"- WARNING: {bad:,} errors or non-2xx responses across the measured runs; rates count 2xx only")
w(f"- cache hit through the proxy / bare endpoint, same bytes: {hit:.3f} (median of per-round ratios; target >= 0.8: {'met' if hit >= 0.8 else 'NOT met'})")
w(f"- pass-through, cloudproxy / raw YARP: {yarp:.3f} (target >= 0.9: {'met' if yarp >= 0.9 else 'NOT met'})")
w(f"- pass-through, cloudproxy / nginx as a proxy: {ngx:.3f}")
w(f"- cache hits counted by the proxy: {int('${hits:-0}' or 0):,}")
w(f"- peak RSS (VmHWM): cloudproxy {int('$(hwm "$host_pid")') / 1024:,.0f} MiB, raw YARP {int('$(hwm "$yarp_pid")') / 1024:,.0f} MiB, "
  f"bare {int('$(hwm "$bare_pid")') / 1024:,.0f} MiB, nginx (master + worker, proxy and back end) {int('$nginx_hwm') / 1024:,.0f} MiB")
w("")
w("Reproduce: \`bench/proxy/run.sh\` (ROUNDS=$ROUNDS DURATION=$DURATION CONNECTIONS=$CONNECTIONS THREADS=$THREADS). "
  "On a shared 2-core machine absolute numbers move between runs; the ratios, measured in the same run with rotating order, are the figures to compare.")
open(sys.argv[2], "w").write("\n".join(L) + "\n")
PY

echo
cat "$report"
echo "(written to $report)"
