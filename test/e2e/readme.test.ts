import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { fromJson } from "@bufbuild/protobuf";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import {
  IngestBatchStreamRequestSchema,
  IngestRequestSchema,
  Outcome,
} from "../../gen/pos/ingest/v1/ingest_pb.js";
import { query } from "../support/database.js";
import { auth, startTestServer, type TestServer } from "../support/server.js";

/**
 * The README's commands, run as a newcomer would on a fresh clone: the `npm run keys` and
 * `npm run cli` blocks and the client-library example against a real server on Postgres (never
 * embedded mode, whose locking is not what this is about), the files the grpcurl and ghz
 * commands name through the server's own validation. Every command is either run here or named
 * as needing a tool the suite does not install, so a new command cannot go unchecked.
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const run = promisify(execFile);

interface Block {
  readonly section: string;
  readonly lang: string;
  readonly body: string;
}

/** The fenced code blocks, each with the `##` section it sits in. */
const blocks: Block[] = (() => {
  const found: Block[] = [];
  let section = "";
  const fence = /^```(\w*)\n([\s\S]*?)^```$|^## (.+)$/gm;
  for (const m of readme.matchAll(fence)) {
    if (m[3] !== undefined) section = m[3];
    else found.push({ section, lang: m[1] ?? "", body: m[2] ?? "" });
  }
  return found;
})();

/** Drops a `#` comment that is not inside quotes. */
function withoutComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"' || c === "`") quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(line[i - 1] ?? ""))) return line.slice(0, i);
  }
  return line;
}

/** A shell block's commands: continuations joined, comments dropped, `&&` chains split. */
function commandsOf(body: string): string[] {
  return body
    .replace(/\\\n\s*/g, " ")
    .split("\n")
    .map((l) => withoutComment(l).trim())
    .filter(Boolean)
    .flatMap((c) => c.split(/\s+&&\s+/));
}

const shellBlocks = blocks.filter((b) => b.lang === "sh");
const commands = shellBlocks.flatMap((b) => commandsOf(b.body).map((c) => ({ ...b, command: c })));

/** Whether this file runs a command, or why not; undefined for a command nothing checks. */
function classify(command: string): { run: true } | { run: false; because: string } | undefined {
  if (/^npm run (keys|cli) -- /.test(command)) return { run: true };
  // "Reconciling a day" drops two lines of a generated day with sed, the sales a till never sent.
  if (/^sed -e \d+d /.test(command)) return { run: true };
  if (/^export (\w+=\S+\s*)+$/.test(command)) return { run: true };
  const because = (text: string) => ({ run: false as const, because: text });
  if (/^\w+=\S+$/.test(command)) return because("a variable for the commands after it");
  if (/^npm ci$/.test(command)) return because("installs: the suite runs in an installed clone");
  if (/^(\w+=\S+\s+)*npm start$/.test(command)) return because("runs the server until stopped");
  if (/^npm test$/.test(command)) return because("the suite itself");
  // "Scaling out": a Citus coordinator and its workers, which this machine has none of.
  if (/citus|coordinator/i.test(command)) return because("needs a Citus cluster");
  const tool = /^(grpcurl|ghz|curl|docker|kind|kubectl|kustomize)\s/.exec(command)?.[1];
  return tool ? because(`needs ${tool}`) : undefined;
}

/** The request files a grpcurl or ghz command reads. */
function requestFilesOf(command: string): string[] {
  return [...command.matchAll(/--data-file\s+(\S+)|(?:^|\s)<\s*(\S+)|\s-d\s+@(\S+)/g)].flatMap(
    (m) => m[1] ?? m[2] ?? m[3] ?? [],
  );
}

/** Streams the one IngestBatchStream message a file holds (protobuf JSON), as grpcurl does. */
function sendBatch(file: string, options: { headers: Record<string, string> }) {
  const message = fromJson(
    IngestBatchStreamRequestSchema,
    JSON.parse(readFileSync(join(ROOT, file), "utf8")),
  );
  async function* one() {
    yield message;
  }
  return server.client().ingestBatchStream(one(), options);
}

/** The request a file holds, parsed as grpcurl and ghz do: the protobuf JSON mapping. */
function requestIn(file: string) {
  return fromJson(IngestRequestSchema, JSON.parse(readFileSync(join(ROOT, file), "utf8")));
}

/** Placeholders a reader replaces with their own values, and what the test puts there. */
function substitute(command: string, values: Record<string, string>): string {
  let out = command;
  for (const [placeholder, value] of Object.entries(values))
    out = out.split(placeholder).join(value);
  return out;
}

let server: TestServer;
let work: string;
const ran = new Set<string>();

/** Runs one README command in the clone, as written but for the placeholders. */
async function sh(command: string, values: Record<string, string>) {
  ran.add(command);
  const result = await run("sh", ["-ec", substitute(command, values)], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: server.databaseUrl, LOG_LEVEL: "silent" },
  }).catch((err: { code: number; stdout: string; stderr: string }) => err);
  const code = "code" in result ? result.code : 0;
  expect(code, `${command}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

