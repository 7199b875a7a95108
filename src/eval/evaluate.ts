// Evaluating policies side by side: the numbers behind "reward across baselines".
//
//   const result = await evaluatePolicies({
//     policies: [{ name: 'random', random: true, tokenizer }, { name: 'sft', dir: 'out/sft' }, { name: 'best-of-8', dir: 'out/sft', bestOfN: 8 }, { name: 'ppo', dir: 'out/ppo' }],
//     prompts, reward: { model: rm, tokenizer: rmTok }, ref: { model: sft }, seed: 0,
//   });
//
// Per policy, top to bottom:
//   1. sample one response per prompt (generate(), seeded, prompts left-padded in batches; the random
//      baseline draws maxNewTokens ids uniformly from the vocabulary without its special ids); best-of-n
//      samples n candidates — the first with exactly the plain policy's seed stream — and keeps the
//      one with the highest reward (selectBestOfN, src/generation/best-of-n.ts: the same rule as
//      `rlhf generate --best-of` and `rlhf rft`), so best-of-n ≥ plain holds prompt by prompt, by construction
//   2. reward each (prompt, response) with scoreTexts (reward model) or the reward function; the other
//      scorers beside it; length, distinct-1/2, BLEU and ROUGE-L against the references
//   3. KL to the reference, k1 per sequence: Σ_t log π(y_t|…) − log π_ref(y_t|…) over the sampled
//      tokens, both recomputed with responseLogprobs at the sampling temperature (DESIGN step 3)
//   4. perplexity of held-out text, exp(−Σ log p / tokens)
//   5. the same reward/length metrics on the out-of-distribution prompts
//   6. robustness: mean reward of the responses perturbed at each strength (strength 0 = unperturbed)
// then win rates against the baseline (by reward, ties ½) and the reward model's quality on labelled data.
//
// Models this function loads (`dir`) are prepared for inference, used for one policy and disposed before the
// next one loads; models the caller passes are only read (dropout off while in use, restored afterwards).
import type { CausalLM } from '../models/types.js';
import type { ScalarHeadModel } from '../models/heads.js';
import { inEvalMode } from '../nn/module.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import { loadTokenizer } from '../tokenizers/load.js';
import { loadPretrained } from '../models/checkpoint.js';
import { noGrad, tensor, tidy } from '../torch/index.js';
import { generate, prepareForInference } from '../generation/generate.js';
import { responseText, tokenizerFor } from '../generation/text.js';
import { candidateSeed, selectBestOfN } from '../generation/best-of-n.js';
import { mixSeed, mulberry32, padLeft, padRight } from '../data/index.js';
import { scoreTexts } from '../trainers/reward/score.js';
import { checkedRewardFn, type RewardFn } from '../trainers/common/reward-fn.js';
import { labelledSequenceLogprobs, responseLogprobs } from '../trainers/common/logprobs.js';
import type { Summary } from './metrics.js';
import { accuracy, f1, mean, meanMargin, pairwiseAccuracy, pearson, precision, recall, spearman, summarize, winRate } from './metrics.js';
import { corpusBleu, distinctN, perturb, rougeL, type PerturbKind } from './text-metrics.js';
import { calibrationBins } from './charts.js';

// ----- the API ------------------------------------------------------------------------------------------------

export interface EvalPolicy {
  name: string;
  /** A loaded policy; or `dir` to load one. Exactly one of model/dir, unless `random`. */
  model?: CausalLM;
  tokenizer?: Tokenizer;
  dir?: string;
  /** Baseline: uniformly random tokens from the vocabulary (no model needed besides a tokenizer). */
  random?: boolean;
  /** Best-of-n under the reward: sample n per prompt from this policy, keep the highest-reward one. */
  bestOfN?: number;
}

