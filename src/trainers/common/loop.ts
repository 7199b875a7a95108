// The loop of the offline trainers (SFT, reward model, DPO): epochs of seeded shuffled batches,
// gradient accumulation, clipping, the schedule, logging, periodic evaluation, checkpoints and
// exact resume. What a step computes is the trainer's own `loss` function; this file only walks
// the data and keeps the books, the same way for all of them.
//
//   optimizer step s consumes micro-batches s·A … s·A + A − 1 (A = gradAccum); micro-batch g is
//   batch g mod K of epoch ⌊g / K⌋ (K batches per epoch), each epoch a seeded permutation —
//   so a resumed run sees exactly the batches an uninterrupted one would.
import type { Tensor } from '../../torch/tensor.js';
import { tidy } from '../../torch/index.js';
import type { Module } from '../../nn/module.js';
import { mulberry32, permutation } from '../../data/index.js';
import { Progress } from '../../cli/progress.js';
import type { OptimOptions, RunOptions } from './config.js';
import { loadLatestCheckpoint, saveCheckpoint, type CheckpointParts } from './checkpoint.js';
import { MetricsLogger } from './metrics-log.js';
import { readStats } from './masked.js';
import { createOptimizer, maybeAutocast, optimizerStep, totalOptimizerSteps } from './setup.js';

export interface LoopSpec {
  cfg: RunOptions & OptimOptions & { evalEvery?: number };
  /** The absolute output directory (prepareOutDir). */
  out: string;
  /** Shown on the progress bar. */
  label: string;
  /** Number of training examples. */
  trainSize: number;
  /** The models whose weights are trained and checkpointed. */
  models: Record<string, Module>;
  /** Train with the models' dropout on (SFT); off keeps them in eval mode (reward model, DPO: TRL's disable_dropout). */
  dropout: boolean;
  params: Tensor[];
  /**
   * Visit the training examples in their given order every epoch instead of a seeded shuffle
   * (KTO: each batch's KL completions are fixed when the data is prepared, as TRL's sequential
   * sampler keeps them; the trainer shuffles the examples once, seeded, beforehand).
   */
  sequential?: boolean;
  /** Loss and 0-d stats of one micro-batch (inside a scope, under autocast when asked). */
  loss(indices: number[]): { loss: Tensor; stats: Record<string, Tensor> };
  /** Metrics on the held-out split, prefixed "eval/" by the caller. */
  evaluate?: () => Record<string, number>;
  progressStream?: (NodeJS.WritableStream & { isTTY?: boolean }) | undefined;
  /** Called with each logged record. */
  onLog?: (step: number, record: Record<string, number>) => void;
}

export interface LoopResult {
  history: Record<string, number>[];
  steps: number;
  /** The last evaluation (empty without an eval split). */
  eval: Record<string, number>;
}

/** A seeded permutation of 0..n−1 (or 0..n−1 in order, when sequential) cut into batches of batchSize (the last one may be short). */
export function epochOrder(n: number, batchSize: number, seed: number, epoch: number, sequential = false): number[][] {
  const perm = sequential ? Array.from({ length: n }, (_, i) => i) : permutation(n, mulberry32((seed * 2_654_435_761 + epoch * 97 + 1) >>> 0));
  const out: number[][] = [];
  for (let i = 0; i < n; i += batchSize) out.push(perm.slice(i, i + batchSize));
  return out;
}

export async function runLoop(spec: LoopSpec): Promise<LoopResult> {
  const { cfg } = spec;
  const A = cfg.gradAccum;
  const batchesPerEpoch = Math.ceil(spec.trainSize / cfg.batchSize);
  const stepsPerEpoch = Math.max(1, Math.floor(batchesPerEpoch / A));
  const total = totalOptimizerSteps(stepsPerEpoch, cfg);
  const { optimizer, scheduler } = createOptimizer(spec.params, cfg, total);
  const parts: CheckpointParts = { models: spec.models, optimizers: { main: optimizer }, schedules: { main: scheduler } };
  const logger = new MetricsLogger(spec.out);
  const history: Record<string, number>[] = [];
  let lastEval: Record<string, number> = {};
  try {
    let first = 0;
    if (cfg.resume) {
      const st = await loadLatestCheckpoint(spec.out, parts);
      if (st) first = st.step;
      logger.truncateAfter(first);
    }
    const trainMode = (): void => {
      for (const m of Object.values(spec.models)) m.train(spec.dropout);
    };
    trainMode();
    const orders = new Map<number, number[][]>();
    const batch = (g: number): number[] => {
      const epoch = Math.floor(g / batchesPerEpoch);
      if (!orders.has(epoch)) {
        orders.clear();
        orders.set(epoch, epochOrder(spec.trainSize, cfg.batchSize, cfg.seed, epoch, spec.sequential ?? false));
      }
      return (orders.get(epoch) as number[][])[g % batchesPerEpoch] as number[];
    };
    const progress = spec.progressStream ? new Progress({ total, label: spec.label, stream: spec.progressStream }) : null;
    const runEval = (): Record<string, number> => {
      if (!spec.evaluate) return {};
      for (const m of Object.values(spec.models)) m.eval();
      try {
        lastEval = Object.fromEntries(Object.entries(spec.evaluate()).map(([k, v]) => [`eval/${k}`, v]));
      } finally {
        trainMode();
      }
      return lastEval;
    };
    const sums: Record<string, number> = {};
    let nSums = 0;
    const t0 = performance.now();
    for (let step = first; step < total; step++) {
      for (let a = 0; a < A; a++) {
        const stats = tidy(() => {
          const r = maybeAutocast(cfg.dtype, () => spec.loss(batch(step * A + a)));
          r.loss.div(A).backward();
          return readStats({ loss: r.loss, ...r.stats }); // one device→host copy per micro-batch
        });
        for (const [k, v] of Object.entries(stats)) sums[k] = (sums[k] ?? 0) + v;
        nSums++;
      }
      const gradNorm = optimizerStep(spec.params, optimizer, scheduler, cfg.maxGradNorm);
      const done = step + 1;
      const isLast = done === total;
      const evalNow = spec.evaluate && ((cfg.evalEvery ?? 0) > 0 && done % (cfg.evalEvery as number) === 0);
      if (done % cfg.logEvery === 0 || isLast || evalNow) {
        const record: Record<string, number> = {
          ...Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / Math.max(1, nSums)])),
          lr: scheduler.lastLr,
          grad_norm: gradNorm,
          epoch: (done * A) / batchesPerEpoch,
          seconds: (performance.now() - t0) / 1000,
          ...(evalNow || isLast ? runEval() : {}),
        };
        for (const k of Object.keys(sums)) delete sums[k];
        nSums = 0;
        history.push(record);
        logger.log(done, record);
        spec.onLog?.(done, record);
        progress?.update(done, { loss: record.loss as number, ...(record['eval/loss'] !== undefined ? { eval: record['eval/loss'] as number } : {}) });
      } else progress?.update(done);
      if (!isLast && cfg.saveEvery > 0 && done % cfg.saveEvery === 0) {
        const g = done * A;
        await saveCheckpoint(spec.out, { step: done, epoch: Math.floor(g / batchesPerEpoch), batchInEpoch: g % batchesPerEpoch, extra: {} }, parts, { keep: cfg.keepCheckpoints, config: cfg });
      }
    }
    if (first >= total && spec.evaluate) runEval();
    progress?.done();
    for (const m of Object.values(spec.models)) m.eval();
    return { history, steps: total, eval: lastEval };
  } finally {
    logger.close();
    optimizer.dispose();
  }
}
