# syntax=docker/dockerfile:1
# rhio container image: one node per site (docs/OPERATIONS.md).
#
#   docker build -t rhio .
#   docker run -v $PWD/config.yaml:/etc/rhio/config.yaml:ro -e PRIVATE_KEY=<hex> \
#     -p 9102:9102 -p 8080:8080 rhio
#
# Three stages: `build` compiles TypeScript with every dependency, `deps`
# installs the production dependencies only, `runtime` gets the compiled code
# and those dependencies and runs as an unprivileged user.

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/ scripts/
COPY src/ src/
COPY assembly/ assembly/
# build.mjs writes dist/wasm only when there are AssemblyScript sources; the
# runtime stage copies it either way.
RUN npm run build && mkdir -p dist/wasm

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:20-bookworm-slim AS runtime
LABEL org.opencontainers.image.title="rhio" \
      org.opencontainers.image.description="Peer-to-peer replication of NATS JetStream subjects and S3 buckets between sites, signed by their authors" \
      org.opencontainers.image.licenses="MIT"
ENV NODE_ENV=production \
    NODE_OPTIONS="--enable-source-maps --max-semi-space-size=8" \
    RHIO_LOG_FORMAT=json
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/dist/wasm ./dist/wasm
# package.json marks dist/ as ES modules; the example is for reference.
COPY package.json config.example.yaml ./
# The original rhio's binary path, for deployments that name it (its chart and
# operator pass `/usr/local/bin/rhio -c /etc/rhio/config.yaml` as args, which
# the entrypoint below also accepts).
COPY --chmod=755 scripts/rhio.sh /usr/local/bin/rhio
# /etc/rhio holds config.yaml (mounted read-only); /var/lib/rhio is the working
# directory, so the default data_dir (rhio-data) and key file land there.
RUN mkdir -p /etc/rhio /var/lib/rhio && chown 1000:1000 /var/lib/rhio
# The image's `node` user, by number so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
WORKDIR /var/lib/rhio
# p2p (libp2p over TCP) and HTTP (/health, /metrics, status page; the Helm
# chart sets http_bind_port: 8080, rhio's own default is 3000).
EXPOSE 9102/tcp 8080/tcp
# `rhio status` exits 0 healthy, 1 unhealthy, 3 unreachable; Docker reserves 2
# and wants 1 for any failure.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
  CMD ["sh", "-c", "node /app/dist/src/cli/main.js status -c /etc/rhio/config.yaml --health-only > /dev/null || exit 1"]
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
CMD ["-c", "/etc/rhio/config.yaml"]
