import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { loadConfig } from "../../src/config/index.js";
import { HEALTH_SERVICES } from "../../src/health/health-model.js";
import { shutdownWorstCaseMs } from "../../src/lifecycle/shutdown-budget.js";

/**
 * The grpc.health.v1 service names the server answers, taken from the server itself: a probe
 * naming anything else would get NOT_FOUND and fail forever.
 */
const SERVED_HEALTH_SERVICES: readonly string[] = Object.values(HEALTH_SERVICES);

const K8S_DIR = fileURLToPath(new URL("../../deploy/k8s/", import.meta.url));

// Only the fields the checks read; everything is optional because the manifests are input.
type Labels = Record<string, string>;
interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}
interface Metadata {
  name?: string;
  labels?: Labels;
  annotations?: Labels;
}
interface Manifest {
  file: string;
  apiVersion?: string;
  kind?: string;
  metadata?: Metadata;
  spec?: unknown;
  resources?: string[]; // Kustomization
  data?: Labels; // Secret
  stringData?: Labels; // Secret
}
interface Probe {
  grpc?: { port?: number; service?: string };
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
  [handler: string]: unknown;
}
interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[] };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
}
interface Container {
  name: string;
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  resources?: { requests?: Labels; limits?: Labels };
  securityContext?: SecurityContext;
  lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: { command: string[] } } };
  [probe: string]: unknown;
}
interface DeploymentSpec {
  replicas?: number;
  selector?: LabelSelector;
  strategy?: unknown;
  template: { metadata?: Metadata; spec: PodSpec };
}
interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  appProtocol?: string;
}
interface ServiceSpec {
  selector?: Labels;
  ports?: ServicePort[];
}
interface ServiceMonitorSpec {
  selector?: LabelSelector;
  endpoints?: { port?: string; path?: string }[];
}
interface PodDisruptionBudgetSpec {
  selector?: LabelSelector;
  minAvailable?: number;
  maxUnavailable?: number;
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: SecurityContext;
  terminationGracePeriodSeconds?: number;
  topologySpreadConstraints?: { labelSelector?: LabelSelector }[];
  affinity?: {
    podAntiAffinity?: Record<
      string,
      { labelSelector?: LabelSelector; podAffinityTerm?: { labelSelector?: LabelSelector } }[]
    >;
  };
}

const files = readdirSync(K8S_DIR).filter((f) => /\.ya?ml$/.test(f));
const parsed = files.map((file) => ({
  file,
  documents: parseAllDocuments(readFileSync(join(K8S_DIR, file), "utf8")),
}));
const manifests: Manifest[] = parsed.flatMap(({ file, documents }) =>
  [...documents].map((d) => ({ ...(d.toJS() as Omit<Manifest, "file">), file })),
);
const isExample = (file: string) => /\.example\.ya?ml$/.test(file);

/** The one manifest of a kind that `kubectl apply -k` applies (examples excluded). */
function only(kind: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && !isExample(m.file));
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0] as Manifest;
}

/** The spec of a manifest, as the shape its kind has. */
function specOf<T>(m: Manifest): T {
  if (typeof m.spec !== "object" || m.spec === null) throw new Error(`${m.file}: no spec`);
  return m.spec as T;
}

/** Whether a Kubernetes label selector selects a set of labels. An empty selector is refused. */
function selects(selector: LabelSelector | undefined, labels: Labels | undefined): boolean {
  const { matchLabels = {}, matchExpressions = [] } = selector ?? {};
  if (Object.keys(matchLabels).length + matchExpressions.length === 0) return false;
  const l = labels ?? {};
  return (
    Object.entries(matchLabels).every(([k, v]) => l[k] === v) &&
    matchExpressions.every(({ key, operator, values = [] }) => {
      const v = l[key];
      if (operator === "In") return v !== undefined && values.includes(v);
      if (operator === "NotIn") return v === undefined || !values.includes(v);
      if (operator === "Exists") return v !== undefined;
      if (operator === "DoesNotExist") return v === undefined;
      throw new Error(`unknown selector operator ${operator}`);
    })
  );
}

