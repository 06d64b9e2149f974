# syntax=docker/dockerfile:1
# Kronos as one executable in a small image.
#   docker build -t kronos .
#   docker run -p 8080:8080 -p 50051:50051 -v "$PWD/examples:/workflows:ro" kronos serve --workflows /workflows
# Without DATABASE_URL the embedded database lives in the /data volume.

# Build: npm ci brings Bun, `npm run build` makes dist/kronos with everything inside. The stage runs
# on the build machine's platform and cross-compiles for the image's (TARGETARCH, set by BuildKit).
FROM --platform=$BUILDPLATFORM node:20-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
# npm ci's postinstall fixes postgres.js (scripts/fix-postgres-js.mjs), so that script comes first.
COPY scripts/fix-postgres-js.mjs scripts/
RUN npm ci
COPY . .
ARG TARGETARCH
# The commit `kronos version` prints (the build context has no .git): --build-arg KRONOS_COMMIT=$(git rev-parse --short HEAD)
ARG KRONOS_COMMIT=unknown
RUN case "$TARGETARCH" in \
      amd64) target=bun-linux-x64 ;; \
      arm64) target=bun-linux-arm64 ;; \
      *) echo "no Kronos build for $TARGETARCH (amd64 and arm64 only)" >&2; exit 1 ;; \
    esac \
 && KRONOS_COMMIT="$KRONOS_COMMIT" npm run build -- --target "$target"

# Run: glibc and the binary, as an unprivileged user.
FROM debian:12-slim
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin kronos \
 && mkdir /data && chown kronos:kronos /data && chmod 0700 /data
COPY --from=build /src/dist/kronos /usr/local/bin/kronos
USER kronos
WORKDIR /data
ENV KRONOS_DATA_DIR=/data \
    ADMIN_ADDR=:8080 \
    GRPC_ADDR=:50051 \
    METRICS_ADDR=:2112
VOLUME /data
# 8080: Connect, gRPC-web, debugger UI, /healthz; 50051: gRPC (h2c); 2112: Prometheus /metrics.
EXPOSE 8080 50051 2112
# The image has no curl: the binary is also a Bun runtime (BUN_BE_BUN=1), which fetches /healthz.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["env", "BUN_BE_BUN=1", "kronos", "-e", "fetch('http://127.0.0.1:' + (process.env.ADMIN_ADDR || ':8080').split(':').pop() + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/kronos"]
CMD ["serve"]
