// What the online trainers' tests (GRPO, RLOO, REINFORCE++, LoRA) share: the SFT model they start
// from with 16 prompts, and the reward they learn — "great" in the response — in code and as a
// --reward-fn file.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sftModelAndPairs, writeJsonl, PROMPTS } from './fixtures.js';

/** Under `root`: the tiny model fine-tuned on the sentences (sftModelAndPairs) and prompts.jsonl, 16 prompts "the <noun> was". */
export async function sftModelAndPrompts(root: string): Promise<{ sftDir: string; prompts: string }> {
  const { sftDir } = await sftModelAndPairs(root);
  const prompts = writeJsonl(join(root, 'prompts.jsonl'), Array.from({ length: 16 }, (_, i) => ({ prompt: PROMPTS[i % 4] })));
  return { sftDir, prompts };
}

/** 1 for a response that says "great", else 0. */
export const great = (_p: string[], responses: string[]): number[] => responses.map((t) => (/great/.test(t) ? 1 : 0));

/** The same reward as a module file, for --reward-fn: `dir`/great.ts. */
export function greatRewardFile(dir: string): string {
  const file = join(dir, 'great.ts');
  writeFileSync(file, "export default (_p: string[], r: string[]): number[] => r.map((t) => (t.includes('great') ? 1 : 0));\n");
  return file;
}
