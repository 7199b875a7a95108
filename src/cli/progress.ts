/**
 * Progress of a long loop, written to a stream (stderr by default); never to console.
 *
 * On a terminal, one line redrawn in place at most `redrawMs` apart (default 100 ms, ≤ 10 redraws a second):
 *   train [████████░░░░░░░░░░░░]  412/1000 41% 1m 23s<1m 58s 4.96 it/s loss=0.693 kl=0.0123
 * elsewhere (CI logs, files), the same information as plain lines every `intervalMs` (default 5 s) and at the end:
 *   train 412/1000 41% elapsed 1m 23s eta 1m 58s 4.96 it/s loss=0.693 kl=0.0123
 *
 * ETA comes from the average rate since construction: eta = elapsed · (total − done) / done. The rate is shown
 * as it/s, or as s/it when under one item a second. Numbers are shown with 3 significant digits.
 */

/** Where progress goes: anything with write; isTTY and columns as on a tty.WriteStream. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Number of items the loop will do; 0 or less when unknown (no bar, percentage or ETA). */
  total: number;
  /** Shown first on each line. */
  label?: string;
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** Redraw one line in place (true) or print plain lines (false). Default stream.isTTY. */
  isTTY?: boolean;
  /** Clock in milliseconds. Default Date.now. */
  now?: () => number;
  /** Plain lines (not a terminal): at most one per this many ms. Default 5000. */
  intervalMs?: number;
  /** Terminal: at most one redraw per this many ms. Default 100. */
  redrawMs?: number;
  /** Width of the bar in characters. Default 20. */
  barWidth?: number;
  /** What is counted, shown after the counts and in the rate ("12/540 MB … 4.2 MB/s"). Default items: "it/s". */
  unit?: string;
}

type Metrics = Record<string, number | string>;

export class Progress {
  private readonly total: number;
  private readonly label: string;
  private readonly stream: ProgressStream;
  private readonly isTTY: boolean;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly redrawMs: number;
  private readonly barWidth: number;
  private readonly unit: string | undefined;
  private readonly start: number;
  private count = 0;
  private metrics: Metrics = {};
  /** When the last line was drawn or printed; the start time before the first. */
  private lastDraw: number;
  /** Whether the latest state has been shown (so done() does not print the same line twice). */
  private shown = true;
  private finished = false;

  constructor(options: ProgressOptions) {
    this.total = options.total;
    this.label = options.label ?? '';
    this.stream = options.stream ?? process.stderr;
    this.isTTY = options.isTTY ?? this.stream.isTTY === true;
    this.now = options.now ?? Date.now;
    this.intervalMs = options.intervalMs ?? 5000;
    this.redrawMs = options.redrawMs ?? 100;
    this.barWidth = options.barWidth ?? 20;
    this.unit = options.unit;
    this.start = this.now();
    this.lastDraw = this.isTTY ? -Infinity : this.start;
  }

  /** `done` items finished so far; `metrics` (if given) replace the ones shown. Draws when the throttle allows. */
  update(done: number, metrics?: Metrics): void {
    if (this.finished) return;
    this.count = done;
    if (metrics) this.metrics = metrics;
    this.shown = false;
    const t = this.now();
    if (t - this.lastDraw >= (this.isTTY ? this.redrawMs : this.intervalMs)) this.draw(t);
  }

  /** Shows the final state and ends the line. Safe to call twice. */
  done(): void {
    if (this.finished) return;
    this.finished = true;
    const t = this.now();
    if (!this.shown || this.isTTY) this.draw(t);
    if (this.isTTY) this.stream.write('\n');
  }

  /** The line that would be shown now (without the terminal control codes). */
  line(t = this.now(), withBar = this.isTTY): string {
    const elapsed = Math.max(0, t - this.start) / 1000;
    const known = this.total > 0;
    const parts: string[] = [];
    if (this.label) parts.push(this.label);
    if (known && withBar) parts.push(`[${bar(this.count / this.total, this.barWidth)}]`);
    const width = String(this.total).length;
    parts.push((known ? `${String(this.count).padStart(this.isTTY ? width : 0)}/${this.total}` : String(this.count)) + (this.unit ? ` ${this.unit}` : ''));
    if (known) parts.push(`${Math.floor((100 * this.count) / this.total)}%`);
    const eta = known ? etaSeconds(this.count, this.total, elapsed) : undefined;
    const etaText = eta === undefined ? '?' : formatDuration(eta);
    parts.push(this.isTTY ? (known ? `${formatDuration(elapsed)}<${etaText}` : formatDuration(elapsed)) : `elapsed ${formatDuration(elapsed)}`);
    if (!this.isTTY && known) parts.push(`eta ${etaText}`);
    const rate = formatRate(this.count, elapsed, this.unit);
    if (rate) parts.push(rate);
    for (const [key, value] of Object.entries(this.metrics)) parts.push(`${key}=${typeof value === 'number' ? formatNumber(value) : value}`);
    return parts.join(' ');
  }

  private draw(t: number): void {
    this.lastDraw = t;
    this.shown = true;
    let text = this.line(t);
    if (this.isTTY) {
      // Fit the terminal width, the bar going first: a line that wraps cannot be redrawn in place with \r.
      const columns = this.stream.columns ?? 0;
      const max = columns > 1 ? columns - 1 : Infinity;
      if (text.length > max) text = this.line(t, false);
      if (text.length > max) text = text.slice(0, max);
      this.stream.write(`\r\x1b[2K${text}`);
    } else {
      this.stream.write(`${text}\n`);
    }
  }
}

/** Seconds left at the average rate so far; undefined before the first item. */
export function etaSeconds(done: number, total: number, elapsedSeconds: number): number | undefined {
  if (done <= 0 || elapsedSeconds <= 0) return undefined;
  return (elapsedSeconds * Math.max(0, total - done)) / done;
}

/** "45s", "1m 23s", "2h 05m", "3d 04h". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d ${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}

/** "4.96 it/s", or "2.5 s/it" under one item a second; '' before the first item. `unit` replaces "it". */
export function formatRate(done: number, elapsedSeconds: number, unit = 'it'): string {
  if (done <= 0 || elapsedSeconds <= 0) return '';
  const perSecond = done / elapsedSeconds;
  return perSecond >= 1 ? `${formatNumber(perSecond)} ${unit}/s` : `${formatNumber(1 / perSecond)} s/${unit}`;
}

/**
 * Compact, 3 significant digits: 0.693, 1.5, 0.0123, 1.23e-5, 2.5e5; integers under a million as they are
 * (steps, token counts), other numbers from 1000 to 10000 rounded to an integer; nan, inf, -inf.
 */
export function formatNumber(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const a = Math.abs(x);
  if (a === 0) return '0';
  if (Number.isInteger(x) && a < 1e6) return String(x);
  if (a >= 1e4 || a < 1e-3) {
    const [mantissa, exponent] = x.toExponential(2).split('e') as [string, string];
    return `${stripZeros(mantissa)}e${exponent.replace('+', '')}`;
  }
  if (a >= 1000) return String(Math.round(x));
  const fixed = x.toPrecision(3);
  // toPrecision switches to exponent form when rounding reaches 1000 (999.7 → "1.00e+3").
  return fixed.includes('e') ? String(Math.round(x)) : stripZeros(fixed);
}

function stripZeros(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

function bar(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}
