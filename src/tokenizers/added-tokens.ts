// Added tokens: strings such as "<|endoftext|>" that are matched whole in the raw text, before
// pre-tokenization and BPE, and map straight to one id. Special ones (`special: true`) are the
// control tokens (bos, eos, pad, …) that `decode(ids, { skipSpecialTokens: true })` drops.

/** One added token, with the fields of Hugging Face's `AddedToken` that matter without a normalizer. */
export interface AddedToken {
  content: string;
  id: number;
  /** A control token (dropped by `skipSpecialTokens`). */
  special: boolean;
  /** Also swallow the whitespace on its left. */
  lstrip?: boolean;
  /** Also swallow the whitespace on its right. */
  rstrip?: boolean;
  /** Only match when it is not glued to a letter, digit or underscore on either side. */
  singleWord?: boolean;
}

/** A run of ordinary text, or an added token found in the text. */
export type Segment = string | AddedToken;

const WORD_CHAR = /[\p{L}\p{N}_]/u;

/**
 * Finds added tokens in text, leftmost first and longest first at a position (so with both
 * "<|im_start|>" and "<|im" added, "<|im_start|>" wins), as Hugging Face's added-vocabulary trie does.
 */
export class AddedTokenSplitter {
  private readonly byContent = new Map<string, AddedToken>();
  private readonly pattern: RegExp | null;

  constructor(tokens: readonly AddedToken[]) {
    for (const t of tokens) if (t.content !== '') this.byContent.set(t.content, t);
    const contents = [...this.byContent.keys()].sort((a, b) => b.length - a.length);
    this.pattern = contents.length === 0 ? null : new RegExp(contents.map(escapeRegExp).join('|'), 'gu');
  }

  /** Text → segments; joining the strings and token contents back gives the text minus stripped spaces. */
  split(text: string): Segment[] {
    if (this.pattern === null) return text === '' ? [] : [text];
    const re = new RegExp(this.pattern);
    const out: Segment[] = [];
    let start = 0; // start of the pending run of ordinary text
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const token = this.byContent.get(m[0])!;
      const end = m.index + m[0].length;
      if (token.singleWord === true && (WORD_CHAR.test(text[m.index - 1] ?? '') || WORD_CHAR.test(text[end] ?? ''))) {
        re.lastIndex = m.index + 1; // glued to a word: not a match here, keep looking
        continue;
      }
      let before = text.slice(start, m.index);
      if (token.lstrip === true) before = before.trimEnd();
      if (before !== '') out.push(before);
      out.push(token);
      start = end;
      if (token.rstrip === true) {
        while (start < text.length && /\s/u.test(text[start]!)) start++;
        re.lastIndex = start;
      }
    }
    if (start < text.length) out.push(text.slice(start));
    return out;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
