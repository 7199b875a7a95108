// `rlhf pipeline FILE.yaml`: named stages run in order, each stage's output feeding the next.
//
//   stages:
//     - name: sft
//       run: sft                      # sft | reward | ppo | grpo | rloo | reinforce-pp | dpo | kto | orpo | simpo
//       model: models/tiny
//       data: reviews.jsonl
//       out: runs/sft
//     - name: rm
//       run: reward
//       model: ${sft}                 # ${stage} is that stage's --out
//       data: prefs.jsonl
//       out: runs/rm
//     - name: ppo
//       run: ppo
//       model: ${sft}
//       reward_model: ${rm}
//       prompts: prompts.txt
//       out: runs/ppo
//
// Every stage's keys are its command's options (validated by the same schema, errors name the
// file and line). Rerunning skips finished stages (their OUT has rlhf_config.json, written last)
// and resumes an interrupted one from its newest checkpoint.
import { existsSync, readFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, isMap, isSeq, type YAMLMap } from 'yaml';
import type { z } from 'zod';
import { ConfigError, readYamlConfig, validateConfig } from '../config/schema-cli.js';
import { sftConfig } from './sft/config.js';
import { rewardConfig } from './reward/config.js';
import { ppoConfig } from './ppo/config.js';
import { grpoConfig } from './grpo/config.js';
import { rlooConfig } from './rloo/config.js';
import { reinforcePPConfig } from './reinforce-pp/config.js';
import { dpoConfig } from './dpo/config.js';
import { ktoConfig } from './kto/config.js';
import { orpoConfig } from './orpo/config.js';
import { simpoConfig } from './simpo/config.js';
import { sft } from './sft/train.js';
import { trainRewardModel } from './reward/train.js';
import { ppo } from './ppo/train.js';
import { grpo } from './grpo/train.js';
import { rloo } from './rloo/train.js';
import { reinforcePP } from './reinforce-pp/train.js';
import { dpo } from './dpo/train.js';
import { kto } from './kto/train.js';
import { orpo } from './orpo/train.js';
import { simpo } from './simpo/train.js';
import { listCheckpoints } from './common/checkpoint.js';
import { isModelKey, parseHubRef, resolveModelFields } from '../hub/resolve.js';
import type { TrainerHooks } from './sft/train.js';

const STAGES = {
  sft: { schema: sftConfig, run: async (c: z.infer<typeof sftConfig>, h: TrainerHooks) => (await sft(c, h)).model.dispose() },
  reward: { schema: rewardConfig, run: async (c: z.infer<typeof rewardConfig>, h: TrainerHooks) => (await trainRewardModel(c, h)).model.dispose() },
  ppo: { schema: ppoConfig, run: async (c: z.infer<typeof ppoConfig>, h: TrainerHooks) => (await ppo(c, h)).dispose() },
  grpo: { schema: grpoConfig, run: async (c: z.infer<typeof grpoConfig>, h: TrainerHooks) => (await grpo(c, h)).dispose() },
  rloo: { schema: rlooConfig, run: async (c: z.infer<typeof rlooConfig>, h: TrainerHooks) => (await rloo(c, h)).dispose() },
  'reinforce-pp': { schema: reinforcePPConfig, run: async (c: z.infer<typeof reinforcePPConfig>, h: TrainerHooks) => (await reinforcePP(c, h)).dispose() },
  dpo: { schema: dpoConfig, run: async (c: z.infer<typeof dpoConfig>, h: TrainerHooks) => (await dpo(c, h)).model.dispose() },
  kto: { schema: ktoConfig, run: async (c: z.infer<typeof ktoConfig>, h: TrainerHooks) => (await kto(c, h)).model.dispose() },
  orpo: { schema: orpoConfig, run: async (c: z.infer<typeof orpoConfig>, h: TrainerHooks) => (await orpo(c, h)).model.dispose() },
  simpo: { schema: simpoConfig, run: async (c: z.infer<typeof simpoConfig>, h: TrainerHooks) => (await simpo(c, h)).model.dispose() },
} as const;
type StageKind = keyof typeof STAGES;

export interface PipelineStage {
  name: string;
  kind: StageKind;
  config: Record<string, unknown> & { out: string };
}

