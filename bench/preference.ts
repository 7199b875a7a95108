// Preference-training step benchmark, ours vs PyTorch eager written the way TRL's trainers do it
// (bench/torch_preference.py), on the same shapes and the same token ids, in the same run. GPT-2
// small shapes (12 layers, 768 wide, 12 heads, V = 50257, random weights, dropout 0), B = 4 pairs of
// prompt 32 + response 32 tokens (random ids, seeded here; chosen and rejected share the prompt):
//   dpo_{fp32,bf16}     one DPO step as dpo() takes it (src/trainers/dpo/train.ts via runLoop):
//                       chosen + rejected rows in one (2B, 64) batch → labelledSequenceLogprobs (the LM
//                       head only on the labelled response positions, fused log-softmax) →
//                       dpoSigmoidLoss against reference log-probs precomputed once → backward →
//                       optimizerStep (clip to 1, AdamW, schedule, zero). PyTorch: TRL's
//                       concatenated_forward (full (2B, L, V) logits, selective_log_softmax).
//   reward_{fp32,bf16}  one reward-model step as trainRewardModel() takes it on preference data:
//                       ScalarHeadModel forward on chosen + rejected (one (2B, 64) batch), scores at
//                       the last token → bradleyTerryLoss → backward → optimizerStep. PyTorch: TRL's
//                       RewardTrainer.compute_loss (a forward on the chosen rows, one on the rejected).
// bf16 = autocast on both sides (fp32 master weights). Hyperparameters are dpoConfig's and
// rewardConfig's defaults (lr, β, weight decay, max grad norm 1).
//   npm run bench:preference [-- --json] [-- --rounds N] [-- --tiny] [-- --no-rss] [-- --case dpo_bf16]
// --tiny shrinks every case to a 2-layer, 64-wide, 4-head model with V = 512 and 8 + 8 tokens per row.
// Each row: { name, ours_ms, torch_ms, ratio, ours_tokens_per_s, torch_tokens_per_s, … } (tokens =
// 2B·(prompt + response) per step), ratio = torch_ms / ours_ms (above 1 we are faster); torch fields
// are null without python3-torch. Also each side's peak RSS (VmHWM) in a fresh process running 3
// steps of the case. Ours and PyTorch's steps alternate (after one warm-up step each), a row is the
// best of `rounds` steps per side.
import * as torch from '../src/torch/index.js';
import type { Tensor } from '../src/torch/index.js';
import { GPT2LMHeadModel } from '../src/models/gpt2.js';
import { ScalarHeadModel } from '../src/models/heads.js';
import { collatePreference, mulberry32, padRight, type PreferenceExample } from '../src/data/index.js';
import { labelledSequenceLogprobs } from '../src/trainers/common/logprobs.js';
import { createOptimizer, maybeAutocast, optimizerStep } from '../src/trainers/common/setup.js';
import { dpoSigmoidLoss } from '../src/trainers/dpo/loss.js';
import { dpoConfig } from '../src/trainers/dpo/config.js';
import { bradleyTerryLoss } from '../src/trainers/reward/loss.js';
import { rewardConfig } from '../src/trainers/reward/config.js';
import type { AdamW } from '../src/optim/adamw.js';
import type { LRScheduler } from '../src/optim/schedule.js';
import type { OptimOptions } from '../src/trainers/common/config.js';
import { addPeakRss, alternate, fastest, flagValue, gpt2Config, gpt2Shape, type Gpt2Shape, measureCases, report, rssChild, rssMb, selectCases, timed, timedRow, torchScript } from './common.js';

const BASE_RSS_MB = rssMb('VmRSS'); // node + libtorch loaded, nothing built yet

const argv = process.argv;
const tiny = argv.includes('--tiny');
const rounds = Number(flagValue('--rounds') ?? 3);

interface CaseConfig extends Gpt2Shape {
  kind: 'dpo' | 'reward';
  dtype: 'fp32' | 'bf16';
  lr: number;
  weight_decay: number;
  betas: number[];
  max_grad_norm: number;
  /** DPO's β. */
  beta: number;
}