/** A Kubernetes resource quantity in base units (cores, bytes). */
function quantity(q: string | number): number {
  const m = /^(\d+(?:\.\d+)?)(m|k|M|G|Ki|Mi|Gi)?$/.exec(String(q));
  if (!m) throw new Error(`unparsed quantity ${q}`);
  const unit = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 };
  return Number(m[1]) * (m[2] ? unit[m[2] as keyof typeof unit] : 1);
}

const deployment = specOf<DeploymentSpec>(only("Deployment"));
const podSpec = deployment.template.spec;
const podLabels = deployment.template.metadata?.labels;
const allContainers = [...podSpec.containers, ...(podSpec.initContainers ?? [])];
const server = (() => {
  const withGrpc = podSpec.containers.filter((c) => c.ports?.some((p) => p.name === "grpc"));
  if (withGrpc.length !== 1) throw new Error("expected one container with a port named grpc");
  return withGrpc[0] as Container;
})();

/** A container port by name. */
function portOf(name: string): number {
  const port = server.ports?.find((p) => p.name === name)?.containerPort;
  if (port === undefined) throw new Error(`no container port named ${name}`);
  return port;
}

/** A literal env value of the server container, as a whole number. */
function envInt(name: string): number {
  const value = server.env?.find((e) => e.name === name)?.value;
  if (value === undefined || !/^\d+$/.test(value)) {
    throw new Error(`${name} must be set in the container env as a literal whole number`);
  }
  return Number(value);
}

/** The container port a Service port sends to (targetPort defaults to port). */
function resolveTarget(p: ServicePort | undefined): number | undefined {
  const target = p?.targetPort ?? p?.port;
  return typeof target === "string" ? portOf(target) : target;
}

/** How long the preStop hook delays SIGTERM; 0 without one. */
function preStopMs(c: Container): number {
  const hook = c.lifecycle?.preStop;
  if (!hook) return 0;
  if (hook.sleep) return hook.sleep.seconds * 1000;
  const sleep = /(?:^|\s)sleep\s+(\d+)\s*$/.exec(hook.exec?.command.join(" ") ?? "");
  if (sleep) return Number(sleep[1]) * 1000;
  throw new Error(`cannot tell how long the preStop hook of ${c.name} takes`);
}

