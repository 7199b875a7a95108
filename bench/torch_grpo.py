"""PyTorch eager GRPO iterations on the same shapes as bench/grpo.ts, for the ratio.

Run by the TypeScript bench with Debian's /usr/bin/python3 (python3-torch 1.13, no transformers, no TRL):
    /usr/bin/python3 bench/torch_grpo.py THREADS '{"cases": {...}, "prompts": [[...], ...]}' --serve     one iteration per stdin line
    /usr/bin/python3 bench/torch_grpo.py THREADS '{"cases": {...}, "prompts": [[...], ...]}' --rss CASE  peak RSS (VmHWM) of one iteration

One iteration is what TRL's GRPOTrainer does per generation batch (num_iterations = 1, one optimizer
step per generation), written out in eager PyTorch:
  generation  each prompt repeated num_generations times (TRL's RepeatSampler), HF-style sampling: the
              prompt forward computes logits for every prompt position, then one token per step with a
              KV cache grown by torch.cat (transformers' tuple cache), softmax + multinomial at
              temperature T. bf16 rollouts run on a bf16 copy of the policy, kept between iterations and
              refreshed with load_state_dict (one cast-copy of the weights) every iteration.
  scoring     the reward model (GPT-2 body + score Linear(C, 1, bias=False), transformers'
              GPT2ForSequenceClassification) on prompt + completion, score at the last token.
  logprobs    the reference's per-token log-probs under no_grad: the LM head only on the positions that
              predict the completion (transformers' logits_to_keep, as TRL's _get_per_token_logps asks),
              / T, TRL's selective_log_softmax. num_iterations = 1: no old-policy pass (TRL uses the
              training forward, detached).
  advantages  rewards viewed (B, G): (r − group mean) / (group std + 1e-4), TRL's scale_rewards="group".
  training    the policy's per-token log-probs the same way (with gradients), entropy from the logits
              under no_grad (logging), coef_1 = exp(lp − lp.detach()), clamp to [1 − ε, 1 + ε_high],
              −min(coef_1·A, coef_2·A) + β·k3 KL, loss_type "dapo" (sum over completion tokens / their
              count), backward, clip_grad_norm_, torch.optim.AdamW step, linear LR schedule, zero_grad;
              TRL's clip-ratio and KL stats under no_grad.
Dropout 0 everywhere; weights N(0, 0.02) as GPT-2 initialises them. The prompts come from the
TypeScript side so both sides feed the same ids. The models, generate and selective_log_softmax are
bench/torch_common.py's.
"""
import sys
import time

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # importing torch_common must not leave bench/__pycache__ behind
from torch_common import LM, ScalarHead, generate, model_shape, selective_log_softmax, serve_cases, setup


def completion_logits(model, ids, mask, P, temperature):
    """transformers' logits_to_keep = R + 1, then TRL drops the last: the LM head on the R positions that
    predict the completion only, divided by the temperature. (B, R, V)."""
    h, _ = model.transformer(ids, mask)  # (B, L, C)
    h = h[:, P - 1 : -1, :]  # (B, R, C)
    return F.linear(h, model.transformer.wte.weight) / temperature


def entropy_from_logits(logits, chunk_size=128):
    """TRL's entropy_from_logits: row chunks of logsumexp − Σ p·logit."""
    flat = logits.reshape(-1, logits.size(-1))
    out = []
    for chunk in flat.split(chunk_size, dim=0):
        logps = F.log_softmax(chunk, dim=-1)
        out.append(-(logps.exp() * logps).sum(-1))
    return torch.cat(out).reshape(logits.shape[:-1])


