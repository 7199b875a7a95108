// Rewards from code instead of a reward model: `--reward-fn ./reward.ts` names a module whose
// default export (or export `reward`) is
//   (prompts: string[], responses: string[]) => number[] | Promise<number[]>
// TypeScript modules load through tsx, so a user writes plain .ts without a build step.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TrainerError } from './setup.js';

export type RewardFn = (prompts: string[], responses: string[]) => number[] | Promise<number[]>;

/** Imports a reward module and returns its function, checked to return one finite number per response. */
export async function loadRewardFn(file: string): Promise<RewardFn> {
  const path = resolve(file);
  if (!existsSync(path)) throw new TrainerError(`--reward-fn ${file} does not exist.`);
  let mod: Record<string, unknown>;
  try {
    if (/\.(c|m)?tsx?$/.test(path)) {
      const { tsImport } = await import('tsx/esm/api'); // TypeScript without a build step
      mod = (await tsImport(pathToFileURL(path).href, import.meta.url)) as Record<string, unknown>;
    } else mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    throw new TrainerError(`--reward-fn ${file} failed to load: ${(err as Error).message}`, { cause: err });
  }
  // A .ts file outside an ESM package loads as CommonJS: its exports arrive under `default`.
  const inner = mod.default !== null && typeof mod.default === 'object' ? (mod.default as Record<string, unknown>) : {};
  const fn = [mod.default, mod.reward, inner.default, inner.reward].find((f) => typeof f === 'function');
  if (typeof fn !== 'function') {
    throw new TrainerError(`--reward-fn ${file} exports no function: export default (prompts: string[], responses: string[]) => number[] (or export function reward).`);
  }
  return checkedRewardFn(fn as RewardFn, file);
}

/** Wraps a reward function so a wrong answer (count, type, NaN) fails with its name and the fix. */
export function checkedRewardFn(fn: RewardFn, name: string): RewardFn {
  return async (prompts, responses) => {
    const out = await fn(prompts, responses);
    if (!Array.isArray(out) || out.length !== responses.length) {
      throw new TrainerError(`reward function ${name} returned ${Array.isArray(out) ? `${out.length} values` : typeof out} for ${responses.length} responses; return one number per response.`);
    }
    out.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new TrainerError(`reward function ${name} returned ${String(v)} for response ${i} (${JSON.stringify(responses[i]?.slice(0, 60))}); rewards must be finite numbers.`);
    });
    return out;
  };
}
