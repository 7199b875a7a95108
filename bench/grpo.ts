// GRPO iteration benchmark, ours vs PyTorch eager written the way TRL's GRPOTrainer does it
// (bench/torch_grpo.py), on the same shapes, in the same run. One iteration at GPT-2-small shapes
// (12 layers, 768 wide, 12 heads, V = 50257, random weights, dropout 0): 8 prompts of 32 tokens (the
// same random ids on both sides, seeded here), each sampled G = 4 times (32 rows), 32 new tokens at
// T = 1 with EOS off (so both sides generate exactly the same amount), a reward model (GPT-2 body +
// (1, C) score head) on prompt + response, a frozen reference with β = 0.04 (DeepSeekMath's value;
// TRL's default β = 0 would skip the reference entirely), one optimizer step on the whole rollout
// (μ = 1, one step per generation: π_old is the training forward detached, as TRL does). Every other
// hyperparameter is grpoConfig's default (lr, ε, loss type dapo, scale rewards by the group's std,
// max grad norm 1) on both sides; training runs in float32.
//   rollout_fp32   generation in float32
//   rollout_bf16   generation in bf16: ours generate()'s `dtype: 'bfloat16'` (a bf16 copy of the weights
//                  made per call), PyTorch a bf16 copy of the policy refreshed every iteration
// Phases, each a row `CASE/PHASE` (and `CASE/total`, which also carries the peak RSS of each side,
// measured in a fresh process running one iteration, as bench/ppo.ts does):
//   generation   G copies of each prompt, padLeft + generate()
//   scoring      the reward model on prompt + response (scoreIds)
//   logprobs     the reference's log-probs of the responses (rolloutLogprobs, chunks of 64 rows)
//   advantages   group-relative advantages (grpoAdvantages)
//   training     policy forward (log-probs and entropy), grpoLoss (clipped ratio + β·k3, dapo), backward,
//                clip, AdamW step
//   npm run bench:grpo [-- --json] [-- --rounds N] [-- --tiny] [-- --no-rss] [-- --case rollout_bf16]
// --tiny shrinks every case to a 2-layer, 64-wide, 4-head model with V = 512 and 8-token prompts and
// responses (a smoke test that runs in seconds). Each row: { name, case, phase, ours_ms, torch_ms,
// ratio }, ratio = torch_ms / ours_ms (above 1 we are faster); torch fields are null without
// python3-torch. A phase's row is the best of `rounds` iterations per side, each phase on its own
// (so `total` can be below the sum of the phases).
//
// Ours is grpo()'s iteration (src/trainers/grpo/train.ts) with the same library pieces in the same
// order — generate, scoreIds, rolloutTensors + rolloutLogprobs (src/trainers/common/rollout.ts),
// grpoAdvantages, responseLogprobs, grpoLoss, optimizerStep — minus what grpo() does around it that is
// not compute: reading prompts, decoding responses to text and re-tokenising them for the reward
// model (scoreTexts; here scoreIds on the same ids), logging, checkpoints.
import * as torch from '../src/torch/index.js';
import type { Tensor } from '../src/torch/index.js';
import { GPT2LMHeadModel } from '../src/models/gpt2.js';
import { ScalarHeadModel } from '../src/models/heads.js';
import { copyModel } from '../src/models/clone.js';
import { generate } from '../src/generation/generate.js';
import { mulberry32, padLeft } from '../src/data/index.js';
import { scoreIds } from '../src/trainers/reward/score.js';
import { responseLogprobs } from '../src/trainers/common/logprobs.js';
import { maskedMean, readStats } from '../src/trainers/common/masked.js';
import { rolloutLogprobs, rolloutSeed, rolloutTensors } from '../src/trainers/common/rollout.js';
import { createOptimizer, maybeAutocast, optimizerStep } from '../src/trainers/common/setup.js';
import { grpoAdvantages, grpoLoss } from '../src/trainers/grpo/loss.js';
import { grpoConfig, type GRPOConfig } from '../src/trainers/grpo/config.js';
import type { AdamW } from '../src/optim/adamw.js';
import type { LRScheduler } from '../src/optim/schedule.js';
import { addPeakRss, alternate, flagValue, gpt2Config, gpt2Shape, type Gpt2Shape, measureCases, type PhaseMs, phaseRows, report, rssChild, rssMb, selectCases, torchScript } from './common.js';

const BASE_RSS_MB = rssMb('VmRSS'); // node + libtorch loaded, nothing built yet

const argv = process.argv;
const tiny = argv.includes('--tiny');
const rounds = Number(flagValue('--rounds') ?? 2);


