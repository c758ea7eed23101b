import { randomUUID } from "node:crypto";

/** What one call's template actions can refer to, as in ghz's call data. */
export interface CallData {
  /** The call's number within the run, from 0. */
  readonly requestNumber: number;
  readonly workerId: string;
  /** One UUID per call: every `{{.UUID}}` of a call renders the same value, as in ghz. */
  readonly uuid: string;
}

/** Renders a compiled template for one call. */
export type Render = (call: CallData) => string;

const ACTION = /\{\{\s*(.*?)\s*\}\}/g;

/**
 * Compiles the subset of ghz's call templates (Go text/template with ghz's call data and sprig's
 * `mod`) that the bench's configs use: `.RequestNumber`, `.UUID`, `.WorkerID`, `.Timestamp`,
 * `.TimestampUnix`, `.TimestampUnixMilli`, `.TimestampUnixNano`, `newUUID` and
 * `mod .RequestNumber N`. Anything else throws, so a config never silently means something
 * different to the built-in generator than to ghz.
 */
export function compileTemplate(text: string): Render {
  const parts: (string | Render)[] = [];
  let last = 0;
  for (const match of text.matchAll(ACTION)) {
    parts.push(text.slice(last, match.index));
    parts.push(compileAction(match[1] ?? ""));
    last = match.index + match[0].length;
  }
  parts.push(text.slice(last));
  const pieces = parts.filter((p) => p !== "");
  if (pieces.every((p) => typeof p === "string")) {
    const constant = pieces.join("");
    return () => constant;
  }
  return (call) => {
    let out = "";
    for (const p of pieces) out += typeof p === "string" ? p : p(call);
    return out;
  };
}

/** True when `text` contains at least one template action. */
export function hasActions(text: string): boolean {
  return /\{\{.*?\}\}/.test(text);
}

function compileAction(action: string): Render {
  const mod = /^mod\s+\.RequestNumber\s+(\d+)$/.exec(action);
  if (mod) {
    const divisor = Number(mod[1]);
    if (divisor === 0) throw new Error("template: mod by zero");
    return (c) => String(c.requestNumber % divisor);
  }
  switch (action) {
    case ".RequestNumber":
      return (c) => String(c.requestNumber);
    case ".UUID":
      return (c) => c.uuid;
    case ".WorkerID":
      return (c) => c.workerId;
    case "newUUID":
      return () => randomUUID();
    case ".Timestamp":
      return () => new Date().toISOString().replace(/\.\d+Z$/, "Z");
    case ".TimestampUnix":
      return () => String(Math.floor(Date.now() / 1000));
    case ".TimestampUnixMilli":
      return () => String(Date.now());
    case ".TimestampUnixNano":
      return () => String(BigInt(Date.now()) * 1_000_000n);
    default:
      throw new Error(
        `template action {{${action}}} is not supported by the built-in generator ` +
          "(supported: .RequestNumber .UUID .WorkerID .Timestamp* newUUID, mod .RequestNumber N)",
      );
  }
}