const shape = gpt2Shape(tiny);
const dims = tiny ? { B: 4, prompt: 8, response: 8 } : { B: 4, prompt: 32, response: 32 };
// Every field not given is the trainer's default.
const dpoDefaults = dpoConfig.parse({ model: 'bench', out: 'bench', data: 'bench', batchSize: dims.B });
const rewardDefaults = rewardConfig.parse({ model: 'bench', out: 'bench', data: 'bench', batchSize: dims.B });
const optim = (o: OptimOptions): Pick<CaseConfig, 'lr' | 'weight_decay' | 'betas' | 'max_grad_norm'> => ({ lr: o.lr, weight_decay: o.weightDecay, betas: o.adamBetas, max_grad_norm: o.maxGradNorm });
const allCases: Record<string, CaseConfig> = {
  dpo_fp32: { kind: 'dpo', dtype: 'fp32', ...shape, ...optim(dpoDefaults), beta: dpoDefaults.beta },
  dpo_bf16: { kind: 'dpo', dtype: 'bf16', ...shape, ...optim(dpoDefaults), beta: dpoDefaults.beta },
  reward_fp32: { kind: 'reward', dtype: 'fp32', ...shape, ...optim(rewardDefaults), beta: 0 },
  reward_bf16: { kind: 'reward', dtype: 'bf16', ...shape, ...optim(rewardDefaults), beta: 0 },
};
const cases = selectCases(allCases);

/** The pairs, the same ids on both sides. */
const rand = mulberry32(20240612);
const ids = (n: number): number[] => Array.from({ length: n }, () => Math.floor(rand() * shape.vocab_size));
const pairs = {
  prompt: Array.from({ length: dims.B }, () => ids(dims.prompt)),
  chosen: Array.from({ length: dims.B }, () => ids(dims.response)),
  rejected: Array.from({ length: dims.B }, () => ids(dims.response)),
};
const TOKENS = 2 * dims.B * (dims.prompt + dims.response);

// ---- ours ---------------------------------------------------------------------------------------------

/** The pairs as the trainers tokenise them (promptIds, chosenIds, rejectedIds). */
const ourPairs: PreferenceExample[] = pairs.prompt.map((p, b) => ({ promptIds: p, chosenIds: pairs.chosen[b] as number[], rejectedIds: pairs.rejected[b] as number[] }));

/** dpo()'s pairLogps (sums, the sigmoid loss): (B) chosen and rejected. */
function pairLogps(model: GPT2LMHeadModel, ps: readonly PreferenceExample[], pad: number): { chosen: Tensor; rejected: Tensor } {
  const b = collatePreference(ps, pad); // (2B, T)
  const { sum } = labelledSequenceLogprobs(model, b.inputIds, b.attentionMask, b.labels); // (2B)
  const B = ps.length;
  return { chosen: sum.narrow(0, 0, B), rejected: sum.narrow(0, B, B) };
}

class OursCase {
  readonly model: GPT2LMHeadModel | ScalarHeadModel;
  readonly optimizer: AdamW;
  readonly scheduler: LRScheduler;
  readonly params: Tensor[];
  readonly pad: number;
  readonly dtype: 'float32' | 'bfloat16';
  ref: { chosen: number[]; rejected: number[] } = { chosen: [], rejected: [] };

  constructor(readonly c: CaseConfig) {
    torch.manualSeed(0);
    const gpt2 = gpt2Config(c);
    this.model = c.kind === 'dpo' ? new GPT2LMHeadModel(gpt2) : new ScalarHeadModel(gpt2);
    this.model.eval(); // runLoop's dropout: false, as both trainers ask
    this.pad = c.vocab_size - 1;
    this.dtype = c.dtype === 'bf16' ? 'bfloat16' : 'float32';
    this.params = this.model.parameters();
    const o = createOptimizer(this.params, c.kind === 'dpo' ? dpoDefaults : rewardDefaults, 1000);
    this.optimizer = o.optimizer;
    this.scheduler = o.scheduler;
    if (c.kind === 'dpo') {
      // dpo()'s step 3: reference log-probs once (the reference is the initial policy).
      const [rc, rr] = torch.noGrad(() => torch.tidy(() => maybeAutocast(this.dtype, () => {
        const lp = pairLogps(this.model as GPT2LMHeadModel, ourPairs, this.pad);
        return [lp.chosen.float().toFlatArray(), lp.rejected.float().toFlatArray()];
      })));
      this.ref = { chosen: rc as number[], rejected: rr as number[] };
    }
  }