export interface EvalInput {
  policies: EvalPolicy[];
  prompts: string[];
  /** A second prompt set (out of distribution): the same reward/length metrics again. */
  oodPrompts?: string[];
  /** `name` (optional) is how the report names the reward; default 'reward model' / 'reward function'. */
  reward: { model: ScalarHeadModel; tokenizer: Tokenizer; name?: string } | { fn: RewardFn; name?: string };
  /** Reference model for KL (mean per sequence, k1 estimator Σ_t log π − log π_ref on the sampled tokens, named in the result). */
  ref?: { model: CausalLM } | null;
  /** Other scorers reported beside the reward (e.g. the demo's sentiment lexicon): name → fn(prompt, response) → number. */
  scorers?: Record<string, (prompt: string, response: string) => number>;
  /** Reference answers (aligned with prompts) for BLEU and ROUGE-L. */
  references?: string[];
  /** Held-out text for perplexity (each policy with a model). */
  heldOutText?: string[];
  /** Which policy the others' win rates are against (default: the first). */
  baseline?: string;
  maxNewTokens?: number;
  temperature?: number;
  seed?: number;
  batchSize?: number;
  /** Reward-model quality on labelled data, when given: labels (text,label 0/1), pairs (prompt, chosen, rejected) or ratings (prompt, response, score). */
  rewardModelData?: {
    labels?: { text: string; label: number }[];
    pairs?: { prompt: string; chosen: string; rejected: string }[];
    ratings?: { prompt: string; response: string; score: number }[];
  };
  /** Robustness: reward vs perturbation strength for each policy's responses; kinds and strengths. Default: truncate/typos/shuffle at 0, .25, .5, .75, 1. */
  perturbations?: { kinds?: PerturbKind[]; strengths?: number[] } | false;
  onProgress?: (done: number, total: number, label: string) => void;
}

export interface PolicyEval {
  name: string;
  /** Summary from metrics.ts; ci95 of the mean (normal approximation, mean ± 1.96·std/√n). */
  reward: Summary & { ci95: [number, number] };
  /**
   * Mean k1 per response against `ref`; null without one. Best-of-n: k1 of the kept responses under the policy
   * it samples from. Random: log π = −log |vocabulary| per token.
   */
  kl: { mean: number; estimator: 'k1' } | null;
  /** vs the baseline, by reward, ties ½; null for the baseline itself. */
  winRate: number | null;
  /** vs the baseline as people judged it in the studio (ties and "both bad" ½); set by `rlhf eval --studio`. */
  humanWinRate?: number | null;
  /** Response tokens: the generated ids, EOS included. */
  length: Summary;
  distinct1: number;
  distinct2: number;
  bleu?: number;
  rougeL?: number;
  perplexity?: number;
  scorers: Record<string, Summary>;
  ood?: { reward: Summary; scorers: Record<string, Summary>; length: Summary };
  sensitivity?: { kind: string; points: { strength: number; reward: number }[] }[];
  /** Every prompt, in order. */
  samples: { prompt: string; response: string; reward: number }[];
}

export interface EvalResult {
  policies: PolicyEval[];
  rewardModel?: {
    labels?: { accuracy: number; precision: number; recall: number; f1: number; calibration: { predicted: number; observed: number; count: number }[] };
    pairs?: { accuracy: number; margin: number };
    ratings?: { pearson: number; spearman: number };
  };
  settings: { prompts: number; oodPrompts: number; maxNewTokens: number; temperature: number; seed: number; klEstimator: 'k1'; reward: string };
}

/** Unusable evaluation input: the message names the policy or option and the fix. */
export class EvalError extends Error {
  override name = 'EvalError';
}

export const DEFAULT_PERTURBATION_KINDS: readonly PerturbKind[] = ['truncate', 'typos', 'shuffle'];
export const DEFAULT_PERTURBATION_STRENGTHS: readonly number[] = [0, 0.25, 0.5, 0.75, 1];

// ----- helpers --------------------------------------------------------------------------------------------------

/** One sampled response: the prompt ids it was sampled from (truncated to fit), its ids and its text. */
export interface Sample {
  promptIds: number[];
  responseIds: number[];
  text: string;
}

interface Resolved {
  model: CausalLM | null;
  tokenizer: Tokenizer;
  /** Loaded here: dispose when done. */
  owned: boolean;
}

type Score = (prompts: string[], responses: string[]) => Promise<number[]>;

/** A seed in [0, 2^31) derived from the run's seed and further integers (candidate k of best-of-n, …). */
function derivedSeed(seed: number, ...parts: number[]): number {
  return mixSeed(seed, ...parts) % 2_147_483_647;
}

