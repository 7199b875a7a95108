// Tiny seeded models and helpers shared by the generation tests.
import { GPT2LMHeadModel } from '../../src/models/gpt2.js';
import type { GPT2Config } from '../../src/models/gpt2.js';
import { manualSeed, noGrad, setNumThreads, tensor, tidy } from '../../src/torch/index.js';
import type { Tensor } from '../../src/torch/index.js';
import type { CausalLM } from '../../src/models/types.js';
import { repetitionPenalty } from '../../src/generation/index.js';

// Tiny models gain nothing from a second thread, and on a busy machine spinning threads cost a lot.
setNumThreads(1);

/**
 * A 2-layer GPT-2 with a 97-token vocabulary. A large init std makes the next-token distribution
 * peaked and varied, so greedy paths do not collapse into one repeated token.
 */
export function tinyModel(seed = 0, cfg: Partial<GPT2Config> = {}): GPT2LMHeadModel {
  manualSeed(seed);
  return new GPT2LMHeadModel({ n_layer: 2, n_embd: 32, n_head: 4, vocab_size: 97, n_positions: 256, initializer_range: 0.3, eos_token_id: 96, bos_token_id: 96, ...cfg }).eval();
}

/** Left-pads id lists into (B, T) int64 ids and mask. */
export function leftPad(rows: number[][], pad = 0): { inputIds: Tensor; attentionMask: Tensor } {
  const T = Math.max(...rows.map((r) => r.length));
  const ids = rows.map((r) => [...new Array<number>(T - r.length).fill(pad), ...r]);
  const mask = rows.map((r) => [...new Array<number>(T - r.length).fill(0), ...new Array<number>(r.length).fill(1)]);
  return { inputIds: tensor(ids, { dtype: 'int64' }), attentionMask: tensor(mask, { dtype: 'int64' }) };
}

/** Log-softmax(logits / T) over the whole unpadded sequence, without a cache: (L, V) as arrays. */
export function fullLogProbs(model: CausalLM, ids: number[], T = 1): number[][] {
  return noGrad(() =>
    tidy(() => {
      const logits = model.forward(tensor([ids], { dtype: 'int64' })).logits.squeeze(0); // (L, V)
      return logits.div(T).logSoftmax(-1).toArray() as number[][];
    }),
  );
}

/**
 * Greedy decoding by re-running the whole sequence every step (no cache): the reference. With a
 * repetition penalty, the processor is applied to the whole sequence so far.
 */
export function greedyByRecomputation(model: CausalLM, prompt: number[], n: number, penalty = 1): number[] {
  const seq = [...prompt];
  for (let i = 0; i < n; i++) {
    const next = noGrad(() =>
      tidy(() => {
        const ids = tensor([seq], { dtype: 'int64' });
        const last = model.forward(ids).logits.select(1, seq.length - 1); // (1, V)
        return (penalty === 1 ? last : repetitionPenalty(last, ids, penalty)).argmax(-1).item();
      }),
    );
    seq.push(next);
  }
  return seq.slice(prompt.length);
}

/** A toy tokenizer for stop strings: id i decodes to two letters. */
export const letters = {
  decode(ids: readonly number[]): string {
    const A = 'abcdefghijklmnopqrstuvwxyz';
    return ids.map((i) => `${A[i % 26]}${A[(i * 7 + 3) % 26]}`).join('');
  },
  padTokenId: null,
};
