// PPO iteration benchmark, ours vs PyTorch eager written the way TRL's PPOTrainer does it
// (bench/torch_ppo.py), on the same shapes, in the same run. One iteration at GPT-2-small shapes
// (12 layers, 768 wide, 12 heads, V = 50257, random weights, dropout 0): 16 prompts of 32 tokens
// (the same random ids on both sides, seeded here), 32 new tokens sampled at T = 1 with EOS off (so
// both sides generate exactly the same amount), policy + frozen reference + reward model + value
// model (GPT-2 body + (1, C) score head; the value model starts as the reward model), one PPO epoch
// of 4 minibatches of 4. The PPO hyperparameters are ppoConfig's defaults (lr, clip ranges, c_v, β,
// γ, λ, max grad norm 1) on both sides; training runs in float32.
//   rollout_fp32   generation in float32
//   rollout_bf16   generation in bf16: ours generate()'s `dtype: 'bfloat16'` (a bf16 copy of the weights
//                  made per call), PyTorch a bf16 copy of the policy refreshed every iteration
// Phases, each a row `CASE/PHASE` (and `CASE/total`, which also carries the peak RSS of each side,
// measured in a fresh process running one iteration, as bench/sft.ts does):
//   generation   padLeft + generate()
//   scoring      the reward model on prompt + response (scoreIds)
//   logprobs     policy and reference log-probs of the response (responseLogprobs) + the values
//   advantages   KL-penalised rewards, GAE, whitening
//   training     the PPO epoch: policy + value forward, clipped losses, backward, clip, AdamW step
//   npm run bench:ppo [-- --json] [-- --rounds N] [-- --tiny] [-- --no-rss] [-- --case rollout_bf16]
// --tiny shrinks every case to a 2-layer, 64-wide, 4-head model with V = 512 and 8-token prompts and
// responses (a smoke test that runs in seconds). Each row: { name, case, phase, ours_ms, torch_ms,
// ratio }, ratio = torch_ms / ours_ms (above 1 we are faster); torch fields are null without
// python3-torch. A phase's row is the best of `rounds` iterations per side, each phase on its own
// (so `total` can be below the sum of the phases).
//
// Ours is ppo()'s iteration (src/trainers/ppo/train.ts) with the same library pieces in the same
// order — generate, scoreIds, responseLogprobs in chunks of 64 rows, klPenaltyRewards, gae, whiten,
// ppoPolicyLoss, ppoValueLoss, optimizerStep (clipGradNorm + AdamW + schedule) — minus what ppo()
// does around it that is not compute: reading prompts, decoding the responses to text and
// re-tokenising them for the reward model (scoreTexts; here scoreIds on the same ids), logging,
// checkpoints. Those would make the token counts of random ids drift between the two sides.
import * as torch from '../src/torch/index.js';
import type { Tensor } from '../src/torch/index.js';
import { GPT2LMHeadModel } from '../src/models/gpt2.js';
import { ScalarHeadModel } from '../src/models/heads.js';
import { copyModel } from '../src/models/clone.js';
import { generate } from '../src/generation/generate.js';
import { mulberry32, padLeft, permutation } from '../src/data/index.js';
import { scoreIds } from '../src/trainers/reward/score.js';
import { responseLogprobs } from '../src/trainers/common/logprobs.js';
import { maskedMean } from '../src/trainers/common/masked.js';
import { createOptimizer, maybeAutocast, optimizerStep } from '../src/trainers/common/setup.js';
import { FixedKLController, explainedVariance, gae, klPenaltyRewards, ppoPolicyLoss, ppoValueLoss, whiten } from '../src/trainers/ppo/loss.js';
import { ppoConfig, type PPOConfig } from '../src/trainers/ppo/config.js';
import { rolloutSeed } from '../src/trainers/ppo/train.js';
import type { AdamW } from '../src/optim/adamw.js';
import type { LRScheduler } from '../src/optim/schedule.js';
import { addPeakRss, alternate, flagValue, gpt2Config, gpt2Shape, type Gpt2Shape, measureCases, type PhaseMs, phaseRows, report, rssChild, rssMb, selectCases, torchScript } from './common.js';

const BASE_RSS_MB = rssMb('VmRSS'); // node + libtorch loaded, nothing built yet

const argv = process.argv;
const tiny = argv.includes('--tiny');
const rounds = Number(flagValue('--rounds') ?? 2);