function ci95(xs: readonly number[]): [number, number] {
  const s = summarize(xs);
  const half = (1.96 * s.std) / Math.sqrt(s.n);
  return [s.mean - half, s.mean + half];
}

/** Prompt ids, at least one token (an empty prompt starts from BOS/EOS), keeping the last `max`. */
function encodePrompts(tok: Tokenizer, prompts: readonly string[], max: number): number[][] {
  const start = tok.bosTokenId ?? tok.eosTokenId ?? 0;
  return prompts.map((p) => {
    const ids = tok.encode(p);
    const row = ids.length === 0 ? [start] : ids;
    return row.length > max ? row.slice(row.length - max) : row;
  });
}

/**
 * 1. One response per prompt from a policy: prompts left-padded in batches of `batchSize`, generate() seeded
 * once before the first batch (later batches continue the stream, as generateText does).
 */
function samplePolicy(model: CausalLM, tok: Tokenizer, prompts: readonly string[], o: { maxNewTokens: number; temperature: number; seed: number; batchSize: number }): Sample[] {
  const room = model.config.n_positions - o.maxNewTokens;
  if (room < 1) throw new EvalError(`maxNewTokens ${o.maxNewTokens} leaves no room for a prompt in the model's ${model.config.n_positions} positions; lower it`);
  const promptIds = encodePrompts(tok, prompts, room);
  const eos = tok.eosTokenId ?? undefined;
  const pad = tok.padTokenId ?? tok.eosTokenId ?? model.config.eos_token_id;
  const out: Sample[] = [];
  for (let first = 0; first < promptIds.length; first += o.batchSize) {
    const chunk = promptIds.slice(first, first + o.batchSize);
    const q = padLeft(chunk, pad); // (b, P)
    try {
      const g = generate(model, { inputIds: q.inputIds, attentionMask: q.attentionMask }, {
        maxNewTokens: o.maxNewTokens, temperature: o.temperature, eosTokenId: eos, padTokenId: pad, seed: first === 0 ? o.seed : null,
      });
      g.sequences.dispose(); g.responseMask.dispose();
      chunk.forEach((ids, b) => {
        const responseIds = g.responseIds[b] as number[];
        out.push({ promptIds: ids, responseIds, text: responseText(tok, responseIds, g.finishReason[b] ?? 'length', []) });
      });
    } finally {
      q.inputIds.dispose();
      q.attentionMask.dispose();
    }
  }
  return out;
}

/** The ids the random baseline draws from: the tokenizer's vocabulary less its special ids. */
export function randomVocabulary(tok: Tokenizer): number[] {
  const ids: number[] = [];
  for (let id = 0; id < tok.vocabSize; id++) if (!tok.allSpecialIds.has(id)) ids.push(id);
  if (ids.length === 0) throw new EvalError('the random baseline needs a tokenizer with non-special tokens');
  return ids;
}

/** 1. The random baseline: exactly maxNewTokens ids per prompt, uniform over `vocab`, from a seeded mulberry32. */
export function sampleRandom(tok: Tokenizer, vocab: readonly number[], prompts: readonly string[], o: { maxNewTokens: number; seed: number; maxPrompt: number }): Sample[] {
  const rng = mulberry32(o.seed);
  const promptIds = encodePrompts(tok, prompts, o.maxPrompt);
  return promptIds.map((ids) => {
    const responseIds = Array.from({ length: o.maxNewTokens }, () => vocab[Math.floor(rng() * vocab.length)] as number);
    return { promptIds: ids, responseIds, text: tok.decode(responseIds, { skipSpecialTokens: true }) };
  });
}

/**
 * 3. k1 per sequence, Σ_t log π(y_t|x, y_<t) − log π_ref(y_t|x, y_<t) over each response's tokens, with
 * logits / T as the sampler used. `policy: null` is the random baseline, log π = −log |vocab| for every token.
 * Rows are [left-padded prompt (P) | right-padded response (R)], as PPO lays them out.
 */