beforeAll(async () => {
  server = await startTestServer({ database: "postgres" });
  work = mkdtempSync(join(tmpdir(), "pos-ingest-readme-"));
});
afterAll(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("README", { timeout: 240_000 }, () => {
  it("has only commands this file runs, or ones that need a tool it names", () => {
    expect(commands.length).toBeGreaterThan(10);
    expect(commands.filter((c) => classify(c.command) === undefined).map((c) => c.command)).toEqual(
      [],
    );
  });

  it("names only request files that exist and that the server's validation accepts", async () => {
    // Another tenant than the one the runnable blocks use, so these stores do not count there.
    const client = server.client();
    // A batch message's file (IngestBatchStream) is read as one and streamed; the others are
    // IngestRequests, sent to Ingest.
    const isBatch = (command: string) => command.includes("IngestBatchStream");
    const named = commands.flatMap((c) =>
      requestFilesOf(c.command).filter(() => !isBatch(c.command)),
    );
    const batches = commands.flatMap((c) => (isBatch(c.command) ? requestFilesOf(c.command) : []));
    expect(named.length, "the ghz and grpcurl examples name a file").toBeGreaterThan(0);
    expect(batches.length, "the IngestBatchStream example names a file").toBeGreaterThan(0);
    for (const [i, file] of [...new Set(named)].entries()) {
      expect(existsSync(join(ROOT, file)), file).toBe(true);
      const res = await client.ingest(requestIn(file), auth(server.keys.globex, `file-${i}`));
      expect(res.outcome, file).toBe(Outcome.ACCEPTED);
    }
    for (const [i, file] of [...new Set(batches)].entries()) {
      const res = await sendBatch(file, auth(server.keys.globex, `batch-${i}`));
      expect(res.received, file).toBeGreaterThan(0n);
      expect(res.accepted, file).toBe(res.received);
    }
  });

  it("builds and tags the image the Deployment names before deploying it", () => {
    const manifest = readFileSync(join(ROOT, "deploy/k8s/deployment.yaml"), "utf8");
    const deployment = parseAllDocuments(manifest)[0]?.toJS() as {
      spec: { template: { spec: { containers: { image: string }[] } } };
    };
    const image = deployment.spec.template.spec.containers[0]?.image;
    const deploying = commands.filter((c) => c.section === "Deploying").map((c) => c.command);
    const build = deploying.findIndex(
      (c) => /^docker build\b.*\s-t\s+(\S+)/.exec(c)?.[1] === image,
    );
    const apply = deploying.findIndex((c) => /^kubectl .*apply -k deploy\/k8s/.test(c));
    expect(build, `docker build -t ${image} in Deploying`).toBeGreaterThanOrEqual(0);
    expect(apply, "kubectl apply -k deploy/k8s in Deploying").toBeGreaterThan(build);
    // A `# syntax=` line makes BuildKit pull a frontend image; the Dockerfile uses no feature
    // the built-in frontend lacks.
    expect(readFileSync(join(ROOT, "Dockerfile"), "utf8")).not.toMatch(/^#\s*syntax\s*=/m);
  });

  it("runs the keys and command-line blocks and the client example against a server", async () => {
    const keysBlock = shellBlocks.find((b) => b.section === "API keys");
    const cliBlock = shellBlocks.find((b) => /npm run cli -- send/.test(b.body));
    const example = blocks.filter((b) => b.lang === "ts");
    expect(keysBlock && cliBlock && example.length === 1).toBe(true);
    const keys = commandsOf(keysBlock?.body ?? "");
    const create = keys.find((c) => / create /.test(c)) as string;
    const revoke = keys.find((c) => / revoke /.test(c)) as string;

    const created = await sh(create, {});
    const token = /api key: (pik_\S+)/.exec(created)?.[1] as string;
    const keyId = /key id:\s+(\S+)/.exec(created)?.[1] as string;
    expect(token).toMatch(/^pik_/);
    const values = {
      "pik_...": token,
      "33828dfce5b2": keyId,
      "http://127.0.0.1:50051": server.baseUrl,
      // Fewer sales than the README's 50,000: the machine is shared; the command is the same.
      "--count 50000": "--count 300",
      // npm runs scripts in the clone's root: keep the file out of it.
      "sales.ndjson": join(work, "sales.ndjson"),
    };
    for (const c of keys.filter((k) => k !== create && k !== revoke)) {
      expect(await sh(c, values)).toContain(keyId);
    }

    // The command-line block as one shell session: its `export` carries into the commands.
    const session = commandsOf(cliBlock?.body ?? "");
    for (const c of session) ran.add(c);
    const sent = await sh(session.join("\n"), values);
    expect(sent).toMatch(/accepted\s+300\b/);
    expect(sent).toMatch(/rejected\s+0\b/);
    // The worked receipts of "The sale": every kind, each stored once.
    expect(sent).toMatch(/8 sales from examples\/receipts\.ndjson[^\n]*\n\s+accepted\s+8\b/);
    expect(sent).not.toMatch(/rejected\s+[1-9]/);

    // The grpcurl calls, as the tenant of the key the README created (ghz is a load test).
    for (const { command } of commands.filter((c) => /^grpcurl\b/.test(c.command))) {
      const key = /idempotency-key: ([^"]+)"/.exec(command)?.[1];
      for (const file of requestFilesOf(command)) {
        if (command.includes("IngestBatchStream")) {
          const res = await sendBatch(file, auth(token, key));
          expect(res.accepted + res.duplicate, file).toBe(res.received);
          continue;
        }
        const res = await server.client().ingest(requestIn(file), auth(token, key));
        expect([Outcome.ACCEPTED, Outcome.DUPLICATE]).toContain(res.outcome);
      }
    }

    // The client example, type-checked against the package's own declarations and run.
    const dir = mkdtempSync(join(ROOT, "dist", "readme-example-"));
    try {
      const file = join(dir, "example.ts");
      writeFileSync(file, example[0]?.body ?? "");
      const parsed = ts.getParsedCommandLineOfConfigFile(
        join(ROOT, "tsconfig.json"),
        {},
        {
          ...ts.sys,
          onUnRecoverableConfigFileDiagnostic: () => {},
        },
      );
      const program = ts.createProgram([file], { ...parsed?.options, noEmit: true });
      const diagnostics = ts
        .getPreEmitDiagnostics(program)
        .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
      expect(diagnostics).toEqual([]);
      const js = ts.transpileModule(readFileSync(file, "utf8"), {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      });
      writeFileSync(join(dir, "example.js"), js.outputText);
      const out = await run(process.execPath, [join(dir, "example.js")], {
        cwd: ROOT,
        env: { ...process.env, POS_INGEST_SERVER: server.baseUrl, POS_INGEST_API_KEY: token },
      });
      expect(out.stdout).toMatch(/^accepted \S+ pos:acme-pos:store-7:\S+ 1$/m);
      expect(out.stdout).toMatch(/^\d+ 0 0$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    // Running the examples one after another stores each sale once: none under two keys.
    const twice = await query<{ sale_id: string }>(
      server.databaseUrl as string,
      `select sale_id from sales group by tenant_id, source, location_id, sale_id
       having count(*) > 1`,
    );
    expect(twice).toEqual([]);

    // The backfill of the Reporting section: every row the examples stored has its ledger.
    const reporting = shellBlocks.filter((b) => b.section === "Reporting");
    expect(reporting).toHaveLength(1);
    for (const c of commandsOf(reporting[0]?.body ?? "")) {
      expect(await sh(c, values)).toMatch(/^nothing to backfill: every row has its ledger$/m);
    }

    // "Loading an export": dry run, load keeping the refused rows, reload them; in the session
    // of the command-line block (its `export` names the server and key).
    const exporting = shellBlocks.filter((b) => b.section === "Loading an export");
    expect(exporting).toHaveLength(1);
    const steps = commandsOf(exporting[0]?.body ?? "");
    for (const c of steps) ran.add(c);
    const exportValues = { ...values, "rejects.csv": join(work, "rejects.csv") };
    const loaded = await sh([session[0] as string, ...steps].join("\n"), exportValues);
    const invoices = /DRY RUN, nothing sent: (\d+) sales read/.exec(loaded)?.[1];
    expect(Number(invoices)).toBeGreaterThan(0);
    expect(loaded).toMatch(new RegExp(`valid\\s+${invoices}\\b`));
    expect(loaded).toMatch(
      new RegExp(`${invoices} sales from \\S+ to [^\\n]*\\n\\s+accepted\\s+${invoices}\\b`),
    );
    // Nothing was refused, so the rejects file holds just the header and sends nothing.
    expect(loaded).toMatch(/^0 sales from \S+rejects\.csv/m);
    expect(loaded).not.toMatch(/rejected\s+[1-9]/);

    // "Reconciling a day": the receipts the command-line block sent, reconciled from the same
    // file, printing what the README shows after the command.
    const reconciling = blocks.filter((b) => b.section === "Reconciling a day");
    const reconcileAt = reconciling.findIndex((b) => b.lang === "sh");
    expect(reconcileAt, "a sh block in Reconciling a day").toBeGreaterThanOrEqual(0);
    const checks = commandsOf(reconciling[reconcileAt]?.body ?? "");
    for (const c of checks) ran.add(c);
    const reconciled = await sh([session[0] as string, ...checks].join("\n"), values);
    // npm prints its script banner first; the command's own output is what follows it.
    expect(reconciled.endsWith(`\n${reconciling[reconcileAt + 1]?.body}`), reconciled).toBe(true);

    // The bisection: a generated day of one big store, two of its sales never sent; reconcile
    // finds exactly those two (exit 1), --resend sends them and the second reconciliation matches.
    const later = reconciling.slice(reconcileAt + 2);
    const dayAt = later.findIndex((b) => b.lang === "sh" && /gen-sales/.test(b.body));
    const resendAt = later.findIndex((b) => b.lang === "sh" && /--resend/.test(b.body));
    expect(dayAt, "a gen-sales block in Reconciling a day").toBeGreaterThanOrEqual(0);
    expect(resendAt, "a --resend block after it").toBeGreaterThan(dayAt);
    const files = {
      ...values,
      "day.ndjson": join(work, "day.ndjson"),
      "sent.ndjson": join(work, "sent.ndjson"),
    };
    const shown = (out: string) =>
      out
        .split(`${work}/`)
        .join("")
        .replace(/server snapshot \S+Z/g, "server snapshot …");
    for (const [at, exit] of [
      [dayAt, 1],
      [resendAt, 0],
    ] as const) {
      const steps = commandsOf(later[at]?.body ?? "");
      const last = steps.pop() as string;
      for (const c of steps) ran.add(c);
      if (steps.length > 0) await sh([session[0] as string, ...steps].join("\n"), files);
      ran.add(last);
      const result = await run("sh", ["-c", substitute([session[0], last].join("\n"), files)], {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: server.databaseUrl, LOG_LEVEL: "silent" },
      }).then(
        (r) => ({ ...r, code: 0 }),
        (err: { code: number; stdout: string; stderr: string }) => err,
      );
      expect(result.code, `${last}\n${result.stdout}${result.stderr}`).toBe(exit);
      const expected = later[at + 1]?.body ?? "";
      expect(shown(result.stdout).endsWith(`\n${shown(expected)}`), result.stdout).toBe(true);
    }

    expect(await sh(revoke, values)).toContain(`revoked ${keyId}`);
    const runnable = commands.filter((c) => classify(c.command)?.run);
    expect(runnable.filter((c) => !ran.has(c.command)).map((c) => c.command)).toEqual([]);
  });
});