/** Reads and validates a pipeline file; `${name}` references resolve to earlier stages' outputs. */
export function readPipeline(file: string): PipelineStage[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read pipeline file ${file}: ${(err as Error).message}`);
  }
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter });
  if (doc.errors.length) throw new ConfigError(`${file}: not valid YAML: ${doc.errors[0]?.message.split('\n')[0]}`);
  const root = doc.contents;
  const stagesNode = isMap(root) ? root.get('stages', true) : null;
  if (!isSeq(stagesNode) || stagesNode.items.length === 0) throw new ConfigError(`${file}: expected a 'stages:' list of stages (each with name, run and the command's options); see 'rlhf pipeline --help'.`);
  const base = dirname(resolve(file));
  const outs = new Map<string, string>();
  const stages: PipelineStage[] = [];
  stagesNode.items.forEach((node, i) => {
    if (!isMap(node)) throw new ConfigError(`${file}: stage ${i + 1} is not a mapping of options.`);
    const map = node as YAMLMap;
    const lineOf = (key: string): number | null => {
      const item = map.items.find((it) => (it.key as { value?: unknown })?.value === key);
      const off = (item?.key as { range?: [number] } | undefined)?.range?.[0];
      return off === undefined ? null : counter.linePos(off).line;
    };
    const js = map.toJSON() as Record<string, unknown>;
    const name = String(js.name ?? `stage${i + 1}`);
    const kind = js.run as string;
    if (!(kind in STAGES)) throw new ConfigError(`${file}:${lineOf('run') ?? '?'}: stage '${name}' has run: ${JSON.stringify(kind)}; use one of ${Object.keys(STAGES).join(', ')}.`);
    delete js.name;
    delete js.run;
    const subst = (v: unknown): unknown => {
      if (typeof v !== 'string') return v;
      return v.replace(/\$\{([A-Za-z0-9_-]+)\}/g, (_, ref: string) => {
        const o = outs.get(ref);
        if (!o) throw new ConfigError(`${file}: stage '${name}' refers to \${${ref}}, which is not an earlier stage (${[...outs.keys()].join(', ') || 'none'}).`);
        return o;
      });
    };
    for (const k of Object.keys(js)) js[k] = subst(js[k]);
    const schema = STAGES[kind as StageKind].schema as unknown as z.ZodObject;
    const yaml = readYamlConfig(schema, file, { section: js, lineOf });
    const config = validateConfig(schema, yaml.values, { yaml, command: `rlhf ${kind}` }) as Record<string, unknown> & { out: string };
    for (const key of ['model', 'out', 'data', 'evalData', 'prompts', 'rewardModel', 'rewardFn', 'refModel', 'valueModel'] as const) {
      const v = config[key];
      if (typeof v === 'string' && !v.startsWith('/') && !isHubModel(key, v, base)) config[key] = resolve(base, v);
      else if (Array.isArray(v)) (config as Record<string, unknown>)[key] = v.map((x: unknown) => (typeof x === 'string' && !x.startsWith('/') ? resolve(base, x) : x)); // --reward-fn, repeatable
    }
    outs.set(name, config.out);
    stages.push({ name, kind: kind as StageKind, config });
  });
  return stages;
}

/** A model option naming a Hub id (org/name) rather than a path relative to the file: no such path there. */
function isHubModel(key: string, value: string, base: string): boolean {
  return isModelKey(key) && parseHubRef(value) !== null && !existsSync(resolve(base, value));
}

/** A stage is finished when its OUT has rlhf_config.json, which a trainer writes last. */
export function stageFinished(out: string): boolean {
  return existsSync(join(out, 'rlhf_config.json'));
}

export async function runPipeline(file: string, hooks: TrainerHooks = {}): Promise<{ ran: string[]; skipped: string[] }> {
  const stages = readPipeline(file);
  const say = hooks.onLog ?? ((): void => {});
  const ran: string[] = [];
  const skipped: string[] = [];
  for (const [i, s] of stages.entries()) {
    const tag = `[${i + 1}/${stages.length}] ${s.name} (${s.kind})`;
    if (stageFinished(s.config.out)) {
      say(`${tag}: finished earlier, skipped (${s.config.out})`);
      skipped.push(s.name);
      continue;
    }
    const resume = (await listCheckpoints(s.config.out)).length > 0;
    say(`${tag}: ${resume ? 'resuming' : 'starting'} → ${s.config.out}`);
    const stage = STAGES[s.kind] as unknown as { run: (c: Record<string, unknown>, h: TrainerHooks) => Promise<void> };
    await stage.run(await resolveModelFields({ ...s.config, resume }), hooks); // Hub ids → snapshots in the HF cache
    ran.push(s.name);
  }
  return { ran, skipped };
}
