# syntax=docker/dockerfile:1
# The one image every CloudProxy service runs (the Helm chart picks the service with --services).
#   docker build -t cloudproxy:dev .
#   docker run --rm -p 8080:8080 cloudproxy:dev
# The tests build this file unchanged with podman, passing local stand-ins for the two base images
# (tools/container/build-image.sh), and run the image as Kubernetes does: non-root, read-only root, /data a volume
# (tests/CloudProxy.IntegrationTests/Container).

# The official .NET images; override to build from a mirror or from local stand-ins.
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0

FROM ${SDK_IMAGE} AS build
WORKDIR /src
# Restore from the project files alone, so that a change to the sources reuses the restored layer.
COPY global.json Directory.Build.props Directory.Packages.props BannedSymbols.txt .globalconfig ./
COPY src/Directory.Build.props src/BannedSymbols.txt src/
COPY src/CloudProxy.Core/CloudProxy.Core.csproj src/CloudProxy.Core/
COPY src/CloudProxy.Transport.Dapr/CloudProxy.Transport.Dapr.csproj src/CloudProxy.Transport.Dapr/
COPY src/CloudProxy.StatsD/CloudProxy.StatsD.csproj src/CloudProxy.StatsD/
COPY src/CloudProxy.Sentry/CloudProxy.Sentry.csproj src/CloudProxy.Sentry/
COPY src/CloudProxy.Graphite/CloudProxy.Graphite.csproj src/CloudProxy.Graphite/
COPY src/CloudProxy.ReverseProxy/CloudProxy.ReverseProxy.csproj src/CloudProxy.ReverseProxy/
COPY src/CloudProxy.Host/CloudProxy.Host.csproj src/CloudProxy.Host/
RUN dotnet restore src/CloudProxy.Host/CloudProxy.Host.csproj
COPY src/ src/
RUN dotnet publish src/CloudProxy.Host/CloudProxy.Host.csproj -c Release --no-restore -o /app /p:UseAppHost=false

# The final stage has the ASP.NET runtime and the published app only: no SDK, no sources.
FROM ${RUNTIME_IMAGE} AS runtime
WORKDIR /app
COPY --from=build /app ./
# /data holds everything CloudProxy writes (spool, embedded state, Graphite destination spools). The chart
# mounts an emptyDir there and keeps the root filesystem read-only; owned by the image's non-root user so that
# a fresh named volume (docker/podman copy the image's folder into it) is writable too.
RUN mkdir -p /data && chown "$APP_UID:$APP_UID" /data
VOLUME ["/data"]
# Listeners on every interface, as a container needs (the binary's defaults are 127.0.0.1).
ENV CloudProxy__DataDirectory=/data \
    CloudProxy__Http__Host=0.0.0.0 \
    CloudProxy__Graphite__Gateway__PlaintextAddress=0.0.0.0:2003 \
    CloudProxy__ReverseProxy__Listen=0.0.0.0:8850 \
    ASPNETCORE_HTTP_PORTS= \
    DOTNET_CLI_TELEMETRY_OPTOUT=1
# Every file the host writes (the spool's logs, state.db, the Graphite destination spools) goes under /data.
ENV CloudProxy__DataDirectory=/data
# --- Runtime tuning: GC mode and memory limits; keep them in this one block. Workstation GC, chosen by
# --- measurement: bench/results/durability-2026-12-02.md (peak RSS under a slow upstream: 413 MiB workstation
# --- vs 469 MiB server, 457 MiB server + GCConserveMemory, for Outbox MaxBytes 256 MiB; same accepted count).
# --- No DOTNET_GCHeapHardLimit: the runtime already caps the heap at 75 % of a container memory limit.
ENV DOTNET_gcServer=0
# --- end of runtime tuning
# The non-root user the .NET images ship (uid 1654; the chart's runAsUser).
USER $APP_UID
# HTTP (all services), Graphite plaintext, the reverse proxy's own listener.
EXPOSE 8080 2003 8850
# Docker and podman (docker image format) run it; Kubernetes uses the chart's probes instead. The image has no
# curl: bash's /dev/tcp speaks the HTTP/1.0 request. The port is --http-port's (CloudProxy__Http__Port), 8080
# by default; a container started with --urls on another port sets CloudProxy__Http__Port to it for this check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${CloudProxy__Http__Port:-8080} && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && read -r -t 4 status <&3 && [[ $status == *' 200 '* ]]"]
ENTRYPOINT ["dotnet", "cloudproxy.dll"]
