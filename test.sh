#!/usr/bin/env bash
# The test command (README, .ci/run). Works on a clean clone with no stdin:
#   1. installs what the tests need when it is missing (redis-server, chromium, node, tests/node packages),
#   2. restores once, builds CloudProxy.sln in Release with zero warnings,
#   3. runs every test project one after the other, each writing a TRX file,
#   4. prints one closing line, "N passed, N failed[, N skipped]", and exits non-zero when a test
#      failed, a test run crashed, or no test ran at all.
#
# Environment:
#   TEST_FILTER     passed to `dotnet test --filter` (e.g. "FullyQualifiedName~StatsD")
#   TEST_PROJECTS   space-separated test project paths to run instead of all of them
#   TEST_HANG_TIMEOUT  per-project hang timeout for `--blame-hang-timeout` (default 15m)
set -euo pipefail
cd "$(dirname "$0")"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# No MSBuild nodes or compiler servers left running after the script (CI waits on its processes).
export MSBUILDDISABLENODEREUSE=1
trap 'dotnet build-server shutdown >/dev/null 2>&1 || true' EXIT

results_dir="artifacts/test-results"
say() { printf '==> %s\n' "$*"; }

# ---------------------------------------------------------------------------------------------
# 1. Prerequisites. Each is installed only when absent; nothing is upgraded.
# ---------------------------------------------------------------------------------------------
missing_apt=()
command -v python3 >/dev/null 2>&1 || missing_apt+=(python3)
command -v redis-server >/dev/null 2>&1 || missing_apt+=(redis-server)
[ -x /usr/bin/chromium ] || missing_apt+=(chromium)
# helm-render (tools/helm-render: Helm's template engine, for the chart tests; there is no helm binary here).
command -v go >/dev/null 2>&1 || missing_apt+=(golang-go)
[ -d /usr/share/gocode/src/github.com/Masterminds/sprig ] || missing_apt+=(golang-github-masterminds-sprig-dev)
[ -d /usr/share/gocode/src/gopkg.in/yaml.v3 ] || missing_apt+=(golang-gopkg-yaml.v3-dev)
# Graphite (issue 4): carbon-cache as destination, whisper to read it back, carbon-c-relay for fnv1a_ch placement.
[ -x /usr/bin/carbon-cache ] || missing_apt+=(graphite-carbon)
/usr/bin/python3 -c 'import whisper' >/dev/null 2>&1 || missing_apt+=(python3-whisper)
[ -x /usr/bin/carbon-c-relay ] || missing_apt+=(carbon-c-relay)
# reverse proxy (issue 5): the backpressure tests run a real Prometheus
command -v prometheus >/dev/null 2>&1 || missing_apt+=(prometheus)
# container image (issue 15): podman builds and runs the Dockerfile (runc, not crun); mmdebstrap makes the base
# image stand-ins (tools/container/build-image.sh). The chart's values.schema.json is checked by helm-render
# (Helm's own validator, gojsonschema) and by python3-jsonschema.
command -v podman >/dev/null 2>&1 || missing_apt+=(podman)
command -v runc >/dev/null 2>&1 || missing_apt+=(runc)
command -v mmdebstrap >/dev/null 2>&1 || missing_apt+=(mmdebstrap)
/usr/bin/python3 -c 'import jsonschema' >/dev/null 2>&1 || missing_apt+=(python3-jsonschema)
[ -d /usr/share/gocode/src/github.com/xeipuuv/gojsonschema ] || missing_apt+=(golang-github-xeipuuv-gojsonschema-dev)
if [ -f tests/node/package.json ]; then
  command -v node >/dev/null 2>&1 || missing_apt+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing_apt+=(npm)
fi

