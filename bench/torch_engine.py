"""PyTorch eager on the same shapes as bench/engine.ts, for the ratio. Prints one JSON object.

Run by the TypeScript bench with Debian's /usr/bin/python3 (python3-torch). The GPT-2 block is the
plain PyTorch a user writes (nanoGPT's attention path: q·kᵀ, masked_fill, softmax, ·v; Conv1D as
addmm), so both sides run the same ATen kernels and the ratio measures the binding's overhead.
"""
import json, math, sys, time
import torch
import torch.nn.functional as F

from torch_conv1d import Conv1D

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else torch.get_num_threads())
torch.manual_seed(0)


def bench(fn, iters, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[len(times) // 2]


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
        self.register_buffer("bias", torch.tril(torch.ones(T, T, dtype=torch.bool)).view(1, 1, T, T))

    def attn(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.nh, C // self.nh).transpose(1, 2)
        k = k.view(B, T, self.nh, C // self.nh).transpose(1, 2)
        v = v.view(B, T, self.nh, C // self.nh).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(~self.bias[:, :, :T, :T], torch.finfo(att.dtype).min)
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        return self.c_proj(y)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


def main():
    """Serves one case per stdin line ({"case": name}) and answers {"ms": median}, so the TypeScript
    side can alternate ours and PyTorch's runs case by case under the same machine load."""
    cfg = json.loads(sys.argv[2])
    n = cfg["matmul_n"]
    a, b = torch.randn(n, n), torch.randn(n, n)
    ab, bb = a.bfloat16(), b.bfloat16()
    B, T, C, nh = cfg["B"], cfg["T"], cfg["C"], cfg["nh"]
    block = Block(C, nh, T)
    x = torch.randn(B, T, C)

    def step():
        y = block(x)
        y.backward(torch.ones_like(y))
        block.zero_grad(set_to_none=True)

    def step_bf16():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = block(x)
        y.float().backward(torch.ones(y.shape))
        block.zero_grad(set_to_none=True)

    cases = {
        "matmul_fp32": (lambda: a @ b, cfg["matmul_iters"]),
        "matmul_bf16": (lambda: ab @ bb, cfg["matmul_iters"]),
        "block_fp32": (step, cfg["block_iters"]),
        "block_bf16": (step_bf16, cfg["block_iters"]),
    }
    print(json.dumps({"ready": True, "torch_version": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        fn, iters = cases[req["case"]]
        print(json.dumps({"ms": bench(fn, iters)}), flush=True)


main()
