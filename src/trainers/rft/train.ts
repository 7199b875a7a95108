// Rejection-sampling fine-tuning (RAFT, expert iteration, ReST-style), top to bottom:
//   0. the policy and its tokenizer, the reward (a reward model and/or functions, weighted:
//      common/rewards.ts), the prompts
//   per round r = 1 … R:
//   1. sample n responses per prompt from the current policy (best-of-n rounds, seeded by r)
//   2. score every (prompt, response) and keep the best per prompt: y*_i = argmax_k r(x_i, y_i,k)
//   3. filter: only best responses with reward ≥ τ, only the top fraction f of the round (select.ts)
//   4. fine-tune on the kept (prompt, completion) pairs with the SFT step (sft/train.ts: completion-only
//      cross-entropy) — a fresh AdamW and schedule each round, as RAFT's and ReST's implementations do
//   5. log the round (mean reward of all samples, of the kept ones, how many were kept), checkpoint
// and save the final model. With --lora-r the adapters go on once, after loading, and keep training
// across rounds (only they: each round's AdamW gets the adapters' parameters); sampling runs the
// policy with its adapters on, checkpoints hold the adapter, and OUT the adapter in PEFT's format.
//
// OUT holds the final model, metrics.jsonl (one line per round, step = round), checkpoints/ (one per
// round: --resume redoes an interrupted round exactly, its sampling and data order being seeded by
// the round) and rounds/round-NNN/: kept.jsonl (the pairs trained on, with their rewards) and the
// round's fine-tuning log (metrics.jsonl, TensorBoard events; step = optimizer step of that round).
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { manualSeed } from '../../torch/index.js';
import type { CausalLM } from '../../models/types.js';
import type { Tokenizer } from '../../tokenizers/tokenizer.js';
import { bestOfN } from '../../generation/best-of-n.js';
import { mixSeed, mulberry32, permutation, readPrompts, type SftExample } from '../../data/index.js';
import { Progress } from '../../cli/progress.js';
import { createScorer, rewardSourceStats, type Scorer } from '../common/rewards.js';
import type { RewardFn } from '../common/reward-fn.js';
import { loadLatestCheckpoint, saveCheckpoint, type CheckpointParts } from '../common/checkpoint.js';
import { MetricsLogger } from '../common/metrics-log.js';
import { runLoop } from '../common/loop.js';
import { prepareOutDir, TrainerError } from '../common/setup.js';
import { loadTrainingPolicy, saveTrainedModel, trainableParameters } from '../common/lora.js';
import type { Module } from '../../nn/module.js';
import { sftBatchLoss } from '../sft/train.js';
import { selectKept } from './select.js';
import { rftConfig, type RFTConfig, type RFTConfigInput } from './config.js';

export interface RFTOptions {
  /** Reward functions given in code, after any --reward-fn files (their weights follow in --reward-weights). */
  rewardFn?: RewardFn | readonly RewardFn[];
  /** A line per round and a sample (the CLI prints them); default: nowhere. */
  onLog?: (line: string) => void;
  /** Progress bars of sampling and fine-tuning; default: none. */
  progressStream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Called after every round with its record (what metrics.jsonl gets). */
  onRound?: (round: number, record: Record<string, number>) => void;
}

export interface RFTResult {
  model: CausalLM;
  tokenizer: Tokenizer;
  /** One record per round run by this call (a resumed run: the rounds after the checkpoint). */
  history: Record<string, number>[];
  config: RFTConfig;
}

/** The seed of round r's sampling: different every round, the same on a resumed run. */
export function rftRoundSeed(seed: number, round: number): number {
  return mixSeed(seed, 0x5eed, round) % 2_147_483_647;
}

/** The prompts of round r: all of them, or a seeded draw of `perRound` (without replacement). */
function roundPrompts(n: number, perRound: number, seed: number, round: number): number[] {
  if (perRound === 0 || perRound >= n) return Array.from({ length: n }, (_, i) => i);
  return permutation(n, mulberry32(mixSeed(seed, 0x9e37, round))).slice(0, perRound);
}

