// The exact-answer reward of the arithmetic example: 1 when the response is the sum the prompt asks
// for (surrounding spaces ignored), else 0. A reward module for `--reward-fn`:
//   rlhf grpo --reward-fn examples/arithmetic/exact-answer.ts …
import { answerOf } from './task.js';

export default function exactAnswer(prompts: string[], responses: string[]): number[] {
  return responses.map((r, i) => (r.trim() === answerOf(prompts[i] ?? '') ? 1 : 0));
}
