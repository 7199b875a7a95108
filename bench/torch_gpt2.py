"""PyTorch eager GPT-2 on the same shapes as bench/models.ts, for the ratio.

Run by the TypeScript bench with Debian's /usr/bin/python3 (python3-torch 1.13, no transformers):
    /usr/bin/python3 bench/torch_gpt2.py THREADS '{"n_layer": 12, ...}'            one JSON object of ms per case
    /usr/bin/python3 bench/torch_gpt2.py THREADS '{"n_layer": 12, ...}' --serve    one case per stdin line

This is the GPT-2 a PyTorch user gets from transformers' eager path, written out: Conv1D as addmm,
attention as q·kᵀ, causal mask, softmax, ·v; a KV cache grown with torch.cat every step (what
transformers' default tuple cache does); logits for every prompt position; sampling with softmax +
multinomial. bf16 is torch.autocast('cpu', dtype=torch.bfloat16) around the whole call, the usual
mixed-precision path (float32 weights; autocast caches their bf16 copies inside the region).
"""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

from torch_conv1d import Conv1D

args = [a for a in sys.argv[1:] if not a.startswith("--")]
torch.set_num_threads(int(args[0]) if args else torch.get_num_threads())
cfg = json.loads(args[1]) if len(args) > 1 else {}
n_layer = cfg.get("n_layer", 12)
C = cfg.get("n_embd", 768)
nh = cfg.get("n_head", 12)
V = cfg.get("vocab_size", 50257)
P = cfg.get("n_positions", 1024)
torch.manual_seed(0)


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = torch.nn.LayerNorm(C)
        self.c_attn = Conv1D(C, 3 * C)
        self.c_proj = Conv1D(C, C)
        self.ln_2 = torch.nn.LayerNorm(C)
        self.c_fc = Conv1D(C, 4 * C)
        self.mlp_proj = Conv1D(4 * C, C)
        self.register_buffer("bias", torch.tril(torch.ones(P, P, dtype=torch.bool)).view(1, 1, P, P), persistent=False)

    def attn(self, x, past):
        B, T, _ = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, nh, C // nh).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, nh, C // nh).transpose(1, 2)
        v = v.view(B, T, nh, C // nh).transpose(1, 2)
        if past is not None:  # transformers' tuple cache: concatenate the past every step
            k = torch.cat((past[0], k), dim=-2)
            v = torch.cat((past[1], v), dim=-2)
        Tk = k.shape[-2]
        w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(C // nh)  # (B, nh, T, Tk)
        causal = self.bias[:, :, Tk - T : Tk, :Tk]
        w = torch.where(causal, w, torch.tensor(torch.finfo(w.dtype).min, dtype=w.dtype))
        w = F.softmax(w, dim=-1).type(v.dtype)
        y = torch.matmul(w, v).transpose(1, 2).reshape(B, T, C)
        return self.c_proj(y), (k, v)

    def forward(self, x, past):
        a, present = self.attn(self.ln_1(x), past)
        x = x + a
        x = x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))
        return x, present


class GPT2(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = torch.nn.Embedding(V, C)
        self.wpe = torch.nn.Embedding(P, C)
        self.h = torch.nn.ModuleList([Block() for _ in range(n_layer)])
        self.ln_f = torch.nn.LayerNorm(C)

    def forward(self, ids, past=None):
        B, T = ids.shape
        start = 0 if past is None else past[0][0].shape[-2]
        pos = torch.arange(start, start + T).unsqueeze(0)
        x = self.wte(ids) + self.wpe(pos)
        presents = []
        for i, block in enumerate(self.h):
            x, p = block(x, None if past is None else past[i])
            presents.append(p)
        x = self.ln_f(x)
        return F.linear(x, self.wte.weight), presents  # tied head, logits for every position


def generate(model, ids, new_tokens):
    logits, past = model(ids)
    out = []
    for i in range(new_tokens):
        probs = F.softmax(logits[:, -1, :].float(), dim=-1)
        nxt = torch.multinomial(probs, 1)  # (B, 1)
        out.append(nxt)
        if i == new_tokens - 1:
            break
        logits, past = model(nxt, past)
    return torch.cat(out, dim=1)


model = GPT2().eval()
fwd = cfg.get("forward", {"B": 8, "T": 128})
gen = cfg.get("generate", {"batches": [1, 16], "prompt": 32, "new_tokens": 64})
ids = torch.randint(0, V, (fwd["B"], fwd["T"]))
prompts = {B: torch.randint(0, V, (B, gen["prompt"])) for B in gen["batches"]}


def run_case(name, warm):
    """Runs one case once (a short version when warm) and returns its wall time in ms."""
    bf16 = "_bf16" in name
    t0 = time.perf_counter()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        if name.startswith("forward"):
            model(ids)
        else:
            B = int(name.rsplit("_b", 1)[1])
            generate(model, prompts[B], 4 if warm else gen["new_tokens"])
    return (time.perf_counter() - t0) * 1000


CASES = ["forward_fp32", "forward_bf16"] + [f"generate_{d}_b{B}" for B in gen["batches"] for d in ("fp32", "bf16")]

if "--serve" in sys.argv:
    # One case per request, so the TypeScript bench can interleave ours and PyTorch's runs:
    # stdin {"case": NAME, "warm": bool} → stdout {"ms": N}.
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        print(json.dumps({"ms": run_case(req["case"], req.get("warm", False))}), flush=True)
else:
    res = {}
    for name in CASES:
        run_case(name, True)
        res[name] = min(run_case(name, False) for _ in range(cfg.get("iters", 1)))
    print(json.dumps(res))
