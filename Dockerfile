# Skystream's image: one image, every role (agent, pipeline, api, allinone, client) chosen by the command.
#   docker build -t skystream/skystream:0.1.0 .
#   docker run --rm skystream/skystream:0.1.0 --help
# Two stages: the build one has the compilers (node-rdkafka's librdkafka, cap's libpcap binding, the agent's
# native sFlow receiver) and Vite for the web UI; the run one has Node, the runtime libraries and what the
# agent's probes call (ip, ethtool, nsenter), and runs as the unprivileged user `skystream` — the agent
# alone needs root and the host's namespaces (docker-compose.yml and the Kubernetes manifests say so).

ARG NODE_VERSION=20.19

FROM node:${NODE_VERSION}-bookworm AS build
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends build-essential python3 libpcap-dev libssl-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Dependencies first (a layer reused while only sources change).
COPY package.json package-lock.json ./
COPY schemas/package.json schemas/
COPY common/package.json common/
COPY agent/package.json agent/
COPY pipeline/package.json pipeline/
COPY views/package.json views/
COPY ui/package.json ui/
RUN npm ci --no-audit --no-fund
COPY schemas schemas
COPY common common
COPY agent agent
COPY pipeline pipeline
COPY views views
COPY ui ui
COPY tsconfig.json ./
RUN bash agent/native/build.sh \
 && npm run --silent build:ui \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf ui/node_modules ui/src agent/native/*.c

FROM node:${NODE_VERSION}-bookworm-slim
# libssl3 and zlib1g: librdkafka (node-rdkafka) links them; libpcap0.8: live capture (cap).
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libpcap0.8 libssl3 zlib1g iproute2 ethtool ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/skystream --create-home skystream
WORKDIR /app
COPY --from=build /app /app
ENV NODE_ENV=production \
    SKYSTREAM_CLICKHOUSE_DATA_PATH=/var/lib/skystream/clickhouse
USER skystream
# 8082: query API and web UI; 9464: /metrics (SKYSTREAM_METRICS_LISTEN); 6343/udp: sFlow (agent).
EXPOSE 8082 9464 6343/udp
ENTRYPOINT ["node", "/app/pipeline/bin/skystream.js"]
CMD ["--help"]
