"""PyTorch eager on the same shapes as bench/engine.ts, for the ratio. Prints one JSON object.

Run by the TypeScript bench with Debian's /usr/bin/python3 (python3-torch). The GPT-2 block is the
plain PyTorch a user writes (bench/torch_common.py's Block with nanoGPT's attention path: q·kᵀ,
masked_fill, softmax, ·v; Conv1D as addmm), so both sides run the same ATen kernels and the ratio
measures the binding's overhead.
"""
import json, sys, time
import torch

sys.dont_write_bytecode = True  # importing torch_common must not leave bench/__pycache__ behind
from torch_common import Block, serve

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


def main():
    """Serves one case per stdin line ({"case": name}) and answers {"ms": median}, so the TypeScript
    side can alternate ours and PyTorch's runs case by case under the same machine load."""
    cfg = json.loads(sys.argv[2])
    n = cfg["matmul_n"]
    a, b = torch.randn(n, n), torch.randn(n, n)
    ab, bb = a.bfloat16(), b.bfloat16()
    B, T, C, nh = cfg["B"], cfg["T"], cfg["C"], cfg["nh"]
    block = Block(C, nh, T, hf=False)
    x = torch.randn(B, T, C)

    def step():
        y, _ = block(x)
        y.backward(torch.ones_like(y))
        block.zero_grad(set_to_none=True)

    def step_bf16():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y, _ = block(x)
        y.float().backward(torch.ones(y.shape))
        block.zero_grad(set_to_none=True)

    cases = {
        "matmul_fp32": (lambda: a @ b, cfg["matmul_iters"]),
        "matmul_bf16": (lambda: ab @ bb, cfg["matmul_iters"]),
        "block_fp32": (step, cfg["block_iters"]),
        "block_bf16": (step_bf16, cfg["block_iters"]),
    }

    def answer(req):
        fn, iters = cases[req["case"]]
        return {"ms": bench(fn, iters)}

    serve(answer, torch_version=torch.__version__, threads=torch.get_num_threads())


main()
