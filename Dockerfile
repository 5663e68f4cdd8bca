# Shutter node image: compiled JavaScript, production dependencies only, non-root.
#   docker build -t shutter .
#   docker run -p 8080:8080 -e AUTH_JWT_SECRET=<32+ characters> shutter
# A whole cluster (3 nodes, PostgreSQL, Redis, NATS, MinIO): compose.yaml, docs/deployment.md.
# server/test/dockerfile.test.ts runs these commands on a machine without Docker.
ARG NODE_VERSION=20.20

# Build: install everything, compile protocol, actors and server to */dist, then drop dev dependencies.
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.base.json ./
COPY protocol/package.json protocol/
COPY actors/package.json actors/
COPY server/package.json server/
COPY client-sdk/package.json client-sdk/
COPY load-tests/package.json load-tests/
# No install scripts: every native part (uWebSockets.js, sharp's libvips, msgpackr-extract)
# ships prebuilt for linux-x64 glibc, and none of them needs a script to load.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY protocol protocol
COPY actors actors
COPY server server
RUN npm run build:server
RUN npm prune --omit=dev --no-audit --no-fund

# Run: node on the compiled entry, no TypeScript loader; node is PID 1 and drains on SIGTERM
# (compose adds an init with `init: true`).
FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 DATA_DIR=/home/node/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/protocol/package.json protocol/
COPY --from=build /app/protocol/dist protocol/dist
COPY --from=build /app/actors/package.json actors/
COPY --from=build /app/actors/dist actors/dist
COPY --from=build /app/server/package.json server/
COPY --from=build /app/server/dist server/dist
USER node
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "server/dist/main.js"]
