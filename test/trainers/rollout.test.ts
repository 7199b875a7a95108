// The online trainers' shared pieces: the scorer (weighted reward model and reward functions, per
// source, named errors) and the rollout (G samples per prompt in consecutive rows, truncation
// after EOS, the missing-EOS penalty, recomputed log-probs equal to the sampler's).
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { assertClose } from '../engine/helpers.js';
import { createScorer, rewardSourceStats } from '../../src/trainers/common/rewards.js';
import { disposeRollout, loadPolicy, rollout } from '../../src/trainers/common/rollout.js';
import { scoreTexts } from '../../src/trainers/reward/score.js';
import { generate } from '../../src/generation/generate.js';
import { padLeft } from '../../src/data/index.js';
import { ScalarHeadModel, loadPretrained, savePretrained } from '../../src/models/index.js';
import { tempDir, tinyModel, PROMPTS } from './fixtures.js';

torch.setNumThreads(1);
const root = tempDir('rlhf-rollout-');
let model = '';
let rm = '';

before(async () => {
  model = await tinyModel(join(root, 'tiny'));
  // A reward model: the tiny body with a fresh scalar head, saved as *ForSequenceClassification.
  const { model: lm, tokenizer } = await loadPretrained(model);
  torch.manualSeed(3);
  const scalar = new ScalarHeadModel(lm.config as ConstructorParameters<typeof ScalarHeadModel>[0]);
  rm = join(root, 'rm');
  await savePretrained(scalar, rm, { tokenizer: tokenizer ?? undefined });
  scalar.dispose();
  lm.dispose();
  writeFileSync(join(root, 'length.ts'), 'export default (_p: string[], r: string[]): number[] => r.map((t) => t.length);\n');
  writeFileSync(join(root, 'bad.ts'), 'export default (_p: string[], r: string[]): number[] => r.slice(1).map(() => 1);\n');
});

