// Fused linear + log-softmax + gather: log softmax(h·Wᵀ / τ)[y] for every row, forward and
// backward, without ever holding the full (N, V) logits — the language-model head of a trainer,
// where V (50257 for GPT-2) makes the logits the largest tensor of the step. The same idea as Liger
// Kernel's fused linear cross-entropy and Cut Cross-Entropy (Wijmans et al., 2024): rows go through
// in chunks, and a chunk's logits (R, V) live for one loop iteration only.
//
// linearLogProbs — per-row log-probs (PPO, DPO: each row's gradient weight ḡ_r comes later):
//   forward, rows r of a chunk:   z = h_r·Wᵀ / τ                 (R, V)
//                                 lse_r = log Σ_v exp z_rv        (R)
//                                 lp_r = z_r,y_r − lse_r           (0 where y_r = ignoreIndex)
//                                 H_r = −Σ_v p_rv·log p_rv,  p = exp(z − lse)   (optional, no grad)
//   backward (z recomputed):      g_z = ḡ·(onehot(y) − p),  g_logits = g_z / τ
//                                 ∂h_r = g_logits·W,  ∂W += g_logitsᵀ·h_r
//   Saved for backward: hidden, weight, targets and lse (N) — O(N·C + V·C) memory, never O(N·V).
//
// linearCrossEntropy — one loss, −Σ lp_r (÷ the number of kept targets for the mean): its gradient
//   is known up to the scalar ḡ during the forward, so the forward computes ∂loss/∂h (N, C) and
//   ∂loss/∂W (V, C) right away (as Liger Kernel does) and the backward only scales them by ḡ: three
//   products per chunk instead of four, no recomputation.
//
// Under autocast the chunk products run in the autocast dtype (bf16 on CPU) and everything after
// them (logsumexp, softmax, gradient accumulation) in float32; the autocast state seen by forward is
// captured and applied again in backward, as torch.amp's custom_fwd / custom_bwd do.
#include "tensor.h"

#include <ATen/autocast_mode.h>
#include <ATen/core/grad_mode.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/csrc/autograd/custom_function.h>
#include <algorithm>
#include <cmath>
#include <utility>

namespace rlhf {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Default chunk size. Every chunk reads all of W (V·C) once per product (three or four of them),
// while its own work grows with R·V, so R ∝ C keeps W's traffic a fixed share of the work:
// R = C·(bytes per element of the products)/2 — 128 rows in bf16 and 256 in float32 for C = 128,
// 768 / 1536 for GPT-2 small's C = 768 — but at least 4 MB and at most 128 MB of float32 logits per
// chunk. Measured on the 2-core CPU machines (V = 50257, linearLogProbs forward + backward): C = 128
// in bf16, 64–128-row chunks run 1.8× faster than one 1024-row chunk (a chunk's buffers stay in cache
// across the softmax passes); C = 768, 512-row chunks 1.4× faster than 83-row ones.
constexpr int64_t kMinChunkBytes = 4ll << 20;
constexpr int64_t kMaxChunkBytes = 128ll << 20;

int64_t ChunkRows(int64_t requested, int64_t N, int64_t V, int64_t C, at::ScalarType cdtype) {
  int64_t rows = requested;
  if (rows <= 0) {
    const int64_t rowBytes = std::max<int64_t>(1, V * 4);  // one float32 row of logits
    rows = C * (int64_t)c10::elementSize(cdtype) / 2;
    rows = std::max(rows, kMinChunkBytes / rowBytes);
    rows = std::min(rows, kMaxChunkBytes / rowBytes);
  }
  return std::max<int64_t>(1, std::min<int64_t>(rows, std::max<int64_t>(N, 1)));
}

// The dtype the products run in: the autocast dtype when autocast is on for this device type and
// the inputs are float32/bf16/fp16 (autocast leaves float64 alone), else the inputs' own dtype.
at::ScalarType ComputeDtype(const char* op, const at::Tensor& hidden, const at::Tensor& weight) {
  bool enabled = false;
  at::ScalarType dtype = hidden.scalar_type();
  if (hidden.device().is_cpu()) {
    enabled = at::autocast::is_cpu_enabled();
    if (enabled) dtype = at::autocast::get_autocast_cpu_dtype();
  } else if (hidden.device().is_cuda()) {
    enabled = at::autocast::is_enabled();
    if (enabled) dtype = at::autocast::get_autocast_gpu_dtype();
  }
  auto eligible = [](at::ScalarType s) { return s == at::kFloat || s == at::kBFloat16 || s == at::kHalf; };
  if (enabled && eligible(hidden.scalar_type()) && eligible(weight.scalar_type())) return dtype;
  if (hidden.scalar_type() != weight.scalar_type())
    throw std::invalid_argument(std::string(op) + ": hidden is " + c10::toString(hidden.scalar_type()) + " but weight is " +
                                c10::toString(weight.scalar_type()) + "; convert one of them, or call it under autocast");
  return hidden.scalar_type();
}

// Statistics accumulate in float32 (float64 for float64 inputs: the exact path gradchecks use).
at::ScalarType AccumulateDtype(const at::Tensor& hidden) { return hidden.scalar_type() == at::kDouble ? at::kDouble : at::kFloat; }

// The (R, V) buffers one call reuses for every chunk, so that no chunk allocates anything of size V
// (fresh large allocations are fresh pages from the kernel, each one a page fault): the tempered
// logits in the accumulate dtype, and the products in the compute dtype when that is lower (bf16).
struct ChunkBuffers {
  at::Tensor acc;  // (R, V) float32
  at::Tensor low;  // (R, V) bf16/fp16, or undefined when the products run in the accumulate dtype

