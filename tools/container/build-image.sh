#!/usr/bin/env bash
# Builds the repository's Dockerfile with podman on a machine that reaches no image registry, and prints the
# image's name. Usage: tools/container/build-image.sh [IMAGE]   (default localhost/cloudproxy:dev)
#
# The Dockerfile's two base images (the .NET SDK and ASP.NET runtime images, build arguments SDK_IMAGE and
# RUNTIME_IMAGE) are replaced by local stand-ins made once per machine:
#   - a Debian bookworm minbase root filesystem (mmdebstrap, from the machine's own apt mirror) with what the
#     official runtime-deps image installs (ca-certificates, libicu, libssl, tzdata) and its non-root user
#     `app` (uid/gid 1654, $APP_UID), as in github.com/dotnet/dotnet-docker src/runtime-deps/10.0/noble/amd64/Dockerfile;
#   - plus this machine's .NET SDK (/usr/share/dotnet, all of it) for SDK_IMAGE, or only its dotnet host and
#     shared/ runtimes (Microsoft.NETCore.App, Microsoft.AspNetCore.App) for RUNTIME_IMAGE, with the
#     environment variables the official images set (APP_UID, ASPNETCORE_HTTP_PORTS, DOTNET_RUNNING_IN_CONTAINER;
#     the SDK's DOTNET_NOLOGO, NUGET_XMLDOC_MODE, ...).
# The SDK stand-in also trusts this machine's CA bundle ($SSL_CERT_FILE), so `dotnet restore` inside the build
# reaches NuGet the way the host does; the runtime stand-in, and so the image, does not get it.
# Stand-ins are tagged with a key over this script, the SDK and runtime versions and the CA bundle: they are
# rebuilt only when one of those changes. The image itself is cached by podman's layer cache (the restore
# layer depends only on the project files; the publish layer on src/).
#
# Environment: CLOUDPROXY_BUILD_LOG=FILE  podman's build output (default: a temporary file, shown on failure).
#
# This machine needs runc (not crun), cgroupfs, host networking for the build and low ulimits; the same
# flags are in tests/CloudProxy.IntegrationTests/Container/Podman.cs for `podman run`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
image=${1:-localhost/cloudproxy:dev}
podman=(podman --runtime runc --cgroup-manager=cgroupfs)
limits=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
say() { printf 'build-image: %s\n' "$*" >&2; }

missing=()
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    say "missing ${missing[*]}: sudo apt-get install -y --no-install-recommends ${missing[*]}"
    exit 1
  fi
  say "installing ${missing[*]} (apt)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" >/dev/null
fi

dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
ca_bundle=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
sdk_version=$(dotnet --version)
key=$({
  cat "$0"
  echo "$sdk_version"
  ls "$dotnet_root/shared"/*
  sha256sum <"$ca_bundle"
} | sha256sum | cut -c1-16)
sdk_image=localhost/cloudproxy-standin/dotnet-sdk:$key
runtime_image=localhost/cloudproxy-standin/aspnet:$key

if ! "${podman[@]}" image exists "$sdk_image" || ! "${podman[@]}" image exists "$runtime_image"; then
  say "making the base image stand-ins ($key) from Debian bookworm and $dotnet_root"
  started=$SECONDS
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # minbase without recommends, documentation or translations (what Debian's -slim images leave out), /usr
  # merged by symlinks as debootstrap does (the usrmerge package would pull in perl).
  nice -n 10 mmdebstrap --quiet --variant=minbase --include=ca-certificates,libicu72,libssl3,tzdata \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    bookworm "$work/rootfs" >"$work/mmdebstrap.log" 2>&1 || { cat "$work/mmdebstrap.log" >&2; exit 1; }
  chroot "$work/rootfs" groupadd --gid=1654 app
  chroot "$work/rootfs" useradd --no-log-init --uid=1654 --gid=1654 --create-home app
  ln -s /usr/share/dotnet/dotnet "$work/rootfs/usr/bin/dotnet"
  mkdir -p "$work/ca/usr/local/share/cloudproxy-standin"
  cp "$ca_bundle" "$work/ca/usr/local/share/cloudproxy-standin/ca-certificates.crt"

  runtime_env=(APP_UID=1654 ASPNETCORE_HTTP_PORTS=8080 DOTNET_RUNNING_IN_CONTAINER=true
    "DOTNET_VERSION=$(ls "$dotnet_root/shared/Microsoft.NETCore.App" | sort -V | tail -1)"
    "ASPNET_VERSION=$(ls "$dotnet_root/shared/Microsoft.AspNetCore.App" | sort -V | tail -1)")
  sdk_env=("${runtime_env[@]}" DOTNET_GENERATE_ASPNET_CERTIFICATE=false DOTNET_NOLOGO=true
    "DOTNET_SDK_VERSION=$sdk_version" DOTNET_USE_POLLING_FILE_WATCHER=true NUGET_XMLDOC_MODE=skip
    DOTNET_CLI_TELEMETRY_OPTOUT=1 NUGET_CERT_REVOCATION_MODE=offline
    SSL_CERT_FILE=/usr/local/share/cloudproxy-standin/ca-certificates.crt)
  changes() { for e in "$@"; do printf -- '--change\nENV %s\n' "$e"; done; }

  # The SDK's folder (whatever its name on this machine) lands at /usr/share/dotnet, as in the official images.
  base=$(basename "$dotnet_root")
  to_usr_share=(--transform "s,^$base\$,usr/share/dotnet," --transform "s,^$base/,usr/share/dotnet/,")
  runtime_parts=(dotnet host shared LICENSE.txt ThirdPartyNotices.txt)
  tar -C "$work/rootfs" -cf "$work/runtime.tar" . \
    -C "$dotnet_root/.." "${runtime_parts[@]/#/$base/}" \
    "${to_usr_share[@]}"
  mapfile -t runtime_changes < <(changes "${runtime_env[@]}")
  "${podman[@]}" import --quiet "${runtime_changes[@]}" "$work/runtime.tar" "$runtime_image" >/dev/null
  rm "$work/runtime.tar"

  tar -C "$work/rootfs" -cf "$work/sdk.tar" . -C "$work/ca" usr/local/share/cloudproxy-standin \
    -C "$dotnet_root/.." "$base" \
    "${to_usr_share[@]}"
  mapfile -t sdk_changes < <(changes "${sdk_env[@]}")
  "${podman[@]}" import --quiet "${sdk_changes[@]}" "$work/sdk.tar" "$sdk_image" >/dev/null
  rm -rf "$work"
  trap - EXIT
  say "stand-ins made in $((SECONDS - started)) s"
fi

log=${CLOUDPROXY_BUILD_LOG:-$(mktemp)}
say "building $image from $repo/Dockerfile (log: $log)"
started=$SECONDS
# --format docker keeps HEALTHCHECK (the OCI image format has no field for it); --pull=never: the stand-ins are local.
if ! "${podman[@]}" build --format docker --pull=never --network=host "${limits[@]}" \
  --build-arg "SDK_IMAGE=$sdk_image" --build-arg "RUNTIME_IMAGE=$runtime_image" \
  -t "$image" -f "$repo/Dockerfile" "$repo" >"$log" 2>&1; then
  tail -n 60 "$log" >&2
  say "podman build failed (full log: $log)"
  exit 1
fi
say "built in $((SECONDS - started)) s: $("${podman[@]}" image inspect --format '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
echo "$image"
