// docker-compose.yml, checked by Compose itself (`docker-compose config`, Debian's Compose v1: no Docker
// engine runs here) and mirrored natively: the services it declares started as processes here from the
// values Compose resolves (environment, commands, dependency order, healthchecks), with the test's real
// Kafka broker as `kafka`, the ClickHouse stand-in (the real engine behind ClickHouse's HTTP interface) as
// `clickhouse`, Apicurio Registry (from Maven Central) as `schema-registry`, Debian's Prometheus on
// deploy/prometheus/prometheus.yml as `prometheus`; container
// addresses are mapped to local ones. Grafana is not started (there is none for this machine): its mounts
// are checked to exist. End to end: the agent sees a netns lab, a capture from the API makes flows that
// reach ClickHouse and the flow matrix, Prometheus scrapes all three Skystream processes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { freePort } from "../harness/kafka.ts";
import { NetnsLab } from "../harness/netns-lab.ts";
import { startSkystream, waitFor, type SkystreamProcess } from "../harness/skystream-process.ts";
import { startClickhouseServer } from "../harness/clickhouse-server.ts";
import { startPrometheus } from "../harness/prometheus.ts";
import { CCOMPAT_PATH, testSchemaRegistry } from "../harness/schema-registry.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  user?: string;
  network_mode?: string;
  pid?: string;
  privileged?: boolean;
  environment?: Record<string, string | number | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
  ports?: string[];
}

/** The file as Compose resolves it (anchors merged, ${VAR:-default} substituted), or its error. */
function composeConfig(): { services: Record<string, Service>; volumes: Record<string, unknown> } {
  const out = execFileSync("docker-compose", ["--project-directory", ROOT, "-f", `${ROOT}docker-compose.yml`, "config"], {
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "" }, // the defaults of the file, not this machine's variables
  });
  return parseYaml(out) as { services: Record<string, Service>; volumes: Record<string, unknown> };
}

test("docker-compose.yml: valid for Compose, every service healthchecked, started in order, Grafana's mounts exist", () => {
  const { services } = composeConfig();
  assert.deepEqual(Object.keys(services).sort(), ["agent", "api", "clickhouse", "grafana", "kafka", "pipeline", "prometheus", "schema-registry"]);
  for (const [name, s] of Object.entries(services)) assert.ok(s.healthcheck?.test.length, `${name}: healthcheck`);
  assert.equal(services.pipeline!.depends_on!.kafka!.condition, "service_healthy");
  assert.equal(services.pipeline!.depends_on!.clickhouse!.condition, "service_healthy");
  assert.equal(services.api!.depends_on!.pipeline!.condition, "service_healthy");
  // One image for every role, built from the Dockerfile; only the agent runs as root, on the host's network.
  for (const role of ["agent", "pipeline", "api"]) assert.equal(services[role]!.image, "skystream/skystream:0.1.0", role);
  assert.match(readFileSync(`${ROOT}Dockerfile`, "utf8"), /^USER skystream$/m);
  const agent = services.agent!;
  assert.deepEqual([agent.user, agent.network_mode, agent.pid, agent.privileged], ["root", "host", "host", true]);
  assert.ok(agent.volumes!.some((v) => v.startsWith("/run/netns:/run/netns")));
  assert.equal(services.kafka!.environment!.KAFKA_PROCESS_ROLES, "broker,controller", "KRaft");
  const grafana = services.grafana!;
  assert.match(String(grafana.environment!.GF_PLUGINS_PREINSTALL_SYNC), /^grafana-clickhouse-datasource@\d/);
  const plugin = JSON.parse(readFileSync(`${ROOT}dashboards/src/plugin.json`, "utf8")) as { id: string };
  assert.equal(grafana.environment!.GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS, plugin.id);
  const mounts = Object.fromEntries(grafana.volumes!.map((v) => v.split(":")).map(([src, dst]) => [dst, src]));
  assert.ok(existsSync(`${mounts[`/var/lib/grafana/plugins/${plugin.id}`]}/module.js`), "the built panel (dashboards/dist) is mounted");
  assert.ok(existsSync(`${mounts["/etc/grafana/provisioning"]}/datasources/skystream.yaml`));
  const provider = parseYaml(readFileSync(`${ROOT}dashboards/provisioning/dashboards/skystream.yaml`, "utf8")) as {
    providers: { options: { path: string } }[];
  };
  assert.equal(mounts[provider.providers[0]!.options.path], `${ROOT}dashboards/json`, "the provider's path holds the dashboards");
  // The provisioned data source reads the password Compose gives Grafana, the same ClickHouse's.
  assert.equal(grafana.environment!.SKYSTREAM_CLICKHOUSE_PASSWORD, services.clickhouse!.environment!.CLICKHOUSE_PASSWORD);
});

