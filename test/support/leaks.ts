import { afterAll } from "vitest";

/**
 * What a test file opened and has not closed: servers (or apps) and client connections. A file
 * that leaves either open fails, naming each.
 *
 * A leaked app holds its ports, pools and timers into the next file of the same worker, where it
 * shows up as a flaky port clash or a hang far from its cause. A leaked client keeps its socket
 * (and, with a call open on it, holds the server's stop until its deadline) or lingers into the
 * next file. The helpers that open them register here and forget them when closed, so the check
 * needs no timing: it reads what the test itself did.
 */
type Kind = "server" | "connection";
const open = new Map<object, { kind: Kind; label: string }>();

function track(kind: Kind, label: string): () => void {
  const token = {};
  open.set(token, { kind, label: `${label}${openedAt()}` });
  return () => {
    open.delete(token);
  };
}

/** Records a started server (or app) under a label; returns the function that forgets it. */
export function trackRunning(label: string): () => void {
  return track("server", label);
}

/**
 * Records a client connection a test helper opened (connect-node session, grpc-js client, raw
 * socket) under a label; returns the function that forgets it, which the helper's close calls.
 */
export function trackConnection(label: string): () => void {
  return track("connection", label);
}

/** The labels of the servers still running. */
export function stillRunning(): string[] {
  return labels("server");
}

/** The labels of the client connections still open. */
export function stillConnected(): string[] {
  return labels("connection");
}

function labels(kind: Kind): string[] {
  return [...open.values()].filter((o) => o.kind === kind).map((o) => o.label);
}

/** What is still open, as the message a file fails with (one line each); undefined if nothing. */
export function leakReport(): string | undefined {
  const servers = stillRunning();
  const connections = stillConnected();
  const parts: string[] = [];
  if (servers.length > 0) {
    parts.push(
      `${servers.length} server(s) still running after the file's tests (stop every server the file starts, in afterAll or a finally):`,
      ...servers.map((l) => `  ${l}`),
    );
  }
  if (connections.length > 0) {
    parts.push(
      `${connections.length} client connection(s) still open after the file's tests (close every client the file opens, in afterAll, a finally or onTestFinished: close() of the rawClient, healthProbe or connectIngest connection):`,
      ...connections.map((l) => `  ${l}`),
    );
  }
  return parts.length > 0 ? parts.join("\n") : undefined;
}

/** Registered by the setup file: after a test file's own afterAll hooks have run. */
export function failOnLeaks(): void {
  afterAll(() => {
    const report = leakReport();
    open.clear();
    if (report !== undefined) throw new Error(report);
  });
}

/**
 * Where in a test file the helper was called (" opened at e2e/x.test.ts:12"), so a leak
 * names the line to fix, not just the helper; empty when no test file is on the stack.
 */
function openedAt(): string {
  const site = /test\/([\w/.-]+\.test\.ts):(\d+)/.exec(new Error().stack ?? "");
  return site ? ` opened at ${site[1]}:${site[2]}` : "";
}
