"""PyTorch eager PPO iterations on the same shapes as bench/ppo.ts, for the ratio.

Run by the TypeScript bench with Debian's /usr/bin/python3 (python3-torch 1.13, no transformers, no TRL):
    /usr/bin/python3 bench/torch_ppo.py THREADS '{"cases": {...}, "prompts": [[...], ...]}' --serve     one iteration per stdin line
    /usr/bin/python3 bench/torch_ppo.py THREADS '{"cases": {...}, "prompts": [[...], ...]}' --rss CASE  peak RSS (VmHWM) of one iteration

One iteration is what TRL's PPOTrainer does per batch, written out in eager PyTorch:
  generation  HF-style sampling: the prompt forward computes logits for every prompt position, then one
              token per step with a KV cache grown by torch.cat (transformers' tuple cache), softmax +
              multinomial at temperature T. bf16 rollouts run on a bf16 copy of the policy, kept between
              iterations and refreshed with load_state_dict (one cast-copy of the weights) every
              iteration, as a competent user would.
  scoring     the reward model (GPT-2 body + score Linear(C, 1, bias=False), transformers'
              GPT2ForSequenceClassification) on query+response, score at the last token.
  logprobs    policy and reference forwards over the whole batch (full (B, L, V) logits, sliced to the
              response, / (T + 1e-7), TRL's selective_log_softmax), and the value model's forward.
              (Current TRL takes the policy's rollout log-probs from generate's scores; older TRL and
              rlhf recompute them with a forward pass, which this does, so both sides do the same work.)
  advantages  TRL's KL-penalised rewards (k1, score on the last token), GAE (Python loop over T),
              returns, masked whitening.
  training    one PPO epoch of shuffled minibatches: policy + value forwards (full logits), clipped
              policy and value losses, backward, clip_grad_norm_, torch.optim.AdamW step, linear LR
              schedule, zero_grad; TRL's minibatch stats (entropy from the full logits, approx-KL,
              clip fractions) under no_grad.
Dropout 0 everywhere; weights N(0, 0.02) as GPT-2 initialises them. The prompts come from the
TypeScript side so both sides feed the same ids. The models (transformers' eager GPT-2, written out),
generate and selective_log_softmax are bench/torch_common.py's.
"""
import sys
import time

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # importing torch_common must not leave bench/__pycache__ behind
from torch_common import LM, ScalarHead, generate, model_shape, selective_log_softmax, serve_cases, setup

# ---- TRL's helpers --------------------------------------------------------------------------------------


def masked_mean(values, mask, axis=None):
    if axis is not None:
        return (values * mask).sum(axis=axis) / mask.sum(axis=axis)
    return (values * mask).sum() / mask.sum()


def masked_var(values, mask, unbiased=True):
    mean = masked_mean(values, mask)
    centered = values - mean
    variance = masked_mean(centered**2, mask)
    if unbiased:
        n = mask.sum()
        variance = variance * (n / (n - 1))
    return variance


def masked_whiten(values, mask, shift_mean=True):
    mean, var = masked_mean(values, mask), masked_var(values, mask)
    whitened = (values - mean) * torch.rsqrt(var + 1e-8)
    if not shift_mean:
        whitened += mean
    return whitened


# ---- one PPO iteration --------------------------------------------------------------------------------


