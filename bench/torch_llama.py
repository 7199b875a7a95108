"""PyTorch eager Llama on the same shapes as bench/llama.ts, for the ratio.

Run by the TypeScript bench with Debian's /usr/bin/python3 (python3-torch 1.13, no transformers):
    /usr/bin/python3 bench/torch_llama.py THREADS '{"model": {...}, ...}'            one JSON object of ms per case
    /usr/bin/python3 bench/torch_llama.py THREADS '{"model": {...}, ...}' --serve    one case per stdin line

This is the Llama a PyTorch user gets from transformers' eager path (LlamaForCausalLM with
attn_implementation="eager"), written out: RMSNorm in float32, rotary embeddings (cos/sin from
inv_freq · positions, rotate_half), q/k/v/o and SwiGLU as nn.Linear, k/v heads repeated to the query
heads (repeat_kv), scores · head_dim^-0.5 plus an additive causal mask, softmax in float32, a KV cache
grown with torch.cat every step, logits for every prompt position, sampling with softmax + multinomial.
Training: logits → F.cross_entropy → backward → torch.optim.AdamW. bf16: forward on a frozen model cast
to bfloat16 (model.to(torch.bfloat16)); training and generation under torch.autocast('cpu',
dtype=torch.bfloat16) over float32 weights.
"""
import json
import sys
import time

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # importing torch_common must not leave bench/__pycache__ behind
from torch_common import serve, setup

cfg = setup()
torch.manual_seed(0)
M = cfg["model"]
V = M["vocab_size"]