  ChunkBuffers(int64_t R, int64_t V, const at::TensorOptions& o, at::ScalarType acc, at::ScalarType cdtype)
      : acc(at::empty({R, V}, o.dtype(acc))), low(cdtype == acc ? at::Tensor() : at::empty({R, V}, o.dtype(cdtype))) {}

  // z = h·Wᵀ / τ for the chunk's len rows: a (len, V) view of the buffer. hc and wc are in the compute dtype.
  at::Tensor Logits(const at::Tensor& hc, const at::Tensor& wc, double temperature) {
    const int64_t len = hc.size(0);
    auto z = acc.narrow(0, 0, len);
    if (low.defined()) {
      auto zl = low.narrow(0, 0, len);
      at::mm_out(zl, hc, wc.t());
      z.copy_(zl);
    } else {
      at::mm_out(z, hc, wc.t());
    }
    if (temperature != 1.0) z.div_(temperature);
    return z;
  }

  // x (len, V) in the compute dtype: x itself, or its copy in the low buffer.
  at::Tensor Lower(const at::Tensor& x) {
    if (!low.defined()) return x;
    auto xl = low.narrow(0, 0, x.size(0));
    xl.copy_(x);
    return xl;
  }
};

// ∂h and ∂W from each chunk's gradient w.r.t. its logits g (R, V), in the compute dtype:
//   ∂h_r = g·W for the chunk's rows,  ∂W = Σ_chunks gᵀ·h_r, accumulated in float32 — with addmm_
// straight into it when the products run in float32 (β = 0 on the first chunk), else through a
// (V, C) buffer in the compute dtype.
struct HeadGrads {
  at::Tensor gh;     // (N, C) in hidden's dtype, or undefined
  at::Tensor gw;     // (V, C) in the accumulate dtype, or undefined
  at::Tensor gwLow;  // (V, C) in the compute dtype when that is lower
  at::ScalarType cdtype;

  HeadGrads(bool needH, bool needW, const at::Tensor& hidden, const at::Tensor& weight, at::ScalarType acc, at::ScalarType cdtype) : cdtype(cdtype) {
    const int64_t V = weight.size(0), C = weight.size(1);
    if (needH) gh = at::empty_like(hidden, at::MemoryFormat::Contiguous);
    if (needW) gw = at::empty({V, C}, weight.options().dtype(acc));
    if (needW && cdtype != acc) gwLow = at::empty({V, C}, weight.options().dtype(cdtype));
  }

  // One chunk starting at row s: g (R, V), hc (R, C) and wc (V, C), all in the compute dtype.
  void Add(int64_t s, const at::Tensor& g, const at::Tensor& hc, const at::Tensor& wc) {
    if (gh.defined()) {
      auto ghc = gh.narrow(0, s, g.size(0));                                         // (R, C)
      if (ghc.scalar_type() == cdtype) at::mm_out(ghc, g, wc);
      else ghc.copy_(at::mm(g, wc));
    }
    if (gw.defined()) {
      if (!gwLow.defined()) {
        gw.addmm_(g.t(), hc, s == 0 ? 0 : 1);                                        // (V, R)·(R, C)
      } else {
        at::mm_out(gwLow, g.t(), hc);
        if (s == 0) gw.copy_(gwLow);
        else gw.add_(gwLow);
      }
    }
  }

