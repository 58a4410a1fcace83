# loadbay: multi-stage build. Node matches .nvmrc (24, the current LTS), package.json "engines" and its
# `node` devDependency (the binary `npm test` and `npm start` run on where the system Node is older).
FROM node:24.21.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:24.21.0-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config ./config
COPY console ./console
RUN mkdir -p input output_parquet output_failed archive exports logs data && chown -R node:node /app
USER node
# Mount the drop folder and the outputs; set DATABASE_URL (or mount data/ for the embedded server).
# Named volumes take these folders' owner (node, uid 1000); a host folder must be writable by uid 1000.
VOLUME ["/app/input", "/app/output_parquet", "/app/output_failed", "/app/archive", "/app/exports", "/app/logs", "/app/data"]
# --max-old-space-size, --initial-old-space-size, --max-semi-space-size, --single-threaded-gc: see docs/operations.md (Memory, CPU); the same flags as `npm start`.
ENTRYPOINT ["node", "--max-old-space-size=1024", "--initial-old-space-size=128", "--max-semi-space-size=4", "--single-threaded-gc", "dist/cli.js"]
CMD ["start", "--config", "config/loadbay.yaml"]
