"""PyTorch eager SFT training steps on the same shapes as bench/sft.ts, for the ratio.

Run by the TypeScript bench with Debian's /usr/bin/python3 (python3-torch 1.13, no transformers):
    /usr/bin/python3 bench/torch_sft.py THREADS '{"cases": {...}}' --serve        one case per stdin line
    /usr/bin/python3 bench/torch_sft.py THREADS '{"cases": {...}}' --rss CASE     peak RSS (VmHWM) of 3 steps, one JSON line

One step is what a competent PyTorch user writes: model(ids) → logits (B, T, V) → F.cross_entropy →
backward → torch.optim.AdamW step → zero_grad(set_to_none=True). bf16 is torch.autocast('cpu',
dtype=torch.bfloat16) around the forward and the loss, the backward outside it. The GPT-2 is the
minimal one of the other PyTorch benches (Conv1D as addmm, nanoGPT's attention: q·kᵀ, masked_fill,
softmax, ·v; tied head), dropout 0, weights N(0, 0.02) as GPT-2 initialises them.
"""
import json
import math
import resource
import sys
import time

import torch
import torch.nn.functional as F

from torch_conv1d import Conv1D


def rss_mb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


BASE_RSS_MB = rss_mb("VmRSS")  # python + torch loaded, nothing built yet
args = [a for a in sys.argv[1:] if not a.startswith("--")]
torch.set_num_threads(int(args[0]) if args else torch.get_num_threads())
cfg = json.loads(args[1]) if len(args) > 1 else {}
torch.manual_seed(0)


class Block(torch.nn.Module):
    def __init__(self, C, nh, T):
        super().__init__()
        self.nh = nh
        self.ln_1 = torch.nn.LayerNorm(C)
        self.c_attn = Conv1D(C, 3 * C)
        self.c_proj = Conv1D(C, C)
        self.ln_2 = torch.nn.LayerNorm(C)
        self.c_fc = Conv1D(C, 4 * C)
        self.mlp_proj = Conv1D(4 * C, C)
        self.register_buffer("bias", torch.tril(torch.ones(T, T, dtype=torch.bool)).view(1, 1, T, T), persistent=False)

    def attn(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.nh, C // self.nh).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.nh, C // self.nh).transpose(1, 2)
        v = v.view(B, T, self.nh, C // self.nh).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))  # (B, nh, T, T)
        att = att.masked_fill(~self.bias[:, :, :T, :T], torch.finfo(att.dtype).min)
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        return self.c_proj(y)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT2(torch.nn.Module):
    def __init__(self, n_layer, C, nh, V, P):
        super().__init__()
        self.wte = torch.nn.Embedding(V, C)
        self.wpe = torch.nn.Embedding(P, C)
        torch.nn.init.normal_(self.wte.weight, std=0.02)
        torch.nn.init.normal_(self.wpe.weight, std=0.02)
        self.h = torch.nn.ModuleList([Block(C, nh, P) for _ in range(n_layer)])
        self.ln_f = torch.nn.LayerNorm(C)

    def forward(self, ids):
        B, T = ids.shape
        x = self.wte(ids) + self.wpe(torch.arange(T).unsqueeze(0))  # (B, T, C)
        for block in self.h:
            x = block(x)
        return F.linear(self.ln_f(x), self.wte.weight)  # (B, T, V), tied head


class Case:
    def __init__(self, name, c):
        self.bf16 = c["dtype"] == "bf16"
        self.V = c["vocab_size"]
        self.model = GPT2(c["n_layer"], c["n_embd"], c["n_head"], c["vocab_size"], c["n_positions"]).train()
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=c["lr"], weight_decay=0.01)
        self.x = torch.randint(0, self.V, (c["B"], c["T"]))
        self.y = torch.randint(0, self.V, (c["B"], c["T"]))

    def step(self):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            logits = self.model(self.x)  # (B, T, V)
            loss = F.cross_entropy(logits.view(-1, self.V), self.y.view(-1))
        loss.backward()
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        return loss.item()


def main():
    cases = cfg["cases"]
    if "--rss" in sys.argv:
        name = sys.argv[sys.argv.index("--rss") + 1]
        case = Case(name, cases[name])
        for _ in range(3):
            case.step()
        # VmHWM of this address space. resource.getrusage's ru_maxrss would do in a process started
        # from a shell, but Linux carries it over exec from the spawning process (the bench, holding
        # GPT-2 small), so it is only a fallback where /proc is missing.
        peak = rss_mb("VmHWM")
        if peak != peak:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        print(json.dumps({"base_rss_mb": BASE_RSS_MB, "peak_rss_mb": peak}), flush=True)
        return
    # One case at a time, built on first use, so the TypeScript side alternates ours and PyTorch's
    # steps under the same machine load: stdin {"case": NAME} → stdout {"ms": N, "loss": L}.
    built = {}
    print(json.dumps({"ready": True, "torch_version": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        name = json.loads(line)["case"]
        for other in [k for k in built if k != name]:
            del built[other]  # one model in memory at a time
        case = built.get(name) or built.setdefault(name, Case(name, cases[name]))
        t0 = time.perf_counter()
        loss = case.step()
        print(json.dumps({"ms": (time.perf_counter() - t0) * 1000, "loss": loss}), flush=True)


main()
