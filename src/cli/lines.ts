import type { Readable } from "node:stream";

/** One line of a text stream: its text (without the line ending) and 1-based number. */
export interface TextLine {
  readonly text: string;
  readonly line: number;
  /** The line was longer than the limit; `text` is empty and the rest of it was skipped. */
  readonly tooLong: boolean;
}

/**
 * Splits a UTF-8 stream into lines, holding at most `maxChars` of one line in memory: a longer
 * line (a binary file, a runaway export) is reported as too long and skipped to its end, where
 * readline would buffer it whole.
 */
export async function* readLines(input: Readable, maxChars: number): AsyncGenerator<TextLine> {
  input.setEncoding("utf8");
  let buffer = "";
  let skipping = false;
  let line = 0;
  for await (const chunk of input as AsyncIterable<string>) {
    let start = 0;
    for (;;) {
      const end = chunk.indexOf("\n", start);
      if (end === -1) break;
      line++;
      if (skipping) {
        skipping = false;
        yield { text: "", line, tooLong: true };
      } else {
        const text = buffer + chunk.slice(start, end);
        buffer = "";
        if (text.length > maxChars) yield { text: "", line, tooLong: true };
        else yield { text: text.endsWith("\r") ? text.slice(0, -1) : text, line, tooLong: false };
      }
      start = end + 1;
    }
    if (!skipping) {
      buffer += chunk.slice(start);
      if (buffer.length > maxChars) {
        buffer = "";
        skipping = true;
      }
    }
  }
  if (skipping) yield { text: "", line: line + 1, tooLong: true };
  else if (buffer !== "")
    yield {
      text: buffer.endsWith("\r") ? buffer.slice(0, -1) : buffer,
      line: line + 1,
      tooLong: false,
    };
}