interface CaseConfig extends Gpt2Shape {
  /** Prompts per iteration (grpo()'s --batch-size) and samples per prompt (--num-generations). */
  batch: number;
  num_generations: number;
  prompt: number;
  new_tokens: number;
  rollout_dtype: 'float32' | 'bfloat16';
  /** For the LR schedule's length on both sides. */
  iterations_planned: number;
  /** The GRPO hyperparameters both sides use (snake_case for Python). */
  hp: { lr: number; betas: number[]; weight_decay: number; max_grad_norm: number; temperature: number; beta: number; epsilon: number; epsilon_high: number; loss_type: string; scale_rewards: string };
}

const shape = { ...gpt2Shape(tiny), batch: 8, num_generations: 4, ...(tiny ? { prompt: 8, new_tokens: 8 } : { prompt: 32, new_tokens: 32 }) };
/** grpo()'s config for these shapes: every field not given here is grpoConfig's default. */
const grpoCfg = (rolloutDtype: 'float32' | 'bfloat16'): GRPOConfig =>
  grpoConfig.parse({
    model: 'bench', out: 'bench', prompts: 'bench', rewardModel: 'bench',
    batchSize: shape.batch, numGenerations: shape.num_generations, maxCompletionLength: shape.new_tokens, beta: 0.04, rolloutDtype, dtype: 'float32',
  });
const caseOf = (rolloutDtype: 'float32' | 'bfloat16'): CaseConfig => {
  const g = grpoCfg(rolloutDtype);
  return {
    ...shape, rollout_dtype: rolloutDtype, iterations_planned: 1000,
    hp: {
      lr: g.lr, betas: g.adamBetas, weight_decay: g.weightDecay, max_grad_norm: g.maxGradNorm, temperature: g.temperature,
      beta: g.beta, epsilon: g.epsilon, epsilon_high: g.epsilonHigh ?? g.epsilon, loss_type: g.lossType, scale_rewards: g.scaleRewards,
    },
  };
};
const allCases: Record<string, CaseConfig> = { rollout_fp32: caseOf('float32'), rollout_bf16: caseOf('bfloat16') };
const cases = selectCases(allCases);

/** The prompts, the same ids on both sides: (B, P) from a fixed seed. */
const rand = mulberry32(20240612);
const prompts: number[][] = Array.from({ length: shape.batch }, () => Array.from({ length: shape.prompt }, () => Math.floor(rand() * shape.vocab_size)));

// ---- ours: grpo()'s iteration -------------------------------------------------------------------------

class OursCase {
  readonly policy: GPT2LMHeadModel;
  readonly ref: GPT2LMHeadModel;
  readonly rewardModel: ScalarHeadModel;
  readonly params: Tensor[];
  readonly optimizer: AdamW;
  readonly scheduler: LRScheduler;
  readonly cfg: GRPOConfig;
  readonly pad: number;
  private it = 0;
  /** generate()'s own split of the last rollout. */
  genTimings = { castMs: 0, prefillMs: 0, decodeMs: 0 };

  constructor(readonly c: CaseConfig) {
    this.cfg = grpoCfg(c.rollout_dtype);
    torch.manualSeed(0);
    const gpt2 = gpt2Config(c);
    // As grpo() builds them: the reference a frozen copy of the policy; the reward model from disk in real use (same shapes).
    this.policy = new GPT2LMHeadModel(gpt2);
    this.ref = copyModel(this.policy);
    this.ref.requiresGrad_(false);
    this.rewardModel = new ScalarHeadModel(gpt2);
    this.rewardModel.requiresGrad_(false);
    for (const m of [this.policy, this.ref, this.rewardModel]) m.eval();
    this.pad = c.vocab_size - 1; // no row is padded here
    this.params = this.policy.parameters();
    const o = createOptimizer(this.params, this.cfg, c.iterations_planned);
    this.optimizer = o.optimizer;
    this.scheduler = o.scheduler;
  }