const mean = (xs: ArrayLike<number>): number => (xs.length ? Array.from(xs).reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
const std = (xs: ArrayLike<number>): number => {
  const m = mean(xs);
  return xs.length > 1 ? Math.sqrt(Array.from(xs).reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0;
};

export async function rft(input: RFTConfigInput, opts: RFTOptions = {}): Promise<RFTResult> {
  const cfg = rftConfig.parse(input);
  const say = opts.onLog ?? ((): void => {});
  const codeFns: RewardFn[] = opts.rewardFn === undefined ? [] : typeof opts.rewardFn === 'function' ? [opts.rewardFn] : [...opts.rewardFn];
  if (!cfg.rewardModel && !(cfg.rewardFn ?? []).length && !codeFns.length) {
    throw new TrainerError('rejection sampling needs a reward to rank the samples by: --reward-model DIR (a trained reward model) or --reward-fn FILE.ts (a function of prompts and responses; repeat it for several).');
  }
  const out = await prepareOutDir(cfg.out, cfg.resume);
  if (!cfg.resume) await rm(join(out, 'rounds'), { recursive: true, force: true }); // an earlier run's rounds
  manualSeed(cfg.seed);

  // 0. policy (and LoRA adapters, when --lora-r is set), reward, prompts
  const { model: policy, tokenizer, lora } = await loadTrainingPolicy(cfg, 'rejection sampling', say);
  let scorer: Scorer | null = null;
  try {
    scorer = await createScorer({ rewardModel: cfg.rewardModel, rewardFn: [...(cfg.rewardFn ?? []), ...codeFns], rewardWeights: cfg.rewardWeights, tokenizer, batchSize: cfg.sampleBatchSize });
    const reward = scorer;
    const prompts = readPrompts(cfg.prompts, { columns: cfg.columns, skipInvalid: cfg.skipInvalid, tokenizer });
    const longest = Math.min(cfg.maxPromptLength, Math.max(...prompts.map((p) => Math.max(1, tokenizer.encode(p).length))));
    if (longest + cfg.maxNewTokens > policy.config.n_positions) {
      throw new TrainerError(`prompts of up to ${longest} tokens + --max-new-tokens ${cfg.maxNewTokens} exceed the model's ${policy.config.n_positions} positions; lower --max-prompt-length or --max-new-tokens.`);
    }
    const eos = tokenizer.eosTokenId ?? policy.config.eos_token_id;
    const pad = tokenizer.padTokenId ?? eos ?? 0;

    // Resume: the policy after the last checkpointed round (and the RNG); its metrics lines are kept, later ones dropped.
    const models: Record<string, Module> = lora ? { adapter: lora } : { policy }; // with LoRA a checkpoint holds the adapter, not the frozen base
    const parts: CheckpointParts = { models, optimizers: {}, schedules: {} };
    const logger = new MetricsLogger(out);
    let first = 0;
    try {
      if (cfg.resume) {
        const st = await loadLatestCheckpoint(out, parts);
        if (st) {
          first = st.step;
          say(`resuming after round ${first} of ${cfg.rounds}`);
        }
        logger.truncateAfter(first);
      }
      const history: Record<string, number>[] = [];
      for (let round = first; round < cfg.rounds; round++) {
        const r = round + 1;
        const roundDir = join(out, 'rounds', `round-${String(r).padStart(3, '0')}`);
        await rm(roundDir, { recursive: true, force: true }); // an interrupted attempt at this round
        await mkdir(roundDir, { recursive: true });
        const rows = roundPrompts(prompts.length, cfg.promptsPerRound, cfg.seed, round);
        const xs = rows.map((i) => prompts[i] as string);

        // 1.–2. n samples per prompt from the current policy, scored; the best per prompt
        const tSample = performance.now();
        const allScores: number[] = [];
        const bySource: Record<string, number[]> = {};
        const batches = Math.ceil(xs.length / cfg.sampleBatchSize);
        const bar = opts.progressStream ? new Progress({ total: cfg.bestOf * batches, label: `rft round ${r}/${cfg.rounds}: sampling`, stream: opts.progressStream }) : null;
        let sampled = 0;
        policy.eval();
        const picks = await bestOfN(policy, tokenizer, xs, {
          n: cfg.bestOf, seed: rftRoundSeed(cfg.seed, round),
          maxNewTokens: cfg.maxNewTokens, temperature: cfg.temperature, topK: cfg.topK, topP: cfg.topP, dtype: cfg.rolloutDtype,
          eosTokenId: eos, padTokenId: pad, batchSize: cfg.sampleBatchSize, maxPromptLength: cfg.maxPromptLength,
          onBatch: () => bar?.update(++sampled),
          score: async (p, y) => {
            const d = await reward.scoreDetailed(p, y);
            allScores.push(...d.total);
            for (const [name, v] of Object.entries(d.bySource)) (bySource[name] ??= []).push(...v);
            return d.total;
          },
        });
        bar?.done();

        // 3. keep the best responses that pass the threshold and the top fraction
        const best = picks.map((p) => p.score);
        const keptRows = selectKept(best, { minReward: cfg.minReward, topFraction: cfg.topFraction });
        const kept = keptRows.map((i) => picks[i] as (typeof picks)[number]);
        const examples: SftExample[] = kept.map((p) => ({
          inputIds: [...p.promptTokens, ...p.tokens], // the sampled ids as they were, EOS included when the policy ended
          lossMask: [...p.promptTokens.map(() => 0), ...p.tokens.map(() => 1)], // the loss on the completion only
        }));
        await writeFile(join(roundDir, 'kept.jsonl'), kept.map((p, j) => JSON.stringify({ prompt: xs[keptRows[j] as number], completion: p.text, reward: p.score, candidate: p.index + 1 }) + '\n').join(''));

        // 4. fine-tune on the kept pairs: the SFT step, epochs over them, seeded by the round
        const tTrain = performance.now();
        let losses: number[] = [];
        if (examples.length > 0) {
          const loop = await runLoop({
            cfg: { ...cfg, seed: mixSeed(cfg.seed, r), logEvery: 1, saveEvery: 0, resume: false, evalEvery: 0 },
            out: roundDir, label: `rft round ${r}/${cfg.rounds}: training`, trainSize: examples.length,
            models, params: trainableParameters(policy, lora), dropout: true, progressStream: opts.progressStream,
            loss: (idx) => sftBatchLoss(policy, idx.map((i) => examples[i] as SftExample), pad),
          });
          losses = loop.history.map((h) => h.loss as number);
        } else say(`round ${r}: no response passed --min-reward ${cfg.minReward}; the policy is unchanged this round`);
        policy.eval();
        const tEnd = performance.now();

        // 5. log and checkpoint
        const record: Record<string, number> = {
          round: r,
          prompts: xs.length,
          'samples/reward_mean': mean(allScores),
          'samples/reward_std': std(allScores),
          'best/reward_mean': mean(best),
          'kept/reward_mean': mean(kept.map((p) => p.score)),
          'kept/count': kept.length,
          'kept/fraction': kept.length / xs.length,
          'kept/length': mean(kept.map((p) => p.tokens.length)),
          'kept/eos_fraction': mean(kept.map((p) => (p.finishReason === 'eos' ? 1 : 0))),
          ...rewardSourceStats(Object.fromEntries(Object.entries(bySource).map(([k, v]) => [k, Float32Array.from(v)]))),
          'train/loss': mean(losses),
          'train/loss_last': losses.length ? (losses[losses.length - 1] as number) : Number.NaN,
          'train/steps': losses.length,
          'time/sampling': (tTrain - tSample) / 1000,
          'time/training': (tEnd - tTrain) / 1000,
        };
        history.push(record);
        logger.log(r, record);
        opts.onRound?.(r, record);
        say(
          `round ${r}/${cfg.rounds}: reward of samples ${record['samples/reward_mean']?.toFixed(3)}, of kept ${record['kept/reward_mean']?.toFixed(3)} ` +
            `(${kept.length}/${xs.length} kept), fine-tuning loss ${record['train/loss']?.toFixed(3)}` +
            (kept[0] ? `; e.g. ${JSON.stringify(xs[keptRows[0] as number])} → ${JSON.stringify(kept[0].text)}` : ''),
        );
        if (cfg.saveEvery > 0 && (r % cfg.saveEvery === 0 || r === cfg.rounds)) {
          await saveCheckpoint(out, { step: r, epoch: r, batchInEpoch: 0, extra: { round: r } }, parts, { keep: cfg.keepCheckpoints, config: cfg });
        }
      }
      await saveTrainedModel(policy, lora, out, tokenizer, cfg); // with LoRA: the adapter, then merged into the policy returned; rlhf_config.json, written last, marks the run finished
      return { model: policy, tokenizer, history, config: cfg };
    } finally {
      logger.close();
    }
  } catch (err) {
    lora?.dispose();
    policy.dispose();
    throw err;
  } finally {
    scorer?.dispose();
  }
}