test("docker-compose.yml mirrored natively: agent → Kafka → pipeline → ClickHouse ← API, Prometheus scraping", { timeout: 240_000 }, async (t) => {
  const bootstrap = process.env.TEST_KAFKA_BOOTSTRAP;
  assert.ok(bootstrap, "run through test/run-all.sh (TEST_KAFKA_BOOTSTRAP: the broker standing for `kafka`)");
  const { services } = composeConfig();
  const clickhouse = await startClickhouseServer();
  t.after(() => clickhouse.stop());
  const registry = await testSchemaRegistry();

  // Container addresses → this machine's: the broker for both of Kafka's listeners, the stand-in for
  // ClickHouse, free ports for what the containers listen on.
  const local = new Map<string, string>([
    ["kafka:19092", bootstrap],
    ["localhost:9092", bootstrap],
    ["http://clickhouse:8123", clickhouse.url],
    [`http://schema-registry:8080${CCOMPAT_PATH}`, registry.url],
    [`http://localhost:8081${CCOMPAT_PATH}`, registry.url],
  ]);
  const ports = new Map<string, string>(); // "<service>:<port>" → 127.0.0.1:<free>
  const localEnv = async (name: string): Promise<Record<string, string>> => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(services[name]!.environment ?? {})) {
      let value = String(v ?? "");
      if (local.has(value)) value = local.get(value)!;
      // Still on every interface, as in the container (the API's auth "auto" reads it), on a free port.
      const listen = /^0\.0\.0\.0:(\d+)$/.exec(value);
      if (listen) {
        const port = await freePort();
        ports.set(`${name}:${listen[1]}`, `127.0.0.1:${port}`);
        value = `0.0.0.0:${port}`;
      }
      env[k] = value;
    }
    return env;
  };

  const lab = new NetnsLab();
  t.after(() => lab.destroy());
  const { a, b, vb } = lab.pair("198.18.82");
  const receiver = lab.udpReceiver(b, "198.18.82.2", 9997);
  t.after(() => receiver.kill("SIGKILL"));

  // In depends_on order, each waited for as its healthcheck would (its /healthz answering 200).
  const started: Record<string, SkystreamProcess> = {};
  for (const name of ["pipeline", "api", "agent"]) {
    const s = services[name]!;
    for (const dep of Object.keys(s.depends_on ?? {}))
      if (started[dep] === undefined) assert.ok(["kafka", "clickhouse", "schema-registry"].includes(dep), `${name} after ${dep}`);
    const env = await localEnv(name);
    const p = await startSkystream(s.command!, env);
    t.after(() => p.kill("SIGKILL"));
    const health = p.metricsUrl.replace(/\/metrics$/, "/healthz"); // what its healthcheck asks
    assert.ok(services[name]!.healthcheck!.test.join(" ").includes("/healthz"), `${name}'s healthcheck`);
    await waitFor(`${name} healthy`, async () => ((await fetch(health).catch(() => undefined))?.ok ? true : undefined), 60_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${p.output().slice(-3000)}`);
    });
    started[name] = p;
  }
  const api = `http://${ports.get("api:8082")}`;
  const fail = (e: Error): never => {
    throw new Error(
      `${e.message}\n${Object.entries(started)
        .map(([n, p]) => `--- ${n}:\n${p.output().slice(-1500)}`)
        .join("\n")}`,
    );
  };

  // Prometheus on the compose stack's scrape config, targets mapped like the rest.
  const promConfig = parseYaml(readFileSync(`${ROOT}deploy/prometheus/prometheus.yml`, "utf8")) as {
    scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
  };
  const hostOf = (target: string) => (target.startsWith("host.docker.internal:") ? target.replace("host.docker.internal", "agent") : target);
  const jobs = promConfig.scrape_configs.map((c) => ({
    job: c.job_name,
    targets: c.static_configs.flatMap((s) => s.targets).map((target) => ports.get(hostOf(target)) ?? assert.fail(`no local address for ${target}`)),
  }));
  const prometheus = await startPrometheus(jobs);
  t.after(() => prometheus.stop());

  // The agent's view of the lab reaches the API through Kafka.
  await waitFor("the lab in the API", async () => ((await (await fetch(`${api}/api/topology`)).text()).includes(vb) ? true : undefined), 60_000).catch(fail);
  // CORS for Grafana's origin, as the file says.
  const preflight = await fetch(`${api}/api/topology`, {
    method: "OPTIONS",
    headers: { origin: String(services.api!.environment!.SKYSTREAM_API_CORS_ORIGINS), "access-control-request-method": "POST" },
  });
  assert.equal(preflight.headers.get("access-control-allow-origin"), services.api!.environment!.SKYSTREAM_API_CORS_ORIGINS);

  // A capture through the API (control topic → agent), traffic, flows in ClickHouse and the flow matrix.
  const capture = await fetch(`${api}/api/capture`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ GremlinQuery: `G.V().Has('Name', '${vb}')` }),
  });
  assert.equal(capture.status, 201, await capture.text());
  const sender = lab.udpSender(a, "198.18.82.2", 9997, 200);
  t.after(() => sender.kill("SIGKILL"));
  const sql = async (q: string) => (await fetch(`${clickhouse.url}/?query=${encodeURIComponent(q)}`)).text();
  await waitFor(
    "the lab's flows in ClickHouse",
    async () => (Number(await sql('SELECT count() FROM skystream.flows WHERE "Transport.B" = 9997')) > 0 ? true : undefined),
    90_000,
    1000,
  ).catch(fail);
  await waitFor(
    "the pair in the flow matrix",
    async () => {
      const rows = (await (await fetch(`${api}/api/flowmatrix?from=-1h`)).json()) as { ServerIP: string; Port: number }[];
      return rows.some((r) => r.ServerIP.endsWith("198.18.82.2") && r.Port === 9997) ? true : undefined;
    },
    60_000,
    1000,
  ).catch(fail);

  // Every process registered what it writes (the topics' value subjects).
  const subjects = (await (await fetch(`${registry.url}/subjects`)).json()) as string[];
  for (const topic of ["skystream.flows.v1", "skystream.topology.v1", "skystream.control.v1", "skystream.flows.enriched.v1"])
    assert.ok(subjects.includes(`${topic}-value`), `${topic}-value in ${subjects.join(", ")}`);

  await prometheus.waitForTargets(30_000);
  const up = await prometheus.query("up");
  assert.equal(up.status, "success");
  const byJob = up.status === "success" && up.data.resultType === "vector" ? Object.fromEntries(up.data.result.map((r) => [r.metric.job, r.value[1]])) : {};
  assert.deepEqual(byJob, Object.fromEntries(jobs.map((j) => [j.job, "1"])), "every Skystream process scraped");
});
