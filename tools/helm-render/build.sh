#!/usr/bin/env bash
# Builds helm-render (a `helm template` stand-in for machines where no helm binary can be installed) from
# Debian's Go toolchain and libraries. Prints the binary's path. Usage: build.sh [OUT_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-${TMPDIR:-/tmp}/helm-render}
mkdir -p "$out" && out=$(cd "$out" && pwd)
if ! command -v go >/dev/null || [ ! -d /usr/share/gocode/src/github.com/Masterminds/sprig ] || [ ! -d /usr/share/gocode/src/gopkg.in/yaml.v3 ] \
  || [ ! -d /usr/share/gocode/src/github.com/xeipuuv/gojsonschema ]; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev golang-github-xeipuuv-gojsonschema-dev; } >/dev/null
fi
work=$(mktemp -d)
mkdir -p "$work/src/helm-render" && cp "$here/main.go" "$work/src/helm-render/"
(cd "$work/src/helm-render" && GO111MODULE=off GOPATH="$work:/usr/share/gocode" GOCACHE="$work/cache" go build -o "$out/helm-render" .)
rm -rf "$work"
echo "$out/helm-render"
