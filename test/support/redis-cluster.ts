import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { trackRunning } from "./leaks.js";
import { until } from "./wait.js";

const run = promisify(execFile);

/** A host:port a test hands to the server's config. */
export interface RedisNode {
  readonly host: string;
  readonly port: number;
}

/** A Redis Cluster of masters on free ports, each its own `redis-server` process. */
export interface RedisCluster {
  readonly nodes: readonly RedisNode[];
  /** SIGKILLs node `i` (a crash, not a shutdown) and waits for the process to be gone. */
  kill(i: number): Promise<void>;
  /** Starts node `i` again on its port with its config file, and waits for cluster_state:ok. */
  restart(i: number): Promise<void>;
  /** `redis-cli` against node `i` (for CLUSTER KEYSLOT, SCAN, …); stdout, trimmed. */
  cli(i: number, ...args: string[]): Promise<string>;
  /** The index of the node that serves `key`'s slot (asked of node `via`, 0 by default). */
  nodeOf(key: string, via?: number): Promise<number>;
  /** Every key on node `i` that matches `pattern` (SCAN MATCH). */
  keys(i: number, pattern: string): Promise<string[]>;
  /** Kills every node and removes the directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** A master and its replica, watched by one `redis-server --sentinel`. */
export interface RedisSentinel {
  readonly sentinel: RedisNode;
  readonly name: string;
  /** The master at the start; the replica is promoted once it is killed. */
  readonly master: RedisNode;
  readonly replica: RedisNode;
  /** The master the sentinel names right now. */
  currentMaster(): Promise<RedisNode>;
  /** SIGKILLs the first master: the sentinel then fails over to the replica. */
  killMaster(): Promise<void>;
  /** `redis-cli` against `node`; stdout, trimmed. */
  cli(node: RedisNode, ...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Why a Redis Cluster or Sentinel cannot be started here (no binaries, or no cluster support in
 * them), or undefined when it can. A test skips with this reason, printed.
 */
export async function redisUnavailableReason(): Promise<string | undefined> {
  try {
    await run("redis-cli", ["--version"]);
    const { stdout } = await run("redis-server", ["--version"]);
    const version = /v=(\d+)\./.exec(stdout)?.[1];
    // --cluster-port (an explicit bus port) and `redis-cli --cluster create` need Redis 7.
    if (version === undefined || Number(version) < 7) {
      return `redis-server ${stdout.trim()} is older than 7 (no --cluster-port)`;
    }
    return undefined;
  } catch (err) {
    return `redis-server / redis-cli not runnable: ${(err as Error).message.split("\n")[0]}`;
  }
}

/** A port nothing listens on right now (the kernel's pick, released at once). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** No persistence, in the foreground: a test's redis-server, gone with its process. */
const IN_MEMORY = ["--save", "", "--appendonly", "no", "--daemonize", "no"];

/** A redis-server process and its way back: the arguments it was started with. */
interface Proc {
  child: ChildProcess;
  exited: Promise<void>;
  output: string[];
}

function startProcess(args: readonly string[], cwd: string): Proc {
  const child = spawn("redis-server", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  // Kept (the last lines) for the error message of a node that does not come up.
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString());
    if (output.length > 50) output.shift();
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
  });
  // A spawn failure is reported through `exited` and the wait that follows it.
  child.once("error", (err) => output.push(String(err)));
  return { child, exited, output };
}

async function cli(port: number, args: readonly string[]): Promise<string> {
  const { stdout } = await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], {
    timeout: 10_000,
  });
  return stdout.trim();
}

async function answersPing(port: number): Promise<boolean> {
  try {
    return (await cli(port, ["ping"])) === "PONG";
  } catch {
    return false;
  }
}

function hasExited(p: Proc): boolean {
  return p.child.exitCode !== null || p.child.signalCode !== null;
}

async function stopProcess(proc: Proc | undefined): Promise<void> {
  if (!proc) return;
  if (!hasExited(proc)) proc.child.kill("SIGKILL");
  await proc.exited;
}

