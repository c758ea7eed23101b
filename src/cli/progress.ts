import cliProgress from "cli-progress";

/** What a progress display shows. */
export interface ProgressState {
  /** Sales answered by the server or found unreadable. */
  readonly done: number;
  readonly accepted: number;
  readonly duplicate: number;
  readonly rejected: number;
  /** Bytes of the file read so far, when its size is known (the bar's measure of progress). */
  readonly bytes?: number;
}

export interface ProgressDisplay {
  update(state: ProgressState): void;
  stop(): void;
}

/** "bar" on a terminal, "lines" (one line every few seconds) elsewhere, or nothing. */
export type ProgressMode = "auto" | "bar" | "lines" | "none";

/**
 * A progress bar with sales/s and ETA when writing to a terminal and the file's size is known;
 * plain periodic lines otherwise (CI logs, pipes, stdin of unknown length), so logs stay
 * readable. Progress is measured in bytes read: it needs no counting pass over the file, and the
 * sales still in flight (a few thousand at most) are a rounding error of a backlog.
 */
export function createProgress(
  mode: ProgressMode,
  total: number | undefined,
  out: NodeJS.WriteStream = process.stderr,
  intervalMs = 2_000,
): ProgressDisplay {
  const resolved = mode === "auto" ? (out.isTTY && total !== undefined ? "bar" : "lines") : mode;
  const started = performance.now();
  const rate = (done: number) =>
    Math.round(done / Math.max(0.001, (performance.now() - started) / 1000));
  if (resolved === "none") return { update() {}, stop() {} };
  if (resolved === "bar") {
    const bar = new cliProgress.SingleBar(
      {
        stream: out,
        format:
          "{bar} {percentage}% | {sales} sales | {rate}/s | ETA {eta_formatted} | " +
          "{accepted} accepted, {duplicate} duplicate, {rejected} rejected",
        etaBuffer: 50,
        fps: 5,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total ?? 0, 0, { sales: 0, rate: 0, accepted: 0, duplicate: 0, rejected: 0 });
    return {
      update(s) {
        bar.update(s.bytes ?? 0, { ...s, sales: s.done, rate: rate(s.done) });
      },
      stop() {
        bar.stop();
      },
    };
  }
  let last: ProgressState = { done: 0, accepted: 0, duplicate: 0, rejected: 0 };
  const print = () => {
    const share =
      total && last.bytes !== undefined ? ` (${Math.floor((100 * last.bytes) / total)}%)` : "";
    out.write(
      `${last.done} sales${share}, ${rate(last.done)}/s: ${last.accepted} accepted, ` +
        `${last.duplicate} duplicate, ${last.rejected} rejected\n`,
    );
  };
  const timer = setInterval(print, intervalMs);
  timer.unref();
  return {
    update(s) {
      last = s;
    },
    stop() {
      clearInterval(timer);
      // The last figures, so even a load shorter than one interval leaves a line.
      print();
    },
  };
}