function sequenceK1(policy: CausalLM | null, uniformLogp: number, ref: CausalLM, samples: readonly Sample[], pad: number, temperature: number, batchSize: number): number[] {
  const out: number[] = [];
  for (let first = 0; first < samples.length; first += batchSize) {
    const chunk = samples.slice(first, first + batchSize);
    const P = Math.max(...chunk.map((s) => s.promptIds.length));
    const R = Math.max(1, ...chunk.map((s) => s.responseIds.length));
    const k1 = noGrad(() =>
      tidy(() => {
        const seqRows = chunk.map((s) => [...new Array<number>(P - s.promptIds.length).fill(pad), ...s.promptIds, ...s.responseIds, ...new Array<number>(R - s.responseIds.length).fill(pad)]);
        const maskRows = chunk.map((s) => [
          ...new Array<number>(P - s.promptIds.length).fill(0), ...new Array<number>(s.promptIds.length + s.responseIds.length).fill(1), ...new Array<number>(R - s.responseIds.length).fill(0),
        ]);
        const seq = tensor(seqRows, { dtype: 'int64' }); // (B, P+R)
        const mask = tensor(maskRows, { dtype: 'int64' }); // (B, P+R)
        const targets = seq.narrow(1, P, R).contiguous(); // (B, R)
        const respMask = mask.narrow(1, P, R).float(); // (B, R) 1 on response tokens
        const refLp = responseLogprobs(ref, seq, mask, targets, P, { temperature }).logprobs.float(); // (B, R)
        const lp = policy ? responseLogprobs(policy, seq, mask, targets, P, { temperature }).logprobs.float() : refLp.mul(0).add(uniformLogp); // (B, R)
        return lp.sub(refLp).mul(respMask).sum(1).toFlatArray(); // (B)
      }),
    );
    out.push(...k1);
  }
  return out;
}

/** 4. Perplexity exp(−Σ log p(x_t|x_<t) / Σ tokens) of texts (each cut to the model's positions), token-weighted. */
function perplexityOf(model: CausalLM, tok: Tokenizer, texts: readonly string[], batchSize: number): number {
  const rows = texts.map((t) => tok.encode(t).slice(0, model.config.n_positions)).filter((ids) => ids.length >= 2);
  if (rows.length === 0) return Number.NaN;
  const pad = tok.padTokenId ?? tok.eosTokenId ?? 0;
  let sum = 0;
  let count = 0;
  for (let first = 0; first < rows.length; first += batchSize) {
    const chunk = rows.slice(first, first + batchSize);
    const T = Math.max(...chunk.map((r) => r.length));
    const r = noGrad(() =>
      tidy(() => {
        const { inputIds, attentionMask } = padRight(chunk, pad); // (B, T)
        const labels = tensor(chunk.map((ids) => [...ids, ...new Array<number>(T - ids.length).fill(-100)]), { dtype: 'int64' }); // (B, T)
        const lp = labelledSequenceLogprobs(model, inputIds, attentionMask, labels);
        return { sum: lp.sum.float().sum().item(), count: lp.count.sum().item() };
      }),
    );
    sum += r.sum;
    count += r.count;
  }
  return Math.exp(-sum / count);
}

function scorerSummaries(scorers: EvalInput['scorers'], prompts: readonly string[], responses: readonly string[]): Record<string, Summary> {
  const out: Record<string, Summary> = {};
  for (const [name, fn] of Object.entries(scorers ?? {})) out[name] = summarize(responses.map((r, i) => fn(prompts[i] as string, r)));
  return out;
}

// ----- evaluatePolicies -----------------------------------------------------------------------------------------