  /** The loss and stats of one batch, as the trainer's lossOf. */
  private lossOf(): { loss: Tensor; stats: Record<string, Tensor> } {
    if (this.c.kind === 'dpo') {
      const pi = pairLogps(this.model as GPT2LMHeadModel, ourPairs, this.pad);
      const piC = pi.chosen.float();
      const piR = pi.rejected.float();
      const r = dpoSigmoidLoss(piC, piR, torch.tensor(this.ref.chosen), torch.tensor(this.ref.rejected), this.c.beta);
      return { loss: r.loss, stats: { ...r.stats, 'logps/chosen': piC.detach().mean(), 'logps/rejected': piR.detach().mean() } };
    }
    // trainRewardModel()'s preference branch: scores of [chosen…, rejected…], Bradley–Terry.
    const { inputIds, attentionMask } = padRight([...ourPairs.map((p) => [...p.promptIds, ...p.chosenIds]), ...ourPairs.map((p) => [...p.promptIds, ...p.rejectedIds])], this.pad);
    const r = (this.model as ScalarHeadModel).forward(inputIds, { attentionMask }).scores.float(); // (2B)
    const b = ourPairs.length;
    const { loss, stats } = bradleyTerryLoss(r.narrow(0, 0, b), r.narrow(0, b, b), { centerRewardsCoefficient: rewardDefaults.centerRewardsCoefficient });
    return { loss, stats: { accuracy: stats.accuracy, margin: stats.margin } };
  }

  /** One optimizer step as runLoop takes it (gradAccum 1); returns the loss. */
  step(): number {
    const stats = torch.tidy(() => {
      const r = maybeAutocast(this.dtype, () => this.lossOf());
      r.loss.backward();
      return { loss: r.loss.detach(), ...r.stats };
    });
    const values: Record<string, number> = {};
    for (const [k, t] of Object.entries(stats)) {
      values[k] = t.item();
      t.dispose();
    }
    optimizerStep(this.params, this.optimizer, this.scheduler, this.c.max_grad_norm);
    return values.loss as number;
  }

  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
  }
}

// `--rss CASE`: the child process that measures our peak RSS for one case.
rssChild(BASE_RSS_MB, (name) => {
  const c = new OursCase(allCases[name] as CaseConfig);
  for (let i = 0; i < 3; i++) c.step();
});

// ---- interleaved measurement: PyTorch serves one step per request -----------------------------------

const torchSide = torchScript(new URL('./torch_preference.py', import.meta.url), torch.getNumThreads(), { cases: allCases, pairs });
const { rows, torchRan, loads } = await measureCases(torchSide, cases, (c) => new OursCase(c), async (ours, server, name) => {
  const r = await alternate(rounds, () => timed(() => ours.step()), server && (() => server.request<{ ms: number; loss: number }>({ case: name })));
  const o = fastest(r.ours);
  const t = r.torch && fastest(r.torch);
  return [{ ...timedRow(name, o.ms, t?.ms ?? null, TOKENS), ours_loss: o.loss, torch_loss: t?.loss ?? null }];
});
// Peak memory, each side in a fresh process (after the timing, so it does not disturb it).
if (!argv.includes('--no-rss')) for (const row of rows) addPeakRss(row, row.name, import.meta.url, tiny ? ['--tiny'] : [], torchSide);
const [load0, load1] = loads();
report('preference', rows, { threads: torch.getNumThreads(), rounds, tiny, pairs: dims, torch: torchRan ? 'python3-torch' : null, load_avg_1m: [load0, load1] });
