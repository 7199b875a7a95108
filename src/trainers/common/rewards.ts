// The scorer: one weighted reward from a reward model and/or several reward functions — what PPO,
// GRPO, RLOO, REINFORCE++, best-of-n and rejection sampling all score responses with, so they
// score exactly the same way.
//
//   const scorer = await createScorer({ rewardModel: 'out/rm', rewardFn: ['format.ts', 'exact.ts'], rewardWeights: [1, 0.5, 2] });
//   const r = await scorer.score(prompts, responses);            // Float32Array, one per response
//   const d = await scorer.scoreDetailed(prompts, responses);    // { total, bySource: { rm: …, format: …, exact: … } }
//   scorer.dispose();
//
// The total is TRL GRPOTrainer's weighted sum over reward sources k (model first, then each
// function in the order given):
//   r_i = Σ_k w_k · r_k(prompt_i, response_i),   w_k = 1 when no weights are given
// A reward model reads tokenizer.encode(prompt + response) and is read at the last token (the one
// rule of src/trainers/reward/score.ts); a reward function is any
//   (prompts: string[], responses: string[]) => number[] | Promise<number[]>
// given as a module file (.ts through tsx, or .js; default export or `reward`) or in code.
import { basename, extname } from 'node:path';
import type { ScalarHeadModel } from '../../models/heads.js';
import { loadScalarModel } from '../../models/index.js';
import type { Tokenizer } from '../../tokenizers/tokenizer.js';
import { scoreTexts } from '../reward/score.js';
import { checkedRewardFn, loadRewardFn, type RewardFn } from './reward-fn.js';
import { TrainerError } from './setup.js';

export interface ScorerConfig {
  /** A reward-model directory (ScalarHeadModel / *ForSequenceClassification); null or absent: none. */
  rewardModel?: string | null;
  /** Reward functions: module files (.ts/.js) or functions in code, in order. */
  rewardFn?: readonly (string | RewardFn)[] | null;
  /** One weight per reward — the reward model first, then each function in order; null: all 1. */
  rewardWeights?: readonly number[] | null;
  /** The reward model's tokenizer when its directory has none (pass the policy's). */
  tokenizer?: Tokenizer | null;
  /** Rows per reward-model forward. Default 16. */
  batchSize?: number;
}

export interface ScoreDetail {
  /** (N) the weighted sum r_i = Σ_k w_k · r_k,i. */
  total: Float32Array;
  /** Each source's own (unweighted) rewards, by name, in the order of `names`. */
  bySource: Record<string, Float32Array>;
}

export interface Scorer {
  /** A name per source, used in logs as rewards/<name>/mean: the reward model's directory name, each file's name without extension, a function's own name. */
  readonly names: readonly string[];
  /** w_k per source, in the order of `names`. */
  readonly weights: readonly number[];
  /** The loaded reward model, when one was given (PPO starts its value model from it). Owned by the scorer. */
  readonly rewardModel: ScalarHeadModel | null;
  /** The weighted reward of each (prompt, response) pair. */
  score(prompts: readonly string[], responses: readonly string[]): Promise<Float32Array>;
  /** The weighted reward and every source's own reward. */
  scoreDetailed(prompts: readonly string[], responses: readonly string[]): Promise<ScoreDetail>;
  /** Frees the reward model. */
  dispose(): void;
}

interface Source {
  name: string;
  weight: number;
  run(prompts: string[], responses: string[]): Promise<number[]>;
}

/**
 * Loads the reward model and reward modules of `cfg` into a Scorer. Throws TrainerError when no
 * reward is given, a file is missing or exports no function, or the weights do not match the
 * sources one for one.
 */
