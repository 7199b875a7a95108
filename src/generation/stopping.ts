// When each sequence of a batch stops: at an EOS token, at a stop string in its decoded text, or
// after maxNewTokens. Rows stop independently; generation ends when every row has.
//
// Stop strings are checked on the text decoded so far, incrementally: one streaming decoder per
// row (so a multi-byte character split across tokens is never half-compared), and only the tail
// that a new piece could complete is searched, so a step costs O(piece + longest stop string).
import type { Decodes } from '../tokenizers/stream.js';
import { StreamDecoder } from '../tokenizers/stream.js';

export type FinishReason = 'eos' | 'stop' | 'length';

export interface StoppingOptions {
  /** Token ids that end a sequence (kept as its last token). Empty: none. */
  eosTokenIds: readonly number[];
  /** Strings that end a sequence once they appear in its decoded text (needs `tokenizer`). */
  stopStrings?: readonly string[];
  /** Most tokens each row may generate. */
  maxNewTokens: number;
  /** Decodes ids for the stop strings. */
  tokenizer?: Decodes | null;
}

/** A stopping option that cannot work as given; the message says what to pass. */
export class StoppingError extends Error {
  override name = 'StoppingError';
}

/** Per-row stopping state for one batch. */
export class StoppingCriteria {
  /** done[b]: row b has finished; later tokens of it are padding. */
  readonly done: boolean[];
  /** Why each row finished (null while running). */
  readonly finishReason: (FinishReason | null)[];
  /** Tokens generated per row, up to and including the one that stopped it. */
  readonly generated: number[];
  /** Text decoded so far per row ('' without stop strings). */
  readonly text: string[];
  /** For rows stopped by a stop string: the index in `text` just after the stop string. */
  readonly stopEnd: (number | null)[];
  private readonly eos: ReadonlySet<number>;
  private readonly stops: readonly string[];
  private readonly longestStop: number;
  private readonly decoders: StreamDecoder[] | null;
  private remaining: number;

  constructor(
    readonly batchSize: number,
    private readonly opts: StoppingOptions,
  ) {
    if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 1) throw new StoppingError(`maxNewTokens must be a positive integer, got ${opts.maxNewTokens}`);
    this.stops = (opts.stopStrings ?? []).filter((s) => s.length > 0);
    if (this.stops.length > 0 && !opts.tokenizer) throw new StoppingError('stopStrings need a tokenizer to decode the generated ids: pass `tokenizer` in the generate options');
    this.longestStop = Math.max(0, ...this.stops.map((s) => s.length));
    this.eos = new Set(opts.eosTokenIds);
    this.done = new Array<boolean>(batchSize).fill(false);
    this.finishReason = new Array<FinishReason | null>(batchSize).fill(null);
    this.generated = new Array<number>(batchSize).fill(0);
    this.text = new Array<string>(batchSize).fill('');
    this.stopEnd = new Array<number | null>(batchSize).fill(null);
    const tok = opts.tokenizer;
    this.decoders = this.stops.length > 0 && tok ? Array.from({ length: batchSize }, () => new StreamDecoder(tok, { skipSpecialTokens: true })) : null;
    this.remaining = batchSize;
  }

  get allDone(): boolean {
    return this.remaining === 0;
  }

  /** Records the token row b generated; returns why the row finished with it, or null. Finished rows ignore further tokens. */
  push(row: number, token: number): FinishReason | null {
    if (this.done[row]) return null;
    this.generated[row] = (this.generated[row] as number) + 1;
    let reason: FinishReason | null = null;
    if (this.eos.has(token)) reason = 'eos';
    else if (this.decoders) {
      const before = (this.text[row] as string).length;
      const piece = (this.decoders[row] as StreamDecoder).push(token);
      if (piece.length > 0) {
        const text = (this.text[row] as string) + piece;
        this.text[row] = text;
        // A stop string completed by this piece ends within it and starts at most longestStop−1 before it.
        const from = Math.max(0, before - this.longestStop + 1);
        let end = -1;
        for (const s of this.stops) {
          const at = text.indexOf(s, from);
          if (at >= 0 && (end < 0 || at + s.length < end)) end = at + s.length;
        }
        if (end >= 0) {
          reason = 'stop';
          this.stopEnd[row] = end;
        }
      }
    }
    if (reason === null && (this.generated[row] as number) >= this.opts.maxNewTokens) reason = 'length';
    if (reason !== null) this.finish(row, reason);
    return reason;
  }

  private finish(row: number, reason: FinishReason): void {
    this.done[row] = true;
    this.finishReason[row] = reason;
    this.remaining--;
  }
}