  // [∂h, ∂W in weight's dtype] once every chunk is in.
  std::pair<at::Tensor, at::Tensor> Finish(int64_t N, at::ScalarType weightDtype) {
    if (gw.defined() && N == 0) gw.zero_();  // no chunk ran
    gwLow = at::Tensor();
    return {gh, gw.defined() && gw.scalar_type() != weightDtype ? gw.to(weightDtype) : gw};
  }
};

struct LinearLogProbsFn : public torch::autograd::Function<LinearLogProbsFn> {
  static variable_list forward(AutogradContext* ctx, at::Tensor hidden, at::Tensor weight, at::Tensor targets, double temperature,
                               int64_t chunkRows, bool withEntropy, int64_t ignoreIndex) {
    const int64_t N = hidden.size(0), V = weight.size(0);
    const auto cdtype = ComputeDtype("linearLogProbs", hidden, weight);
    const auto acc = AccumulateDtype(hidden);
    const auto o = hidden.options();
    // The casts below are explicit, so autocast must not cast again (or cache W's copy).
    c10::impl::ExcludeDispatchKeyGuard noAutocast(c10::autocast_dispatch_keyset);
    const auto wc = weight.to(cdtype);                        // (V, C)
    const auto ignored = targets.eq(ignoreIndex);             // (N) bool
    const auto safe = targets.masked_fill(ignored, 0);        // (N) gather-safe targets
    auto lp = at::empty({N}, o.dtype(acc));                   // (N)
    auto lse = at::empty({N}, o.dtype(acc));                  // (N)
    at::Tensor entropy = withEntropy ? at::empty({N}, o.dtype(acc)) : at::Tensor();
    const int64_t R = ChunkRows(chunkRows, N, V, hidden.size(1), cdtype);
    ChunkBuffers buf(std::min(R, N), V, o, acc, cdtype);
    at::Tensor ebuf = withEntropy ? at::empty_like(buf.acc) : at::Tensor();  // (R, V) exp(z − m)
    for (int64_t s = 0; s < N; s += R) {
      const int64_t len = std::min(R, N - s);
      auto z = buf.Logits(hidden.narrow(0, s, len).to(cdtype), wc, temperature);      // (R, V)
      auto zy = z.gather(1, safe.narrow(0, s, len).unsqueeze(1)).squeeze(1);           // (R)
      // lse = m + log Σ exp(z − m) with m the row max, in place on z.
      auto m = at::amax(z, {1}, true);                                                  // (R, 1)
      z.sub_(m);                                                                        // z − m
      at::Tensor l;                                                                     // (R)
      if (withEntropy) {
        auto e = ebuf.narrow(0, 0, len);
        at::exp_out(e, z);                                                              // (R, V)
        auto sum = e.sum(1);                                                            // (R)
        // H = −Σ p·log p with p = e / sum, log p = (z − m) − log sum:  H = log sum − Σ e·(z − m) / sum
        l = sum.log();
        entropy.narrow(0, s, len).copy_(l - e.mul_(z).sum(1).div_(sum));
        l.add_(m.squeeze(1));
      } else {
        l = z.exp_().sum(1).log_().add_(m.squeeze(1));
      }
      lse.narrow(0, s, len).copy_(l);
      lp.narrow(0, s, len).copy_(zy.sub_(l));
    }
    lp.masked_fill_(ignored, 0);
    ctx->save_for_backward({hidden, weight, targets, lse});
    ctx->saved_data["temperature"] = temperature;
    ctx->saved_data["rows"] = R;
    ctx->saved_data["ignore"] = ignoreIndex;
    ctx->saved_data["cdtype"] = (int64_t)cdtype;
    if (!withEntropy) return {lp};
    ctx->mark_non_differentiable({entropy});
    return {lp, entropy};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& hidden = saved[0];
    const auto& weight = saved[1];
    const auto& targets = saved[2];
    const auto& lse = saved[3];
    const bool needH = ctx->needs_input_grad(0), needW = ctx->needs_input_grad(1);
    const at::Tensor none;
    if (!needH && !needW) return {none, none, none, none, none, none, none};
    const double temperature = ctx->saved_data["temperature"].toDouble();
    const int64_t R = ctx->saved_data["rows"].toInt();
    const int64_t ignoreIndex = ctx->saved_data["ignore"].toInt();
    const auto cdtype = (at::ScalarType)ctx->saved_data["cdtype"].toInt();  // forward's autocast dtype, applied again
    const auto acc = AccumulateDtype(hidden);
    const int64_t N = hidden.size(0), V = weight.size(0);
    const auto o = hidden.options();
    c10::impl::ExcludeDispatchKeyGuard noAutocast(c10::autocast_dispatch_keyset);
    const auto wc = weight.to(cdtype);                                               // (V, C)
    const auto ignored = targets.eq(ignoreIndex);                                    // (N)
    const auto safe = targets.masked_fill(ignored, 0);                               // (N)
    const auto g = grads[0].to(acc).masked_fill(ignored, 0).div_(temperature);       // (N) ḡ/τ, 0 where ignored
    HeadGrads head(needH, needW, hidden, weight, acc, cdtype);
    ChunkBuffers buf(std::min(R, N), V, o, acc, cdtype);
    for (int64_t s = 0; s < N; s += R) {
      const int64_t len = std::min(R, N - s);
      const auto hc = hidden.narrow(0, s, len).to(cdtype);                           // (R, C)
      auto z = buf.Logits(hc, wc, temperature);                                      // (R, V)
      auto p = z.sub_(lse.narrow(0, s, len).unsqueeze(1)).exp_();                    // (R, V) softmax
      const auto gc = g.narrow(0, s, len).unsqueeze(1);                              // (R, 1)
      auto gl = p.mul_(gc.neg());                                                     // −ḡ/τ·p
      gl.scatter_add_(1, safe.narrow(0, s, len).unsqueeze(1), gc);                   // + ḡ/τ·onehot(y)
      head.Add(s, buf.Lower(gl), hc, wc);
    }
    auto [gh, gw] = head.Finish(N, weight.scalar_type());
    return {gh, gw, none, none, none, none, none};
  }
};

struct LinearCrossEntropyFn : public torch::autograd::Function<LinearCrossEntropyFn> {
  static variable_list forward(AutogradContext* ctx, at::Tensor hidden, at::Tensor weight, at::Tensor targets, int64_t chunkRows,
                               int64_t ignoreIndex, bool mean, bool needH, bool needW) {
    const int64_t N = hidden.size(0), V = weight.size(0);
    const auto cdtype = ComputeDtype("linearCrossEntropy", hidden, weight);
    const auto acc = AccumulateDtype(hidden);
    const auto o = hidden.options();
    c10::impl::ExcludeDispatchKeyGuard noAutocast(c10::autocast_dispatch_keyset);
    const auto wc = weight.to(cdtype);                                               // (V, C)
    const auto kept = targets.ne(ignoreIndex);                                       // (N) bool
    const auto safe = targets.masked_fill(kept.logical_not(), 0);                    // (N)
    const int64_t count = kept.sum().item<int64_t>();
    // loss = −Σ_kept lp_r · scale;  ∂loss/∂z_r = w_r·(p_r − onehot(y_r)) with w_r = scale on kept rows, 0 on ignored ones
    const double scale = mean ? (count > 0 ? 1.0 / (double)count : 0.0) : 1.0;
    const auto w = kept.to(acc).mul_(scale);                                         // (N)
    auto lpSum = at::zeros({}, o.dtype(acc));                                        // Σ_kept lp
    HeadGrads head(needH, needW, hidden, weight, acc, cdtype);
    const int64_t R = ChunkRows(chunkRows, N, V, hidden.size(1), cdtype);
    ChunkBuffers buf(std::min(R, N), V, o, acc, cdtype);
    for (int64_t s = 0; s < N; s += R) {
      const int64_t len = std::min(R, N - s);
      const auto hc = hidden.narrow(0, s, len).to(cdtype);                           // (R, C)
      const auto yc = safe.narrow(0, s, len).unsqueeze(1);                           // (R, 1)
      const auto wr = w.narrow(0, s, len);                                           // (R)
      auto z = buf.Logits(hc, wc, 1.0);                                              // (R, V)
      auto zy = z.gather(1, yc).squeeze(1);                                          // (R)
      auto m = at::amax(z, {1}, true);                                                // (R, 1)
      auto sum = z.sub_(m).exp_().sum(1);                                            // (R); z now holds exp(z − m)
      auto lp = zy.sub_(m.squeeze(1)).sub_(sum.log());                               // (R) z_y − lse
      lpSum.add_(lp.mul_(kept.narrow(0, s, len)).sum());
      if (needH || needW) {
        auto g = z.mul_(wr.div(sum).unsqueeze(1));                                   // w_r·p
        g.scatter_add_(1, yc, wr.neg().unsqueeze(1));                                // − w_r·onehot(y)
        head.Add(s, buf.Lower(g), hc, wc);
      }
    }
    auto loss = lpSum.neg().div_(mean ? (double)count : 1.0);  // the mean over no kept target is NaN, as F.crossEntropy
    auto [gh, gw] = head.Finish(N, weight.scalar_type());
    ctx->save_for_backward({gh, gw});
    return {loss};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto g = grads[0];  // () ḡ
    const at::Tensor none;
    auto scaled = [&](const at::Tensor& t) { return t.defined() ? t.mul(g.to(t.scalar_type())) : none; };
    return {scaled(saved[0]), scaled(saved[1]), none, none, none, none, none, none};
  }
};

std::string ShapeOf(const at::Tensor& t) {
  std::string s = "[";
  for (int64_t k = 0; k < t.dim(); k++) s += (k ? ", " : "") + std::to_string(t.size(k));
  return s + "]";
}

// The checks both ops share; errors name the op, the argument and what would fit.
void CheckArgs(const char* op, const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets, double temperature, int64_t ignoreIndex) {
  const std::string name(op);
  if (hidden.dim() != 2 || weight.dim() != 2 || hidden.size(1) != weight.size(1))
    throw std::invalid_argument(name + ": expected hidden (N, C) and weight (V, C), got hidden " + ShapeOf(hidden) + " and weight " + ShapeOf(weight));
  if (targets.dim() != 1 || targets.size(0) != hidden.size(0))
    throw std::invalid_argument(name + ": targets must be (N) = [" + std::to_string(hidden.size(0)) + "], got " + ShapeOf(targets));
  if (targets.scalar_type() != at::kLong)
    throw std::invalid_argument(name + ": targets must be int64, got " + c10::toString(targets.scalar_type()) + "; convert with .long()");
  if (!(temperature > 0) || !std::isfinite(temperature))
    throw std::invalid_argument(name + ": temperature must be a positive number, got " + std::to_string(temperature));
  if (hidden.device() != weight.device() || hidden.device() != targets.device())
    throw std::invalid_argument(name + ": hidden, weight and targets must be on one device, got " + hidden.device().str() + ", " +
                                weight.device().str() + ", " + targets.device().str());
  const int64_t V = weight.size(0);
  const auto bad = targets.ne(ignoreIndex).logical_and_(targets.lt(0).logical_or_(targets.ge(V)));
  if (bad.any().item<bool>())
    throw std::invalid_argument(name + ": target " + std::to_string(targets.masked_select(bad)[0].item<int64_t>()) + " is outside the vocabulary [0, " +
                                std::to_string(V) + ") and is not ignoreIndex (" + std::to_string(ignoreIndex) + ")");
}

// linearLogProbs(hidden (N, C), weight (V, C), targets (N) int64, temperature, chunkRows (≤ 0: auto),
// withEntropy, ignoreIndex) → [logprobs (N)] or [logprobs (N), entropy (N)], float32 (float64 for
// float64 inputs). Differentiable w.r.t. hidden and weight; entropy carries no gradient.
RLHF_FN(LinearLogProbs) {
  RLHF_TRY
  auto& hidden = T(info, 0);
  auto& weight = T(info, 1);
  auto& targets = T(info, 2);
  const double temperature = Num(info, 3);
  const int64_t chunkRows = Int(info, 4);
  const bool withEntropy = Bool(info, 5);
  const int64_t ignoreIndex = Int(info, 6);
  CheckArgs("linearLogProbs", hidden, weight, targets, temperature, ignoreIndex);
  return WrapList(info.Env(), LinearLogProbsFn::apply(hidden, weight, targets, temperature, chunkRows, withEntropy, ignoreIndex));
  RLHF_CATCH
}

// linearCrossEntropy(hidden (N, C), weight (V, C), targets (N) int64, chunkRows (≤ 0: auto), ignoreIndex,
// mean) → the loss, a 0-d float32 tensor: −Σ_kept lp_r, divided by the number of kept targets when mean.
RLHF_FN(LinearCrossEntropy) {
  RLHF_TRY
  auto& hidden = T(info, 0);
  auto& weight = T(info, 1);
  auto& targets = T(info, 2);
  const int64_t chunkRows = Int(info, 3);
  const int64_t ignoreIndex = Int(info, 4);
  const bool mean = Bool(info, 5);
  CheckArgs("linearCrossEntropy", hidden, weight, targets, 1.0, ignoreIndex);
  // The forward computes the gradients only when a backward can follow (it runs with grad mode off).
  const bool grad = c10::GradMode::is_enabled();
  const bool needH = grad && hidden.requires_grad(), needW = grad && weight.requires_grad();
  return Wrap(info.Env(), LinearCrossEntropyFn::apply(hidden, weight, targets, chunkRows, ignoreIndex, mean, needH, needW)[0]);
  RLHF_CATCH
}

}  // namespace

void RegisterFused(Napi::Env env, Napi::Object exports) {
#define X(js, fn) exports.Set(js, Napi::Function::New(env, fn, js));
  X("linearLogProbs", LinearLogProbs) X("linearCrossEntropy", LinearCrossEntropy)
#undef X
}

}  // namespace rlhf
