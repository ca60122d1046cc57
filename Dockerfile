# syntax=docker/dockerfile:1
# The one image every CloudProxy service runs (the Helm chart picks the service with --services).
#   docker build -t cloudproxy:dev .
#   docker run --rm -p 8080:8080 cloudproxy:dev --http-host 0.0.0.0
# Not built by CI here (no Docker engine on these machines); keep it conventional.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props BannedSymbols.txt .globalconfig ./
COPY src/ src/
RUN dotnet restore src/CloudProxy.Host/CloudProxy.Host.csproj
RUN dotnet publish src/CloudProxy.Host/CloudProxy.Host.csproj -c Release --no-restore -o /app /p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
# /data holds the SQLite spool; the chart mounts an emptyDir there and keeps the root filesystem read-only.
RUN mkdir -p /data && chown "$APP_UID" /data
VOLUME ["/data"]
ENV CloudProxy__Spool__Path=/data/spool.db \
    CloudProxy__Http__Host=0.0.0.0 \
    DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_gcServer=0
# The non-root user the .NET images ship (uid 1654).
USER $APP_UID
EXPOSE 8080
ENTRYPOINT ["dotnet", "cloudproxy.dll"]
