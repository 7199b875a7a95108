// Learning-rate schedules as pure functions of the step: lrAt(step) → a multiplier of the base lr.
// Matching transformers' get_{constant,linear,cosine}_schedule_with_warmup.

export type Schedule = (step: number) => number;

/** Ramp 0 → 1 over warmupSteps, then stay at 1. */
export function constantSchedule(warmupSteps = 0): Schedule {
  return (step) => (step < warmupSteps ? step / Math.max(1, warmupSteps) : 1);
}

/** Ramp 0 → 1 over warmupSteps, then decay linearly to 0 at totalSteps. */
export function linearSchedule(warmupSteps: number, totalSteps: number): Schedule {
  return (step) => {
    if (step < warmupSteps) return step / Math.max(1, warmupSteps);
    return Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
  };
}

/** Ramp 0 → 1 over warmupSteps, then half a cosine down to minRatio at totalSteps. */
export function cosineSchedule(warmupSteps: number, totalSteps: number, minRatio = 0): Schedule {
  return (step) => {
    if (step < warmupSteps) return step / Math.max(1, warmupSteps);
    const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
    return minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}

/** Drives an optimizer's lr from a schedule: call step() once after each optimizer step. */
export class LRScheduler {
  #step = 0;
  constructor(
    readonly optimizer: { setLr(lr: number): void },
    readonly baseLr: number,
    readonly schedule: Schedule,
  ) {
    optimizer.setLr(baseLr * schedule(0));
  }
  step(): number {
    this.#step += 1;
    const lr = this.baseLr * this.schedule(this.#step);
    this.optimizer.setLr(lr);
    return lr;
  }
  /** The position in the schedule, for exact resume (JSON). The schedule and base lr come from the constructor. */
  stateDict(): { step: number; baseLr: number } {
    return { step: this.#step, baseLr: this.baseLr };
  }
  /** Moves to a saved position and sets the optimizer's lr for it. */
  loadStateDict(sd: unknown): void {
    const step = (sd as { step?: unknown } | null)?.step;
    if (typeof step !== 'number' || !Number.isInteger(step) || step < 0) {
      throw new Error(`LRScheduler.loadStateDict: expected { step: integer ≥ 0 } as stateDict() returns, got ${JSON.stringify(sd ?? null)}`);
    }
    this.#step = step;
    this.optimizer.setLr(this.baseLr * this.schedule(step));
  }
  get lastLr(): number {
    return this.baseLr * this.schedule(this.#step);
  }
  get currentStep(): number {
    return this.#step;
  }
}
