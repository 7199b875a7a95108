"""What the PyTorch sides of the benchmarks share: transformers' Conv1D, a GPT-2 written out in eager
PyTorch (two attention paths, see Block), HF-style sampling, TRL's selective_log_softmax, the
command line, the serve loop and the peak-RSS measurement.

The scripts are run as `/usr/bin/python3 bench/torch_X.py THREADS 'CONFIG-JSON' [--serve | --rss CASE]`
(python3-torch 1.13, no transformers, no TRL), so this directory is on sys.path; each sets
sys.dont_write_bytecode before importing this module, so no bench/__pycache__ is left behind.
"""
import json
import math
import resource
import sys
import time

import torch
import torch.nn.functional as F


def rss_mb(field):
    """VmRSS / VmHWM of this process in MB, from /proc/self/status (NaN without /proc)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


BASE_RSS_MB = rss_mb("VmRSS")  # python + torch loaded, nothing built yet


def peak_rss_mb():
    """VmHWM of this address space. resource.getrusage's ru_maxrss would do in a process started from a
    shell, but Linux carries it over exec from the spawning process (the bench, holding its own models),
    so it is only a fallback where /proc is missing."""
    peak = rss_mb("VmHWM")
    if peak != peak:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return peak


def setup():
    """THREADS and CONFIG-JSON from the command line (flags skipped): sets the thread count, returns the config."""
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    torch.set_num_threads(int(args[0]) if args else torch.get_num_threads())
    return json.loads(args[1]) if len(args) > 1 else {}


def serve(answer, **ready):
    """One request per stdin line (JSON) → answer(request), one JSON line on stdout; a ready line first."""
    print(json.dumps({"ready": True, **ready}), flush=True)
    for line in sys.stdin:
        print(json.dumps(answer(json.loads(line))), flush=True)


def serve_cases(build, step, rss_steps, timed=True):
    """The training benches' main. `--rss CASE`: build the case, run `rss_steps` steps, print one line
    {"base_rss_mb", "peak_rss_mb"}. Otherwise serve one step per request, so the TypeScript side
    alternates ours and PyTorch's steps under the same machine load: stdin {"case": NAME} → stdout
    {"ms": N, "loss": L} (timed: step returns the loss) or step's own answer; cases are built on first
    use, one case's models in memory at a time."""
    if "--rss" in sys.argv:
        case = build(sys.argv[sys.argv.index("--rss") + 1])
        for _ in range(rss_steps):
            step(case)
        print(json.dumps({"base_rss_mb": BASE_RSS_MB, "peak_rss_mb": peak_rss_mb()}), flush=True)
        return
    built = {}

    def answer(req):
        name = req["case"]
        for other in [k for k in built if k != name]:
            del built[other]  # one case's models in memory at a time
        case = built.get(name) or built.setdefault(name, build(name))
        if not timed:
            return step(case)
        t0 = time.perf_counter()
        loss = step(case)
        return {"ms": (time.perf_counter() - t0) * 1000, "loss": loss}

    serve(answer, torch_version=torch.__version__, threads=torch.get_num_threads())


# ---- the model ------------------------------------------------------------------------------------------


class Conv1D(torch.nn.Module):
    """transformers' Conv1D: y = b + x·W with W stored (in, out), one addmm."""

    def __init__(self, nin, nout):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(nin, nout) * 0.02)
        self.bias = torch.nn.Parameter(torch.zeros(nout))

    def forward(self, x):
        s = x.shape[:-1] + (self.weight.shape[1],)
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).view(s)


class Block(torch.nn.Module):
    """A GPT-2 block (pre-LN attention + tanh-GELU MLP, Conv1D as addmm). Attention is either
    transformers' eager GPT2Attention (hf=True: causal mask by torch.where, / sqrt(hs), an additive
    padding mask, a KV cache grown by torch.cat every step, the softmax cast back to v's dtype) or
    nanoGPT's (hf=False: q·kᵀ · 1/sqrt(hs), masked_fill, softmax, ·v; no cache, no padding mask).
    forward returns (x, (k, v))."""

    def __init__(self, C, nh, P, hf=True):
        super().__init__()
        self.nh, self.hf = nh, hf
        self.ln_1 = torch.nn.LayerNorm(C)
        self.c_attn = Conv1D(C, 3 * C)
        self.c_proj = Conv1D(C, C)
        self.ln_2 = torch.nn.LayerNorm(C)
        self.c_fc = Conv1D(C, 4 * C)
        self.mlp_proj = Conv1D(4 * C, C)
        self.register_buffer("bias", torch.tril(torch.ones(P, P, dtype=torch.bool)).view(1, 1, P, P), persistent=False)

    def attn(self, x, past, add_mask):
        B, T, C = x.shape
        nh = self.nh
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, nh, C // nh).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, nh, C // nh).transpose(1, 2)
        v = v.view(B, T, nh, C // nh).transpose(1, 2)
        if not self.hf:  # nanoGPT
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))  # (B, nh, T, T)
            att = att.masked_fill(~self.bias[:, :, :T, :T], torch.finfo(att.dtype).min)
            att = F.softmax(att, dim=-1)
            y = (att @ v).transpose(1, 2).reshape(B, T, C)
            return self.c_proj(y), (k, v)
        if past is not None:  # transformers' tuple cache: concatenate the past every step
            k = torch.cat((past[0], k), dim=-2)
            v = torch.cat((past[1], v), dim=-2)
        Tk = k.shape[-2]
        w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(C // nh)  # (B, nh, T, Tk)
        causal = self.bias[:, :, Tk - T : Tk, :Tk]
        w = torch.where(causal, w, torch.tensor(torch.finfo(w.dtype).min, dtype=w.dtype))
        if add_mask is not None:  # (B, 1, 1, Tk) additive padding mask, as transformers adds it
            w = w + add_mask
        w = F.softmax(w, dim=-1).type(v.dtype)
        y = torch.matmul(w, v).transpose(1, 2).reshape(B, T, C)
        return self.c_proj(y), (k, v)

    def forward(self, x, past=None, add_mask=None):
        a, present = self.attn(self.ln_1(x), past, add_mask)
        x = x + a
        x = x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))
        return x, present