interface CaseConfig extends Gpt2Shape {
  /** Prompts per iteration (ppo()'s --batch-size). */
  batch: number;
  prompt: number;
  new_tokens: number;
  num_mini_batches: number;
  ppo_epochs: number;
  rollout_dtype: 'float32' | 'bfloat16';
  /** For the LR schedule's length on both sides (warm-up + rounds, with room to spare). */
  iterations_planned: number;
  /** The PPO hyperparameters both sides use, ppoConfig's defaults (snake_case for Python). */
  hp: { lr: number; betas: number[]; weight_decay: number; max_grad_norm: number; temperature: number; kl_coef: number; gamma: number; lam: number; clip_range: number; clip_range_value: number; vf_coef: number };
}

const shape = { ...gpt2Shape(tiny), batch: 16, ...(tiny ? { prompt: 8, new_tokens: 8 } : { prompt: 32, new_tokens: 32 }) };
/** ppo()'s config for these shapes: every field not given here is ppoConfig's default. */
const ppoCfg = (rolloutDtype: 'float32' | 'bfloat16'): PPOConfig =>
  ppoConfig.parse({
    model: 'bench', out: 'bench', prompts: 'bench', rewardModel: 'bench',
    batchSize: shape.batch, numMiniBatches: 4, ppoEpochs: 1, maxNewTokens: shape.new_tokens, temperature: 1, rolloutDtype, dtype: 'float32',
  });
const hpOf = (p: PPOConfig): CaseConfig['hp'] => ({
  lr: p.lr, betas: p.adamBetas, weight_decay: p.weightDecay, max_grad_norm: p.maxGradNorm, temperature: p.temperature,
  kl_coef: p.klCoef, gamma: p.gamma, lam: p.lam, clip_range: p.clipRange, clip_range_value: p.clipRangeValue, vf_coef: p.vfCoef,
});
const caseOf = (rolloutDtype: 'float32' | 'bfloat16'): CaseConfig => {
  const p = ppoCfg(rolloutDtype);
  return { ...shape, num_mini_batches: p.numMiniBatches, ppo_epochs: p.ppoEpochs, rollout_dtype: rolloutDtype, iterations_planned: 1000, hp: hpOf(p) };
};
const allCases: Record<string, CaseConfig> = { rollout_fp32: caseOf('float32'), rollout_bf16: caseOf('bfloat16') };
const cases = selectCases(allCases);

/** The prompts, the same ids on both sides: (B, P) from a fixed seed. */
const rand = mulberry32(20240611);
const prompts: number[][] = Array.from({ length: shape.batch }, () => Array.from({ length: shape.prompt }, () => Math.floor(rand() * shape.vocab_size)));

// ---- ours: ppo()'s iteration --------------------------------------------------------------------------

class OursCase {
  readonly policy: GPT2LMHeadModel;
  readonly ref: GPT2LMHeadModel;
  readonly rewardModel: ScalarHeadModel;
  readonly valueModel: ScalarHeadModel;
  readonly params: Tensor[];
  readonly optimizer: AdamW;
  readonly scheduler: LRScheduler;
  readonly klCtl: FixedKLController;
  readonly cfg: PPOConfig;
  readonly pad: number;
  private it = 0;
  /** generate()'s own split of the last rollout. */
  genTimings = { castMs: 0, prefillMs: 0, decodeMs: 0 };

  constructor(readonly c: CaseConfig) {
    this.cfg = ppoCfg(c.rollout_dtype);
    torch.manualSeed(0);
    const gpt2 = gpt2Config(c);
    // As ppo() builds them: reference = frozen copy of the policy, value model = copy of the reward model.
    this.policy = new GPT2LMHeadModel(gpt2);
    this.ref = copyModel(this.policy);
    this.ref.requiresGrad_(false);
    this.rewardModel = new ScalarHeadModel(gpt2); // a trained reward model would come from disk: same shapes
    this.rewardModel.requiresGrad_(false);
    this.valueModel = copyModel(this.rewardModel);
    this.valueModel.requiresGrad_(true);
    for (const m of [this.policy, this.ref, this.valueModel, this.rewardModel]) m.eval();
    this.pad = c.vocab_size - 1; // GPT-2's EOS doubles as padding; no row is padded here
    this.params = [...new Set([...this.policy.parameters(), ...this.valueModel.parameters()])];
    const o = createOptimizer(this.params, this.cfg, c.iterations_planned * this.cfg.ppoEpochs * this.cfg.numMiniBatches);
    this.optimizer = o.optimizer;
    this.scheduler = o.scheduler;
    this.klCtl = new FixedKLController(this.cfg.klCoef);
  }

