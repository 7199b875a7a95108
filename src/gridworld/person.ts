// Who compares two trajectories. An answer is 1 (the first is better), 2 (the second), 0 (a tie),
// or 'quit' (stop asking; train on what has been said).
//
// The simulated person judges by the hidden reward R* (preferences.ts), with noise:
//   boltzmann  P(1) = σ((R*₁ − R*₂)/τ), τ = noise/(1 − noise)   (Bradley–Terry's own model of a
//              person; noise 0 always picks the better one, 0.5 gives τ = 1 reward unit, 1 a coin flip)
//   flip       the better one, but with probability `noise` the answer is swapped
// Trajectories whose R* differ by less than TIE_MARGIN are a tie for either model.
//
// The terminal person is you: both trajectories side by side, and a key — 1, 2, 0 or q. On a
// terminal the keys are read one by one in raw mode (no Enter); from a pipe, one answer per line.
import type { Grid } from './grid.js';
import { type Trajectory, hazardsOf, stepsOf } from './env.js';
import { type HiddenPreference, trueReturn } from './preferences.js';
import { pairLines, type TerminalStyle } from './render-terminal.js';
import type { Rng } from '../data/rng.js';

export type Answer = 1 | 2 | 0;
export type AskResult = Answer | 'quit';

export interface Person {
  /** Asks which of a and b is better; `index` counts the comparisons (1-based). */
  compare(a: Trajectory, b: Trajectory, index: number): Promise<AskResult>;
}

export const NOISE_TYPES = ['boltzmann', 'flip'] as const;
export type NoiseType = (typeof NOISE_TYPES)[number];

/** |R*₁ − R*₂| below this is a tie. */
export const TIE_MARGIN = 0.5;

export class SimulatedPerson implements Person {
  constructor(
    readonly grid: Grid,
    readonly preference: HiddenPreference,
    readonly opts: { hazardCost: number; noise: number; noiseType: NoiseType },
    readonly rng: Rng,
  ) {
    if (!(opts.noise >= 0 && opts.noise <= 1)) throw new RangeError(`SimulatedPerson: noise must be in [0, 1], got ${opts.noise}`);
  }

  /** The answer without noise. */
  truth(a: Trajectory, b: Trajectory): Answer {
    const d = this.margin(a, b);
    return Math.abs(d) < TIE_MARGIN ? 0 : d > 0 ? 1 : 2;
  }

  /** R*(a) − R*(b). */
  margin(a: Trajectory, b: Trajectory): number {
    return trueReturn(this.grid, a, this.preference, this.opts.hazardCost) - trueReturn(this.grid, b, this.preference, this.opts.hazardCost);
  }

  compare(a: Trajectory, b: Trajectory): Promise<AskResult> {
    const d = this.margin(a, b);
    if (Math.abs(d) < TIE_MARGIN) return Promise.resolve(0);
    const { noise, noiseType } = this.opts;
    const u = this.rng(); // always drawn, so the stream does not depend on the answers
    if (noiseType === 'flip') {
      const right: Answer = d > 0 ? 1 : 2;
      return Promise.resolve(u < noise ? (right === 1 ? 2 : 1) : right);
    }
    const p1 = noise >= 1 ? 0.5 : noise <= 0 ? (d > 0 ? 1 : 0) : 1 / (1 + Math.exp(-d / (noise / (1 - noise))));
    return Promise.resolve(u < p1 ? 1 : 2);
  }
}

/**
 * Keys or lines from an input stream, one at a time. A TTY is put in raw mode (each key press is
 * an answer; Ctrl+C and Ctrl+D count as q); a pipe gives one answer per line. null: the input ended.
 */
export class AnswerInput {
  private buffer: string[] = [];
  private partial = '';
  private ended = false;
  private waiting: ((s: string | null) => void) | null = null;
  private readonly raw: boolean;
  private readonly onData = (chunk: Buffer | string): void => {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    if (this.raw) {
      for (const ch of text) this.buffer.push(ch === '\u0003' || ch === '\u0004' ? 'q' : ch);
    } else {
      const parts = (this.partial + text).split(/\r?\n/);
      this.partial = parts.pop() ?? '';
      this.buffer.push(...parts.map((p) => p.trim()));
    }
    this.flush();
  };
  private readonly onEnd = (): void => {
    if (this.partial.trim() !== '') this.buffer.push(this.partial.trim());
    this.partial = '';
    this.ended = true;
    this.flush();
  };

  constructor(private readonly input: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (on: boolean) => unknown }) {
    this.raw = input.isTTY === true && typeof input.setRawMode === 'function';
    if (this.raw) input.setRawMode?.(true);
    input.on('data', this.onData);
    input.on('end', this.onEnd);
    input.resume();
  }

  /** Whether answers are single key presses (a terminal) rather than lines. */
  get keys(): boolean {
    return this.raw;
  }

  private flush(): void {
    if (!this.waiting) return;
    if (this.buffer.length) {
      const w = this.waiting;
      this.waiting = null;
      w(this.buffer.shift() as string);
    } else if (this.ended) {
      const w = this.waiting;
      this.waiting = null;
      w(null);
    }
  }

  /** The next key or line; null once the input has ended. */
  next(): Promise<string | null> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.flush();
    });
  }

  /** Restores the terminal and stops reading. */
  close(): void {
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    if (this.raw) this.input.setRawMode?.(false);
    this.input.pause();
  }
}

/** A one-line description of a trajectory for a caption: steps, hazards, goal. */
export function describeTrajectory(grid: Grid, t: Trajectory): string {
  const h = hazardsOf(grid, t);
  return `${stepsOf(t)} steps, ${h} hazard${h === 1 ? '' : 's'}${t.reachedGoal ? '' : ', no goal'}`;
}

/** You, at the terminal. */
export class TerminalPerson implements Person {
  constructor(
    readonly grid: Grid,
    readonly input: AnswerInput,
    readonly write: (text: string) => void,
    readonly style: TerminalStyle,
    readonly wish: string,
  ) {}

  async compare(a: Trajectory, b: Trajectory, index: number): Promise<AskResult> {
    const lines = pairLines(this.grid, a, b, [`1: ${describeTrajectory(this.grid, a)}`, `2: ${describeTrajectory(this.grid, b)}`], this.style);
    this.write(`\nComparison ${index} — which would you rather the agent did? (you want to: ${this.wish})\n${lines.join('\n')}\n`);
    const prompt = this.input.keys ? '[1] left  [2] right  [0] tie  [q] stop › ' : '1 = left, 2 = right, 0 = tie, q = stop › ';
    for (;;) {
      this.write(prompt);
      const got = await this.input.next();
      if (got === null) {
        this.write('(end of input)\n');
        return 'quit';
      }
      const key = got.toLowerCase();
      if (key === '1' || key === '2' || key === '0') {
        this.write(`${key}\n`);
        return Number(key) as Answer;
      }
      if (key === 'q') {
        this.write('q\n');
        return 'quit';
      }
      if (key === '' || key === '\r' || key === '\n') continue;
      this.write(`\n'${got}' is not an answer: press 1, 2, 0 or q.\n`);
    }
  }
}
