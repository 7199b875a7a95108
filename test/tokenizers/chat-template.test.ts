// Chat templates: a ChatML tokenizer_config.json fixture (GPT-2 plus <|im_start|>/<|im_end|> as
// added tokens, like TRL's setup_chat_format), exact rendered strings and ids, the default template,
// named templates, chat_template.jinja, and errors that name the template's source.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatTemplateError, CHATML_TEMPLATE, gpt2Tokenizer, loadTokenizer, saveTokenizer } from '../../src/tokenizers/index.js';
import type { ChatMessage } from '../../src/tokenizers/index.js';

const root = mkdtempSync(join(tmpdir(), 'rlhf-tok-chat-'));
after(() => rmSync(root, { recursive: true, force: true }));
const gpt2Dir = join(root, 'gpt2');
saveTokenizer(gpt2Tokenizer(), gpt2Dir);
let n = 0;
/** A model directory: GPT-2's vocab.json + merges.txt and the given tokenizer_config.json. */
function modelDir(configFile: string | null): string {
  const dir = join(root, `m${n++}`);
  mkdirSync(dir);
  for (const f of ['vocab.json', 'merges.txt']) copyFileSync(join(gpt2Dir, f), join(dir, f));
  if (configFile !== null) copyFileSync(configFile, join(dir, 'tokenizer_config.json'));
  return dir;
}
const chatmlConfig = new URL('./fixtures/chatml/tokenizer_config.json', import.meta.url).pathname;

const messages: ChatMessage[] = [
  { role: 'user', content: 'Hi!' },
  { role: 'assistant', content: 'Hello, how can I help?' },
  { role: 'user', content: 'Tell me a joke.' },
];

test('ChatML template from tokenizer_config.json: exact string', () => {
  const tok = loadTokenizer(modelDir(chatmlConfig));
  assert.equal(
    tok.applyChatTemplate(messages, { addGenerationPrompt: true }),
    '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' +
      '<|im_start|>user\nHi!<|im_end|>\n' +
      '<|im_start|>assistant\nHello, how can I help?<|im_end|>\n' +
      '<|im_start|>user\nTell me a joke.<|im_end|>\n' +
      '<|im_start|>assistant\n',
  );
  assert.equal(
    tok.applyChatTemplate([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }]),
    '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n',
  );
});

test('ChatML tokens are single ids; eos is <|im_end|>, pad is <|endoftext|>', () => {
  const tok = loadTokenizer(modelDir(chatmlConfig));
  assert.equal(tok.vocabSize, 50259);
  assert.equal(tok.eosTokenId, 50258);
  assert.equal(tok.bosTokenId, 50257);
  assert.equal(tok.padTokenId, 50256);
  assert.equal(tok.paddingSide, 'left');
  const g = gpt2Tokenizer();
  const ids = tok.encodeChat([{ role: 'user', content: 'Hi!' }], { addGenerationPrompt: true });
  assert.deepEqual(ids, [
    50257, ...g.encode('system\nYou are a helpful assistant.'), 50258, 198,
    50257, ...g.encode('user\nHi!'), 50258, 198,
    50257, ...g.encode('assistant\n'),
  ]);
  assert.deepEqual(g.encode('user\nHi!'), [7220, 198, 17250, 0]);
  assert.equal(tok.decode(ids, { skipSpecialTokens: true }), 'system\nYou are a helpful assistant.\nuser\nHi!\nassistant\n');
});

test('the chat template survives save and load, through both backends', () => {
  const tok = loadTokenizer(modelDir(chatmlConfig));
  const out = join(root, 'saved-chatml');
  saveTokenizer(tok, out);
  const saved = JSON.parse(readFileSync(join(out, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(saved['chat_template'], (JSON.parse(readFileSync(chatmlConfig, 'utf8')) as Record<string, unknown>)['chat_template']);
  const expected = tok.encodeChat(messages, { addGenerationPrompt: true });
  for (const backend of ['auto', 'hf'] as const) {
    const again = loadTokenizer(out, { backend });
    assert.deepEqual(again.encodeChat(messages, { addGenerationPrompt: true }), expected, backend);
    assert.equal(again.eosTokenId, 50258, backend);
  }
});

test('default ChatML template for a tokenizer without one (GPT-2)', () => {
  const g = gpt2Tokenizer();
  assert.equal(g.chatTemplates, null);
  assert.equal(
    g.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true }),
    '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
  );
  assert.equal(g.withOptions({ chatTemplate: CHATML_TEMPLATE }).applyChatTemplate([{ role: 'user', content: 'Hi' }]), '<|im_start|>user\nHi<|im_end|>\n');
});

test('bos_token, eos_token and extra variables reach the template', () => {
  const g = gpt2Tokenizer().withOptions({
    chatTemplate: '{{ bos_token }}{% for m in messages %}{{ m.role }}: {{ m.content }}{{ eos_token }}{% endfor %}{% if greeting %}{{ greeting }}{% endif %}',
  });
  assert.equal(g.applyChatTemplate([{ role: 'user', content: 'x' }], { variables: { greeting: '!' } }), '<|endoftext|>user: x<|endoftext|>!');
});

test('named templates (a list in tokenizer_config.json) and chat_template.jinja', () => {
  const dir = modelDir(null);
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({
      chat_template: [
        { name: 'default', template: '{% for m in messages %}[{{ m.content }}]{% endfor %}' },
        { name: 'tool_use', template: 'tools={{ tools | length }}' },
      ],
    }),
  );
  const tok = loadTokenizer(dir);
  assert.equal(tok.applyChatTemplate(messages), '[Hi!][Hello, how can I help?][Tell me a joke.]');
  assert.equal(tok.applyChatTemplate(messages, { templateName: 'tool_use', tools: [{}, {}] }), 'tools=2');
  assert.throws(
    () => tok.applyChatTemplate(messages, { templateName: 'rag' }),
    (e: unknown) => e instanceof ChatTemplateError && /no template named "rag"; it has "default", "tool_use"/.test(e.message),
  );
  writeFileSync(join(dir, 'chat_template.jinja'), '{{ messages | length }} messages');
  assert.equal(loadTokenizer(dir).applyChatTemplate(messages), '3 messages');
});

test('render and parse failures name the template source', () => {
  const dir = modelDir(null);
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({ chat_template: "{% if messages[0]['role'] != 'user' %}{{ raise_exception('Conversations must start with a user message') }}{% endif %}ok" }),
  );
  const tok = loadTokenizer(dir);
  assert.equal(tok.applyChatTemplate([{ role: 'user', content: 'x' }]), 'ok');
  assert.throws(
    () => tok.applyChatTemplate([{ role: 'assistant', content: 'x' }]),
    (e: unknown) =>
      e instanceof ChatTemplateError &&
      e.source.endsWith('tokenizer_config.json ("chat_template")') &&
      /rendering failed: Conversations must start with a user message/.test(e.message) &&
      e.cause instanceof Error,
  );
  const broken = gpt2Tokenizer().withOptions({ chatTemplate: '{% for m in messages %}' });
  assert.throws(() => broken.applyChatTemplate(messages), (e: unknown) => e instanceof ChatTemplateError && /withOptions/.test(e.source));
});
