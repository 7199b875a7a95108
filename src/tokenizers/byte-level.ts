// Byte-level text handling for GPT-2 style BPE.
//
// GPT-2 never sees characters: it sees the UTF-8 *bytes* of the text. To keep the vocabulary files
// readable (and free of control characters and spaces), every byte 0..255 is given a printable
// stand-in character. Printable Latin-1 bytes stand for themselves ('a' is 'a'); the other 68 bytes
// (controls, space, DEL, …) are moved to U+0100 and up, so a space (0x20) becomes 'Ġ' (U+0120) and
// a newline (0x0A) becomes 'Ċ' (U+010A). A vocabulary entry like "Ġthe" therefore means the bytes
// of " the".
//
// Before BPE runs, text is cut into pieces ("pre-tokenization") by GPT-2's regular expression, so a
// merge never crosses a word boundary: " the" and " cat" are merged separately.

/** The 256 stand-in characters: `BYTE_TO_CHAR[b]` is the character that stands for byte `b`. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** The inverse of `BYTE_TO_CHAR`: stand-in character code → byte, or -1 when the character stands for no byte. */
export const CHAR_CODE_TO_BYTE: Int16Array = (() => {
  const table = new Int16Array(512).fill(-1); // every stand-in is below U+0200
  BYTE_TO_CHAR.forEach((ch, b) => {
    table[ch.charCodeAt(0)] = b;
  });
  return table;
})();

// GPT-2's bytes_to_unicode() (openai/gpt-2, encoder.py), written out.
function buildByteToChar(): string[] {
  const printable = (b: number): boolean =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = new Array<string>(256);
  let next = 256; // the first free code point for a byte that is not printable
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCharCode(printable(b) ? b : next++);
  }
  return table;
}

// GPT-2's pre-tokenization pattern (openai/gpt-2 encoder.py; the same in Hugging Face's ByteLevel
// pre-tokenizer):
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// One detail: GPT-2 ran it with Python's `regex` module and Hugging Face runs it with Oniguruma,
// where `\s` is Unicode White_Space: \t-\r, U+0085 and the separators \p{Z}. JavaScript's `\s`
// differs (it adds U+FEFF and leaves out U+0085), so `\s` is spelled out here to match them.
const WS = String.raw`\t-\r\x85\p{Z}`;
/** Source of the pre-tokenization regex (use with the `gu` flags). */
export const GPT2_SPLIT_PATTERN =
  String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^${WS}\p{L}\p{N}]+` + `|[${WS}]+(?![^${WS}])|[${WS}]+`;

const SPLIT_RE = new RegExp(GPT2_SPLIT_PATTERN, 'gu');

/**
 * Cuts text into the pieces BPE works on. Every character lands in exactly one piece, so
 * `preTokenize(s).join('') === s`.
 *   preTokenize("Hello world's  end") → ["Hello", " world", "'s", " ", " end"]
 */
export function preTokenize(text: string): string[] {
  return text.match(SPLIT_RE) ?? [];
}

/** Calls `fn` for each pre-tokenization piece without building an array (the hot loop of encoding). */
export function forEachPiece(text: string, fn: (piece: string) => void): void {
  const re = new RegExp(SPLIT_RE); // own lastIndex, so calls can nest or interleave
  for (let m = re.exec(text); m !== null; m = re.exec(text)) fn(m[0]);
}

const utf8Encoder = new TextEncoder();

/** UTF-8 bytes of a string (lone surrogates become U+FFFD, as in every UTF-8 encoder). */
export function utf8Bytes(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** A vocabulary string such as "Ġcaf\u00c3\u00a9" → its bytes, or null if a character stands for no byte. */
export function tokenStringToBytes(token: string): Uint8Array | null {
  const out = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const code = token.charCodeAt(i);
    const b = code < 512 ? CHAR_CODE_TO_BYTE[code]! : -1;
    if (b < 0) return null;
    out[i] = b;
  }
  return out;
}

/** Bytes → vocabulary string: `bytesToTokenString(utf8Bytes(" the")) === "Ġthe"`. */
export function bytesToTokenString(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += BYTE_TO_CHAR[b]!;
  return s;
}
