// Tokenizer benchmark: GPT-2 byte-level BPE encoding of ~1 MB of English.
//   node --import tsx bench/tokenizer.ts
// Prints one JSON object per line: ours (cold cache = first pass, warm = steady state), decode,
// @huggingface/tokenizers (pure JS) for context, and Hugging Face's Rust tokenizers through Python
// when `tokenizers` or `transformers` is importable, with the ratio and an id-for-id check.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ByteLevelBpeBackend, gpt2Tokenizer, loadTokenizer, readGpt2BpeData, saveTokenizer } from '../src/tokenizers/index.js';

const SHAKESPEARE = '/work/shared/data/tinyshakespeare.txt';

function corpus(): { text: string; source: string } {
  if (existsSync(SHAKESPEARE)) return { text: readFileSync(SHAKESPEARE, 'utf8'), source: 'tinyshakespeare.txt' };
  // Generated English-like text: fixed seed, a few hundred words, punctuation, numbers, newlines.
  const words = 'the of and to in is was that for it with as his on be at by had not are but from or have an they which one you were her all she there would their we him been has when who will more no if out so said what up its about into than them can only other new some could time these two may then do first any my now such like our over man me even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three'.split(' ');
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const parts: string[] = [];
  let size = 0;
  while (size < 1_100_000) {
    const sentence = Array.from({ length: 5 + rand(15) }, () => words[rand(words.length)]!).join(' ');
    const s = sentence[0]!.toUpperCase() + sentence.slice(1) + (rand(10) === 0 ? `, ${rand(10000)} times` : '') + (rand(6) === 0 ? '.\n\n' : '. ');
    parts.push(s);
    size += s.length;
  }
  return { text: parts.join(''), source: 'generated English-like text (tinyshakespeare.txt absent)' };
}

function time<T>(fn: () => T): { ms: number; value: T } {
  const t0 = performance.now();
  const value = fn();
  return { ms: performance.now() - t0, value };
}

function findPython(): { python: string; module: 'tokenizers' | 'transformers' } | null {
  for (const python of ['/usr/bin/python3', 'python3']) {
    for (const module of ['tokenizers', 'transformers'] as const) {
      const r = spawnSync(python, ['-c', `import ${module}`], { stdio: 'ignore' });
      if (r.status === 0) return { python, module };
    }
  }
  return null;
}

const { text, source } = corpus();
const mb = Buffer.byteLength(text) / 1e6;

// Ours: a fresh model (empty cache) for the cold pass, then the warm steady state.
const fresh = new ByteLevelBpeBackend(readGpt2BpeData(), { addedTokens: [{ content: '<|endoftext|>', id: 50256, special: true }] });
const cold = time(() => fresh.encode(text, false));
const warmRuns = [0, 1, 2].map(() => time(() => fresh.encode(text, false)).ms).sort((a, b) => a - b);
const warm = warmRuns[1]!;
const tok = gpt2Tokenizer();
const ids = tok.encode(text);
const decode = time(() => tok.decode(ids));
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;
console.log(
  JSON.stringify({
    name: 'tokenizer/gpt2-encode',
    text: source,
    mb: round(mb, 3),
    tokens: ids.length,
    ours_ms: round(cold.ms),
    mb_per_s: round(mb / (cold.ms / 1000)),
    ours_warm_ms: round(warm),
    warm_mb_per_s: round(mb / (warm / 1000)),
    decode_ms: round(decode.ms),
    roundtrip_exact: decode.value === text,
  }),
);

// @huggingface/tokenizers (pure JS) on the same tokenizer.json, for context.
const dir = mkdtempSync(join(tmpdir(), 'rlhf-bench-tok-'));
try {
  saveTokenizer(tok, dir);
  const hf = loadTokenizer(dir, { backend: 'hf' });
  hf.encode(text.slice(0, 10_000)); // warm up the JIT a little
  const hfRun = time(() => hf.encode(text));
  console.log(
    JSON.stringify({
      name: 'tokenizer/gpt2-encode/@huggingface-tokenizers-js',
      hf_js_ms: round(hfRun.ms),
      ours_ms: round(cold.ms),
      ratio_ours_over_hf_js: round(cold.ms / hfRun.ms, 3),
      same_ids: JSON.stringify(hfRun.value) === JSON.stringify(ids),
    }),
  );

  // Hugging Face's Rust tokenizers through Python, when present.
  const py = findPython();
  if (py === null) {
    console.log(
      JSON.stringify({
        name: 'tokenizer/gpt2-encode/python',
        python: 'absent: neither `tokenizers` nor `transformers` is importable from /usr/bin/python3 or python3 (pip install tokenizers to compare)',
      }),
    );
  } else {
    const textFile = join(dir, 'corpus.txt');
    writeFileSync(textFile, text);
    const script = [
      'import json, sys, time',
      py.module === 'tokenizers'
        ? `from tokenizers import Tokenizer; t = Tokenizer.from_file(${JSON.stringify(join(dir, 'tokenizer.json'))}); enc = lambda s: t.encode(s).ids`
        : `from transformers import GPT2TokenizerFast; t = GPT2TokenizerFast.from_pretrained(${JSON.stringify(dir)}); enc = lambda s: t(s)["input_ids"]`,
      `text = open(${JSON.stringify(textFile)}, encoding="utf-8").read()`,
      't0 = time.perf_counter(); ids = enc(text); ms = (time.perf_counter() - t0) * 1000',
      'json.dump({"ms": ms, "ids": ids}, sys.stdout)',
    ].join('\n');
    const r = spawnSync(py.python, ['-c', script], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) {
      console.log(JSON.stringify({ name: 'tokenizer/gpt2-encode/python', python: `failed: ${r.stderr.trim().split('\n').pop()}` }));
    } else {
      const out = JSON.parse(r.stdout) as { ms: number; ids: number[] };
      console.log(
        JSON.stringify({
          name: 'tokenizer/gpt2-encode/python',
          python: `${py.python} ${py.module} (Rust)`,
          python_ms: round(out.ms),
          ours_ms: round(cold.ms),
          ratio: round(cold.ms / out.ms, 3),
          same_ids: JSON.stringify(out.ids) === JSON.stringify(ids),
        }),
      );
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
