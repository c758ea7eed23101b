import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { onInterrupt } from "./cleanup.js";

/** Stops `child` if the bench is interrupted while it runs. */
export function trackChild(child: ChildProcess): void {
  const forget = onInterrupt(() => stopChild(child, 5_000));
  child.once("exit", forget);
}

/** Absolute path of a compiled bench script (`dist/bench/<name>.js`), next to this module. */
export function benchScript(name: string): string {
  return fileURLToPath(new URL(`./${name}.js`, import.meta.url));
}

/**
 * Runs `command args` to completion and parses the last line it prints on stdout as JSON.
 * stderr passes through, so a failing child explains itself on the terminal.
 */
export function runForJson<T>(command: string, args: readonly string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
    trackChild(child);
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
    });
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      const line = out.trim().split("\n").at(-1) ?? "";
      if (code !== 0) {
        reject(new Error(`${command} ${args[0] ?? ""} exited with ${code ?? signal}`));
        return;
      }
      try {
        resolve(JSON.parse(line) as T);
      } catch {
        reject(new Error(`${command} ${args[0] ?? ""} printed no JSON: ${line.slice(0, 200)}`));
      }
    });
  });
}

/** Runs a compiled bench script with this Node and parses its JSON answer. */
export function runNodeForJson<T>(script: string, args: readonly string[]): Promise<T> {
  return runForJson<T>(process.execPath, [benchScript(script), ...args]);
}

/** Sends SIGTERM and waits for the exit; SIGKILL after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** A long-running bench child and the JSON line it printed once ready. */
export interface RunningChild<T> {
  readonly child: ChildProcess;
  readonly ready: T;
}

/** Starts a compiled bench script that prints one JSON line when ready (e.g. `{"port":N}`). */
export function startNodeChild<T>(script: string, args: readonly string[] = []) {
  return new Promise<RunningChild<T>>((resolve, reject) => {
    const child = spawn(process.execPath, [benchScript(script), ...args], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    trackChild(child);
    let out = "";
    const onData = (chunk: string) => {
      out += chunk;
      const newline = out.indexOf("\n");
      if (newline < 0) return;
      child.stdout.off("data", onData);
      child.stdout.resume();
      try {
        resolve({ child, ready: JSON.parse(out.slice(0, newline)) as T });
      } catch (err) {
        child.kill("SIGKILL");
        reject(err);
      }
    };
    child.stdout.setEncoding("utf8").on("data", onData);
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code} before ready`)));
  });
}
