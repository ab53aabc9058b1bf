# syntax=docker/dockerfile:1
# The bot as an image: `docker build -t minimax-tts-bot .`, then see compose.yaml for a fleet on Redis.
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build step.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
# @discordjs/opus compiles from source when no prebuilt binary fits the platform: the tools stay in
# this stage only.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# node-gyp compiles against the headers the node image ships in /usr/local/include/node, instead of
# downloading them from nodejs.org: the build needs only the npm registry and the Debian mirror.
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    METRICS_PORT=9100
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY commands ./commands
# The code stays root-owned and read-only for the bot; only data/ (the SQLite file when run alone) is
# writable, by the image's unprivileged `node` user.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
VOLUME ["/app/data"]
EXPOSE 9100
# /healthz answers 200 once the gateway shards of this process are ready and the storage answers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.METRICS_PORT+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: node itself gets SIGTERM (no shell in between) and drains in-flight interactions before
# exiting. `docker run --init` (compose: `init: true`) adds a minimal init that reaps stray children.
CMD ["node", "bin/start.mjs"]
