# syntax=docker/dockerfile:1
# Campaign Mailer: one image, three commands (api, worker, migrate). The server runs as JavaScript
# compiled here (`npm run build:server`: src/ to dist/, one file each) under plain node, without
# tsx's loader; the console and the workflow bundle are built here too, so nothing is compiled
# when a container starts.
ARG NODE_VERSION=24

# 1. Build: every dependency, then the console (vite), the server (esbuild) and the workflow
#    bundle (webpack, from the TypeScript in src/workflows).
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# `npm install` at the locked versions: the lock file lists other platforms' optional packages
# (@swc/core-*, @dbmate/*) without entries, which `npm ci` refuses.
RUN npm install --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY console ./console
COPY src ./src
RUN npx vite build console && npm run build:server && node dist/cli.js bundle /app/workflow-bundle.js

# 2. Production dependencies only (no vite, no test tools, no embedded PostgreSQL).
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# 3. The runtime image: node, production node_modules, the compiled server, migrations, built
#    assets. No sources: the worker runs the prebuilt bundle (WORKFLOW_BUNDLE_PATH).
FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    WORKFLOW_BUNDLE_PATH=/app/workflow-bundle.js
# Memory: at most two glibc malloc arenas (Temporal's native core allocates from many threads, and
# each thread's arena keeps what it freed) and a 2 MB young generation per V8 isolate (the main
# thread's and the workflow thread's; Node's default is 16 MB). Together they took the worker's
# peak from 454 to 308 MB in the delivery bench at the same rate, for about 2 ms more CPU per
# recipient (docs/benchmarks.md, "The image's memory settings"). A fixed mmap threshold of 512 KB: glibc
# otherwise raises it (up to 32 MB) each time a large block is freed, and then serves large blocks
# from arenas that keep them; fixed, a block of 512 KB or more goes back to the system when freed
# (6,000-recipient delivery bench: the worker's peak 256-260 → 242-251 MB at the same rate and CPU;
# docs/benchmarks.md, "The image's malloc threshold"). Override any of them in the service's environment.
ENV MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=524288 \
    NODE_OPTIONS=--max-semi-space-size=2
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY db ./db
COPY --from=build /app/dist ./dist
COPY --from=build /app/console/dist ./console/dist
COPY --from=build /app/workflow-bundle.js ./workflow-bundle.js
# The files belong to root and are read-only to the process, which runs as the image's `node` user.
USER node
EXPOSE 3000
# The API's liveness; the worker and migrate services override or disable it (docker-compose.yml).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM reaches node directly (exec form): the API finishes its requests, the worker its activities.
# --heap-growing-percent=30: V8 collects the old generation once it has grown 30 % past what the
# last full collection kept, instead of letting it grow up to four times that. The worker's
# in-flight sends outlive a 2 MB young generation and die in the old one; with the flag its heap
# stays near what is live (delivery bench at 2,000 recipients: the product worker's peak 311 →
# 239 MB; docs/benchmarks.md, "The image's node flag"). A V8 flag, which node refuses in NODE_OPTIONS, so it
# is on the command line.
ENTRYPOINT ["node", "--heap-growing-percent=30", "dist/cli.js"]
CMD ["api"]