export async function evaluatePolicies(input: EvalInput): Promise<EvalResult> {
  const maxNewTokens = input.maxNewTokens ?? 32;
  const temperature = input.temperature ?? 0.7;
  const seed = input.seed ?? 0;
  const batchSize = input.batchSize ?? 16;
  const T = temperature > 0 ? temperature : 1; // greedy log-probs are of softmax(logits), as generate() reports
  const { prompts, policies } = input;
  const oodPrompts = input.oodPrompts ?? [];
  const ref = input.ref?.model ?? null;
  const perturbations = input.perturbations === false ? null : {
    kinds: input.perturbations?.kinds ?? [...DEFAULT_PERTURBATION_KINDS],
    strengths: input.perturbations?.strengths ?? [...DEFAULT_PERTURBATION_STRENGTHS],
  };

  // 0. check the input before any model loads
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw new EvalError(`maxNewTokens must be a positive integer, got ${maxNewTokens}`);
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new EvalError(`temperature must be ≥ 0 (0 = greedy), got ${temperature}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new EvalError(`batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(seed) || seed < 0) throw new EvalError(`seed must be an integer ≥ 0, got ${seed}`);
  if (prompts.length === 0) throw new EvalError('no prompts to evaluate on; pass at least one');
  if (policies.length === 0) throw new EvalError('no policies to evaluate; pass at least one');
  if (input.references && input.references.length !== prompts.length) {
    throw new EvalError(`${input.references.length} references for ${prompts.length} prompts; pass one reference answer per prompt`);
  }
  const names = new Set<string>();
  for (const p of policies) {
    if (names.has(p.name)) throw new EvalError(`two policies are named "${p.name}"; give each a distinct name`);
    names.add(p.name);
    const sources = [p.model, p.dir].filter((x) => x !== undefined).length;
    if (!p.random && sources !== 1) throw new EvalError(`policy "${p.name}": pass exactly one of model or dir${sources === 0 ? ' (or random: true for the random baseline)' : ', not both'}`);
    if (p.random && p.model) throw new EvalError(`policy "${p.name}" is the random baseline; it takes a tokenizer (or dir to read one from), not a model`);
    if (p.bestOfN !== undefined && !(Number.isInteger(p.bestOfN) && p.bestOfN >= 1)) throw new EvalError(`policy "${p.name}": bestOfN must be a positive integer, got ${p.bestOfN}`);
  }
  const baseline = input.baseline ?? (policies[0] as EvalPolicy).name;
  if (!names.has(baseline)) throw new EvalError(`baseline "${baseline}" is not one of the policies (${[...names].join(', ')})`);
  if (ref && ref.config.n_positions <= maxNewTokens) throw new EvalError(`maxNewTokens ${maxNewTokens} leaves no room for a prompt in the reference model's ${ref.config.n_positions} positions; lower it`);
  for (const s of perturbations?.strengths ?? []) if (!(s >= 0 && s <= 1)) throw new EvalError(`perturbation strengths must be in [0, 1], got ${s}`);

  // the reward: one function of (prompts, responses) for both kinds, in eval mode
  const rewardName = input.reward.name ?? ('model' in input.reward ? 'reward model' : 'reward function');
  const score: Score = 'model' in input.reward
    ? (() => {
        const { model, tokenizer } = input.reward;
        return async (p, r) => inEvalMode([model], () => scoreTexts(model, tokenizer, p, r, batchSize));
      })()
    : (() => {
        const fn = checkedRewardFn(input.reward.fn, rewardName);
        return async (p, r) => fn(p, r);
      })();

  // progress: a unit per stage per policy, and one for the reward model's quality
  const stagesPer = (p: EvalPolicy): number => 2 + (ref ? 1 : 0) + (input.heldOutText?.length && !p.random ? 1 : 0) + (oodPrompts.length ? 1 : 0) + (perturbations ? 1 : 0);
  const total = policies.reduce((s, p) => s + stagesPer(p), 0) + (input.rewardModelData ? 1 : 0);
  let done = 0;
  const progress = (label: string): void => input.onProgress?.(++done, total, label);

  const results: PolicyEval[] = [];
  const rewardsOf = new Map<string, number[]>();
  for (const policy of policies) {
    const r = await resolvePolicy(policy, policies, input);
    try {
      const model = r.model;
      const tok = r.tokenizer;
      const pad = tok.padTokenId ?? tok.eosTokenId ?? model?.config.eos_token_id ?? 0;
      if (ref && model && ref.config.vocab_size !== model.config.vocab_size) {
        throw new EvalError(`policy "${policy.name}" has a vocabulary of ${model.config.vocab_size} and the reference model one of ${ref.config.vocab_size}; KL needs the same tokens — pass a reference with the policy's tokenizer`);
      }
      const vocab = policy.random ? randomVocabulary(tok) : [];
      const maxRandomPrompt = ref ? ref.config.n_positions - maxNewTokens : Number.POSITIVE_INFINITY;
      // candidate k of a prompt set: k = 0 is the plain policy's own seed stream
      const sampleSet = (ps: readonly string[], k: number, base: number): Sample[] => {
        const s = candidateSeed(base, k) as number;
        return model
          ? inEvalMode([model], () => samplePolicy(model, tok, ps, { maxNewTokens, temperature, seed: s, batchSize }))
          : sampleRandom(tok, vocab, ps, { maxNewTokens, seed: derivedSeed(s, 0x7a4d0), maxPrompt: maxRandomPrompt });
      };
      // 1.–2. sample (best of n under the reward: src/generation/best-of-n.ts) and score
      const sampleAndScore = async (ps: readonly string[], base: number): Promise<{ samples: Sample[]; rewards: number[] }> => {
        const picks = await selectBestOfN(ps, policy.bestOfN ?? 1, (k) => sampleSet(ps, k, base), (c) => c.text, score);
        return { samples: picks.map((p) => p.best), rewards: picks.map((p) => p.score) };
      };
      const { samples, rewards } = await sampleAndScore(prompts, seed);
      progress(`${policy.name}: sampled and scored`);
      const texts = samples.map((s) => s.text);
      const lengths = samples.map((s) => s.responseIds.length);
      const ev: PolicyEval = {
        name: policy.name,
        reward: { ...summarize(rewards), ci95: ci95(rewards) },
        kl: null,
        winRate: null,
        length: summarize(lengths),
        distinct1: distinctN(texts, 1),
        distinct2: distinctN(texts, 2),
        scorers: scorerSummaries(input.scorers, prompts, texts),
        samples: samples.map((s, i) => ({ prompt: prompts[i] as string, response: s.text, reward: rewards[i] as number })),
      };
      if (input.references) {
        const refs = input.references;
        ev.bleu = corpusBleu(texts, refs.map((x) => [x])).bleu;
        ev.rougeL = mean(texts.map((t, i) => rougeL(t, refs[i] as string).f));
      }
      progress(`${policy.name}: text metrics`);

      // 3. KL to the reference
      if (ref) {
        if (model || tok.vocabSize <= ref.config.vocab_size) {
          const k1 = inEvalMode([model, ref], () => sequenceK1(model, -Math.log(Math.max(1, vocab.length)), ref, samples, pad, T, batchSize));
          ev.kl = { mean: mean(k1), estimator: 'k1' };
        }
        progress(`${policy.name}: KL`);
      }
      // 4. perplexity of held-out text
      if (model && input.heldOutText?.length) {
        const held = input.heldOutText;
        ev.perplexity = inEvalMode([model], () => perplexityOf(model, tok, held, batchSize));
        progress(`${policy.name}: perplexity`);
      }
      // 5. out of distribution
      if (oodPrompts.length) {
        const o = await sampleAndScore(oodPrompts, derivedSeed(seed, 0x00d));
        const oTexts = o.samples.map((s) => s.text);
        ev.ood = { reward: summarize(o.rewards), scorers: scorerSummaries(input.scorers, oodPrompts, oTexts), length: summarize(o.samples.map((s) => s.responseIds.length)) };
        progress(`${policy.name}: out of distribution`);
      }
      // 6. robustness: the same perturbation draws for every policy (seeded by prompt, kind and strength)
      if (perturbations) {
        ev.sensitivity = [];
        for (const [ki, kind] of perturbations.kinds.entries()) {
          const points: { strength: number; reward: number }[] = [];
          for (const strength of perturbations.strengths) {
            const damaged = texts.map((t, i) => perturb(t, kind, strength, derivedSeed(seed, i, ki, Math.round(strength * 1e6))));
            points.push({ strength, reward: mean(await score([...prompts], damaged)) });
          }
          ev.sensitivity.push({ kind, points });
        }
        progress(`${policy.name}: robustness`);
      }
      results.push(ev);
      rewardsOf.set(policy.name, rewards);
    } finally {
      if (r.owned) r.model?.dispose();
    }
  }

  // win rates against the baseline, prompt by prompt
  const base = rewardsOf.get(baseline) as number[];
  for (const ev of results) if (ev.name !== baseline) ev.winRate = winRate(rewardsOf.get(ev.name) as number[], base);

  const result: EvalResult = {
    policies: results,
    settings: { prompts: prompts.length, oodPrompts: oodPrompts.length, maxNewTokens, temperature, seed, klEstimator: 'k1', reward: rewardName },
  };
  if (input.rewardModelData) {
    result.rewardModel = await rewardModelQuality(score, input.rewardModelData);
    progress('reward model quality');
  }
  return result;
}

