// copyModel (the frozen reference of PPO and DPO, PPO's value model) and the LM head on chosen
// positions (outputEmbeddings / lmHead): a copy gives the same logits and owns its tensors; the head
// weight is wte when tied and lm_head's when not; hidden states through lmHead or through the fused
// F.linearLogProbs give what forward's logits give.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/torch/index.js';
import { F } from '../../src/torch/index.js';
import { ScalarHeadModel, copyModel } from '../../src/models/index.js';
import type { CausalLM } from '../../src/models/index.js';
import { tinyGPT2, tinyNeo, ids, maxAbsDiff } from './helpers.js';

const X = (): torch.Tensor => ids([[1, 5, 9, 14, 2, 33, 7], [4, 4, 8, 15, 16, 23, 42]]); // (2, 7)

const makers: [string, () => CausalLM][] = [
  ['gpt2 (tied head)', () => tinyGPT2()],
  ['gpt2 (own lm_head)', () => tinyGPT2({ tie_word_embeddings: false })],
  ['gpt-neo', () => tinyNeo()],
];

for (const [name, make] of makers) {
  test(`${name}: copyModel gives equal logits, and changing the copy leaves the original unchanged`, () => {
    const model = make();
    const before = torch.keep(torch.noGrad(() => model.forward(X()).logits));
    const copy = copyModel(model);
    try {
      assert.equal(copy.constructor, model.constructor);
      assert.deepEqual(copy.config, model.config);
      assert.notEqual(copy.config, model.config, 'the config is a copy too');
      assert.equal(copy.training, false, 'eval mode is copied');
      torch.noGrad(() => torch.tidy(() => assert.equal(maxAbsDiff(copy.forward(X()).logits, before), 0)));
      const own = new Map(model.namedParameters());
      for (const [k, p] of copy.namedParameters()) {
        assert.notEqual(p, own.get(k), `${k} is a new tensor`);
        assert.equal(p.requiresGrad, (own.get(k) as torch.Tensor).requiresGrad);
      }
      // Change every parameter of the copy in place: the original's logits must not move.
      torch.noGrad(() => {
        for (const p of copy.parameters()) p.mul_(0.5);
      });
      torch.noGrad(() =>
        torch.tidy(() => {
          assert.equal(maxAbsDiff(model.forward(X()).logits, before), 0, 'original unchanged');
          assert.ok(maxAbsDiff(copy.forward(X()).logits, before) > 1e-3, 'the copy did change');
        }),
      );
    } finally {
      before.dispose();
      copy.dispose();
      model.dispose();
    }
  });
}

test('copyModel keeps dtype, frozen flags and ties; copies a ScalarHeadModel; does not touch the RNG', () => {
  const model = tinyGPT2().to('bfloat16');
  model.requiresGrad_(false);
  torch.manualSeed(3);
  const copy = copyModel(model);
  const afterCopy = torch.randn([4]).toFlatArray();
  torch.manualSeed(3);
  assert.deepEqual(torch.randn([4]).toFlatArray(), afterCopy, 'no random initialisation was drawn');
  assert.ok(copy.parameters().every((p) => p.dtype === 'bfloat16' && !p.requiresGrad));
  assert.equal(copy.outputEmbeddings(), copy.transformer.wte.weight, 'the head stays tied to wte');
  torch.noGrad(() => torch.tidy(() => assert.equal(maxAbsDiff(copy.forward(X()).logits, model.forward(X()).logits), 0)));
  copy.dispose();
  model.dispose();

  const rm = ScalarHeadModel.fromCausalLM(tinyGPT2()).eval();
  const rmCopy = copyModel(rm);
  assert.ok(rmCopy instanceof ScalarHeadModel);
  assert.notEqual(rmCopy.transformer, rm.transformer, 'the body is copied, not shared');
  torch.noGrad(() => torch.tidy(() => assert.equal(maxAbsDiff(rmCopy.forward(X()).values, rm.forward(X()).values), 0)));
  rmCopy.dispose();
  rm.dispose();
});

for (const [name, make] of makers) {
  test(`${name}: outputEmbeddings is the head weight; lmHead and F.linearLogProbs on hidden states match forward`, () => {
    const model = make();
    try {
      const m = model as CausalLM & { lm_head: { weight: torch.Tensor } | null; transformer: { wte: { weight: torch.Tensor } } };
      const W = model.outputEmbeddings();
      assert.equal(W, m.lm_head ? m.lm_head.weight : m.transformer.wte.weight);
      assert.deepEqual(W.shape, [model.config.vocab_size, model.config.n_embd]);
      torch.noGrad(() =>
        torch.tidy(() => {
          const x = X();
          const { logits, hidden } = model.forward(x, { outputHidden: true }); // (B, T, V), (B, T, C)
          assert.equal(maxAbsDiff(model.lmHead(hidden as torch.Tensor), logits), 0);
          assert.equal(maxAbsDiff(model.lmHead((hidden as torch.Tensor).select(1, 6)), logits.select(1, 6)), 0, 'on one position');
          const targets = x.narrow(1, 1, 6); // (B, 6) next tokens
          const h = (hidden as torch.Tensor).narrow(1, 0, 6); // (B, 6, C)
          const fused = F.linearLogProbs(h, W, targets).logprobs; // (B, 6)
          const naive = logits.narrow(1, 0, 6).logSoftmax(-1).gather(2, targets.unsqueeze(-1)).squeeze(-1); // (B, 6)
          assert.ok(maxAbsDiff(fused, naive) < 1e-5);
        }),
      );
    } finally {
      model.dispose();
    }
  });
}
