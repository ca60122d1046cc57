#!/usr/bin/env bash
# Memory under hostile bodies (issue 12.5): the host as its own process under a container-like heap limit
# (DOTNET_GCHeapHardLimit, 512 MiB by default), then BOMBS decompression bombs (gzip of 200 MiB of zeros,
# refused with 413 past the 100 MiB envelope limit) and CONNECTIONS connections that declare 100 MB and send
# 20 bytes. Reports the idle RSS, the peak, the RSS every 5 s for a minute after the bombs, and whether the
# host still answers. Memory is measured here, never asserted in a test (the corpus only checks survival).
#   bench/hostile/run.sh                   # ~2 minutes
#   HOST_DLL=/other/cloudproxy.dll bench/hostile/run.sh   # another build, e.g. an older commit, same run
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/lib.sh
need_tools curl:curl python3:python3
BOMBS="${BOMBS:-16}" CONNECTIONS="${CONNECTIONS:-64}" LIMIT="${LIMIT:-0x20000000}"
dll="${HOST_DLL:-src/CloudProxy.Host/bin/Release/net10.0/cloudproxy.dll}"
[ -n "${HOST_DLL:-}" ] || build_release src/CloudProxy.Host
port="$(free_port)"
key=0123456789abcdef0123456789abcdef
say "host $dll on :$port, DOTNET_GCHeapHardLimit=$LIMIT"
DOTNET_GCHeapHardLimit="$LIMIT" dotnet "$dll" --urls "http://127.0.0.1:$port" --services sentry-ingress,sentry-forwarder \
  --pusher.sentry.host http://127.0.0.1:9 --spool-path "$tmp/spool" --Logging:LogLevel:Default=Warning >"$tmp/host.log" 2>&1 &
host=$!; pids+=("$host")
wait_http "http://127.0.0.1:$port/healthz" host "$host"
sleep 5
rss() { awk '/^VmRSS/ { print int($2/1024) }' "/proc/$host/status" 2>/dev/null || echo 0; }
idle="$(rss)"
python3 - "$port" "$key" "$BOMBS" "$CONNECTIONS" "$host" "$idle" <<'PY' | tee "$tmp/report.txt"
import gzip, http.client, socket, sys, time
port, key, bombs, conns, pid, idle = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
def rss():
    try:
        return next(int(l.split()[1]) // 1024 for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS"))
    except (OSError, StopIteration):
        return 0
def post(body, encoding=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    h = {"X-Sentry-Auth": f"Sentry sentry_key={key}", "Content-Type": "application/x-sentry-envelope"}
    if encoding: h["Content-Encoding"] = encoding
    try:
        c.request("POST", "/api/42/envelope/", body, h); return c.getresponse().status
    except OSError as e:
        return f"error {e}"
def healthy():
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10); c.request("GET", "/healthz"); return c.getresponse().status == 200
    except OSError:
        return False
bomb = gzip.compress(bytes(200 * 1024 * 1024), 6)
print(f"idle RSS: {idle} MiB; bomb: {len(bomb)} bytes of gzip, 200 MiB decompressed")
peak = 0
statuses = []
for i in range(bombs):
    statuses.append(post(bomb, "gzip")); peak = max(peak, rss())
print(f"{bombs} bombs: answers {sorted(set(map(str, statuses)))}; peak RSS during them {peak} MiB; healthy after: {healthy()}")
start = time.time()
samples = []
while time.time() - start < 60:
    samples.append((int(time.time() - start), rss())); time.sleep(5)
print("RSS after the bombs (s: MiB): " + ", ".join(f"{s}: {m}" for s, m in samples))
held = []
for i in range(conns):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(f"POST /api/42/envelope/ HTTP/1.1\r\nHost: h\r\nX-Sentry-Auth: Sentry sentry_key={key}\r\nContent-Length: 100000000\r\n\r\n{{{{{{{{{{{{{{{{{{{{".encode())
    held.append(s)
time.sleep(3)
small = post(b'{}\n{"type":"event"}\n{"message":"small"}\n')
print(f"{conns} connections declaring 100 MB, 20 bytes sent: RSS {rss()} MiB; healthy while held: {healthy()}; a small envelope while held: {small}")
for s in held: s.close()
PY
out="bench/results/hostile-$(date +%F).md"
{ echo "# bench/hostile/run.sh, $(date -u +%FT%TZ), $dll"; echo; echo '```'; cat "$tmp/report.txt"; echo '```'; } >> "$out"
say "appended to $out"