class RMSNorm(torch.nn.Module):
    def __init__(self, C, eps):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(C))
        self.eps = eps

    def forward(self, x):
        x32 = x.float()
        return self.weight * (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Layer(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        C, I = m["hidden_size"], m["intermediate_size"]
        self.nh, self.nkv = m["num_attention_heads"], m["num_key_value_heads"]
        self.hd = C // self.nh
        lin = lambda i, o: torch.nn.Linear(i, o, bias=False)  # noqa: E731
        self.input_layernorm = RMSNorm(C, m["rms_norm_eps"])
        self.q_proj, self.k_proj = lin(C, self.nh * self.hd), lin(C, self.nkv * self.hd)
        self.v_proj, self.o_proj = lin(C, self.nkv * self.hd), lin(self.nh * self.hd, C)
        self.post_attention_layernorm = RMSNorm(C, m["rms_norm_eps"])
        self.gate_proj, self.up_proj, self.down_proj = lin(C, I), lin(C, I), lin(I, C)

    def forward(self, x, cos, sin, mask, past):
        B, T, _ = x.shape
        a = self.input_layernorm(x)
        q = self.q_proj(a).view(B, T, self.nh, self.hd).transpose(1, 2)  # (B, nh, T, hd)
        k = self.k_proj(a).view(B, T, self.nkv, self.hd).transpose(1, 2)  # (B, nkv, T, hd)
        v = self.v_proj(a).view(B, T, self.nkv, self.hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        if past is not None:  # transformers' DynamicCache: concatenate the past every step
            k, v = torch.cat((past[0], k), dim=2), torch.cat((past[1], v), dim=2)
        present = (k, v)
        rep, Tk = self.nh // self.nkv, k.shape[2]
        k = k[:, :, None].expand(B, self.nkv, rep, Tk, self.hd).reshape(B, self.nh, Tk, self.hd)  # repeat_kv
        v = v[:, :, None].expand(B, self.nkv, rep, Tk, self.hd).reshape(B, self.nh, Tk, self.hd)
        w = torch.matmul(q, k.transpose(2, 3)) * self.hd**-0.5
        if mask is not None:
            w = w + mask
        w = F.softmax(w, dim=-1, dtype=torch.float32).to(q.dtype)
        y = torch.matmul(w, v).transpose(1, 2).reshape(B, T, self.nh * self.hd)
        x = x + self.o_proj(y)
        m = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(m)) * self.up_proj(m)), present


class Llama(torch.nn.Module):
    """LlamaForCausalLM, tied head; weights N(0, 0.02) as transformers initialises them."""

    def __init__(self, m):
        super().__init__()
        self.embed_tokens = torch.nn.Embedding(V, m["hidden_size"])
        self.layers = torch.nn.ModuleList([Layer(m) for _ in range(m["num_hidden_layers"])])
        self.norm = RMSNorm(m["hidden_size"], m["rms_norm_eps"])
        for p in self.parameters():
            if p.dim() == 2:
                torch.nn.init.normal_(p, std=0.02)
        hd = m["hidden_size"] // m["num_attention_heads"]
        self.register_buffer("inv_freq", 1.0 / (m["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd)), persistent=False)

    def forward(self, ids, past=None):
        B, T = ids.shape
        start = 0 if past is None else past[0][0].shape[2]
        x = self.embed_tokens(ids)
        pos = torch.arange(start, start + T)[None].expand(B, T)
        with torch.autocast("cpu", enabled=False):  # transformers computes the rotary angles in float32
            freqs = (self.inv_freq[None, :, None].float().expand(B, -1, 1) @ pos[:, None, :].float()).transpose(1, 2)
            emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos().to(x.dtype)[:, None], emb.sin().to(x.dtype)[:, None]  # (B, 1, T, hd)
        mask = None
        if T > 1:  # additive causal mask (B, 1, T, Tk), as transformers' eager path builds it
            Tk = start + T
            allowed = torch.ones(T, Tk, dtype=torch.bool).tril(start)
            mask = torch.zeros(T, Tk, dtype=x.dtype).masked_fill(~allowed, torch.finfo(x.dtype).min)[None, None]
        presents = []
        for i, layer in enumerate(self.layers):
            x, p = layer(x, cos, sin, mask, None if past is None else past[i])
            presents.append(p)
        h = self.norm(x)
        return F.linear(h, self.embed_tokens.weight), presents  # (B, T, V)


def generate(model, ids, new_tokens):
    """transformers-style sampling: full logits on the prompt, torch.cat KV cache, softmax + multinomial."""
    logits, past = model(ids)
    out = [ids]
    for i in range(new_tokens):
        nxt = torch.multinomial(F.softmax(logits[:, -1, :].float(), dim=-1), 1)  # (B, 1)
        out.append(nxt)
        if i == new_tokens - 1:
            break
        logits, past = model(nxt, past=past)
    return torch.cat(out, dim=1)


fwd, tr, gen = cfg["forward"], cfg["train"], cfg["generate"]
ids = torch.randint(0, V, (fwd["B"], fwd["T"]))
train_x, train_y = torch.randint(0, V, (tr["B"], tr["T"])), torch.randint(0, V, (tr["B"], tr["T"]))
prompts = {B: torch.randint(0, V, (B, gen["prompt"])) for B in gen["batches"]}
models = {}


def get(kind):
    """The case's model, built on first use: 'policy' (float32, eval), 'frozen' (bf16 weights), 'train' (+ AdamW)."""
    if kind not in models:
        m = Llama(M)
        if kind == "frozen":
            m = m.to(torch.bfloat16)
        if kind == "train":
            models[kind] = (m.train(), torch.optim.AdamW(m.parameters(), lr=tr["lr"], weight_decay=0.01))
        else:
            models[kind] = m.eval()
    return models[kind]


def run_case(name, warm):
    """Runs one case once (a short version when warm) and returns its wall time in ms."""
    bf16 = "_bf16" in name
    t0 = time.perf_counter()
    if name.startswith("forward"):
        with torch.no_grad():
            get("frozen" if bf16 else "policy")(ids)
    elif name.startswith("train"):
        model, opt = get("train")
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(train_x)[0]
            loss = F.cross_entropy(logits.reshape(-1, V).float(), train_y.view(-1))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        loss.item()
    else:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            generate(get("policy"), prompts[int(name.rsplit("_b", 1)[1])], 4 if warm else gen["new_tokens"])
    return (time.perf_counter() - t0) * 1000


CASES = ["forward_fp32", "forward_bf16", "train_fp32", "train_bf16"] + [f"generate_{d}_b{B}" for B in gen["batches"] for d in ("fp32", "bf16")]

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
