"""PyTorch eager DPO and reward-model training steps on the same shapes as bench/preference.ts, for the ratio.

Run by the TypeScript bench with Debian's /usr/bin/python3 (python3-torch 1.13, no transformers, no TRL):
    /usr/bin/python3 bench/torch_preference.py THREADS '{"cases": {...}, "pairs": {...}}' --serve      one step per stdin line
    /usr/bin/python3 bench/torch_preference.py THREADS '{"cases": {...}, "pairs": {...}}' --rss CASE   peak RSS (VmHWM) of 3 steps

One step is what TRL's trainers do per batch, written out in eager PyTorch (the GPT-2 of
bench/torch_common.py: transformers' eager GPT-2, dropout 0, weights N(0, 0.02)):
  dpo     DPOTrainer.concatenated_forward: chosen and rejected rows in one (2B, L) batch → full logits
          (2B, L, V) → labels rolled left, prompt masked, selective_log_softmax (TRL's), summed per
          row; sigmoid DPO loss against reference log-probs precomputed once (precompute_ref_log_probs),
          TRL's reward stats; backward, clip_grad_norm_ (max 1), torch.optim.AdamW, zero_grad.
  reward  RewardTrainer.compute_loss: GPT2ForSequenceClassification (num_labels = 1) forward on the
          chosen rows, then on the rejected rows (TRL runs two forwards), scores at the last token,
          −logsigmoid(r_c − r_r).mean(); backward, clip_grad_norm_, AdamW, zero_grad.
bf16 is torch.autocast('cpu', dtype=torch.bfloat16) around forward and loss, the backward outside it.
"""
import sys

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # importing torch_common must not leave bench/__pycache__ behind
from torch_common import LM, ScalarHead, model_shape, selective_log_softmax, serve_cases, setup


class Case:
    def __init__(self, c, pairs):
        torch.manual_seed(0)
        self.c = c
        self.bf16 = c["dtype"] == "bf16"
        self.kind = c["kind"]
        self.model = (LM if self.kind == "dpo" else ScalarHead)(*model_shape(c)).eval()  # dropout off (no dropout modules)
        prompt = torch.tensor(pairs["prompt"], dtype=torch.long)  # (B, P)
        chosen = torch.cat([prompt, torch.tensor(pairs["chosen"], dtype=torch.long)], 1)  # (B, P + R)
        rejected = torch.cat([prompt, torch.tensor(pairs["rejected"], dtype=torch.long)], 1)
        self.B, self.P = prompt.shape
        self.chosen, self.rejected = chosen, rejected
        self.ids = torch.cat([chosen, rejected], 0)  # (2B, L): TRL's concatenated_inputs
        self.mask = torch.ones_like(self.ids)
        self.loss_mask = torch.zeros_like(self.ids, dtype=torch.bool)
        self.loss_mask[:, self.P :] = True  # the response tokens
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=c["lr"], weight_decay=c["weight_decay"], betas=tuple(c["betas"]), eps=1e-8)
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lambda s: max(0.0, 1.0 - s / 1000))
        if self.kind == "dpo":  # reference log-probs, once, from the initial policy (TRL's precompute_ref_log_probs)
            with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
                ref = self.sequence_logps()
            self.ref_chosen, self.ref_rejected = ref[: self.B].float(), ref[self.B :].float()

    def sequence_logps(self):
        """TRL's DPOTrainer.concatenated_forward for a decoder-only model: (2B) summed response log-probs."""
        logits, _ = self.model(self.ids, self.mask)  # (2B, L, V)
        labels = torch.roll(self.ids, shifts=-1, dims=1)
        loss_mask = torch.roll(self.loss_mask, shifts=-1, dims=1)
        labels = labels.masked_fill(~loss_mask, 0)
        per_token = selective_log_softmax(logits, labels)  # (2B, L)
        per_token = per_token.masked_fill(~loss_mask, 0)
        per_token = torch.roll(per_token, shifts=1, dims=1)
        return per_token.sum(-1)  # (2B)

    def scores(self, ids):
        """GPT2ForSequenceClassification: the score head on every position, read at the last real token."""
        mask = torch.ones_like(ids)
        values = self.model(ids, mask)  # (b, L)
        last = mask.sum(1) - 1
        return values[torch.arange(ids.shape[0]), last]  # (b)

    def step(self):
        c = self.c
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            if self.kind == "dpo":
                logps = self.sequence_logps()
                pc, pr = logps[: self.B].float(), logps[self.B :].float()
                logits = (pc - pr) - (self.ref_chosen - self.ref_rejected)
                beta, ls = c["beta"], 0.0
                loss = (-F.logsigmoid(beta * logits) * (1 - ls) - F.logsigmoid(-beta * logits) * ls).mean()
                chosen_rewards = beta * (pc - self.ref_chosen).detach()
                rejected_rewards = beta * (pr - self.ref_rejected).detach()
                stats = torch.stack([chosen_rewards.mean(), rejected_rewards.mean(), (chosen_rewards > rejected_rewards).float().mean(), (chosen_rewards - rejected_rewards).mean()])
            else:
                rc = self.scores(self.chosen).float()
                rr = self.scores(self.rejected).float()
                loss = -F.logsigmoid(rc - rr).mean()
                stats = torch.stack([(rc > rr).float().mean(), (rc - rr).mean()]).detach()
        loss.backward()
        if c["max_grad_norm"] > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), c["max_grad_norm"])
        self.opt.step()
        self.sched.step()
        self.opt.zero_grad(set_to_none=True)
        stats.tolist()
        return loss.item()


def main():
    cfg = setup()
    cases, pairs = cfg["cases"], cfg["pairs"]
    # --rss: 3 steps; --serve: stdin {"case": NAME} → stdout {"ms": N, "loss": L}.
    serve_cases(lambda name: Case(cases[name], pairs), lambda case: case.step(), rss_steps=3)


if __name__ == "__main__":
    main()