describe("deploy/k8s manifests", () => {
  it("every YAML file parses without errors or warnings into named resources", () => {
    expect(files.length).toBeGreaterThan(0);
    for (const { file, documents } of parsed) {
      for (const d of documents) {
        expect(d.errors.map(String), file).toEqual([]);
        expect(d.warnings.map(String), file).toEqual([]);
      }
    }
    for (const m of manifests) {
      expect(m.apiVersion, m.file).toBeTruthy();
      expect(m.kind, m.file).toBeTruthy();
      if (m.kind !== "Kustomization") expect(m.metadata?.name, m.file).toBeTruthy();
    }
  });

  it("kustomization lists every manifest except the example secret, and each exists", () => {
    const resources = only("Kustomization").resources ?? [];
    for (const r of resources) expect(existsSync(join(K8S_DIR, r)), `${r} exists`).toBe(true);
    const expected = files.filter((f) => !/^kustomization\.ya?ml$/.test(f) && !isExample(f));
    expect([...resources].sort()).toEqual(expected.sort());
    expect(files.filter(isExample).length, "an example secret is provided").toBeGreaterThan(0);
  });

  it("rolls out three replicas one at a time, never below the desired count", () => {
    expect(deployment.replicas).toBe(3);
    expect(deployment.strategy).toEqual({
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    });
    expect(selects(deployment.selector, podLabels), "Deployment selector selects its pods").toBe(
      true,
    );
  });

  it("exposes the gRPC and metrics ports the server listens on", () => {
    expect(portOf("grpc")).toBe(50051);
    expect(portOf("metrics")).toBe(9464);
    expect(envInt("GRPC_PORT")).toBe(portOf("grpc"));
    expect(envInt("METRICS_PORT")).toBe(portOf("metrics"));
  });

  it("probes only through native gRPC health checks on names the server serves", () => {
    const probes = allContainers.flatMap((c) =>
      Object.entries(c)
        .filter(([key]) => key.endsWith("Probe"))
        .map(([key, probe]) => ({ where: `${c.name}.${key}`, probe: probe as Probe })),
    );
    expect(probes.length).toBeGreaterThan(0);
    for (const { where, probe } of probes) {
      const handlers = Object.keys(probe).filter((k) =>
        ["grpc", "httpGet", "tcpSocket", "exec"].includes(k),
      );
      expect(handlers, where).toEqual(["grpc"]);
      expect(probe.grpc?.port, where).toBe(portOf("grpc"));
      expect(SERVED_HEALTH_SERVICES, where).toContain(probe.grpc?.service);
    }
  });

  it("has startup, liveness and readiness probes on their own health names", () => {
    for (const kind of ["startup", "liveness", "readiness"]) {
      const probe = server[`${kind}Probe`] as Probe | undefined;
      expect(probe?.grpc?.service, `${kind}Probe`).toBe(kind);
    }
  });

  it("gives startup ~2 min for migrations, liveness more patience than readiness", () => {
    const probe = (kind: string) => server[`${kind}Probe`] as Probe;
    // Kubernetes defaults: period 10 s, timeout 1 s, 3 failures.
    const budget = (p: Probe) => (p.periodSeconds ?? 10) * (p.failureThreshold ?? 3);
    expect(budget(probe("startup"))).toBeGreaterThanOrEqual(120);
    expect(budget(probe("liveness"))).toBeGreaterThan(budget(probe("readiness")));
    for (const kind of ["startup", "liveness", "readiness"]) {
      const p = probe(kind);
      expect(p.timeoutSeconds ?? 1, kind).toBeLessThan(p.periodSeconds ?? 10);
    }
  });

  it("lets the server finish its shutdown sequence before the kubelet's SIGKILL", () => {
    // The server's own config from the manifest's literal env (defaults for the rest), so the
    // worst case counts every term stop() waits on, the breaker timeout included.
    const literals = Object.fromEntries(
      (server.env ?? []).flatMap((e) => (e.value === undefined ? [] : [[e.name, e.value]])),
    );
    const config = loadConfig(literals);
    const worstCaseMs = shutdownWorstCaseMs({
      ...config.shutdown,
      breakerTimeoutMs: config.breaker.timeoutMs,
    });
    const killAfterMs = (podSpec.terminationGracePeriodSeconds ?? 30) * 1000 - preStopMs(server);
    expect(worstCaseMs).toBeLessThanOrEqual(killAfterMs);
    // The budget the server checks its timings against is the one the kubelet enforces.
    expect(envInt("SHUTDOWN_BUDGET_MS")).toBeLessThanOrEqual(killAfterMs);
  });

  it("points Prometheus at the metrics port, by annotation or ServiceMonitor", () => {
    const annotations = deployment.template.metadata?.annotations;
    const monitors = manifests.filter((m) => m.kind === "ServiceMonitor");
    expect(annotations?.["prometheus.io/scrape"] === "true" || monitors.length > 0).toBe(true);
    if (annotations?.["prometheus.io/scrape"] === "true") {
      expect(Number(annotations["prometheus.io/port"])).toBe(portOf("metrics"));
      expect(annotations["prometheus.io/path"] ?? "/metrics").toBe("/metrics");
    }
    const service = only("Service");
    const servicePorts = specOf<ServiceSpec>(service).ports ?? [];
    for (const monitor of monitors) {
      expect(monitor.apiVersion).toBe("monitoring.coreos.com/v1");
      const spec = specOf<ServiceMonitorSpec>(monitor);
      expect(
        selects(spec.selector, service.metadata?.labels),
        "ServiceMonitor selects the Service",
      ).toBe(true);
      expect(spec.endpoints?.length, "ServiceMonitor endpoints").toBeGreaterThan(0);
      for (const endpoint of spec.endpoints ?? []) {
        const servicePort = servicePorts.find((p) => p.name === endpoint.port);
        expect(servicePort, `Service port ${endpoint.port}`).toBeDefined();
        expect(resolveTarget(servicePort)).toBe(portOf("metrics"));
        expect(endpoint.path ?? "/metrics").toBe("/metrics");
      }
    }
  });

  it("routes the Service to the pods' gRPC and metrics ports", () => {
    const service = specOf<ServiceSpec>(only("Service"));
    expect(
      selects({ matchLabels: service.selector ?? {} }, podLabels),
      "Service selects the pods",
    ).toBe(true);
    const port = (name: string) => service.ports?.find((p) => p.name === name);
    expect(resolveTarget(port("grpc"))).toBe(portOf("grpc"));
    expect(port("grpc")?.appProtocol).toBe("grpc");
    expect(resolveTarget(port("metrics"))).toBe(portOf("metrics"));
  });

  it("has a PodDisruptionBudget over the pods that keeps two of three up", () => {
    const pdb = specOf<PodDisruptionBudgetSpec>(only("PodDisruptionBudget"));
    expect(selects(pdb.selector, podLabels), "PDB selects the pods").toBe(true);
    // Whole numbers only: a percentage would need the rounding rules to check.
    const replicas = deployment.replicas ?? 1;
    const allowed = pdb.maxUnavailable ?? replicas - (pdb.minAvailable ?? replicas);
    expect(allowed).toBeGreaterThanOrEqual(1);
    expect(replicas - allowed).toBeGreaterThanOrEqual(2);
  });

  it("spreads replicas over nodes", () => {
    const spread = (podSpec.topologySpreadConstraints ?? []).map((t) => t.labelSelector);
    const anti = Object.values(podSpec.affinity?.podAntiAffinity ?? {})
      .flat()
      .map((t) => t.labelSelector ?? t.podAffinityTerm?.labelSelector);
    const selectors = [...spread, ...anti];
    expect(selectors.length).toBeGreaterThan(0);
    for (const s of selectors) expect(selects(s, podLabels), "spread selects the pods").toBe(true);
  });

  it("sets resource requests and limits, with requests within limits", () => {
    for (const c of allContainers) {
      for (const resource of ["cpu", "memory"]) {
        const request = c.resources?.requests?.[resource];
        const limit = c.resources?.limits?.[resource];
        expect(request, `${c.name} ${resource} request`).toBeDefined();
        expect(limit, `${c.name} ${resource} limit`).toBeDefined();
        expect(quantity(request as string)).toBeLessThanOrEqual(quantity(limit as string));
      }
    }
  });

  it("runs as a numeric non-root user, read-only, unprivileged, with no capabilities", () => {
    for (const c of allContainers) {
      const effective = { ...podSpec.securityContext, ...c.securityContext };
      expect(effective.runAsNonRoot, c.name).toBe(true);
      // The image's `USER node` is a name, which the kubelet cannot verify as non-root.
      expect(effective.runAsUser, c.name).toBeGreaterThan(0);
      expect(c.securityContext?.readOnlyRootFilesystem, c.name).toBe(true);
      expect(c.securityContext?.allowPrivilegeEscalation, c.name).toBe(false);
      expect(c.securityContext?.capabilities?.drop, c.name).toContain("ALL");
    }
  });

  it("takes DATABASE_URL from the example Secret's name and keys, never running embedded", () => {
    const env = server.env ?? [];
    const database = env.find((e) => e.name === "DATABASE_URL")?.valueFrom?.secretKeyRef;
    expect(database, "DATABASE_URL from a Secret").toBeDefined();
    expect(database?.optional ?? false).toBe(false);
    expect(env.map((e) => e.name)).not.toContain("PGLITE_DATA_DIR");
    const secrets = manifests.filter((m) => m.kind === "Secret");
    expect(
      secrets.every((s) => isExample(s.file)),
      "no real Secret is committed",
    ).toBe(true);
    for (const ref of env.flatMap((e) => e.valueFrom?.secretKeyRef ?? [])) {
      const secret = secrets.find((s) => s.metadata?.name === ref.name);
      expect(secret, `example Secret ${ref.name}`).toBeDefined();
      expect(Object.keys({ ...secret?.data, ...secret?.stringData })).toContain(ref.key);
    }
  });
});
