// The loop of the online trainers (PPO, GRPO, RLOO, REINFORCE++): everything but the algorithm.
// A trainer reads top to bottom as
//
//   const run = await startOnlineRun(cfg, hooks, spec)  // 0. OUT, the seed, the policy (LoRA adapters when
//                                                       //    --lora-r is set), the reference, the scorer, the prompts
//   await run.begin({ optimizerSteps })                 //    the optimizer (the adapters only, with LoRA),
//                                                       //    checkpoint parts, --resume
//   for (let it = run.first; it < run.totalIters; it++) {
//     const ro = await run.rollout(it, …)               // 1.–3. this iteration's prompts: sampled, scored,
//                                                       //       log-probs recomputed (rollout.ts)
//     …advantages…                                      // 4. the trainer's own
//     const t = run.train(ro, it, …, (mb) => …loss…)    // 5. passes × optimizer steps × micro-batches of
//                                                       //    the trainer's loss
//     await run.endIteration(it, ro, record)            // 6. the rollout freed; history, metrics.jsonl,
//   }                                                   //    progress, a sample line, a checkpoint
//   return run.finish()                                 // the policy (or its PEFT adapter); rlhf_config.json last
//
// with `run.dispose()` on failure. The reference is a frozen copy of the policy, or — with LoRA — the
// policy with its adapters off (adapterDisabledReference: one copy of the weights), and only when the
// trainer asks for one (PPO always; GRPO, RLOO, REINFORCE++ when their β > 0).
import { join } from 'node:path';
import type { Tensor } from '../../torch/tensor.js';
import { manualSeed, tensor, tidy } from '../../torch/index.js';
import type { Module } from '../../nn/module.js';
import type { LoraModel } from '../../nn/lora.js';
import type { CausalLM } from '../../models/types.js';
import type { ScalarHeadModel } from '../../models/heads.js';
import type { Tokenizer } from '../../tokenizers/tokenizer.js';
import type { AdamW } from '../../optim/adamw.js';
import type { LRScheduler } from '../../optim/schedule.js';
import { mulberry32, permutation } from '../../data/index.js';
import { Progress } from '../../cli/progress.js';
import type { LoraOptions, OptimOptions, RunOptions } from './config.js';
import type { OnlinePromptOptions, OnlineRewardOptions, OnlineSamplingOptions } from './online-config.js';
import { createScorer, type Scorer } from './rewards.js';
import type { RewardFn } from './reward-fn.js';
import { checkSampling, disposeRollout, loadPolicy, loadPrompts, promptBatches, rollout, rolloutSeed, type OnlineTrainerOptions, type OnlineTrainerResult, type Prompts, type Rollout } from './rollout.js';
import { loadLatestCheckpoint, saveCheckpoint, type CheckpointParts } from './checkpoint.js';
import { createOptimizer, maybeAutocast, optimizerStep, prepareOutDir, saveFinalModel, totalOptimizerSteps, TrainerError } from './setup.js';
import { adapterDisabledReference, applyLoraFromConfig, saveTrainedModel, trainableParameters } from './lora.js';
import { responseLogprobs } from './logprobs.js';
import { readStats } from './masked.js';
import { MetricsLogger } from './metrics-log.js';

/** The options every online trainer has: run, optimizer, LoRA, reward, prompts, sampling. */
export type OnlineRunConfig = RunOptions & OptimOptions & LoraOptions & OnlineRewardOptions & OnlinePromptOptions & OnlineSamplingOptions;

/** What the run reports to (the trainer's options less its reward functions). */
export type OnlineHooks = Omit<OnlineTrainerOptions, 'rewardFns'>;

export interface OnlineRunSpec {
  /** The trainer's name in messages: 'GRPO'. */
  trainer: string;
  /** The progress bar's label: 'grpo'. */
  label: string;
  /** Whether the trainer needs π_ref (a frozen copy of the policy; with LoRA, the policy with its adapters off). */
  reference: boolean;
  /** Every reward function: the --reward-fn files, then those given in code (onlineRewards). */
  rewardFns: readonly (string | RewardFn)[];
  /** The most response tokens, and its flag (the longest prompt plus it must fit the model's positions). */
  maxNewTokens: number;
  lengthFlag: string;
  /** What the sample line calls the first response's score: 'reward' or 'score'. */
  scoreName: string;
  /** What the progress bar shows: a label for each record key, { len: 'response/length' }. */
  progress: Record<string, string>;
}

