# Multi-stage build. The build stage installs exactly as CI does (npm ci from the lockfile) and
# compiles; the runtime stage carries production dependencies and compiled output only.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# The client is a workspace package (src/client): npm ci needs its manifest to install.
COPY package.json package-lock.json ./
COPY src/client/package.json ./src/client/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY gen ./gen
COPY migrations ./migrations
COPY bench ./bench
RUN npm run build

FROM node:20-bookworm-slim AS runtime
# The commit goes into the build_info metric: docker build --build-arg GIT_COMMIT=$(git rev-parse HEAD)
ARG GIT_COMMIT=unknown
ENV NODE_ENV=production GIT_COMMIT=$GIT_COMMIT
WORKDIR /app
COPY package.json package-lock.json ./
COPY src/client/package.json ./src/client/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Embedded mode (no DATABASE_URL) keeps its PGlite files here; mount a volume to keep them.
RUN mkdir -p /app/.data && chown node:node /app/.data
# The command line on PATH: docker exec <container> pos-ingest health readiness | keys list | …
RUN chmod +x dist/src/cli/main.js && ln -s /app/dist/src/cli/main.js /usr/local/bin/pos-ingest
USER node
# 50051: gRPC (ingest, reflection). 9464: the metrics sidecar (/metrics).
EXPOSE 50051 9464
# Liveness over the sidecar's HTTP /livez (Kubernetes uses the native gRPC probes instead).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.METRICS_PORT||9464)+'/livez').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/src/main.js"]
