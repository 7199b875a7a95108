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
import sys
import time

import torch

sys.dont_write_bytecode = True  # importing torch_common must not leave bench/__pycache__ behind
from torch_common import LM, generate, serve, setup

cfg = setup()
torch.manual_seed(0)
V = cfg.get("vocab_size", 50257)
# bench/torch_common.py's GPT-2 (transformers' attention path); embeddings keep PyTorch's default init.
model = LM(cfg.get("n_layer", 12), cfg.get("n_embd", 768), cfg.get("n_head", 12), V, cfg.get("n_positions", 1024), init_std=None).eval()
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
    serve(lambda req: {"ms": run_case(req["case"], req.get("warm", False))})
else:
    res = {}
    for name in CASES:
        run_case(name, True)
        res[name] = min(run_case(name, False) for _ in range(cfg.get("iters", 1)))
    print(json.dumps(res))