  /** One GRPO iteration; the wall time of each phase in ms. */
  iteration(): PhaseMs & { reward: number; loss: number } {
    const cfg = this.cfg;
    const { policy, ref, rewardModel, pad } = this;
    const it = this.it++;
    const G = cfg.numGenerations;
    const queries = prompts.flatMap((q) => new Array<number[]>(G).fill(q)); // (N) rows, each prompt's G consecutive

    // 1. roll out G samples per prompt
    const t0 = performance.now();
    const q = padLeft(queries, pad); // (N, P)
    let gen;
    try {
      gen = generate(policy, q, {
        maxNewTokens: cfg.maxCompletionLength, temperature: cfg.temperature, topK: cfg.topK, topP: cfg.topP,
        eosTokenId: null, padTokenId: pad, seed: rolloutSeed(cfg.seed, it), dtype: cfg.rolloutDtype,
      });
    } finally {
      q.inputIds.dispose();
      q.attentionMask.dispose();
    }
    gen.sequences.dispose();
    gen.responseMask.dispose();
    this.genTimings = { castMs: gen.timings.castMs, prefillMs: gen.timings.prefillMs, decodeMs: gen.timings.decodeMs };
    const responses = gen.responseIds;
    if (responses.some((r) => r.length !== this.c.new_tokens)) throw new Error(`generation stopped early (${responses.map((r) => r.length).join(',')}); EOS should be off`);

    // 2. score prompt + response (grpo() re-tokenises the decoded text; the same ids here)
    const t1 = performance.now();
    const scores = scoreIds(rewardModel, queries.map((qr, b) => [...qr, ...(responses[b] as number[])]), pad);

    // 3. the reference's log-probs (μ = 1, one step: no old-policy pass)
    const t2 = performance.now();
    const t = rolloutTensors(queries, responses, pad);
    const refLp = rolloutLogprobs(ref, t, cfg.temperature, cfg.dtype);

    // 4. group-relative advantages
    const t3 = performance.now();
    const adv = torch.tidy(() => grpoAdvantages(torch.tensor(scores), G, cfg.scaleRewards).advantages); // (N)
    adv.data(); // the host sync grpo() does when it reads the stats

    // 5. one optimizer step on the whole rollout
    const t4 = performance.now();
    const stats = torch.tidy(() => {
      const r = maybeAutocast(cfg.dtype, () => responseLogprobs(policy, t.seq, t.mask, t.targets, t.P, { temperature: cfg.temperature, withEntropy: true }));
      const out = grpoLoss(r.logprobs, r.logprobs.detach(), refLp, adv, t.respMask, {
        epsilon: cfg.epsilon, epsilonHigh: cfg.epsilonHigh, beta: cfg.beta, lossType: cfg.lossType, maxCompletionLength: cfg.maxCompletionLength, stepTokens: responses.reduce((a, x) => a + x.length, 0),
      });
      out.loss.backward();
      return readStats({ loss: out.loss, ...out.stats, entropy: maskedMean(r.entropy as Tensor, t.respMask) }); // one host copy
    });
    torch.disposeAll([t, refLp, adv]);
    optimizerStep(this.params, this.optimizer, this.scheduler, cfg.maxGradNorm);
    const t5 = performance.now();
    return {
      generation: t1 - t0, scoring: t2 - t1, logprobs: t3 - t2, advantages: t4 - t3, training: t5 - t4, total: t5 - t0,
      reward: scores.reduce((a, b) => a + b, 0) / scores.length, loss: stats.loss,
    };
  }

  dispose(): void {
    this.optimizer.dispose();
    for (const m of [this.policy, this.ref, this.rewardModel]) m.dispose();
  }
}

// `--rss CASE`: the child process that measures our peak RSS for one iteration of a case.
rssChild(BASE_RSS_MB, (name) => void new OursCase(allCases[name] as CaseConfig).iteration());

// ---- interleaved measurement: PyTorch serves one iteration per request ------------------------------

interface TorchIteration {
  ms: PhaseMs;
  reward: number;
  loss: number;
}
const torchSide = torchScript(new URL('./torch_grpo.py', import.meta.url), torch.getNumThreads(), { cases: allCases, prompts });
const { rows, torchRan, loads } = await measureCases(torchSide, cases, (c) => new OursCase(c), async (ours, server, name, c) => {
  // One warm-up iteration each (first-touch allocations, AdamW state), then `rounds` alternating.
  const r = await alternate(rounds, () => ({ ...ours.iteration(), gen: ours.genTimings }), server && (() => server.request<TorchIteration>({ case: name })));
  const last = { ours: r.ours.at(-1) ?? { reward: NaN, loss: NaN }, torch: r.torch?.at(-1) ?? null };
  return phaseRows(name, r.ours, r.torch?.map((x) => x.ms) ?? null, {
    newTokens: c.batch * c.num_generations * c.new_tokens,
    episodes: c.batch * c.num_generations,
    totalExtra: { ours_loss: last.ours.loss, torch_loss: last.torch?.loss ?? null },
  });
});
// Peak memory, each side in a fresh process (after the timing, so it does not disturb it).
if (!argv.includes('--no-rss')) for (const row of rows) if (row.phase === 'total') addPeakRss(row, row.case as string, import.meta.url, tiny ? ['--tiny'] : [], torchSide);
const [load0, load1] = loads();
report('grpo', rows, { threads: torch.getNumThreads(), rounds, tiny, shape, torch: torchRan ? 'python3-torch' : null, load_avg_1m: [load0, load1] });