export async function createScorer(cfg: ScorerConfig): Promise<Scorer> {
  const fns = cfg.rewardFn ?? [];
  const nSources = (cfg.rewardModel ? 1 : 0) + fns.length;
  if (nSources === 0) throw new TrainerError('no reward given: pass --reward-model DIR (a trained reward model) or --reward-fn FILE.ts (a function of prompts and responses; repeat it for several).');
  const weights = cfg.rewardWeights ?? new Array<number>(nSources).fill(1);
  if (weights.length !== nSources) {
    const order = [...(cfg.rewardModel ? [`--reward-model ${cfg.rewardModel}`] : []), ...fns.map((f, i) => (typeof f === 'string' ? `--reward-fn ${f}` : `reward function ${i + 1}`))];
    throw new TrainerError(`--reward-weights has ${weights.length} value${weights.length === 1 ? '' : 's'} for ${nSources} reward${nSources === 1 ? '' : 's'} (${order.join(', ')}); give one weight per reward, in that order.`);
  }
  weights.forEach((w, i) => {
    if (!Number.isFinite(w)) throw new TrainerError(`--reward-weights: weight ${i + 1} is ${w}; weights must be finite numbers.`);
  });

  const sources: Source[] = [];
  const taken = new Set<string>();
  const uniqueName = (base: string): string => {
    let name = base.replace(/[^A-Za-z0-9_.-]+/g, '_') || 'reward';
    for (let k = 2; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  };
  let rewardModel: ScalarHeadModel | null = null;
  try {
    if (cfg.rewardModel) {
      const r = await loadScalarModel(cfg.rewardModel);
      const model = r.model;
      rewardModel = model;
      model.requiresGrad_(false);
      model.eval();
      const tokenizer = r.tokenizer ?? cfg.tokenizer ?? null;
      if (!tokenizer) throw new TrainerError(`--reward-model ${cfg.rewardModel} has no tokenizer files and none was given to fall back on; save the reward model with its tokenizer.`);
      const batchSize = cfg.batchSize ?? 16;
      sources.push({
        name: uniqueName(basename(cfg.rewardModel.replace(/[/\\]+$/, '')) || 'reward_model'),
        weight: weights[0] as number,
        run: async (p, q) => scoreTexts(model, tokenizer, p, q, batchSize),
      });
    }
    for (const [i, f] of fns.entries()) {
      const fn = typeof f === 'string' ? await loadRewardFn(f) : checkedRewardFn(f, f.name || `reward function ${i + 1}`);
      const base = typeof f === 'string' ? basename(f, extname(f)) : f.name || `reward_fn_${i + 1}`;
      sources.push({ name: uniqueName(base), weight: weights[sources.length] as number, run: async (p, q) => fn(p, q) });
    }
  } catch (err) {
    rewardModel?.dispose();
    throw err;
  }

  const scoreDetailed = async (prompts: readonly string[], responses: readonly string[]): Promise<ScoreDetail> => {
    if (prompts.length !== responses.length) throw new RangeError(`scorer: ${prompts.length} prompts for ${responses.length} responses; pass one prompt per response (repeat a prompt for each of its samples).`);
    const total = new Float64Array(responses.length);
    const bySource: Record<string, Float32Array> = {};
    for (const s of sources) {
      const r = await s.run([...prompts], [...responses]);
      bySource[s.name] = Float32Array.from(r);
      for (let i = 0; i < r.length; i++) total[i] = (total[i] as number) + s.weight * (r[i] as number);
    }
    return { total: Float32Array.from(total), bySource };
  };
  return {
    names: sources.map((s) => s.name),
    weights: sources.map((s) => s.weight),
    rewardModel,
    scoreDetailed,
    score: async (prompts, responses) => (await scoreDetailed(prompts, responses)).total,
    dispose: () => rewardModel?.dispose(),
  };
}

/**
 * TRL's per-source reward stats for a metrics record: rewards/<name>/mean and rewards/<name>/std
 * (unbiased, as torch.std) of each source's own rewards.
 */
export function rewardSourceStats(bySource: Record<string, Float32Array>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, r] of Object.entries(bySource)) {
    const n = r.length;
    const mean = r.reduce((a, b) => a + b, 0) / Math.max(1, n);
    const variance = n > 1 ? r.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
    out[`rewards/${name}/mean`] = mean;
    out[`rewards/${name}/std`] = Math.sqrt(variance);
  }
  return out;
}
