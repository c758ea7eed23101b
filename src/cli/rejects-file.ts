import { createWriteStream, type WriteStream } from "node:fs";
import { finished } from "node:stream/promises";

/**
 * `send --rejects FILE`: the rows of every transaction not stored, as they were written in the
 * input (a CSV file's header first, its delimiter, quoting and line ending kept), so the user
 * can fix them and load just those with the same command.
 */
export class RejectsFile {
  readonly #out: WriteStream;
  #lineEnding = "\n";
  #rows = 0;
  #failure: Error | undefined;

  constructor(path: string) {
    this.#out = createWriteStream(path, { flags: "w" });
    this.#out.on("error", (err) => {
      this.#failure = err;
    });
  }

  /** The input's header (CSV), written first; its line ending is used for every row. */
  header(raw: string, lineEnding: string): void {
    this.#lineEnding = lineEnding;
    this.#out.write(raw + lineEnding);
  }

  /** One transaction's rows. */
  write(rows: readonly string[]): void {
    for (const row of rows) this.#out.write(row + this.#lineEnding);
    this.#rows += rows.length;
  }

  /** Rows written so far. */
  get rows(): number {
    return this.#rows;
  }

  /** Flushes and closes; throws if the file could not be written. */
  async close(): Promise<void> {
    this.#out.end();
    await finished(this.#out).catch((err: Error) => {
      this.#failure ??= err;
    });
    if (this.#failure) throw this.#failure;
  }
}
