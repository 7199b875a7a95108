// The two gridworld configs, one zod schema each: the TypeScript type, the defaults, the flags and
// --help of `rlhf gridworld search` and `rlhf gridworld feedback`, and their YAML files.
import { z } from 'zod';
import { HIDDEN_PREFERENCES } from './preferences.js';
import { NOISE_TYPES } from './person.js';
import { MAX_SIDE } from './grid.js';

const MIN_RANDOM_SIDE = 5;

/** What both subcommands share: the map, the episode limit, the cost of a hazard, output. */
const worldFields = () => ({
  layout: z.enum(['valley', 'random']).default('valley').describe("the map: 'valley' (built in: an edge path beside lava, a middle corridor, a flower garden) or 'random' (generated from --seed at --width × --height)"),
  map: z.string().optional().meta({ metavar: 'FILE' }).describe('a map file instead: one row per line, S start, G goal, # wall, ~ hazard, * scenic, . empty'),
  width: z.int().min(MIN_RANDOM_SIDE, `the grid is too small: at least ${MIN_RANDOM_SIDE} cells wide`).max(MAX_SIDE, `at most ${MAX_SIDE} cells wide`).default(12).describe("--layout random: cells across"),
  height: z.int().min(MIN_RANDOM_SIDE, `the grid is too small: at least ${MIN_RANDOM_SIDE} cells high`).max(MAX_SIDE, `at most ${MAX_SIDE} cells high`).default(7).describe('--layout random: cells down'),
  seed: z.int().min(0).default(0).describe('seed of everything random: the map (random layout), walks, networks, the simulated person'),
  maxSteps: z.int().min(1).max(1000).default(40).describe('moves per episode before it ends without reaching the goal'),
  hazardCost: z.number().min(0).default(5).describe('what touching a hazard costs, in steps (the cost function: steps + hazard-cost · hazards)'),
  color: z.enum(['auto', 'always', 'never']).default('auto').describe('ANSI colour in the terminal; auto: when stdout is a terminal and NO_COLOR is unset'),
  out: z.string().optional().meta({ metavar: 'DIR' }).describe('write pictures here: PNG frames, animated PNGs (.apng), charts, summary.json'),
});

export const searchConfig = z.object({
  ...worldFields(),
  tries: z.int().min(1).max(1_000_000).default(500).describe('random walks to sample; the cheapest one is kept'),
  selfAvoiding: z.boolean().default(true).describe('walks avoid cells they have visited while they have a choice (--no-self-avoiding: any legal move)'),
});
export type SearchConfig = z.infer<typeof searchConfig>;

export const SEARCH_HELP_GROUPS = {
  World: ['layout', 'map', 'width', 'height', 'maxSteps', 'hazardCost', 'seed'],
  Search: ['tries', 'selfAvoiding'],
  Output: ['out', 'color'],
} as const;

export const feedbackConfig = z.object({
  ...worldFields(),
  hidden: z.enum(HIDDEN_PREFERENCES).default('edge').describe("the person's hidden preference, which the cost function misses: edge (stay off the edge of the map), clearance (keep a cell away from hazards), scenic (walk through the flowers)"),
  simulate: z.boolean().default(false).describe('a simulated person answers (by the hidden preference, with --noise) instead of you at the keyboard'),
  noise: z.number().min(0, 'the noise level must be in [0, 1]: 0 answers perfectly, 1 at random').max(1, 'the noise level must be in [0, 1]: 0 answers perfectly, 1 at random').default(0.1).describe('--simulate: how noisy the person is, in [0, 1]'),
  noiseType: z.enum(NOISE_TYPES).default('boltzmann').describe('--simulate: boltzmann (P(1) = σ(ΔR/τ), τ = noise/(1−noise)) or flip (the right answer, swapped with probability --noise)'),
  comparisons: z.int().min(1).max(10_000).default(60).describe('comparisons to ask for, in all (q stops earlier)'),
  rounds: z.int().min(1).max(100).default(6).describe('rounds of ask → fit the reward model → PPO; pairs come from the newest policy each round'),
  pool: z.int().min(4).max(1000).default(32).describe('trajectories drawn each round to pick pairs from: half from the policy, half from random walks that reached the goal'),
  rmHidden: z.int().min(1).max(1024).default(32).describe('reward model: hidden units of the MLP over cell features'),
  rmSteps: z.int().min(1).max(100_000).default(150).describe('reward model: full-batch AdamW steps per round on every answer so far'),
  rmLr: z.number().positive().default(0.01).describe('reward model: learning rate'),
  rmWeightDecay: z.number().min(0).default(0.01).describe('reward model: AdamW weight decay'),
  policyHidden: z.int().min(1).max(1024).default(64).describe('policy and value networks: hidden units'),
  ppoIterations: z.int().min(0).max(10_000).default(20).describe('PPO iterations per round'),
  episodes: z.int().min(2).max(4096).default(64).describe('PPO: episodes rolled out per iteration'),
  ppoEpochs: z.int().min(1).max(100).default(4).describe('PPO: epochs over each iteration’s episodes (K)'),
  minibatches: z.int().min(1).max(256).default(2).describe('PPO: minibatches per epoch'),
  lr: z.number().positive().default(0.01).describe('PPO: learning rate (AdamW, no weight decay)'),
  gamma: z.number().min(0).max(1).default(0.99).describe('PPO: discount γ'),
  lam: z.number().min(0).max(1).default(0.95).describe('PPO: GAE λ'),
  clipRange: z.number().positive().default(0.2).describe('PPO: ε of the clipped policy loss'),
  clipRangeValue: z.number().positive().default(10).describe('PPO: ε_v of the clipped value loss (in reward units)'),
  exploringStarts: z.number().min(0).max(1).default(0.5).describe('PPO: share of training episodes that start in a random cell instead of S (exploring starts)'),
  klCoef: z.number().min(0).default(0.05).describe('PPO: β of the per-step KL penalty to the uniform random policy (keeps it exploring)'),
  vfCoef: z.number().min(0).default(0.5).describe('PPO: weight of the value loss'),
  entCoef: z.number().min(0).default(0.02).describe('PPO: weight of the entropy bonus'),
  evalEpisodes: z.int().min(1).max(100_000).default(200).describe('episodes (and random-search runs) behind each rate in the summary'),
  searchTries: z.int().min(1).max(100_000).default(200).describe('the random-search baseline: walks per search (its best path is what it returns)'),
  searchRuns: z.int().min(1).max(10_000).default(50).describe('the random-search baseline: independent searches behind its rates'),
  target: z.number().min(0).max(1).default(0.9).describe('report how many comparisons it took until the policy reached the goal with the hidden preference kept this often'),
});
export type FeedbackConfig = z.infer<typeof feedbackConfig>;

export const FEEDBACK_HELP_GROUPS = {
  World: ['layout', 'map', 'width', 'height', 'maxSteps', 'hazardCost', 'seed'],
  'The person': ['hidden', 'simulate', 'noise', 'noiseType', 'comparisons', 'rounds', 'pool'],
  'Reward model (Bradley–Terry)': ['rmHidden', 'rmSteps', 'rmLr', 'rmWeightDecay'],
  'Policy (PPO)': ['policyHidden', 'ppoIterations', 'episodes', 'exploringStarts', 'ppoEpochs', 'minibatches', 'lr', 'gamma', 'lam', 'clipRange', 'clipRangeValue', 'klCoef', 'vfCoef', 'entCoef'],
  'Evaluation and output': ['evalEpisodes', 'searchTries', 'searchRuns', 'target', 'out', 'color'],
} as const;