type Owned = { dispose(): void };

/** The mean of some numbers (0 for none). */
export const mean = (xs: ArrayLike<number>): number => Array.from(xs).reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/**
 * The reward functions of a run — the --reward-fn files, then those given in code — refusing a run
 * with no reward at all, and top-k/top-p sampling without --allow-sampling-mismatch.
 */
export function onlineRewards(cfg: OnlineRewardOptions & OnlineSamplingOptions, inCode: readonly RewardFn[], trainer: string): (string | RewardFn)[] {
  const fns = [...(cfg.rewardFn ?? []), ...inCode];
  if (!cfg.rewardModel && fns.length === 0) throw new TrainerError(`${trainer} needs a reward: --reward-model DIR (a trained reward model) and/or --reward-fn FILE.ts (a function of prompts and responses; repeat it for several).`);
  checkSampling(cfg, trainer);
  return fns;
}

/**
 * Refuses a rollout of batchSize × samplesPerPrompt responses that does not split into `steps`
 * optimizer steps (a pass) of --grad-accum micro-batches; names the flags to change.
 */
export function checkRolloutSplit(o: { batchSize: number; samplesPerPrompt: number; samplesFlag: string | null; steps: number; stepsFlag: string; gradAccum: number }): void {
  const N = o.batchSize * o.samplesPerPrompt;
  if (N % (o.steps * o.gradAccum) === 0) return;
  const what = o.samplesFlag ? `--batch-size × ${o.samplesFlag} (${o.batchSize} × ${o.samplesPerPrompt} = ${N} responses)` : `--batch-size ${o.batchSize}`;
  throw new TrainerError(`${what} must be divisible by ${o.stepsFlag} × --grad-accum (${o.steps} × ${o.gradAccum}).`);
}

/**
 * Step 0 of an online trainer: OUT made ready (prepareOutDir), the seed set, the policy loaded with
 * its tokenizer, dropout off, LoRA adapters on it when --lora-r is set; the reference when the spec
 * asks for one; the scorer; the prompts, tokenised once. What it loaded is freed if it fails.
 */
export async function startOnlineRun<C extends OnlineRunConfig>(cfg: C, hooks: OnlineHooks, spec: OnlineRunSpec): Promise<OnlineRun<C>> {
  const say = hooks.onLog ?? ((): void => {});
  const out = await prepareOutDir(cfg.out, cfg.resume);
  manualSeed(cfg.seed);
  const { policy, ref: copy, tokenizer, eos, pad } = await loadPolicy(cfg.model, spec.reference && cfg.loraR === 0, spec.trainer, cfg.revision);
  const owned: Owned[] = [policy, ...(copy ? [copy] : [])];
  try {
    const lora = applyLoraFromConfig(policy, cfg, say);
    if (lora) owned.push(lora);
    const ref = copy ?? (lora && spec.reference ? adapterDisabledReference(policy, lora) : null);
    const scorer = await createScorer({ rewardModel: cfg.rewardModel, rewardFn: spec.rewardFns, rewardWeights: cfg.rewardWeights, tokenizer });
    owned.push(scorer);
    const prompts = loadPrompts(cfg, tokenizer, { batchSize: cfg.batchSize, maxNewTokens: spec.maxNewTokens, nPositions: policy.config.n_positions, trainer: spec.trainer, lengthFlag: spec.lengthFlag });
    return new OnlineRun(cfg, hooks, spec, { out, policy, ref, lora, tokenizer, eos, pad, scorer, prompts }, owned);
  } catch (err) {
    for (const o of owned) o.dispose();
    throw err;
  }
}

/** One micro-batch of a rollout, as the trainer's loss sees it. */
export interface MicroBatch {
  /** Which pass over the rollout, which optimizer step of the pass, which micro-batch of the step. */
  pass: number;
  step: number;
  micro: number;
  /** The rollout rows of this micro-batch, and of its whole optimizer step. */
  rows: number[];
  stepRows: number[];
  /** These rows (dim 0) of a rollout tensor. */
  pick(t: Tensor): Tensor;
  /** The policy's log-probs (b, R) of these rows' response tokens (logits / T) and their entropies, with gradients, under --dtype. */
  policy(): { logprobs: Tensor; entropy: Tensor };
}

