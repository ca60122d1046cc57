# Shared by bench/*/run.sh (sourced after `cd` to the repository root): logging, a temporary folder, the
# processes a script starts (each stopped by pid on exit), free ports, readiness waits and /proc readings.

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

tmp="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_http() { # url name pid: up to 30 s; the process logs to $tmp/<name>.log
  local deadline=$((SECONDS + 30))
  until curl -sf -o /dev/null "$1"; do
    kill -0 "$3" 2>/dev/null || die "$2 exited during start-up; its log:
$(tail -20 "$tmp/$2.log")"
    [ "$SECONDS" -lt "$deadline" ] || die "$2 did not answer $1 within 30 s"
    sleep 0.2
  done
}

hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; } # peak RSS of a process, KiB
# CPU a process has used so far, utime + stime in clock ticks (proc(5) fields 14 and 15; the name in field 2 may hold spaces).
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }' || echo 0; }
secs() { case "$1" in *m) echo $(( ${1%m} * 60 ));; *s) echo "${1%s}";; *) echo "$1";; esac; } # wrk duration -> seconds

need_tools() { # command:debian-package ...: installs what is missing (as root, from Debian), else says how
  local missing=() spec
  for spec in "$@"; do
    command -v "${spec%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${spec%%:*}" ] || missing+=("${spec#*:}")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || die "missing ${missing[*]}; install with: sudo sh -c 'apt-get update && apt-get install -y ${missing[*]}'"
    say "installing ${missing[*]} (apt)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  command -v python3 >/dev/null 2>&1 || die "python3 is needed to read the results"
  command -v curl >/dev/null 2>&1 || die "curl is needed to wait for the servers"
}

build_release() { # project folders: builds each in Release unless BENCH_SKIP_BUILD=1
  export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 MSBUILDDISABLENODEREUSE=1
  [ "${BENCH_SKIP_BUILD:-0}" = 1 ] && return 0
  say "building Release"
  local p
  for p in "$@"; do
    dotnet build "$p" -c Release -v q -nologo >/dev/null || die "build of $p failed (run: dotnet build $p -c Release)"
  done
}
