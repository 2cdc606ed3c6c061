# Every app's image, from one file. Build from the repository root, naming the app twice (the
# build argument picks what the build stage lays out, the target the runtime settings):
#   docker build --build-arg APP=agency --target agency -t grantline/agency .
# (compose.yaml does this; tools/images/build-all.sh builds every image with buildah.)
ARG BASE_IMAGE=node:20-slim

# Install every dependency and compile every app. Nothing here depends on APP, so a layer
# cache builds it once for all four images.
FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY . .
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
RUN npx tsc -b apps/registry apps/agency apps/dcu apps/researchers

# This app's production dependencies and compiled code only, laid out in /out.
FROM build AS assembled
ARG APP
RUN test -n "$APP" || { echo "build with --build-arg APP=<app>" >&2; exit 1; }
RUN sh tools/images/assemble-runtime.sh "$APP" /out

# Runtime: compiled app + production dependencies, owned by root, run as the node user.
FROM ${BASE_IMAGE} AS runtime
ARG APP
ENV NODE_ENV=production
COPY --from=assembled /out /app
WORKDIR /app/apps/${APP}

# The long-running services answer /health; node runs as PID 1 and stops gracefully on
# SIGTERM (the service kit closes with grace).
FROM runtime AS service
ENV HOST=0.0.0.0
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/main.js"]

# A young generation large enough that a registry answering 10,000 heartbeats a second lets the
# requests in flight die young, instead of promoting them into collections of the old generation
# that held heartbeats for hundreds of milliseconds (README, "The registry at scale"; the
# benchmark runs the registry with the same option).
FROM service AS registry
ENV PORT=9000 \
    NODE_OPTIONS=--max-semi-space-size=64
USER node
EXPOSE 9000

FROM service AS agency
ENV PORT=9001 \
    AGENCY_DIR=/data/agency
# Decisions and the budget live in a volume; agency instances that share it share one budget.
RUN mkdir -p /data/agency && chown node:node /data/agency
VOLUME /data/agency
USER node
EXPOSE 9001

FROM service AS dcu
ENV PORT=9002 \
    ACCOUNT_DIR=/data/accounts
# Accounts live in a volume; DCU instances that share it share the accounts.
RUN mkdir -p /data/accounts && chown node:node /data/accounts
VOLUME /data/accounts
USER node
EXPOSE 9002

# The researchers simulation (a client: runs, prints a checked summary, exits). node runs as
# PID 1; SIGTERM stops every actor and ends the run (exit 130).
FROM runtime AS researchers
USER node
ENTRYPOINT ["node", "dist/main.js"]