/** What run.train() did: the stats of the micro-batches and the last gradient norm. */
export interface Trained {
  /** Each stat's mean over the micro-batches. */
  mean: Record<string, number>;
  /** Each stat summed over an optimizer step's micro-batches, averaged over the steps (TRL's GRPO logs its loss so). */
  perStep: Record<string, number>;
  /** The gradient norm before clipping, at the last optimizer step. */
  gradNorm: number;
}

/** A trainer's own checkpoint state (PPO's adaptive KL controller), saved in trainer_state.json. */
export interface RunState {
  save(): Record<string, unknown>;
  load(saved: Record<string, unknown>): void;
}

export class OnlineRun<C extends OnlineRunConfig> {
  readonly out: string;
  readonly policy: CausalLM;
  /** π_ref, or null when the trainer asked for none. */
  readonly ref: CausalLM | null;
  /** The adapters on the policy, or null without LoRA. */
  readonly lora: LoraModel | null;
  readonly tokenizer: Tokenizer;
  readonly scorer: Scorer;
  readonly prompts: Prompts;
  /** Iterations (prompt batches) per pass over the prompts, and in the whole run. */
  readonly itersPerEpoch: number;
  readonly totalIters: number;
  /** The first iteration to run: 0, or the resumed checkpoint's (set by begin). */
  first = 0;
  /** One record per iteration run: what metrics.jsonl holds. */
  readonly history: Record<string, number>[] = [];
  readonly #say: (line: string) => void;
  readonly #eos: number;
  readonly #pad: number;
  #params: Tensor[] = [];
  #optimizer: AdamW | null = null;
  #scheduler: LRScheduler | null = null;
  #parts: CheckpointParts | null = null;
  #state: RunState | null = null;
  #logger: MetricsLogger | null = null;
  #progress: Progress | null = null;
  #trainStart = 0;

  constructor(
    readonly cfg: C,
    private readonly hooks: OnlineHooks,
    private readonly spec: OnlineRunSpec,
    m: { out: string; policy: CausalLM; ref: CausalLM | null; lora: LoraModel | null; tokenizer: Tokenizer; eos: number; pad: number; scorer: Scorer; prompts: Prompts },
    private readonly owned: Owned[],
  ) {
    this.out = m.out;
    this.policy = m.policy;
    this.ref = m.ref;
    this.lora = m.lora;
    this.tokenizer = m.tokenizer;
    this.scorer = m.scorer;
    this.prompts = m.prompts;
    this.#eos = m.eos;
    this.#pad = m.pad;
    this.#say = hooks.onLog ?? ((): void => {});
    this.itersPerEpoch = Math.floor(this.prompts.texts.length / cfg.batchSize);
    this.totalIters = totalOptimizerSteps(this.itersPerEpoch, cfg);
  }

  /** Frees `x` with the run: on failure, or at the end unless finish() keeps it. */
  own<T extends Owned>(x: T): T {
    this.owned.push(x);
    return x;
  }