class Case:
    def __init__(self, c, prompts):
        torch.manual_seed(0)
        self.c = c
        hp = c["hp"]
        shape = model_shape(c)
        self.policy = LM(*shape)
        self.ref = LM(*shape)
        self.ref.load_state_dict(self.policy.state_dict())  # the reference starts as the policy
        self.reward = ScalarHead(*shape)
        self.value = ScalarHead(*shape)
        self.value.load_state_dict(self.reward.state_dict())  # the value model starts from the reward model
        for m in (self.ref, self.reward):
            m.requires_grad_(False)
        for m in (self.policy, self.ref, self.reward, self.value):
            m.eval()  # no dropout modules at all; eval for form
        self.gen_model = self.policy
        if c["rollout_dtype"] == "bfloat16":
            self.gen_model = LM(*shape).to(torch.bfloat16).eval()
            self.gen_model.requires_grad_(False)
        self.queries = torch.tensor(prompts, dtype=torch.long)  # (B, P)
        self.params = list(self.policy.parameters()) + list(self.value.parameters())
        self.opt = torch.optim.AdamW(self.params, lr=hp["lr"], betas=tuple(hp["betas"]), weight_decay=hp["weight_decay"], eps=1e-8)
        total = max(1, c["iterations_planned"] * c["ppo_epochs"] * c["num_mini_batches"])
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lambda s: max(0.0, 1.0 - s / total))

    def iteration(self):
        c, hp = self.c, self.c["hp"]
        B, P, R = c["batch"], c["prompt"], c["new_tokens"]
        temp = hp["temperature"]
        mb = B // c["num_mini_batches"]
        t = {}
        t0 = time.perf_counter()
        # 1. generation
        with torch.no_grad():
            if self.gen_model is not self.policy:
                self.gen_model.load_state_dict(self.policy.state_dict())  # fp32 → bf16 copy of the current policy
            qr = generate(self.gen_model, self.queries, R, temp)  # (B, P + R)
        responses = qr[:, P:].contiguous()  # (B, R)
        mask = torch.ones_like(qr)  # TRL: query_responses != pad (no padding here: EOS is off)
        t1 = time.perf_counter()
        # 2. scoring: the reward model at the last real token
        with torch.no_grad():
            seq_len = mask.sum(1) - 1
            scores = self.reward(qr, mask)[torch.arange(B), seq_len]  # (B)
        t2 = time.perf_counter()
        # 3. policy / reference log-probs and values, full logits then selective log-softmax
        with torch.no_grad():
            logits = self.policy(qr, mask)[0][:, P - 1 : -1] / (temp + 1e-7)  # (B, R, V)
            logprobs = selective_log_softmax(logits, responses)  # (B, R)
            del logits
            ref_logits = self.ref(qr, mask)[0][:, P - 1 : -1] / (temp + 1e-7)
            ref_logprobs = selective_log_softmax(ref_logits, responses)
            del ref_logits
            values = self.value(qr, mask)[:, P - 1 : -1]  # (B, R)
        t3 = time.perf_counter()
        # 4.–5. KL-penalised rewards, GAE, whitening (TRL PPOTrainer)
        with torch.no_grad():
            sequence_lengths = torch.full((B,), R - 1, dtype=torch.long)  # no EOS: every response is R long
            response_idxs = torch.arange(R).repeat(B, 1)
            padding_mask = response_idxs > sequence_lengths.unsqueeze(1)
            logprobs = torch.masked_fill(logprobs, padding_mask, 1.0)
            ref_logprobs = torch.masked_fill(ref_logprobs, padding_mask, 1.0)
            sequence_lengths_p1 = sequence_lengths + 1
            padding_mask_p1 = response_idxs > sequence_lengths_p1.unsqueeze(1)
            values = torch.masked_fill(values, padding_mask_p1, 0)
            kl = logprobs - ref_logprobs
            non_score_reward = -hp["kl_coef"] * kl
            rewards = non_score_reward.clone()
            actual_start = torch.arange(B)
            actual_end = torch.where(sequence_lengths_p1 < R, sequence_lengths_p1, sequence_lengths)
            rewards[[actual_start, actual_end]] += scores
            lastgaelam = 0
            advantages_reversed = []
            for s in reversed(range(R)):
                nextvalues = values[:, s + 1] if s < R - 1 else 0.0
                delta = rewards[:, s] + hp["gamma"] * nextvalues - values[:, s]
                lastgaelam = delta + hp["gamma"] * hp["lam"] * lastgaelam
                advantages_reversed.append(lastgaelam)
            advantages = torch.stack(advantages_reversed[::-1], dim=1)
            returns = advantages + values
            advantages = masked_whiten(advantages, ~padding_mask)
            advantages = torch.masked_fill(advantages, padding_mask, 0)
            mean_kl = kl.sum(1).mean().item()
            mean_score = scores.mean().item()
        t4 = time.perf_counter()
        # 6. one epoch of shuffled minibatches
        stats = []
        for _ in range(c["ppo_epochs"]):
            b_inds = torch.randperm(B)
            for s in range(0, B, mb):
                idx = b_inds[s : s + mb]
                mb_qr, mb_resp, mb_mask = qr[idx], responses[idx], mask[idx]
                logits = self.policy(mb_qr, mb_mask)[0][:, P - 1 : -1] / (temp + 1e-7)  # (b, R, V)
                new_logprobs = selective_log_softmax(logits, mb_resp)
                new_logprobs = torch.masked_fill(new_logprobs, padding_mask[idx], 1.0)
                vpred = self.value(mb_qr, mb_mask)[:, P - 1 : -1]
                vpred = torch.masked_fill(vpred, padding_mask_p1[idx], 0)
                mb_values, mb_return, mb_adv = values[idx], returns[idx], advantages[idx]
                vpredclipped = torch.clamp(vpred, mb_values - hp["clip_range_value"], mb_values + hp["clip_range_value"])
                vf_losses1 = torch.square(vpred - mb_return)
                vf_losses2 = torch.square(vpredclipped - mb_return)
                vf_loss_max = torch.max(vf_losses1, vf_losses2)
                vf_loss = 0.5 * masked_mean(vf_loss_max, ~padding_mask_p1[idx])
                logprobs_diff = new_logprobs - logprobs[idx]
                ratio = torch.exp(logprobs_diff)
                pg_losses = -mb_adv * ratio
                pg_losses2 = -mb_adv * torch.clamp(ratio, 1.0 - hp["clip_range"], 1.0 + hp["clip_range"])
                pg_loss = masked_mean(torch.max(pg_losses, pg_losses2), ~padding_mask[idx])
                loss = pg_loss + hp["vf_coef"] * vf_loss
                loss.backward()
                if hp["max_grad_norm"] > 0:
                    torch.nn.utils.clip_grad_norm_(self.params, hp["max_grad_norm"])
                self.opt.step()
                self.sched.step()
                self.opt.zero_grad(set_to_none=True)
                with torch.no_grad():
                    pg_clipfrac = masked_mean((pg_losses2 > pg_losses).float(), ~padding_mask[idx])
                    prob_dist = F.softmax(logits, dim=-1)
                    entropy = torch.logsumexp(logits, dim=-1) - torch.sum(prob_dist * logits, dim=-1)
                    approxkl = 0.5 * (logprobs_diff**2).mean()
                    stats.append(torch.stack([pg_loss.detach(), vf_loss.detach(), pg_clipfrac, entropy.mean(), approxkl]))
                del logits, prob_dist, entropy
        loss_mean = torch.stack(stats).mean(0)[0].item()
        t5 = time.perf_counter()
        t = {"generation": t1 - t0, "scoring": t2 - t1, "logprobs": t3 - t2, "advantages": t4 - t3, "training": t5 - t4, "total": t5 - t0}
        return {"ms": {k: v * 1000 for k, v in t.items()}, "kl": mean_kl, "score": mean_score, "loss": loss_mean}


def main():
    cfg = setup()
    cases, prompts = cfg["cases"], cfg["prompts"]
    # --rss: one iteration; --serve: stdin {"case": NAME} → stdout {"ms": {phase: ms}, "kl", "score", "loss"}.
    serve_cases(lambda name: Case(cases[name], prompts), lambda case: case.iteration(), rss_steps=1, timed=False)


if __name__ == "__main__":
    main()