class GPT2Body(torch.nn.Module):
    """transformers' GPT2Model: hidden states after ln_f; attention_mask → position ids and an additive mask.
    Embeddings N(0, init_std) as GPT-2 initialises them (init_std None: PyTorch's default N(0, 1))."""

    def __init__(self, n_layer, C, nh, V, P, hf=True, init_std=0.02):
        super().__init__()
        self.wte = torch.nn.Embedding(V, C)
        self.wpe = torch.nn.Embedding(P, C)
        if init_std is not None:
            torch.nn.init.normal_(self.wte.weight, std=init_std)
            torch.nn.init.normal_(self.wpe.weight, std=init_std)
        self.h = torch.nn.ModuleList([Block(C, nh, P, hf) for _ in range(n_layer)])
        self.ln_f = torch.nn.LayerNorm(C)

    def forward(self, ids, attention_mask=None, past=None):
        B, T = ids.shape
        start = 0 if past is None else past[0][0].shape[-2]
        if attention_mask is not None:  # TRL: position_ids = cumsum(mask) − mask
            pos = attention_mask.cumsum(1) - attention_mask.long()
            x = self.wte(ids) + self.wpe(pos)
            add_mask = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        else:
            x = self.wte(ids) + self.wpe(torch.arange(start, start + T).unsqueeze(0))
            add_mask = None
        presents = []
        for i, block in enumerate(self.h):
            x, p = block(x, None if past is None else past[i], add_mask)
            if past is not None or attention_mask is None:
                presents.append(p)
        return self.ln_f(x), presents


class LM(torch.nn.Module):
    """GPT2LMHeadModel: tied head, logits for every position."""

    def __init__(self, n_layer, C, nh, V, P, hf=True, init_std=0.02):
        super().__init__()
        self.transformer = GPT2Body(n_layer, C, nh, V, P, hf, init_std)

    def forward(self, ids, attention_mask=None, past=None):
        h, presents = self.transformer(ids, attention_mask, past)
        return F.linear(h, self.transformer.wte.weight), presents  # (B, T, V)


class ScalarHead(torch.nn.Module):
    """GPT2ForSequenceClassification with num_labels = 1: the reward and the value model."""

    def __init__(self, n_layer, C, nh, V, P):
        super().__init__()
        self.transformer = GPT2Body(n_layer, C, nh, V, P)
        self.score = torch.nn.Linear(C, 1, bias=False)
        torch.nn.init.normal_(self.score.weight, std=0.02)

    def forward(self, ids, attention_mask=None):
        h, _ = self.transformer(ids, attention_mask)
        return self.score(h).squeeze(-1)  # (B, T)


def model_shape(c):
    """A case's (n_layer, C, nh, V, P), the models' positional arguments."""
    return (c["n_layer"], c["n_embd"], c["n_head"], c["vocab_size"], c["n_positions"])


def generate(model, ids, new_tokens, temperature=1.0):
    """HF-style sampling: full logits on the prompt, torch.cat KV cache, softmax + multinomial.
    Returns (B, P + new_tokens)."""
    logits, past = model(ids)
    out = [ids]
    for i in range(new_tokens):
        nl = logits[:, -1, :].float()
        if temperature != 1.0:  # transformers skips the temperature warper at T = 1
            nl = nl / temperature
        nxt = torch.multinomial(F.softmax(nl, dim=-1), 1)  # (B, 1)
        out.append(nxt)
        if i == new_tokens - 1:
            break
        logits, past = model(nxt, past=past)
    return torch.cat(out, dim=1)  # (B, P + R)


def selective_log_softmax(logits, index):
    """TRL's selective_log_softmax: gather the chosen logits, subtract a per-row logsumexp (a loop, to bound memory)."""
    if logits.dtype in (torch.float32, torch.float64):
        selected = torch.gather(logits, dim=-1, index=index.unsqueeze(-1)).squeeze(-1)
        lse = torch.stack([torch.logsumexp(lg, dim=-1) for lg in logits])
        return selected - lse
    out = []
    for row_logits, row_labels in zip(logits, index):
        row_logps = F.log_softmax(row_logits, dim=-1)
        out.append(row_logps.gather(dim=-1, index=row_labels.unsqueeze(-1)).squeeze(-1))
    return torch.stack(out)