class Case:
    def __init__(self, c, prompts):
        torch.manual_seed(0)
        self.c = c
        shape = model_shape(c)
        self.policy = LM(*shape)
        self.ref = LM(*shape)
        self.ref.load_state_dict(self.policy.state_dict())  # the reference starts as the policy
        self.reward = ScalarHead(*shape)
        for m in (self.ref, self.reward):
            m.requires_grad_(False)
        for m in (self.policy, self.ref, self.reward):
            m.eval()  # no dropout modules at all; eval for form
        self.gen_model = self.policy
        if c["rollout_dtype"] == "bfloat16":
            self.gen_model = LM(*shape).to(torch.bfloat16).eval()
            self.gen_model.requires_grad_(False)
        G = c["num_generations"]
        self.queries = torch.tensor(prompts, dtype=torch.long).repeat_interleave(G, dim=0)  # (B·G, P), each prompt's G rows consecutive
        hp = c["hp"]
        self.params = list(self.policy.parameters())
        self.opt = torch.optim.AdamW(self.params, lr=hp["lr"], betas=tuple(hp["betas"]), weight_decay=hp["weight_decay"], eps=1e-8)
        total = max(1, c["iterations_planned"])
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lambda s: max(0.0, 1.0 - s / total))

    def iteration(self):
        c, hp = self.c, self.c["hp"]
        G, P, R = c["num_generations"], c["prompt"], c["new_tokens"]
        temp = hp["temperature"]
        N = self.queries.size(0)
        t0 = time.perf_counter()
        # 1. generation
        with torch.no_grad():
            if self.gen_model is not self.policy:
                self.gen_model.load_state_dict(self.policy.state_dict())  # fp32 → bf16 copy of the current policy
            qr = generate(self.gen_model, self.queries, R, temp)  # (N, P + R)
        completion_ids = qr[:, P:].contiguous()  # (N, R)
        mask = torch.ones_like(qr)  # no padding: EOS is off
        completion_mask = torch.ones_like(completion_ids, dtype=torch.float32)
        t1 = time.perf_counter()
        # 2. scoring: the reward model at the last real token
        with torch.no_grad():
            rewards = self.reward(qr, mask)[torch.arange(N), mask.sum(1) - 1]  # (N)
        t2 = time.perf_counter()
        # 3. the reference's per-token log-probs
        with torch.no_grad():
            ref_logps = selective_log_softmax(completion_logits(self.ref, qr, mask, P, temp), completion_ids)  # (N, R)
        t3 = time.perf_counter()
        # 4. group-relative advantages
        grouped = rewards.view(-1, G)
        mean_g = grouped.mean(dim=1).repeat_interleave(G, dim=0)
        std_g = grouped.std(dim=1).repeat_interleave(G, dim=0)
        advantages = (rewards - mean_g) / (std_g + 1e-4)
        advantages.tolist()  # TRL logs them: one host sync
        t4 = time.perf_counter()
        # 5. one optimizer step on the rollout (TRL _compute_loss)
        logits = completion_logits(self.policy, qr, mask, P, temp)  # (N, R, V)
        logps = selective_log_softmax(logits, completion_ids)
        with torch.no_grad():
            entropies = entropy_from_logits(logits.detach())
        del logits
        per_token_kl = torch.exp(ref_logps - logps) - (ref_logps - logps) - 1
        old_logps = logps.detach()
        coef_1 = torch.exp(logps - old_logps)
        coef_2 = torch.clamp(coef_1, 1 - hp["epsilon"], 1 + hp["epsilon_high"])
        per_token_loss = -torch.min(coef_1 * advantages.unsqueeze(1), coef_2 * advantages.unsqueeze(1)) + hp["beta"] * per_token_kl
        loss = (per_token_loss * completion_mask).sum() / completion_mask.sum().clamp(min=1.0)  # dapo, one micro-batch
        loss.backward()
        if hp["max_grad_norm"] > 0:
            torch.nn.utils.clip_grad_norm_(self.params, hp["max_grad_norm"])
        self.opt.step()
        self.sched.step()
        self.opt.zero_grad(set_to_none=True)
        with torch.no_grad():
            A = advantages.unsqueeze(1)
            is_clipped = ((coef_1 < 1 - hp["epsilon"]) & (A < 0)) | ((coef_1 > 1 + hp["epsilon_high"]) & (A > 0))
            stats = torch.stack([
                loss.detach(),
                (per_token_kl * completion_mask).sum() / completion_mask.sum(),
                (is_clipped * completion_mask).sum() / completion_mask.sum(),
                (entropies * completion_mask).sum() / completion_mask.sum(),
            ]).tolist()
        t5 = time.perf_counter()
        t = {"generation": t1 - t0, "scoring": t2 - t1, "logprobs": t3 - t2, "advantages": t4 - t3, "training": t5 - t4, "total": t5 - t0}
        return {"ms": {k: v * 1000 for k, v in t.items()}, "reward": rewards.mean().item(), "loss": stats[0]}


def main():
    cfg = setup()
    cases, prompts = cfg["cases"], cfg["prompts"]
    # --rss: one iteration; --serve: stdin {"case": NAME} → stdout {"ms": {phase: ms}, "reward", "loss"}.
    serve_cases(lambda name: Case(cases[name], prompts), lambda case: case.iteration(), rss_steps=1, timed=False)


if __name__ == "__main__":
    main()
