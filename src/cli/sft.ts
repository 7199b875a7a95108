// `rlhf sft`: supervised fine-tuning (or pretraining from scratch) on text, prompt/completion pairs or conversations.
import { trainerCommand } from './trainer-command.js';
import { sftConfig, SFT_HELP_GROUPS } from '../trainers/sft/config.js';
import { sft as trainSFT } from '../trainers/sft/train.js';

export const sft = trainerCommand({
  name: 'sft',
  summary: 'supervised fine-tuning on text, prompt/completion pairs or conversations',
  intro: `
Usage:
  rlhf sft --model DIR --data FILE --out DIR [options]

Next-token cross-entropy on the labelled tokens: every token of plain text; the completion of
prompt/completion pairs; the assistant turns of conversations (messages, through the tokenizer's
chat template). The data's format is recognised by its columns (text | prompt+completion |
messages | instruction+context+response); --columns renames others. OUT receives the model as a
Hugging Face directory, metrics.jsonl, TensorBoard events and checkpoints/.`,
  outro: `
Examples
  rlhf init --out models/tiny
  rlhf sft --model models/tiny --data reviews.tsv --columns text=sentence --out out/sft --epochs 2 --lr 1e-3
  rlhf sft --model out/sft --data chats.jsonl --out out/chat --packing --max-length 512 --dtype bfloat16`,
  schema: sftConfig,
  groups: SFT_HELP_GROUPS,
  async run(config) {
    const r = await trainSFT(config, { onLog: (l) => process.stdout.write(`${l}\n`), progressStream: config.quiet ? undefined : process.stderr });
    const ev = r.eval['eval/loss'] !== undefined ? ` — held-out loss ${r.eval['eval/loss'].toFixed(4)}, perplexity ${(r.eval['eval/perplexity'] ?? Number.NaN).toFixed(2)}` : '';
    process.stdout.write(`sft: done${ev}; model in ${config.out}\n`);
    r.model.dispose();
    return 0;
  },
});
