// Chat templates: a Jinja template, stored in `tokenizer_config.json` (`chat_template`) or in
// `chat_template.jinja`, that turns a list of messages into the one string the model was trained
// on. Rendered with `@huggingface/jinja` (trim_blocks and lstrip_blocks on, as in transformers).

import { Template } from '@huggingface/jinja';
import { ChatTemplateError } from './errors.js';

/** One chat turn. Templates may read more fields (`tool_calls`, `name`, …), so extra keys pass through. */
export interface ChatMessage {
  role: string;
  content: string;
  [key: string]: unknown;
}

/**
 * The template used when a tokenizer has none: ChatML, exactly the `default_chat_template` that
 * transformers used before v4.43.
 *
 *   <|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n
 *
 * GPT-2's vocabulary has no `<|im_start|>`/`<|im_end|>` tokens, so with GPT-2 they are encoded as
 * ordinary text (a few tokens each): fine-tuning teaches the model the format all the same, and
 * generation should stop on the string "<|im_end|>" as well as on EOS.
 */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** A tokenizer's chat templates by name ("default", "tool_use", …) and where they were read from. */
export interface ChatTemplates {
  templates: ReadonlyMap<string, string>;
  /** The file (and field) they came from, named in errors. */
  source: string;
}

/**
 * Reads the `chat_template` field of `tokenizer_config.json`: a string, or a list of
 * `{ name, template }` (transformers' form for several templates). Null/absent → null.
 */
export function parseChatTemplateField(value: unknown, source: string): ChatTemplates | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return { templates: new Map([['default', value]]), source };
  if (Array.isArray(value)) {
    const templates = new Map<string, string>();
    value.forEach((entry: unknown, i) => {
      const name = isRecord(entry) ? entry['name'] : undefined;
      const template = isRecord(entry) ? entry['template'] : undefined;
      if (typeof name !== 'string' || typeof template !== 'string') {
        throw new ChatTemplateError(source, `entry ${i} must be {"name": string, "template": string}`);
      }
      templates.set(name, template);
    });
    return { templates, source };
  }
  throw new ChatTemplateError(source, `expected a string or a list of {"name", "template"}, got ${typeof value}`);
}

/** Picks a template by name; without a name, "default" (or the only one). */
export function selectChatTemplate(chat: ChatTemplates, name?: string): string {
  const wanted = name ?? (chat.templates.size === 1 ? [...chat.templates.keys()][0]! : 'default');
  const template = chat.templates.get(wanted);
  if (template === undefined) {
    const names = [...chat.templates.keys()].map((n) => `"${n}"`).join(', ');
    throw new ChatTemplateError(chat.source, `no template named "${wanted}"; it has ${names}. Pass templateName with one of them`);
  }
  return template;
}

const compiled = new Map<string, Template>();

/**
 * Renders a template with the given variables (`messages`, `add_generation_prompt`, `bos_token`,
 * `eos_token`, …). Parse and render failures, including the template's own `raise_exception(...)`,
 * become a ChatTemplateError naming `source`.
 */
export function renderChatTemplate(template: string, source: string, variables: Record<string, unknown>): string {
  let t = compiled.get(template);
  if (t === undefined) {
    try {
      t = new Template(template);
    } catch (err) {
      throw new ChatTemplateError(source, `cannot parse the template: ${errorMessage(err)}`, { cause: err });
    }
    if (compiled.size > 64) compiled.clear();
    compiled.set(template, t);
  }
  try {
    return t.render(variables);
  } catch (err) {
    throw new ChatTemplateError(source, `rendering failed: ${errorMessage(err)}`, { cause: err });
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