/**
 * The redis-server processes one starter owns, in its directory: `stop` kills them all and
 * removes the directory (once, however often it is called), and a test process that exits first
 * takes them with it. A slot is undefined while its node is down.
 */
function processGroup(dir: string, label: string) {
  const procs: (Proc | undefined)[] = [];
  const onExit = () => {
    for (const p of procs) p?.child.kill("SIGKILL");
  };
  process.once("exit", onExit);
  const forget = trackRunning(label);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(procs.map(stopProcess));
    process.removeListener("exit", onExit);
    rmSync(dir, { recursive: true, force: true });
    forget();
  };
  return { procs, stop };
}

/**
 * Starts `size` redis-server processes in cluster mode (no persistence, a temp dir for their
 * config files), joins them with `redis-cli --cluster create` (masters only) and waits until every
 * node says cluster_state:ok. Everything started is stopped, and the directory removed, if any
 * step fails, and by `stop()`; a test process that dies first takes the nodes with it.
 */
export async function startRedisCluster(size = 3): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), "pos-ingest-redis-cluster-"));
  const { procs, stop } = processGroup(dir, `redis cluster in ${dir}`);
  const args: string[][] = [];
  const nodes: RedisNode[] = [];
  const clusterOk = async (port: number) => {
    try {
      return (await cli(port, ["cluster", "info"])).includes("cluster_state:ok");
    } catch {
      return false;
    }
  };
  const waitForNode = async (i: number) => {
    const node = nodes[i] as RedisNode;
    await until(
      async () => {
        const p = procs[i];
        if (!p || hasExited(p)) {
          throw new Error(
            `redis-server on ${node.port} exited: ${p?.output.join("").slice(-2000)}`,
          );
        }
        return answersPing(node.port);
      },
      { timeoutMs: 30_000, what: `redis-server on port ${node.port} answers PING` },
    );
  };
  const allOk = () =>
    until(async () => (await Promise.all(nodes.map((n) => clusterOk(n.port)))).every(Boolean), {
      timeoutMs: 60_000,
      everyMs: 100,
      what: "cluster_state:ok on every node",
    });
  try {
    for (let i = 0; i < size; i++) {
      const port = await freePort();
      // The bus port is chosen too: the default (port + 10000) may be taken, or above 65535.
      const busPort = await freePort();
      nodes.push({ host: "127.0.0.1", port });
      args.push([
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--cluster-enabled",
        "yes",
        "--cluster-port",
        String(busPort),
        "--cluster-config-file",
        join(dir, `nodes-${port}.conf`),
        "--dir",
        dir,
        ...IN_MEMORY,
        // A killed node is marked failing after this long; a short one keeps the test short.
        "--cluster-node-timeout",
        "2000",
      ]);
      procs.push(startProcess(args[i] as string[], dir));
    }
    await Promise.all(nodes.map((_, i) => waitForNode(i)));
    await run(
      "redis-cli",
      [
        "--cluster",
        "create",
        ...nodes.map((n) => `${n.host}:${n.port}`),
        "--cluster-replicas",
        "0",
        "--cluster-yes",
      ],
      { timeout: 60_000 },
    );
    await allOk();
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    nodes,
    async kill(i) {
      await stopProcess(procs[i]);
      procs[i] = undefined;
    },
    async restart(i) {
      if (procs[i]) throw new Error(`node ${i} is running`);
      procs[i] = startProcess(args[i] as string[], dir);
      await waitForNode(i);
      await allOk();
    },
    cli: (i, ...a) => cli((nodes[i] as RedisNode).port, a),
    async nodeOf(key, via = 0) {
      const port = (nodes[via] as RedisNode).port;
      const slot = Number(await cli(port, ["cluster", "keyslot", key]));
      // CLUSTER NODES: "<id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <state> <slots…>"
      for (const line of (await cli(port, ["cluster", "nodes"])).split("\n")) {
        const fields = line.split(" ");
        const owns = fields.slice(8).some((range) => {
          const [from, to = from] = range.split("-").map(Number);
          return (from as number) <= slot && slot <= (to as number);
        });
        const nodePort = Number(/:(\d+)@/.exec(fields[1] ?? "")?.[1]);
        if (owns) return nodes.findIndex((n) => n.port === nodePort);
      }
      throw new Error(`no node serves slot ${slot} of ${key}`);
    },
    async keys(i, pattern) {
      const out = await cli((nodes[i] as RedisNode).port, ["--scan", "--pattern", pattern]);
      return out === "" ? [] : out.split("\n");
    },
    stop,
  };
}

