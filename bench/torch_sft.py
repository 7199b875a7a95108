"""PyTorch eager SFT training steps on the same shapes as bench/sft.ts, for the ratio.

Run by the TypeScript bench with Debian's /usr/bin/python3 (python3-torch 1.13, no transformers):
    /usr/bin/python3 bench/torch_sft.py THREADS '{"cases": {...}}' --serve        one case per stdin line
    /usr/bin/python3 bench/torch_sft.py THREADS '{"cases": {...}}' --rss CASE     peak RSS (VmHWM) of 3 steps, one JSON line

One step is what a competent PyTorch user writes: model(ids) → logits (B, T, V) → F.cross_entropy →
backward → torch.optim.AdamW step → zero_grad(set_to_none=True). bf16 is torch.autocast('cpu',
dtype=torch.bfloat16) around the forward and the loss, the backward outside it. The GPT-2 is
bench/torch_common.py's with nanoGPT's attention (Conv1D as addmm, q·kᵀ, masked_fill, softmax, ·v;
tied head), dropout 0, weights N(0, 0.02) as GPT-2 initialises them.
"""
import sys

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # importing torch_common must not leave bench/__pycache__ behind
from torch_common import LM, model_shape, serve_cases, setup

cfg = setup()
torch.manual_seed(0)


class Case:
    def __init__(self, name, c):
        self.bf16 = c["dtype"] == "bf16"
        self.V = c["vocab_size"]
        self.model = LM(*model_shape(c), hf=False).train()
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=c["lr"], weight_decay=0.01)
        self.x = torch.randint(0, self.V, (c["B"], c["T"]))
        self.y = torch.randint(0, self.V, (c["B"], c["T"]))

    def step(self):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            logits = self.model(self.x)[0]  # (B, T, V)
            loss = F.cross_entropy(logits.view(-1, self.V), self.y.view(-1))
        loss.backward()
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        return loss.item()


def main():
    cases = cfg["cases"]
    # --rss: 3 steps; --serve: stdin {"case": NAME} → stdout {"ms": N, "loss": L}.
    serve_cases(lambda name: Case(name, cases[name]), lambda case: case.step(), rss_steps=3)


main()