  /** One PPO iteration; the wall time of each phase in ms. */
  iteration(): PhaseMs & { kl: number; score: number; loss: number } {
    const cfg = this.cfg;
    const { policy, ref, valueModel, rewardModel, pad } = this;
    const it = this.it++;
    const B = cfg.batchSize;
    const miniBatch = B / cfg.numMiniBatches;
    const microBatch = miniBatch / cfg.gradAccum;
    const queries = prompts;

    // 1. roll out
    const t0 = performance.now();
    const q = padLeft(queries, pad); // (B, P)
    const P = q.inputIds.size(1);
    let gen;
    try {
      gen = generate(policy, q, {
        maxNewTokens: cfg.maxNewTokens, temperature: cfg.temperature, topK: cfg.topK, topP: cfg.topP,
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
    const R = Math.max(1, ...responses.map((r) => r.length));
    if (R !== this.c.new_tokens || responses.some((r) => r.length !== R)) throw new Error(`generation stopped early (${responses.map((r) => r.length).join(',')}); EOS should be off`);

    // 2. score prompt + response (ppo() re-tokenises the decoded text; the same ids here)
    const t1 = performance.now();
    const scores = scoreIds(rewardModel, queries.map((qr, b) => [...qr, ...(responses[b] as number[])]), pad);

    // 3.–5. as ppo(): one scope, everything the epoch needs kept
    const t2 = performance.now();
    let t3 = t2;
    const rollout = torch.tidy(() => {
      const seq = torch.tensor(queries.map((qr, b) => [...qr, ...(responses[b] as number[])]), { dtype: 'int64' }); // (B, P+R)
      const mask = torch.tensor(queries.map((qr, b) => new Array<number>(qr.length + (responses[b] as number[]).length).fill(1)), { dtype: 'int64' }); // (B, P+R)
      const targets = seq.narrow(1, P, R).contiguous(); // (B, R)
      const respMask = mask.narrow(1, P, R).float().contiguous(); // (B, R)
      // (An inner scope, which ppo() does not have, so that freeing the forwards' intermediates is
      // timed here and not under `advantages`; the work is the same.)
      const { logprobs, refLogprobs, values } = torch.tidy(() => {
        const lp: Tensor[] = [];
        const refLp: Tensor[] = [];
        const vals: Tensor[] = [];
        torch.noGrad(() =>
          maybeAutocast(cfg.dtype, () => {
            for (let s = 0; s < B; s += 64) { // ppo()'s ROLLOUT_CHUNK
              const n = Math.min(64, B - s);
              const [sq, mk, tg] = [seq.narrow(0, s, n), mask.narrow(0, s, n), targets.narrow(0, s, n)];
              lp.push(responseLogprobs(policy, sq, mk, tg, P, { temperature: cfg.temperature }).logprobs);
              refLp.push(responseLogprobs(ref, sq, mk, tg, P, { temperature: cfg.temperature }).logprobs);
              vals.push(valueModel.forward(sq, { attentionMask: mk }).values.narrow(1, P - 1, R).float());
            }
          }),
        );
        return { logprobs: torch.cat(lp, 0), refLogprobs: torch.cat(refLp, 0), values: torch.cat(vals, 0).mul(respMask) }; // (B, R) each
      });
      t3 = performance.now();
      // 4. per-token rewards
      const lastIndex = torch.tensor(responses.map((r) => Math.max(0, r.length - 1)), { dtype: 'int64' }); // (B)
      const kl = klPenaltyRewards(logprobs, refLogprobs, respMask, torch.tensor(scores), this.klCtl.value, cfg.klEstimator, lastIndex);
      const rewards = cfg.whitenRewards ? whiten(kl.rewards, respMask, false) : kl.rewards;
      // 5. GAE, returns, whitened advantages
      const { advantages, returns } = gae(rewards, values, respMask, cfg.gamma, cfg.lam);
      const adv = whiten(advantages, respMask).mul(respMask);
      return {
        seq, mask, targets, respMask, logprobs, values, returns, advantages: adv,
        klPerSeq: kl.stats['objective/kl'], nonScore: kl.stats['objective/non_score_reward'], entropySeq: kl.stats['objective/entropy'],
      };
    });
    const klMean = rollout.klPerSeq.item();
    rollout.nonScore.item();
    rollout.entropySeq.item();

    // 6. the PPO epoch(s) of shuffled minibatches
    const t4 = performance.now();
    const sums: Record<string, number> = {};
    let nStats = 0;
    const rnd = mulberry32(rolloutSeed(cfg.seed, it) ^ 0x5bd1e995);
    for (let k = 0; k < cfg.ppoEpochs; k++) {
      const perm = permutation(B, rnd);
      for (let m = 0; m < B; m += miniBatch) {
        for (let u = m; u < m + miniBatch; u += microBatch) {
          const stats = torch.tidy(() => {
            const idx = torch.tensor(perm.slice(u, u + microBatch), { dtype: 'int64' });
            const pick = (t: Tensor): Tensor => t.indexSelect(0, idx);
            const [sq, mk, tg, rm] = [pick(rollout.seq), pick(rollout.mask), pick(rollout.targets), pick(rollout.respMask)];
            const { newLp, entropy, vpred } = maybeAutocast(cfg.dtype, () => {
              const r = responseLogprobs(policy, sq, mk, tg, P, { temperature: cfg.temperature, withEntropy: true });
              const v = valueModel.forward(sq, { attentionMask: mk }).values.narrow(1, P - 1, R).float();
              return { newLp: r.logprobs, entropy: r.entropy as Tensor, vpred: v };
            });
            const pg = ppoPolicyLoss(newLp, pick(rollout.logprobs), pick(rollout.advantages), rm, cfg.clipRange);
            const vf = ppoValueLoss(vpred, pick(rollout.values), pick(rollout.returns), rm, cfg.clipRangeValue);
            const loss = pg.loss.add(vf.loss.mul(cfg.vfCoef));
            loss.div(cfg.gradAccum).backward();
            return { 'loss/policy': pg.loss.detach(), 'loss/value': vf.loss.detach(), ...pg.stats, ...vf.stats, 'policy/entropy_avg': maskedMean(entropy, rm) };
          });
          for (const [key, t] of Object.entries(stats)) {
            sums[key] = (sums[key] ?? 0) + t.item();
            t.dispose();
          }
          nStats++;
        }
        optimizerStep(this.params, this.optimizer, this.scheduler, cfg.maxGradNorm);
      }
    }
    torch.tidy(() => explainedVariance(rollout.values, rollout.returns, rollout.respMask).item());
    torch.disposeAll(rollout);
    this.klCtl.update(klMean, B);
    const t5 = performance.now();
    return {
      generation: t1 - t0, scoring: t2 - t1, logprobs: t3 - t2, advantages: t4 - t3, training: t5 - t4, total: t5 - t0,
      kl: klMean, score: scores.reduce((a, b) => a + b, 0) / B, loss: (sums['loss/policy'] ?? NaN) / Math.max(1, nStats),
    };
  }

  dispose(): void {
    this.optimizer.dispose();
    for (const m of [this.policy, this.ref, this.rewardModel, this.valueModel]) m.dispose();
  }
}

// `--rss CASE`: the child process that measures our peak RSS for one iteration of a case.
rssChild(BASE_RSS_MB, (name) => void new OursCase(allCases[name] as CaseConfig).iteration());

// ---- interleaved measurement: PyTorch serves one iteration per request ------------------------------

interface TorchIteration {
  ms: PhaseMs;
  kl: number;
  score: number;
  loss: number;
}
const torchSide = torchScript(new URL('./torch_ppo.py', import.meta.url), torch.getNumThreads(), { cases: allCases, prompts });
const { rows, torchRan, loads } = await measureCases(torchSide, cases, (c) => new OursCase(c), async (ours, server, name, c) => {
  // One warm-up iteration each (first-touch allocations, AdamW state), then `rounds` alternating.
  const r = await alternate(rounds, () => ({ ...ours.iteration(), gen: ours.genTimings }), server && (() => server.request<TorchIteration>({ case: name })));
  const last = { ours: r.ours.at(-1) ?? { kl: NaN, score: NaN, loss: NaN }, torch: r.torch?.at(-1) ?? null };
  return phaseRows(name, r.ours, r.torch?.map((x) => x.ms) ?? null, {
    newTokens: c.batch * c.new_tokens,
    episodes: c.batch,
    totalExtra: { ours_kl: last.ours.kl, torch_kl: last.torch?.kl ?? null, ours_policy_loss: last.ours.loss, torch_policy_loss: last.torch?.loss ?? null },
  });
});
// Peak memory, each side in a fresh process (after the timing, so it does not disturb it).
if (!argv.includes('--no-rss')) for (const row of rows) if (row.phase === 'total') addPeakRss(row, row.case as string, import.meta.url, tiny ? ['--tiny'] : [], torchSide);
const [load0, load1] = loads();
report('ppo', rows, { threads: torch.getNumThreads(), rounds, tiny, shape, torch: torchRan ? 'python3-torch' : null, load_avg_1m: [load0, load1] });