if [ "${#missing_apt[@]}" -gt 0 ]; then
  apt_cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing_apt[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: missing ${missing_apt[*]}; install as root with:" >&2
    echo "  sudo sh -c '$apt_cmd'" >&2
    exit 1
  fi
  say "installing ${missing_apt[*]} (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing_apt[@]}" >/dev/null
fi

# tests/node holds the statsd daemon and (sentry, issue 3) the @sentry/node SDK; both come with npm ci below.
if [ -f tests/node/package.json ]; then
  stamp=tests/node/node_modules/.package-lock.json
  manifest=tests/node/package.json
  [ -f tests/node/package-lock.json ] && manifest=tests/node/package-lock.json
  if [ ! -f "$stamp" ] || [ "$manifest" -nt "$stamp" ]; then
    if [ -f tests/node/package-lock.json ]; then
      say "installing tests/node packages (npm ci)"
      npm ci --no-audit --no-fund --loglevel=error --prefix tests/node >/dev/null
    else
      say "installing tests/node packages (npm install)"
      npm install --no-audit --no-fund --loglevel=error --prefix tests/node >/dev/null
    fi
  fi
fi

if [ ! -x artifacts/tools/helm-render ] || [ tools/helm-render/main.go -nt artifacts/tools/helm-render ] \
  || [ tools/helm-render/build.sh -nt artifacts/tools/helm-render ]; then
  say "building helm-render (tools/helm-render)"
  tools/helm-render/build.sh artifacts/tools >/dev/null
fi

# ---------------------------------------------------------------------------------------------
# 2. Restore once, build once (warnings are errors).
# ---------------------------------------------------------------------------------------------
say "restore"
dotnet restore CloudProxy.sln -v q -nologo
say "build (Release, warnings as errors)"
dotnet build CloudProxy.sln -c Release --no-restore -warnaserror -v q -nologo

# ---------------------------------------------------------------------------------------------
# 3. Test projects, one at a time: the machine has 2 cores and the integration tests start real
#    servers (the host, redis-server, chromium); running projects side by side only adds timeouts.
# ---------------------------------------------------------------------------------------------
if [ -n "${TEST_PROJECTS:-}" ]; then
  read -r -a projects <<<"$TEST_PROJECTS"
else
  projects=()
  # Unit test projects first (fast feedback), integration tests last.
  while IFS= read -r p; do projects+=("$p"); done < <(
    find tests -mindepth 2 -maxdepth 2 -name '*.csproj' ! -name 'CloudProxy.Tests.Common.csproj' \
      | sort | awk '/IntegrationTests/ { last[++n] = $0; next } { print } END { for (i = 1; i <= n; i++) print last[i] }')
fi

rm -rf "$results_dir"
mkdir -p "$results_dir"
filter_args=()
[ -n "${TEST_FILTER:-}" ] && filter_args=(--filter "$TEST_FILTER")

crashed=()
for project in "${projects[@]}"; do
  name="$(basename "$project" .csproj)"
  say "test $name${TEST_FILTER:+ (filter: $TEST_FILTER)}"
  rc=0
  dotnet test "$project" -c Release --no-build --nologo \
    "${filter_args[@]}" \
    --results-directory "$results_dir" \
    --logger "trx;LogFileName=$name.trx" \
    --logger "console;verbosity=normal" \
    --blame-hang-timeout "${TEST_HANG_TIMEOUT:-15m}" --blame-hang-dump-type none \
    || rc=$?
  if [ "$rc" -ne 0 ]; then crashed+=("$name:$rc"); fi
done

# ---------------------------------------------------------------------------------------------
# 4. Count from the TRX files, print the closing line.
# ---------------------------------------------------------------------------------------------
summary="$(python3 - "$results_dir" "${crashed[@]}" <<'PY'
import glob, os, sys
import xml.etree.ElementTree as ET

results_dir, crashed = sys.argv[1], sys.argv[2:]
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
passed = failed = skipped = 0
seen = {}
for path in sorted(glob.glob(os.path.join(results_dir, "*.trx"))):
    name = os.path.splitext(os.path.basename(path))[0]
    root = ET.parse(path).getroot()
    outcomes = [r.get("outcome", "") for r in root.iterfind("t:Results/t:UnitTestResult", ns)]
    p = outcomes.count("Passed")
    f = sum(outcomes.count(o) for o in ("Failed", "Error", "Timeout", "Aborted"))
    s = len(outcomes) - p - f  # NotExecuted (skipped), Inconclusive, ...
    # The summary can record a failure no test result shows (e.g. a test host that aborted).
    c = root.find("t:ResultSummary/t:Counters", ns)
    if c is not None:
        f = max(f, sum(int(c.get(k, "0")) for k in ("failed", "error", "timeout", "aborted")))
    seen[name] = f
    passed, failed, skipped = passed + p, failed + f, skipped + s
    print(f"   {name:<40} passed={p} failed={f} skipped={s}", file=sys.stderr)
# A project whose run failed but recorded no failed test (crash, hang, missing TRX) still counts once.
for item in crashed:
    name, rc = item.rsplit(":", 1)
    if seen.get(name, 0) == 0:
        failed += 1
        print(f"   {name:<40} test run failed (exit {rc}) with no failed test recorded", file=sys.stderr)
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
if passed + failed == 0:
    print("test.sh: no test ran", file=sys.stderr)
    sys.exit(2)
sys.exit(1 if failed else 0)
PY
)" || status=$?

echo
echo "$summary"
exit "${status:-0}"