/**
 * Starts a redis-server master, a replica of it, and one `redis-server --sentinel` monitoring the
 * master under `name` (quorum 1, down after 1 s, so a killed master is failed over within
 * seconds), and waits until the sentinel knows both. Stopped and removed on failure.
 */
export async function startRedisSentinel(name = "pos-ingest"): Promise<RedisSentinel> {
  const dir = mkdtempSync(join(tmpdir(), "pos-ingest-redis-sentinel-"));
  const { procs, stop } = processGroup(dir, `redis sentinel in ${dir}`);
  const server = (port: number, ...extra: string[]) => [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    ...IN_MEMORY,
    ...extra,
  ];
  const alive = (p: Proc, port: number) => async () => {
    if (hasExited(p)) {
      throw new Error(`redis-server on ${port} exited: ${p.output.join("").slice(-2000)}`);
    }
    return answersPing(port);
  };
  try {
    const master = { host: "127.0.0.1", port: await freePort() };
    const replica = { host: "127.0.0.1", port: await freePort() };
    const sentinel = { host: "127.0.0.1", port: await freePort() };
    const m = startProcess(server(master.port), dir);
    procs.push(m);
    await until(alive(m, master.port), { timeoutMs: 30_000, what: "the master answers PING" });
    const r = startProcess(
      server(replica.port, "--replicaof", master.host, String(master.port)),
      dir,
    );
    procs.push(r);
    await until(alive(r, replica.port), { timeoutMs: 30_000, what: "the replica answers PING" });
    await until(
      async () =>
        (await cli(replica.port, ["info", "replication"])).includes("master_link_status:up"),
      { timeoutMs: 30_000, what: "the replica is in sync" },
    );
    // A sentinel rewrites its config file, so it gets one of its own.
    const conf = join(dir, "sentinel.conf");
    writeFileSync(
      conf,
      [
        `port ${sentinel.port}`,
        "bind 127.0.0.1",
        `dir ${dir}`,
        `sentinel monitor ${name} ${master.host} ${master.port} 1`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 10000`,
        "",
      ].join("\n"),
    );
    const s = startProcess([conf, "--sentinel"], dir);
    procs.push(s);
    await until(alive(s, sentinel.port), { timeoutMs: 30_000, what: "the sentinel answers PING" });
    const currentMaster = async (): Promise<RedisNode> => {
      const [host, port] = (
        await cli(sentinel.port, ["sentinel", "get-master-addr-by-name", name])
      ).split("\n");
      return { host: host ?? "", port: Number(port) };
    };
    await until(async () => (await currentMaster().catch(() => undefined))?.port === master.port, {
      timeoutMs: 30_000,
      what: `the sentinel names ${name}'s master`,
    });
    // A failover needs a replica the sentinel knows of (it learns them from the master's INFO).
    await until(
      async () =>
        (await cli(sentinel.port, ["sentinel", "replicas", name]).catch(() => "")).includes(
          String(replica.port),
        ),
      { timeoutMs: 60_000, everyMs: 200, what: "the sentinel knows the replica" },
    );
    return {
      sentinel,
      name,
      master,
      replica,
      currentMaster,
      killMaster: () => stopProcess(m),
      cli: (node, ...a) => cli(node.port, a),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