describe('scorer', () => {
  test('the weighted sum of every source, each source by name, its mean and std', async () => {
    const vowels = (_p: string[], r: string[]): number[] => r.map((t) => (t.match(/[aeiou]/g) ?? []).length);
    const s = await createScorer({ rewardFn: [join(root, 'length.ts'), vowels, (_p: string[], r: string[]) => r.map(() => 2)], rewardWeights: [1, -0.5, 0.25] });
    assert.deepEqual(s.names, ['length', 'vowels', 'reward_fn_3']);
    const d = await s.scoreDetailed(['p', 'q', 'r'], ['great', 'ok', '']);
    assertClose(Array.from(d.bySource.length as Float32Array), [5, 2, 0]);
    assertClose(Array.from(d.bySource.vowels as Float32Array), [2, 1, 0]);
    assertClose(Array.from(d.total), [5 - 1 + 0.5, 2 - 0.5 + 0.5, 0.5], { rtol: 1e-6 });
    assertClose(Array.from(await s.score(['p'], ['aa'])), [2 - 1 + 0.5], { rtol: 1e-6 });
    const st = rewardSourceStats(d.bySource);
    assertClose([st['rewards/length/mean'] as number, st['rewards/length/std'] as number], [7 / 3, Math.sqrt(((5 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (7 / 3) ** 2) / 2)], { rtol: 1e-6 });
    s.dispose();
  });

  test('a reward model scores exactly what scoreTexts scores; with a function, weighted, the model first', async () => {
    const s = await createScorer({ rewardModel: rm, rewardFn: [join(root, 'length.ts')], rewardWeights: [2, 0.1] });
    assert.deepEqual(s.names, ['rm', 'length']);
    assert.ok(s.rewardModel);
    const prompts = ['the plot was', 'the cast was'];
    const responses = [' great .', ' dull and long .'];
    const direct = scoreTexts(s.rewardModel as ScalarHeadModel, (await loadPretrained(model)).tokenizer!, prompts, responses);
    const d = await s.scoreDetailed(prompts, responses);
    assertClose(Array.from(d.bySource.rm as Float32Array), direct, { rtol: 1e-6 });
    assertClose(Array.from(d.total), direct.map((x, i) => 2 * x + 0.1 * (responses[i] as string).length), { rtol: 1e-5 });
    s.dispose();
  });

  test('named errors: no reward, a weight per reward, a missing file, a function answering the wrong count', async () => {
    await assert.rejects(createScorer({}), { name: 'TrainerError', message: /no reward given: pass --reward-model DIR .* --reward-fn FILE\.ts/ });
    await assert.rejects(createScorer({ rewardModel: rm, rewardFn: [join(root, 'length.ts')], rewardWeights: [1] }), {
      name: 'TrainerError',
      message: /--reward-weights has 1 value for 2 rewards \(--reward-model .*rm, --reward-fn .*length\.ts\); give one weight per reward, in that order\./,
    });
    await assert.rejects(createScorer({ rewardFn: [join(root, 'nope.ts')] }), { name: 'TrainerError', message: /--reward-fn .*nope\.ts does not exist/ });
    const s = await createScorer({ rewardFn: [join(root, 'bad.ts')] });
    await assert.rejects(s.score(['a', 'b'], ['x', 'y']), { name: 'TrainerError', message: /reward function .*bad\.ts returned 1 values for 2 responses; return one number per response/ });
  });
});

describe('rollout', () => {
  test('G samples per prompt in consecutive rows; cut after EOS; recomputed log-probs equal the sampler\'s; missing-EOS penalty', async () => {
    const { policy, ref, tokenizer, eos, pad } = await loadPolicy(model, true, 'test');
    const scorer = await createScorer({ rewardFn: [(_p: string[], r: string[]) => r.map((t) => t.length)] });
    const prompts = { texts: PROMPTS.slice(0, 2), ids: PROMPTS.slice(0, 2).map((p) => tokenizer.encode(p)) };
    const o = { samplesPerPrompt: 3, maxNewTokens: 6, temperature: 0.9, topK: null, topP: null, rolloutDtype: 'float32' as const, dtype: 'float32' as const, missingEosPenalty: 1.5, eos, pad, seed: 11, policyLogprobs: true };
    const before = torch.memory().liveTensors;
    const ro = await rollout({ policy, ref, tokenizer, scorer }, prompts, o);
    assert.equal(ro.N, 6);
    assert.deepEqual(ro.promptTexts, [0, 0, 0, 1, 1, 1].map((i) => PROMPTS[i]));
    assert.deepEqual(ro.queries, [0, 0, 0, 1, 1, 1].map((i) => prompts.ids[i]));
    // The same sampler call by hand: same tokens, and its log-probs are what step 3 recomputes.
    const q = padLeft(ro.queries, pad);
    const gen = generate(policy, q, { maxNewTokens: 6, temperature: 0.9, eosTokenId: eos, padTokenId: pad, seed: 11 });
    torch.disposeAll([q, gen.sequences, gen.responseMask]);
    assert.deepEqual(ro.responses, gen.responseIds);
    assert.ok(new Set(ro.responses.map((r) => r.join())).size > 1, 'the samples of a prompt differ');
    const lp = (ro.logprobs as torch.Tensor).toArray() as number[][];
    ro.responses.forEach((r, b) => {
      assertClose((lp[b] as number[]).slice(0, r.length), gen.logprobs[b] as number[], { atol: 1e-5 });
      assert.ok(r.indexOf(eos) === -1 || r.indexOf(eos) === r.length - 1, 'nothing after the first EOS');
    });
    torch.tidy(() => assertClose(ro.respMask.sum(1), ro.responses.map((r) => r.length)));
    assertClose(ro.refLogprobs as torch.Tensor, lp, { atol: 1e-6 }); // the reference is the policy's copy
    ro.endedWithEos.forEach((e, b) => assertClose(ro.scores[b] as number, (ro.rawScores[b] as number) - (e ? 0 : 1.5), { rtol: 1e-6 }));
    assert.deepEqual(Object.keys(ro.bySource), ['reward_fn_1']);
    disposeRollout(ro);
    assert.equal(torch.memory().liveTensors, before, 'disposeRollout frees every tensor');
    // bf16 sampling: log-probs are still recomputed in float32 by the policy itself
    const bf = await rollout({ policy, ref: null, tokenizer, scorer }, prompts, { ...o, rolloutDtype: 'bfloat16', policyLogprobs: false });
    assert.equal(bf.logprobs, null);
    assert.equal(bf.refLogprobs, null);
    assert.equal(bf.seq.dtype, 'int64');
    disposeRollout(bf);
    scorer.dispose();
    policy.dispose();
    ref?.dispose();
  });
});
