// Supervised fine-tuning, top to bottom:
//   1. load the model and its tokenizer
//   2. read the data (text, prompt/completion, conversations, Dolly), tokenise with loss masks
//      (dropping examples whose completion --max-length cut off entirely), hold out an eval split,
//      optionally pack into full blocks
//   3. train: next-token cross-entropy on the labelled tokens (sft/loss.ts), AdamW, schedule
//   4. evaluate (loss and perplexity on the held-out split) and save a Hugging Face directory
import type { Tensor } from '../../torch/tensor.js';
import { manualSeed, noGrad, tensor, tidy } from '../../torch/index.js';
import type { CausalLM } from '../../models/types.js';
import { SFT_FORMATS, collateSft, packSequences, readDataset, tokenizeSft, type SftExample } from '../../data/index.js';
import { prepareOutDir, trainAndHeldOut, TrainerError, type TrainResult } from '../common/setup.js';
import { runLoop } from '../common/loop.js';
import { loadTrainingPolicy, loopParts, saveTrainedModel } from '../common/lora.js';
import { causalLmLoss } from './loss.js';
import { sftConfig, type SFTConfig, type SFTConfigInput } from './config.js';

export interface TrainerHooks {
  /** Status lines (the CLI prints them); default: nowhere. */
  onLog?: (line: string) => void;
  /** Where the progress bar goes; default: none. */
  progressStream?: NodeJS.WritableStream & { isTTY?: boolean };
}

/** The trained model and its metrics; `eval`: eval/loss and eval/perplexity of the final model. */
export type SFTResult = TrainResult<SFTConfig>;

/**
 * One SFT micro-batch: the examples right-padded into a batch (collateSft: labels −100 where the
 * loss mask is 0, so prompts and padding cost nothing) and the next-token cross-entropy over the
 * labelled tokens (loss.ts). Without padding, plain causal attention takes the fast kernel.
 * `rlhf sft` and rejection-sampling fine-tuning (`rlhf rft`) both train with this step.
 */
export function sftBatchLoss(model: CausalLM, batch: readonly SftExample[], padId: number): { loss: Tensor; stats: { tokens: Tensor } } {
  const b = collateSft(batch, padId);
  const unpadded = batch.every((e) => e.inputIds.length === (batch[0] as SftExample).inputIds.length);
  const { loss, tokens } = causalLmLoss(model, b.inputIds, unpadded ? null : b.attentionMask, b.labels);
  return { loss, stats: { tokens: tensor(tokens) as Tensor } };
}

/** Mean loss and perplexity over examples, token-weighted, without gradients. */
export function evaluateLm(model: CausalLM, examples: readonly SftExample[], padId: number, batchSize: number, dtype: 'float32' | 'bfloat16'): { loss: number; perplexity: number } {
  let nll = 0;
  let tokens = 0;
  for (let i = 0; i < examples.length; i += batchSize) {
    const r = noGrad(() =>
      tidy(() => {
        const b = collateSft(examples.slice(i, i + batchSize), padId);
        const { loss, tokens: n } = causalLmLoss(model, b.inputIds, b.attentionMask, b.labels);
        return { sum: (dtype === 'bfloat16' ? loss.float() : loss).item() * n, n };
      }),
    );
    nll += r.sum;
    tokens += r.n;
  }
  const loss = tokens > 0 ? nll / tokens : Number.NaN;
  return { loss, perplexity: Math.exp(loss) };
}

export async function sft(input: SFTConfigInput, hooks: TrainerHooks = {}): Promise<SFTResult> {
  const cfg = sftConfig.parse(input);
  const say = hooks.onLog ?? ((): void => {});
  const out = await prepareOutDir(cfg.out, cfg.resume);
  manualSeed(cfg.seed);

  // 1. model and tokenizer (and LoRA adapters, when --lora-r is set)
  const { model, tokenizer, lora, pad, maxLength } = await loadTrainingPolicy(cfg, 'SFT', say);
  try {
    // 2. data: examples with loss masks (dropping those --max-length left nothing to learn in), an eval split, packing
    const limit = maxLength < cfg.maxLength ? `--max-length ${cfg.maxLength} (capped at the model's ${maxLength} positions)` : `--max-length ${maxLength}`;
    let cutOff = 0;
    const load = (file: string, flag: string): { examples: SftExample[]; format: string } => {
      const ds = readDataset(file, { columns: cfg.columns, skipInvalid: cfg.skipInvalid, expectFormat: SFT_FORMATS });
      if (ds.skipped > 0) say(`skipped ${ds.skipped} malformed rows of ${file}`);
      const examples = tokenizeSft(ds.rows, tokenizer, { maxLength, appendEos: cfg.appendEos, completionOnly: cfg.completionOnlyLoss, dropCutOff: true });
      const cut = ds.rows.length - examples.length;
      if (cut > 0 && examples.length === 0) {
        const n = model.config.n_positions;
        const fix = maxLength < n ? `raise --max-length (the model takes up to ${n}) or shorten the prompts` : 'shorten the prompts';
        throw new TrainerError(`${flag} ${file}: ${limit} cut off every labelled (completion or assistant) token of all ${cut} examples, leaving nothing to learn; ${fix}.`);
      }
      cutOff += cut;
      return { examples, format: ds.format };
    };
    const ds = load(cfg.data, '--data');
    const { train, eval: held } = trainAndHeldOut(ds.examples, cfg.evalData ? load(cfg.evalData, '--eval-data').examples : null, cfg.evalSplit, cfg.seed);
    const trainSet = cfg.packing ? packSequences(train, maxLength) : train;
    if (trainSet.length === 0) throw new TrainerError(`${cfg.data} gave no training examples after the eval split; add data or lower --eval-split.`);
    const dropped = cutOff > 0 ? `; ${cutOff} examples dropped: ${limit} cut off all their labelled (completion or assistant) tokens` : '';
    say(`sft: ${trainSet.length} training ${cfg.packing ? `blocks of ${maxLength} tokens` : 'examples'}, ${held.length} held out (${ds.format} data)${dropped}`);

    // 3. train
    const loop = await runLoop({
      cfg, out, label: 'sft', trainSize: trainSet.length, ...loopParts(model, lora), dropout: true,
      progressStream: hooks.progressStream,
      loss: (rows) => sftBatchLoss(model, rows.map((i) => trainSet[i] as SftExample), pad),
      evaluate: held.length ? () => evaluateLm(model, held, pad, cfg.batchSize, cfg.dtype) : undefined,
    });

    // 4. save (with LoRA: the adapter, then merged into the model returned)
    await saveTrainedModel(model, lora, out, tokenizer, cfg);
    return { model, tokenizer, history: loop.history, eval: loop.eval, config: cfg };
  } catch (err) {
    lora?.dispose();
    model.dispose();
    throw err;
  }
}