  /**
   * The optimizer over `params` (default: the policy's trainable parameters — only its adapters with
   * LoRA) and its schedule over `optimizerSteps`; the checkpoint parts (the policy, or its adapter,
   * and `models`); the metrics log; with --resume, the newest checkpoint loaded and `first` set.
   */
  async begin(o: { optimizerSteps: number; params?: Tensor[]; models?: Record<string, Module>; state?: RunState }): Promise<void> {
    const { cfg } = this;
    this.#params = o.params ?? trainableParameters(this.policy, this.lora);
    const { optimizer, scheduler } = createOptimizer(this.#params, cfg, o.optimizerSteps);
    this.own(optimizer);
    [this.#optimizer, this.#scheduler, this.#state] = [optimizer, scheduler, o.state ?? null];
    this.#parts = { models: { ...(this.lora ? { adapter: this.lora } : { policy: this.policy }), ...o.models }, optimizers: { main: optimizer }, schedules: { main: scheduler } };
    this.#logger = new MetricsLogger(this.out);
    if (cfg.resume) {
      const st = await loadLatestCheckpoint(this.out, this.#parts);
      if (st) {
        this.first = st.step;
        this.#state?.load(st.extra);
        this.#say(`resuming from iteration ${this.first} of ${this.totalIters}`);
      }
      this.#logger.truncateAfter(this.first);
    }
    this.#progress = this.hooks.progressStream ? new Progress({ total: this.totalIters, label: this.spec.label, stream: this.hooks.progressStream }) : null;
  }

  /** The learning rate of the last optimizer step. */
  get lr(): number {
    return (this.#scheduler as LRScheduler).lastLr;
  }

  /**
   * Steps 1–3 of iteration `it`: its prompts (batch it mod K of epoch ⌊it / K⌋'s seeded order),
   * `samplesPerPrompt` responses each, scored, with the reference's log-probs and, when asked, the
   * policy's (src/trainers/common/rollout.ts).
   */
  async rollout(it: number, o: { samplesPerPrompt: number; policyLogprobs: boolean }): Promise<Rollout> {
    const { cfg, prompts } = this;
    const epoch = Math.floor(it / this.itersPerEpoch);
    const rows = promptBatches(prompts.texts.length, cfg.batchSize, cfg.seed, epoch)[it % this.itersPerEpoch] as number[];
    const ro = await rollout({ policy: this.policy, ref: this.ref, tokenizer: this.tokenizer, scorer: this.scorer }, { texts: rows.map((i) => prompts.texts[i] as string), ids: rows.map((i) => prompts.ids[i] as number[]) }, {
      samplesPerPrompt: o.samplesPerPrompt, maxNewTokens: this.spec.maxNewTokens, temperature: cfg.temperature, topK: cfg.topK, topP: cfg.topP,
      rolloutDtype: cfg.rolloutDtype, dtype: cfg.dtype, missingEosPenalty: cfg.missingEosPenalty, eos: this.#eos, pad: this.#pad, seed: rolloutSeed(cfg.seed, it), policyLogprobs: o.policyLogprobs,
    });
    this.#trainStart = performance.now();
    return ro;
  }

  /**
   * The optimization of one rollout: `passes` passes over its N rows, each cut into `stepsPerPass`
   * optimizer steps of --grad-accum micro-batches. The rows are shuffled once, seeded by the
   * iteration, and every pass reuses that order (TRL's GRPO and RLOO), or each pass draws a new
   * order from the same seed (`reshuffle`: PPO's epochs). `loss` returns a micro-batch's share of
   * its step's loss — what is backpropagated — and its 0-d stats (read in one host copy, passed to
   * onMinibatch). Each step clips, steps and advances the schedule.
   */
  train(ro: Rollout, it: number, o: { passes: number; stepsPerPass: number; reshuffle: boolean }, loss: (mb: MicroBatch) => { loss: Tensor; stats: Record<string, Tensor> }): Trained {
    const { cfg } = this;
    const stepSize = ro.N / o.stepsPerPass;
    const microSize = stepSize / cfg.gradAccum;
    const rand = mulberry32(rolloutSeed(cfg.seed, it) ^ 0x5bd1e995);
    let perm = permutation(ro.N, rand);
    const sums: Record<string, number> = {};
    const stepSums: Record<string, number> = {};
    let nMicro = 0;
    let nSteps = 0;
    let gradNorm = 0;
    for (let pass = 0; pass < o.passes; pass++) {
      if (pass > 0 && o.reshuffle) perm = permutation(ro.N, rand);
      for (let step = 0; step < o.stepsPerPass; step++) {
        const stepRows = perm.slice(step * stepSize, (step + 1) * stepSize);
        const inStep: Record<string, number> = {};
        for (let micro = 0; micro < cfg.gradAccum; micro++) {
          const rows = stepRows.slice(micro * microSize, (micro + 1) * microSize);
          const stats = tidy(() => {
            const idx = tensor(rows, { dtype: 'int64' }); // (b)
            const pick = (t: Tensor): Tensor => t.indexSelect(0, idx);
            const l = loss({ pass, step, micro, rows, stepRows, pick, policy: () => this.#policyForward(ro, pick) });
            l.loss.backward();
            return readStats(l.stats); // one host copy
          });
          for (const [key, v] of Object.entries(stats)) {
            sums[key] = (sums[key] ?? 0) + v;
            inStep[key] = (inStep[key] ?? 0) + v;
          }
          nMicro++;
          this.hooks.onMinibatch?.({ iteration: it, pass, step, micro, stats });
        }
        gradNorm = optimizerStep(this.#params, this.#optimizer as AdamW, this.#scheduler as LRScheduler, cfg.maxGradNorm);
        for (const [key, v] of Object.entries(inStep)) stepSums[key] = (stepSums[key] ?? 0) + v;
        nSteps++;
      }
    }
    const per = (s: Record<string, number>, n: number): Record<string, number> => Object.fromEntries(Object.entries(s).map(([key, v]) => [key, v / Math.max(1, n)]));
    return { mean: per(sums, nMicro), perStep: per(stepSums, nSteps), gradNorm };
  }

  #policyForward(ro: Rollout, pick: (t: Tensor) => Tensor): { logprobs: Tensor; entropy: Tensor } {
    const [sq, mk, tg] = [pick(ro.seq), pick(ro.mask), pick(ro.targets)];
    const r = maybeAutocast(this.cfg.dtype, () => responseLogprobs(this.policy, sq, mk, tg, ro.P, { temperature: this.cfg.temperature, withEntropy: true }));
    return { logprobs: r.logprobs, entropy: r.entropy as Tensor };
  }

  /** The end of an iteration's record: seconds spent generating, scoring and training (log-probs included) and the responses so far. */
  progressStats(ro: Rollout, it: number): Record<string, number> {
    return {
      'time/generation': ro.timings.generation,
      'time/scoring': ro.timings.scoring,
      'time/training': ro.timings.logprobs + (performance.now() - this.#trainStart) / 1000,
      episodes: (it + 1) * ro.N,
    };
  }

  /**
   * The end of iteration `it`: the rollout's tensors freed; its record kept and passed to
   * onIteration, written to metrics.jsonl (every --log-every and the last), shown on the progress
   * bar; every --sample-every iterations the rollout's first prompt, response and score; every
   * --save-every a checkpoint (but at the end: the final save follows).
   */
  async endIteration(it: number, ro: Rollout, record: Record<string, number>): Promise<void> {
    const { cfg } = this;
    const done = it + 1;
    disposeRollout(ro);
    this.history.push(record);
    this.hooks.onIteration?.(done, record);
    if (done % cfg.logEvery === 0 || done === this.totalIters) this.#logger?.log(done, record);
    this.#progress?.update(done, Object.fromEntries(Object.entries(this.spec.progress).map(([label, key]) => [label, record[key] as number])));
    if (cfg.sampleEvery > 0 && done % cfg.sampleEvery === 0) {
      this.#say(`iteration ${done}: ${JSON.stringify(ro.promptTexts[0])} → ${JSON.stringify(ro.responseTexts[0])} (${this.spec.scoreName} ${(ro.rawScores[0] as number).toFixed(3)})`);
    }
    if (done !== this.totalIters && cfg.saveEvery > 0 && done % cfg.saveEvery === 0) {
      const state = { step: done, epoch: Math.floor(it / this.itersPerEpoch), batchInEpoch: (it % this.itersPerEpoch) + 1, extra: this.#state?.save() ?? {} };
      await saveCheckpoint(this.out, state, this.#parts as CheckpointParts, { keep: cfg.keepCheckpoints, config: cfg });
    }
  }

  /**
   * The final save: `alsoSave`'s models whole under OUT/<name> (kept, not freed), then the policy —
   * with LoRA its adapter in PEFT's format, merged into the policy returned — and rlhf_config.json,
   * written last, which marks the run finished. Everything else the run holds is freed.
   */
  async finish(alsoSave: Record<string, CausalLM | ScalarHeadModel> = {}): Promise<OnlineTrainerResult<C>> {
    this.#progress?.done();
    this.#logger?.close();
    this.#logger = null;
    for (const [name, model] of Object.entries(alsoSave)) await saveFinalModel(model, join(this.out, name), this.tokenizer, this.cfg);
    await saveTrainedModel(this.policy, this.lora, this.out, this.tokenizer, this.cfg);
    const keep = new Set<unknown>([this.policy, ...Object.values(alsoSave)]);
    for (const o of this.owned) if (!keep.has(o)) o.dispose();
    const policy = this.policy;
    return { policy, tokenizer: this.tokenizer, history: this.history, config: this.cfg, dispose: () => policy.dispose() };
  }

  /** Frees everything the run holds (when the trainer fails). */
  dispose(): void {
    this.#logger?.close();
    this.#logger = null;
    for (const o of this.owned) o.dispose();
  }
}
