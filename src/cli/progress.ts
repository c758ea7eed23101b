import cliProgress from "cli-progress";

/** The widest the bar's line gets, however wide the terminal: a classic terminal's width. */
export const MAX_COLUMNS = 80;

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
    const bar = new cliProgress.SingleBar({
      stream: out,
      // The line is laid out here, not by a format string: its width depends on the figures.
      format: (_options, params, payload: ProgressState) => {
        const elapsedS = (performance.now() - started) / 1000;
        const fraction = params.total > 0 ? params.value / params.total : 0;
        return progressLine(
          {
            fraction,
            rate: rate(payload.done),
            etaSeconds: fraction > 0 ? (elapsedS * (1 - fraction)) / fraction : undefined,
            ...payload,
          },
          Math.min(MAX_COLUMNS, params.maxWidth),
        );
      },
      fps: 5,
      hideCursor: true,
    });
    bar.start(total ?? 0, 0, { done: 0, accepted: 0, duplicate: 0, rejected: 0 });
    return {
      update(s) {
        bar.update(s.bytes ?? 0, s);
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

/** What one redraw of the bar shows. */
export interface ProgressLineView extends ProgressState {
  /** Share of the file read, 0–1. */
  readonly fraction: number;
  /** Sales per second since the start. */
  readonly rate: number;
  /** Seconds left at the rate so far; undefined before there is a rate. */
  readonly etaSeconds: number | undefined;
}

/**
 * The bar's line, at most `columns - 1` wide (the last column would wrap or be cut): a terminal
 * with line wrapping off, as cli-progress sets it, silently cuts what does not fit, which used to
 * be the counts. The figures come first; the counts shorten, then the bar (10–30 cells, what is
 * left) goes, then all but the rejected count; only a terminal too narrow for the figures cuts them.
 */
export function progressLine(v: ProgressLineView, columns: number): string {
  const n = (x: number) => Math.round(x).toLocaleString("en-US");
  const percent = `${Math.floor(Math.min(1, Math.max(0, v.fraction)) * 100)}%`.padStart(4);
  const figures = `${percent} ${n(v.done)} sales ${n(v.rate)}/s ETA ${eta(v.etaSeconds)}`;
  const full = ` | ${n(v.accepted)} accepted, ${n(v.duplicate)} duplicate, ${n(v.rejected)} rejected`;
  const short = ` | ${n(v.accepted)} acc, ${n(v.duplicate)} dup, ${n(v.rejected)} rej`;
  const rejected = ` | ${n(v.rejected)} rej`;
  const room = columns - 1;
  // Most informative first; the rejected count outranks the bar, which only restates the percent.
  for (const [withBar, tail] of [
    [true, full],
    [true, short],
    [true, rejected],
    [false, short],
    [false, rejected],
    [false, ""],
  ] as const) {
    const text = `${figures}${tail}`;
    if (!withBar) {
      if (text.length <= room) return text;
      continue;
    }
    const cells = Math.min(30, room - text.length - 1);
    if (cells >= 10) return `${barOf(v.fraction, cells)} ${text}`;
  }
  return figures.slice(0, Math.max(0, room));
}

function barOf(fraction: number, cells: number): string {
  const full = Math.round(Math.min(1, Math.max(0, fraction)) * cells);
  return "\u2588".repeat(full) + "\u2591".repeat(cells - full);
}

/** 42s, 12m05s, 1h02m; "--" while unknown. */
function eta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return "--";
  const s = Math.round(seconds);
  const two = (x: number) => String(x).padStart(2, "0");
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
}
