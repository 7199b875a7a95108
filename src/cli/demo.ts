// `rlhf demo` (and `npm start`): RLHF end to end on a task that ships with the package.
import { z } from 'zod';
import { trainerCommand } from './trainer-command.js';
import { runDemo } from '../demo/run.js';

export const demoConfig = z.object({
  out: z.string().min(1).default('rlhf-demo').describe('directory for the data, models, studio project and report'),
  quick: z.boolean().default(false).describe('a reduced run (about a minute): what CI checks'),
  task: z.enum(['reviews', 'sst2']).default('reviews').describe('reviews: generated movie reviews and simulated annotators; sst2: the SST-2 file given by --data, its labels as the feedback'),
  data: z.string().min(1).nullable().default(null).describe('sst2: the SST-2 training file (sentence<TAB>label), e.g. ../shared/data/sst2-train.tsv'),
  seed: z.int().min(0).default(0).describe('random seed of everything: data, initialisation, sampling'),
  quiet: z.boolean().default(false).describe('no progress bars'),
});

const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;
const f2 = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(2));

export const demo = trainerCommand({
  name: 'demo',
  summary: 'RLHF end to end in minutes: SFT from scratch, annotators, reward model, PPO, evaluation and a report',
  intro: `
Usage:
  rlhf demo [--quick] [--out DIR]
  rlhf demo --task sst2 --data sst2-train.tsv

Makes a sentiment task (movie-review sentences from a generator that ships with rlhf), trains a
small GPT-2 on it from scratch, lets five simulated annotators — noisy, biased, sometimes
disagreeing — compare pairs of its samples in a studio project, trains a reward model on their
preferences, runs PPO against it, and evaluates random, SFT, best-of-n and PPO on held-out
prompts. Writes OUT/report/report.html and prints a summary. No download, CPU only.`,
  outro: `
Then: rlhf studio --dir OUT/studio — judge the SFT-vs-PPO pairs (task "before-after") yourself.`,
  schema: demoConfig,
  groups: {},
  async run(c) {
    const s = await runDemo({ out: c.out, quick: c.quick, task: c.task, data: c.data ?? undefined, seed: c.seed, fresh: true, log: (l) => process.stdout.write(`${l}\n`), progressStream: c.quiet ? undefined : process.stderr });
    const w = process.stdout.write.bind(process.stdout);
    w('\n── Results on held-out prompts ──────────────────────────────────────────────\n');
    w(`${'policy'.padEnd(12)}${'reward'.padStart(9)}${'± 95%'.padStart(8)}${'lexicon'.padStart(10)}${'win vs SFT'.padStart(12)}${'KL to SFT'.padStart(11)}${'length'.padStart(8)}\n`);
    for (const p of s.eval.policies) {
      const ci = (p.reward.ci95[1] - p.reward.ci95[0]) / 2;
      // Best-of-n's samples are the SFT model's own, so their k1 under SFT says nothing; its KL to
      // SFT is at most log n − (n − 1)/n (Stiennon et al. 2020, app. G.3).
      const n = /^best-of-(\d+)$/.exec(p.name)?.[1];
      const kl = n ? `≤ ${f2(Math.log(Number(n)) - (Number(n) - 1) / Number(n))}` : p.kl ? f2(p.kl.mean) : '—';
      w(`${p.name.padEnd(12)}${f2(p.reward.mean).padStart(9)}${f2(ci).padStart(8)}${f2(p.scorers.lexicon?.mean).padStart(10)}${(p.winRate === null ? '—' : pct(p.winRate)).padStart(12)}${kl.padStart(11)}${f2(p.length.mean).padStart(8)}\n`);
    }
    const sftP = s.eval.policies.find((p) => p.name === 'SFT');
    const ppoP = s.eval.policies.find((p) => p.name === 'PPO');
    if (sftP && ppoP) {
      w('\n── Before (SFT) → after (PPO), same prompts ─────────────────────────────────\n');
      for (let i = 0; i < 5; i++) {
        const a = sftP.samples[i];
        const b = ppoP.samples[i];
        if (!a || !b) break;
        w(`  "${a.prompt}"\n    SFT: ${a.prompt}${a.response}\n    PPO: ${b.prompt}${b.response}\n`);
      }
      const lexS = sftP.scorers.lexicon?.mean ?? Number.NaN;
      const lexP = ppoP.scorers.lexicon?.mean ?? Number.NaN;
      w(`\nPPO's responses score ${f2(lexP)} on the generator's sentiment lexicon against SFT's ${f2(lexS)} (−1 … 1), at a KL of ${f2(ppoP.kl?.mean)} nats per response to the SFT model.\n`);
    }
    w(`\nReport: ${s.report}\nDone in ${Math.floor(s.seconds / 60)}m ${Math.round(s.seconds % 60)}s.\n`);
    w(`\nNext: judge the before/after pairs yourself (task "before-after", SFT vs PPO, sides shuffled):\n  npx rlhf studio --dir ${c.out}/studio\n`);
    return 0;
  },
});
