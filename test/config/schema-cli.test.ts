import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, fieldsOf, helpText, resolveConfig } from '../../src/config/schema-cli.js';

const schema = z.object({
  model: z.string().min(1).describe('model dir'),
  lr: z.number().positive().default(1e-3).describe('learning rate'),
  batchSize: z.int().min(1).default(8).describe('batch size'),
  dtype: z.enum(['float32', 'bfloat16']).default('float32').describe('dtype'),
  resume: z.boolean().default(false).describe('resume'),
  targets: z.array(z.string()).default(['a', 'b']).describe('targets'),
  weights: z.record(z.string(), z.number()).default({}).describe('weights'),
  note: z.string().nullable().default(null).describe('a note'),
});

test('fields: kinds, defaults and flags come from the schema', () => {
  const f = Object.fromEntries(fieldsOf(schema).map((x) => [x.key, x]));
  assert.equal(f.batchSize?.kind, 'int');
  assert.equal(f.batchSize?.flag, '--batch-size');
  assert.equal(f.lr?.kind, 'number');
  assert.equal(f.lr?.defaultValue, 1e-3);
  assert.deepEqual(f.dtype?.choices, ['float32', 'bfloat16']);
  assert.equal(f.targets?.kind, 'string[]');
  assert.equal(f.weights?.kind, 'record');
  assert.equal(f.model?.hasDefault, false);
});

test('help lists every flag with its default', () => {
  const h = helpText(schema);
  for (const flag of ['--model', '--lr X', '--batch-size N', '--dtype float32|bfloat16', '--resume', '--targets A,B,…', '--weights K=V,…']) assert.ok(h.includes(flag), flag);
  assert.match(h, /learning rate \(default 0.001\)/);
  assert.match(h, /model dir \(required\)/);
});

test('flags parse and validate; defaults fill the rest', () => {
  const { config } = resolveConfig(schema, ['--model', 'm', '--lr=0.5', '--batch-size', '4', '--resume', '--targets', 'x,y', '--weights', 'a=1,b=2']);
  assert.deepEqual(config, { model: 'm', lr: 0.5, batchSize: 4, dtype: 'float32', resume: true, targets: ['x', 'y'], weights: { a: 1, b: 2 }, note: null });
  assert.equal(resolveConfig(schema, ['--model', 'm', '--resume', '--no-resume']).config.resume, false);
});

test('bad flags name the flag and the fix', () => {
  assert.throws(() => resolveConfig(schema, ['--model', 'm', '--batch-size', '2.5']), (e: Error) => e instanceof ConfigError && /--batch-size/.test(e.message));
  assert.throws(() => resolveConfig(schema, ['--model', 'm', '--batch-sise', '2']), /unknown option --batch-sise \(did you mean --batch-size\?\)/);
  assert.throws(() => resolveConfig(schema, ['--lr', 'abc', '--model', 'm']), /--lr must be a number/);
  assert.throws(() => resolveConfig(schema, []), /--model is required/);
  assert.throws(() => resolveConfig(schema, ['--model', 'm', '--dtype', 'fp16']), /--dtype/);
});

test('YAML: any key spelling, flags override, errors name file and line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  const file = join(dir, 'c.yaml');
  writeFileSync(file, 'model: m\nbatch_size: 3\nlr: 0.1\n');
  const { config } = resolveConfig(schema, ['--config', file, '--lr', '0.2']);
  assert.equal(config.batchSize, 3);
  assert.equal(config.lr, 0.2);
  writeFileSync(file, 'model: m\nbatch-size: -1\n');
  assert.throws(() => resolveConfig(schema, ['--config', file]), (e: Error) => e.message.includes(`${file}:2: batchSize`));
  writeFileSync(file, 'model: m\nbatchsize: 2\n');
  assert.throws(() => resolveConfig(schema, ['--config', file]), (e: Error) => e.message.includes(`${file}:2: unknown key 'batchsize'`) && e.message.includes("'batchSize'"));
  writeFileSync(file, 'model: [\n');
  assert.throws(() => resolveConfig(schema, ['--config', file]), /not valid YAML/);
});

test('a list flag given several times accumulates; one use still splits at commas; other flags keep the last value', () => {
  const base = ['--model', 'm'];
  assert.deepEqual(resolveConfig(schema, [...base, '--targets', 'x,y']).config.targets, ['x', 'y']);
  assert.deepEqual(resolveConfig(schema, [...base, '--targets', 'x', '--targets=y, z']).config.targets, ['x', 'y', 'z']);
  assert.equal(resolveConfig(schema, [...base, '--lr', '0.1', '--lr', '0.2']).config.lr, 0.2);
  // .meta({ split: false }): each use is one item, as written (commas, spaces, newlines kept)
  const stops = z.object({ stop: z.array(z.string()).default([]).describe('stop strings').meta({ split: false }) });
  assert.deepEqual(resolveConfig(stops, ['--stop', 'a, b', '--stop', '\n', '--stop', ',']).config.stop, ['a, b', '\n', ',']);
  assert.deepEqual(resolveConfig(stops, ['--stop', 'x,y']).config.stop, ['x,y']);
  assert.match(helpText(stops), /--stop TEXT +stop strings/);
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  const file = join(dir, 'c.yaml');
  writeFileSync(file, 'stop: "x,y"\n');
  assert.deepEqual(resolveConfig(stops, ['--config', file]).config.stop, ['x,y']);
  assert.deepEqual(resolveConfig(stops, ['--config', file, '--stop', 'z']).config.stop, ['z'], 'flags replace the file\'s list');
});

test('.meta({ metavar }) names the value in --help', () => {
  const s = z.object({ out: z.string().describe('where to write').meta({ metavar: 'DIR' }), n: z.int().default(1).describe('count') });
  assert.match(helpText(s), /--out DIR +where to write \(required\)/);
  assert.match(helpText(s), /--n N +count \(default 1\)/);
});