/** The model and tokenizer of a policy: the caller's, or loaded from its directory (then owned here). */
async function resolvePolicy(p: EvalPolicy, all: readonly EvalPolicy[], input: EvalInput): Promise<Resolved> {
  if (p.random) return { model: null, tokenizer: randomTokenizer(p, all, input), owned: false };
  if (p.model) return { model: p.model, tokenizer: tokenizerFor(p.name, p.model.config.vocab_size, p.tokenizer), owned: false };
  const dir = p.dir as string;
  const loaded = await loadPretrained(dir);
  try {
    const tokenizer = tokenizerFor(dir, loaded.model.config.vocab_size, p.tokenizer ?? loaded.tokenizer);
    tidy(() => void prepareForInference(loaded.model)); // dropout off, weights laid out for decoding once (tidy: it leaves its w.T views behind)
    loaded.model.requiresGrad_(false);
    return { model: loaded.model, tokenizer, owned: true };
  } catch (err) {
    loaded.model.dispose();
    throw err;
  }
}

/** The random baseline's tokenizer: its own, its dir's, another policy's, else the reward model's. */
function randomTokenizer(p: EvalPolicy, all: readonly EvalPolicy[], input: EvalInput): Tokenizer {
  if (p.tokenizer) return p.tokenizer;
  if (p.dir) return loadTokenizer(p.dir);
  const other = all.find((q) => !q.random && q.tokenizer) ?? all.find((q) => !q.random && q.dir);
  if (other?.tokenizer) return other.tokenizer;
  if (other?.dir) return loadTokenizer(other.dir);
  if ('model' in input.reward) return input.reward.tokenizer;
  throw new EvalError(`policy "${p.name}" (random) needs a tokenizer to draw tokens from: pass tokenizer (or dir), or evaluate it beside a policy that has one`);
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/**
 * The reward's quality on labelled data. Labels: σ(reward) is P(positive) (the reward trainer's BCE), predicted
 * positive when reward > 0. Pairs: chosen must score above rejected; margin = mean(r_chosen − r_rejected).
 * Ratings: Pearson and Spearman correlation of reward and rating.
 */
async function rewardModelQuality(score: Score, data: NonNullable<EvalInput['rewardModelData']>): Promise<NonNullable<EvalResult['rewardModel']>> {
  const out: NonNullable<EvalResult['rewardModel']> = {};
  if (data.labels?.length) {
    const s = await score(data.labels.map(() => ''), data.labels.map((l) => l.text));
    const y = data.labels.map((l) => (l.label === 1 ? 1 : 0));
    const pred = s.map((x) => (x > 0 ? 1 : 0));
    const bins = calibrationBins(s.map(sigmoid), y).map((b) => ({ predicted: b.predicted, observed: b.observed, count: b.count }));
    out.labels = { accuracy: accuracy(pred, y), precision: precision(pred, y), recall: recall(pred, y), f1: f1(pred, y), calibration: bins };
  }
  if (data.pairs?.length) {
    const ps = data.pairs.map((p) => p.prompt);
    const chosen = await score(ps, data.pairs.map((p) => p.chosen));
    const rejected = await score(ps, data.pairs.map((p) => p.rejected));
    out.pairs = { accuracy: pairwiseAccuracy(chosen, rejected), margin: meanMargin(chosen, rejected) };
  }
  if (data.ratings?.length) {
    const s = await score(data.ratings.map((r) => r.prompt), data.ratings.map((r) => r.response));
    const ratings = data.ratings.map((r) => r.score);
    out.ratings = { pearson: pearson(s, ratings), spearman: spearman(s, ratings) };
  }
  return out;
}
