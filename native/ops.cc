// The tensor operations: one N-API function per ATen function, no logic of its own.
// Argument order follows ATen's; optional arguments arrive as null/undefined.
#include "tensor.h"

#include <cmath>
#include <torch/version.h>
#include <limits>

namespace rlhf {

#define E info.Env()
#define RET(expr) RLHF_TRY return Wrap(E, (expr)); RLHF_CATCH
#define UNARY(name, call) RLHF_FN(name) { RET(call(T(info, 0))) }
#define METHOD0(name, m) RLHF_FN(name) { RET(T(info, 0).m()) }
#define BINARY(name, call) RLHF_FN(name) { RET(call(T(info, 0), T(info, 1))) }
#define BINARY_S(name, call) RLHF_FN(name) { RET(call(T(info, 0), Scalar(info, 1))) }
#define INPLACE(name, m) RLHF_FN(name) { RLHF_TRY T(info, 0).m(T(info, 1)); return E.Undefined(); RLHF_CATCH }
#define INPLACE_S(name, m) RLHF_FN(name) { RLHF_TRY T(info, 0).m(Scalar(info, 1)); return E.Undefined(); RLHF_CATCH }

// --- elementwise, unary ---------------------------------------------------------------------
UNARY(Neg, at::neg)
UNARY(Exp, at::exp)
UNARY(Log, at::log)
UNARY(Log1p, at::log1p)
UNARY(Expm1, at::expm1)
UNARY(Sqrt, at::sqrt)
UNARY(Rsqrt, at::rsqrt)
UNARY(Abs, at::abs)
UNARY(Sin, at::sin)
UNARY(Cos, at::cos)
UNARY(Tanh, at::tanh)
UNARY(Sigmoid, at::sigmoid)
UNARY(Relu, at::relu)
UNARY(Silu, at::silu)
UNARY(Erf, at::erf)
UNARY(Sign, at::sign)
UNARY(Floor, at::floor)
UNARY(Ceil, at::ceil)
UNARY(Round, at::round)
UNARY(Reciprocal, at::reciprocal)
UNARY(Square, at::square)
UNARY(LogicalNot, at::logical_not)
UNARY(Isnan, at::isnan)
UNARY(Isfinite, at::isfinite)
UNARY(LogSigmoid, at::log_sigmoid)
UNARY(Softplus, at::softplus)
RLHF_FN(Gelu) { RET(at::gelu(T(info, 0), Bool(info, 1) ? "tanh" : "none")) }
RLHF_FN(Clamp) {
  RLHF_TRY
  c10::optional<at::Scalar> lo, hi;
  if (!info[1].IsNull() && !info[1].IsUndefined()) lo = Scalar(info, 1);
  if (!info[2].IsNull() && !info[2].IsUndefined()) hi = Scalar(info, 2);
  return Wrap(E, at::clamp(T(info, 0), lo, hi));
  RLHF_CATCH
}
RLHF_FN(ClampT) { RET(at::clamp(T(info, 0), OptT(info, 1), OptT(info, 2))) }
RLHF_FN(PowS) { RET(at::pow(T(info, 0), Scalar(info, 1))) }
RLHF_FN(ToDtype) { RET(T(info, 0).to(Dtype(info, 1))) }
RLHF_FN(ToDevice) { RET(T(info, 0).to(Dev(info, 1), /*non_blocking=*/Bool(info, 2))) }
METHOD0(Clone, clone)
METHOD0(Detach, detach)
METHOD0(Contiguous, contiguous)

// --- elementwise, binary (broadcasting) ------------------------------------------------------
RLHF_FN(Add) { RET(info.Length() > 2 && !info[2].IsUndefined() ? at::add(T(info, 0), T(info, 1), Scalar(info, 2)) : at::add(T(info, 0), T(info, 1))) }
RLHF_FN(Sub) { RET(info.Length() > 2 && !info[2].IsUndefined() ? at::sub(T(info, 0), T(info, 1), Scalar(info, 2)) : at::sub(T(info, 0), T(info, 1))) }
BINARY(Mul, at::mul)
BINARY(Div, at::div)
BINARY(Pow, at::pow)
BINARY(Maximum, at::maximum)
BINARY(Minimum, at::minimum)
BINARY(Eq, at::eq)
BINARY(Ne, at::ne)
BINARY(Lt, at::lt)
BINARY(Le, at::le)
BINARY(Gt, at::gt)
BINARY(Ge, at::ge)
BINARY(LogicalAnd, at::logical_and)
BINARY(LogicalOr, at::logical_or)
BINARY(Atan2, at::atan2)
BINARY(Remainder, at::remainder)
BINARY_S(AddS, at::add)
BINARY_S(SubS, at::sub)
BINARY_S(MulS, at::mul)
BINARY_S(DivS, at::div)
BINARY_S(RsubS, at::rsub)
BINARY_S(EqS, at::eq)
BINARY_S(NeS, at::ne)
BINARY_S(LtS, at::lt)
BINARY_S(LeS, at::le)
BINARY_S(GtS, at::gt)
BINARY_S(GeS, at::ge)
BINARY_S(RemainderS, at::remainder)
RLHF_FN(Where) { RET(at::where(T(info, 0), T(info, 1), T(info, 2))) }
RLHF_FN(WhereS) { RET(at::where(T(info, 0), T(info, 1), Scalar(info, 2))) }
RLHF_FN(Lerp) { RET(at::lerp(T(info, 0), T(info, 1), Scalar(info, 2))) }

// --- reductions --------------------------------------------------------------------------------
// sum(t, dims|null, keepdim, dtype|null)
RLHF_FN(Sum) {
  RLHF_TRY
  auto dims = OptInts(info, 1);
  c10::optional<at::ScalarType> dt;
  if (info.Length() > 3 && !info[3].IsNull() && !info[3].IsUndefined()) dt = Dtype(info, 3);
  if (!dims) return Wrap(E, at::sum(T(info, 0), dt));
  return Wrap(E, at::sum(T(info, 0), *dims, Bool(info, 2), dt));
  RLHF_CATCH
}
RLHF_FN(Mean) {
  RLHF_TRY
  auto dims = OptInts(info, 1);
  if (!dims) return Wrap(E, at::mean(T(info, 0)));
  return Wrap(E, at::mean(T(info, 0), *dims, Bool(info, 2)));
  RLHF_CATCH
}
RLHF_FN(Prod) { RET(info[1].IsNull() ? at::prod(T(info, 0)) : at::prod(T(info, 0), Int(info, 1), Bool(info, 2))) }
RLHF_FN(Amax) { RET(at::amax(T(info, 0), Ints(info, 1), Bool(info, 2))) }
RLHF_FN(Amin) { RET(at::amin(T(info, 0), Ints(info, 1), Bool(info, 2))) }
UNARY(MaxAll, at::max)
UNARY(MinAll, at::min)
// maxDim(t, dim, keepdim) -> [values, indices]
RLHF_FN(MaxDim) {
  RLHF_TRY auto r = at::max(T(info, 0), Int(info, 1), Bool(info, 2));
  return WrapList(E, {std::get<0>(r), std::get<1>(r)});
  RLHF_CATCH
}
RLHF_FN(MinDim) {
  RLHF_TRY auto r = at::min(T(info, 0), Int(info, 1), Bool(info, 2));
  return WrapList(E, {std::get<0>(r), std::get<1>(r)});
  RLHF_CATCH
}
RLHF_FN(Argmax) { RET(info[1].IsNull() ? at::argmax(T(info, 0)) : at::argmax(T(info, 0), Int(info, 1), Bool(info, 2))) }
RLHF_FN(Argmin) { RET(info[1].IsNull() ? at::argmin(T(info, 0)) : at::argmin(T(info, 0), Int(info, 1), Bool(info, 2))) }
// var(t, dims|null, correction, keepdim)
RLHF_FN(Var) { RET(at::var(T(info, 0), OptInts(info, 1) ? at::OptionalIntArrayRef(*OptInts(info, 1)) : at::OptionalIntArrayRef(), c10::optional<int64_t>(Int(info, 2)), Bool(info, 3))) }
RLHF_FN(Std) { RET(at::std(T(info, 0), OptInts(info, 1) ? at::OptionalIntArrayRef(*OptInts(info, 1)) : at::OptionalIntArrayRef(), c10::optional<int64_t>(Int(info, 2)), Bool(info, 3))) }
RLHF_FN(Logsumexp) { RET(at::logsumexp(T(info, 0), Ints(info, 1), Bool(info, 2))) }
RLHF_FN(All) { RET(info[1].IsNull() ? at::all(T(info, 0)) : at::all(T(info, 0), Int(info, 1), Bool(info, 2))) }
RLHF_FN(Any) { RET(info[1].IsNull() ? at::any(T(info, 0)) : at::any(T(info, 0), Int(info, 1), Bool(info, 2))) }
RLHF_FN(Norm) { RET(info[2].IsNull() ? at::norm(T(info, 0), Scalar(info, 1)) : at::norm(T(info, 0), c10::optional<at::Scalar>(Scalar(info, 1)), Ints(info, 2), Bool(info, 3))) }
RLHF_FN(Cumsum) { RET(at::cumsum(T(info, 0), Int(info, 1))) }
RLHF_FN(Cumprod) { RET(at::cumprod(T(info, 0), Int(info, 1))) }

// --- linear algebra ----------------------------------------------------------------------------
BINARY(Matmul, at::matmul)
BINARY(Bmm, at::bmm)
BINARY(Mm, at::mm)
RLHF_FN(Linear) { RET(at::linear(T(info, 0), T(info, 1), OptT(info, 2))) }
RLHF_FN(Addmm) { RET(at::addmm(T(info, 0), T(info, 1), T(info, 2), Scalar(info, 3), Scalar(info, 4))) }
RLHF_FN(Baddbmm) { RET(at::baddbmm(T(info, 0), T(info, 1), T(info, 2), Scalar(info, 3), Scalar(info, 4))) }
RLHF_FN(Einsum) { RET(at::einsum(info[0].As<Napi::String>().Utf8Value(), TList(info, 1))) }

// --- shape ---------------------------------------------------------------------------------------
RLHF_FN(View) { RET(T(info, 0).view(Ints(info, 1))) }
RLHF_FN(Reshape) { RET(T(info, 0).reshape(Ints(info, 1))) }
RLHF_FN(Permute) { RET(T(info, 0).permute(Ints(info, 1))) }
RLHF_FN(Transpose) { RET(T(info, 0).transpose(Int(info, 1), Int(info, 2))) }
RLHF_FN(Expand) { RET(T(info, 0).expand(Ints(info, 1))) }
RLHF_FN(Squeeze) { RET(info[1].IsNull() || info[1].IsUndefined() ? T(info, 0).squeeze() : T(info, 0).squeeze(Int(info, 1))) }
RLHF_FN(Unsqueeze) { RET(T(info, 0).unsqueeze(Int(info, 1))) }
RLHF_FN(Flatten) { RET(T(info, 0).flatten(Int(info, 1), Int(info, 2))) }
RLHF_FN(Narrow) { RET(T(info, 0).narrow(Int(info, 1), Int(info, 2), Int(info, 3))) }
// slice(t, dim, start, end, step)
RLHF_FN(Slice) { RET(T(info, 0).slice(Int(info, 1), Int(info, 2), Int(info, 3), Int(info, 4))) }
RLHF_FN(Select) { RET(T(info, 0).select(Int(info, 1), Int(info, 2))) }
RLHF_FN(Cat) { RET(at::cat(TList(info, 0), Int(info, 1))) }
RLHF_FN(Stack) { RET(at::stack(TList(info, 0), Int(info, 1))) }
RLHF_FN(Split) { RLHF_TRY return WrapList(E, at::split_with_sizes(T(info, 0), Ints(info, 1), Int(info, 2))); RLHF_CATCH }
RLHF_FN(Chunk) { RLHF_TRY return WrapList(E, at::chunk(T(info, 0), Int(info, 1), Int(info, 2))); RLHF_CATCH }
RLHF_FN(Flip) { RET(at::flip(T(info, 0), Ints(info, 1))) }
RLHF_FN(Roll) { RET(at::roll(T(info, 0), Ints(info, 1), Ints(info, 2))) }
RLHF_FN(Repeat) { RET(T(info, 0).repeat(Ints(info, 1))) }
RLHF_FN(RepeatInterleave) { RET(at::repeat_interleave(T(info, 0), Int(info, 1), Int(info, 2))) }

// --- indexing ------------------------------------------------------------------------------------
RLHF_FN(Gather) { RET(at::gather(T(info, 0), Int(info, 1), T(info, 2))) }
RLHF_FN(Scatter) { RET(at::scatter(T(info, 0), Int(info, 1), T(info, 2), T(info, 3))) }
RLHF_FN(ScatterAdd) { RET(at::scatter_add(T(info, 0), Int(info, 1), T(info, 2), T(info, 3))) }
RLHF_FN(IndexSelect) { RET(at::index_select(T(info, 0), Int(info, 1), T(info, 2))) }
// [tensor|null, ...] → the index list of t[idx0, :, idx2] (null is a full slice).
static c10::List<c10::optional<at::Tensor>> IndexList(const Napi::CallbackInfo& info, size_t i) {
  auto arr = info[i].As<Napi::Array>();
  c10::List<c10::optional<at::Tensor>> idx;
  for (uint32_t k = 0; k < arr.Length(); k++) {
    Napi::Value v = arr.Get(k);
    if (v.IsNull() || v.IsUndefined()) idx.push_back(c10::nullopt);
    else idx.push_back(TensorOf(info.Env(), v));
  }
  return idx;
}
// index(t, [tensor|null, ...]): advanced indexing like t[idx0, idx1] in PyTorch.
RLHF_FN(Index) { RET(at::index(T(info, 0), IndexList(info, 1))) }
// indexPut_(t, [tensor|null...], values, accumulate)
RLHF_FN(IndexPut_) {
  RLHF_TRY
  T(info, 0).index_put_(IndexList(info, 1), T(info, 2), Bool(info, 3));
  return E.Undefined();
  RLHF_CATCH
}
RLHF_FN(MaskedFill) { RET(at::masked_fill(T(info, 0), T(info, 1), Scalar(info, 2))) }
RLHF_FN(MaskedSelect) { RET(at::masked_select(T(info, 0), T(info, 1))) }
RLHF_FN(Tril) { RET(at::tril(T(info, 0), Int(info, 1))) }
RLHF_FN(Triu) { RET(at::triu(T(info, 0), Int(info, 1))) }
UNARY(Nonzero, at::nonzero)

// --- neural-network functions ------------------------------------------------------------------
RLHF_FN(Softmax) { RET(at::softmax(T(info, 0), Int(info, 1))) }
RLHF_FN(LogSoftmax) { RET(at::log_softmax(T(info, 0), Int(info, 1))) }
// layerNorm(x, normalizedShape, weight|null, bias|null, eps)
RLHF_FN(LayerNorm) { RET(at::layer_norm(T(info, 0), Ints(info, 1), OptT(info, 2), OptT(info, 3), Num(info, 4))) }
// embedding(weight, indices, paddingIdx)
RLHF_FN(Embedding) { RET(at::embedding(T(info, 0), T(info, 1), Int(info, 2))) }
RLHF_FN(Dropout) { RET(at::dropout(T(info, 0), Num(info, 1), Bool(info, 2))) }
// crossEntropy(logits (N,C), target (N), weight|null, reduction 0 none/1 mean/2 sum, ignoreIndex, labelSmoothing)
RLHF_FN(CrossEntropy) {
  RET(at::cross_entropy_loss(T(info, 0), T(info, 1), OptT(info, 2), Int(info, 3), Int(info, 4), Num(info, 5)))
}
RLHF_FN(NllLoss) { RET(at::nll_loss(T(info, 0), T(info, 1), OptT(info, 2), Int(info, 3), Int(info, 4))) }
RLHF_FN(MseLoss) { RET(at::mse_loss(T(info, 0), T(info, 1), Int(info, 2))) }
RLHF_FN(BinaryCrossEntropyWithLogits) {
  RET(at::binary_cross_entropy_with_logits(T(info, 0), T(info, 1), OptT(info, 2), OptT(info, 3), Int(info, 4)))
}

// sdpa(q, k, v, attnMask|null, dropoutP, isCausal, scale|null): softmax(q·kᵀ·scale + mask)·v.
// q, k, v are (B, nh, T, hs). On PyTorch ≥ 2 this is the fused at::scaled_dot_product_attention
// (flash / memory-efficient kernels); on 1.x it is the composite below, with the same result.
RLHF_FN(Sdpa) {
  RLHF_TRY
  auto& q = T(info, 0);
  auto& k = T(info, 1);
  auto& v = T(info, 2);
  auto mask = OptT(info, 3);
  double p = Num(info, 4);
  bool causal = Bool(info, 5);
  double scale = (info.Length() > 6 && info[6].IsNumber()) ? Num(info, 6) : 1.0 / std::sqrt((double)q.size(-1));
  int64_t Tq = q.size(-2), Tk = k.size(-2);
  // Masked scores get the most negative finite value, not -inf (as transformers does): a row with
  // every key masked (a left-padding position) then softmaxes to a uniform row instead of NaN,
  // and NaN can never leak into real positions through 0·NaN in the product with v.
  auto low = q.scalar_type() == at::kHalf ? -65504.0 : -3.0e38;
#if (TORCH_VERSION_MAJOR > 2) || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
  // Fused kernels (flash / memory-efficient on GPU, a blocked kernel on CPU). Flash and
  // memory-efficient kernels take no dense mask, so plain causal attention passes none: over the same
  // positions (Tq == Tk) as is_causal, and a single query row (a decoding step) sees every key, so it
  // needs no mask at all. Padding, windows and a cache offset with Tq > 1 (is_causal aligns the
  // diagonal top-left, a KV cache needs it bottom-right) go as an additive bias.
  if (causal && !mask && (Tq == Tk || Tq == 1)) {
    return Wrap(E, at::scaled_dot_product_attention(q, k, v, c10::nullopt, p, Tq > 1, scale));
  }
  c10::optional<at::Tensor> bias;
  if (causal) {
    auto keep = at::ones({Tq, Tk}, q.options().dtype(at::kBool)).tril(Tk - Tq);
    bias = at::zeros({Tq, Tk}, q.options()).masked_fill(keep.logical_not(), low);
  }
  if (mask) {
    auto m = mask->scalar_type() == at::kBool ? at::zeros(mask->sizes(), q.options()).masked_fill(mask->logical_not(), low) : mask->to(q.scalar_type());
    bias = bias ? at::add(*bias, m).clamp_min(low) : m;
  }
  return Wrap(E, at::scaled_dot_product_attention(q, k, v, bias, p, false, scale));
#else
  auto att = at::matmul(q, k.transpose(-2, -1)).mul_(scale);  // (B, nh, Tq, Tk)
  // One in-place masked_fill over the scores with the combined "may not attend" mask.
  c10::optional<at::Tensor> hide;  // true = masked
  if (causal && Tq > 1) hide = at::ones({Tq, Tk}, q.options().dtype(at::kBool)).triu(Tk - Tq + 1);  // one query row sees every key
  if (mask && mask->scalar_type() == at::kBool) hide = hide ? at::logical_or(*hide, mask->logical_not()) : mask->logical_not();
  if (hide) att.masked_fill_(*hide, low);
  if (mask && mask->scalar_type() != at::kBool) att = att.add_(mask->to(att.scalar_type())).clamp_min_(low);
  att = at::softmax(att, -1);
  if (p > 0) att = at::dropout(att, p, true);
  return Wrap(E, at::matmul(att, v));  // (B, nh, Tq, hs)
#endif
  RLHF_CATCH
}

// --- sampling and sorting --------------------------------------------------------------------------
RLHF_FN(Multinomial) { RET(at::multinomial(T(info, 0), Int(info, 1), Bool(info, 2))) }
RLHF_FN(Topk) {
  RLHF_TRY auto r = at::topk(T(info, 0), Int(info, 1), Int(info, 2), Bool(info, 3), Bool(info, 4));
  return WrapList(E, {std::get<0>(r), std::get<1>(r)});
  RLHF_CATCH
}
RLHF_FN(Sort) {
  RLHF_TRY auto r = at::sort(T(info, 0), Int(info, 1), Bool(info, 2));
  return WrapList(E, {std::get<0>(r), std::get<1>(r)});
  RLHF_CATCH
}
RLHF_FN(Argsort) { RET(at::argsort(T(info, 0), Int(info, 1), Bool(info, 2))) }

// --- in place (optimizers, caches) -------------------------------------------------------------------
INPLACE(Add_, add_)
INPLACE(Sub_, sub_)
INPLACE(Mul_, mul_)
INPLACE(Div_, div_)
INPLACE(Copy_, copy_)
INPLACE_S(AddS_, add_)
INPLACE_S(MulS_, mul_)
INPLACE_S(DivS_, div_)
INPLACE_S(Fill_, fill_)
RLHF_FN(AddScaled_) { RLHF_TRY T(info, 0).add_(T(info, 1), Scalar(info, 2)); return E.Undefined(); RLHF_CATCH }
RLHF_FN(Zero_) { RLHF_TRY T(info, 0).zero_(); return E.Undefined(); RLHF_CATCH }
RLHF_FN(Addcmul_) { RLHF_TRY T(info, 0).addcmul_(T(info, 1), T(info, 2), Scalar(info, 3)); return E.Undefined(); RLHF_CATCH }
RLHF_FN(Addcdiv_) { RLHF_TRY T(info, 0).addcdiv_(T(info, 1), T(info, 2), Scalar(info, 3)); return E.Undefined(); RLHF_CATCH }
RLHF_FN(Lerp_) { RLHF_TRY T(info, 0).lerp_(T(info, 1), Scalar(info, 2)); return E.Undefined(); RLHF_CATCH }
RLHF_FN(Clamp_) {
  RLHF_TRY
  c10::optional<at::Scalar> lo, hi;
  if (!info[1].IsNull() && !info[1].IsUndefined()) lo = Scalar(info, 1);
  if (!info[2].IsNull() && !info[2].IsUndefined()) hi = Scalar(info, 2);
  T(info, 0).clamp_(lo, hi);
  return E.Undefined();
  RLHF_CATCH
}
RLHF_FN(Uniform_) { RLHF_TRY T(info, 0).uniform_(Num(info, 1), Num(info, 2)); return E.Undefined(); RLHF_CATCH }
RLHF_FN(Normal_) { RLHF_TRY T(info, 0).normal_(Num(info, 1), Num(info, 2)); return E.Undefined(); RLHF_CATCH }
// narrowCopy_(dst, dim, start, src): dst.narrow(dim, start, src.size(dim)).copy_(src) — KV-cache writes.
RLHF_FN(NarrowCopy_) {
  RLHF_TRY
  auto& src = T(info, 3);
  int64_t dim = Int(info, 1);
  T(info, 0).narrow(dim, Int(info, 2), src.size(dim)).copy_(src);
  return E.Undefined();
  RLHF_CATCH
}

// setData_(t, src): t now refers to src's data (dtype/device/shape may change), keeping its identity
// and requires_grad — how Module.to() converts parameters without invalidating references.
RLHF_FN(SetData_) { RLHF_TRY T(info, 0).set_data(T(info, 1)); Rebind(E, info[0]); return E.Undefined(); RLHF_CATCH }

// AdamW over a list of parameters in one call (PyTorch's update rule, decoupled weight decay):
//   p ← p·(1 − lr·λ);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//   p ← p − lr/(1−β1ᵗ) · m / (√(v/(1−β2ᵗ)) + ε)
// adamwStep([p], [g], [m], [v], lr, beta1, beta2, eps, weightDecay, step)
RLHF_FN(AdamwStep) {
  RLHF_TRY
  auto ps = TList(info, 0), gs = TList(info, 1), ms = TList(info, 2), vs = TList(info, 3);
  double lr = Num(info, 4), b1 = Num(info, 5), b2 = Num(info, 6), eps = Num(info, 7), wd = Num(info, 8);
  double step = Num(info, 9);
  double bc1 = 1 - std::pow(b1, step), bc2 = 1 - std::pow(b2, step);
  double stepSize = lr / bc1, bc2Sqrt = std::sqrt(bc2);
  at::NoGradGuard ng;
  for (size_t i = 0; i < ps.size(); i++) {
    auto& p = ps[i];
    const auto& g = gs[i];
    if (wd != 0) p.mul_(1 - lr * wd);
    ms[i].lerp_(g, 1 - b1);
    vs[i].mul_(b2).addcmul_(g, g, 1 - b2);
    auto denom = (vs[i].sqrt() / bc2Sqrt).add_(eps);
    p.addcdiv_(ms[i], denom, -stepSize);
  }
  return E.Undefined();
  RLHF_CATCH
}

// Global L2 norm of a list of tensors (gradient clipping): ‖[g1, g2, …]‖₂ as a 0-d float tensor.
RLHF_FN(GlobalNorm) {
  RLHF_TRY
  auto gs = TList(info, 0);
  std::vector<at::Tensor> norms;
  norms.reserve(gs.size());
  for (auto& g : gs) norms.push_back(at::norm(g.to(at::kFloat), 2));
  if (norms.empty()) return Wrap(E, at::zeros({}, at::kFloat));
  return Wrap(E, at::norm(at::stack(norms), 2));
  RLHF_CATCH
}

// Scale a list of tensors in place by a 0-d tensor (no host sync), for clipping.
RLHF_FN(MulListByTensor_) {
  RLHF_TRY
  auto gs = TList(info, 0);
  auto& s = T(info, 1);
  for (auto& g : gs) g.mul_(s);
  return E.Undefined();
  RLHF_CATCH
}

void RegisterOps(Napi::Env env, Napi::Object exports) {
#define X(js, fn) exports.Set(js, Napi::Function::New(env, fn, js));
  X("neg", Neg) X("exp", Exp) X("log", Log) X("log1p", Log1p) X("expm1", Expm1) X("sqrt", Sqrt) X("rsqrt", Rsqrt)
  X("abs", Abs) X("sin", Sin) X("cos", Cos) X("tanh", Tanh) X("sigmoid", Sigmoid) X("relu", Relu) X("silu", Silu)
  X("erf", Erf) X("sign", Sign) X("floor", Floor) X("ceil", Ceil) X("round", Round) X("reciprocal", Reciprocal)
  X("square", Square) X("logicalNot", LogicalNot) X("isnan", Isnan) X("isfinite", Isfinite) X("logSigmoid", LogSigmoid)
  X("softplus", Softplus) X("gelu", Gelu) X("clamp", Clamp) X("clampT", ClampT) X("powS", PowS) X("toDtype", ToDtype)
  X("toDevice", ToDevice) X("clone", Clone) X("detach", Detach) X("contiguous", Contiguous)
  X("add", Add) X("sub", Sub) X("mul", Mul) X("div", Div) X("pow", Pow) X("maximum", Maximum) X("minimum", Minimum)
  X("eq", Eq) X("ne", Ne) X("lt", Lt) X("le", Le) X("gt", Gt) X("ge", Ge) X("logicalAnd", LogicalAnd)
  X("logicalOr", LogicalOr) X("atan2", Atan2) X("remainder", Remainder)
  X("addS", AddS) X("subS", SubS) X("mulS", MulS) X("divS", DivS) X("rsubS", RsubS) X("eqS", EqS) X("neS", NeS)
  X("ltS", LtS) X("leS", LeS) X("gtS", GtS) X("geS", GeS) X("remainderS", RemainderS)
  X("where", Where) X("whereS", WhereS) X("lerp", Lerp)
  X("sum", Sum) X("mean", Mean) X("prod", Prod) X("amax", Amax) X("amin", Amin) X("maxAll", MaxAll) X("minAll", MinAll)
  X("maxDim", MaxDim) X("minDim", MinDim) X("argmax", Argmax) X("argmin", Argmin) X("var", Var) X("std", Std)
  X("logsumexp", Logsumexp) X("all", All) X("any", Any) X("norm", Norm) X("cumsum", Cumsum) X("cumprod", Cumprod)
  X("matmul", Matmul) X("bmm", Bmm) X("mm", Mm) X("linear", Linear) X("addmm", Addmm) X("baddbmm", Baddbmm)
  X("einsum", Einsum)
  X("view", View) X("reshape", Reshape) X("permute", Permute) X("transpose", Transpose) X("expand", Expand)
  X("squeeze", Squeeze) X("unsqueeze", Unsqueeze) X("flatten", Flatten) X("narrow", Narrow) X("slice", Slice)
  X("select", Select) X("cat", Cat) X("stack", Stack) X("split", Split) X("chunk", Chunk) X("flip", Flip)
  X("roll", Roll) X("repeat", Repeat) X("repeatInterleave", RepeatInterleave)
  X("gather", Gather) X("scatter", Scatter) X("scatterAdd", ScatterAdd) X("indexSelect", IndexSelect)
  X("index", Index) X("indexPut_", IndexPut_) X("maskedFill", MaskedFill) X("maskedSelect", MaskedSelect)
  X("tril", Tril) X("triu", Triu) X("nonzero", Nonzero)
  X("softmax", Softmax) X("logSoftmax", LogSoftmax) X("layerNorm", LayerNorm) X("embedding", Embedding)
  X("dropout", Dropout) X("crossEntropy", CrossEntropy) X("nllLoss", NllLoss) X("mseLoss", MseLoss)
  X("bceWithLogits", BinaryCrossEntropyWithLogits) X("sdpa", Sdpa)
  X("multinomial", Multinomial) X("topk", Topk) X("sort", Sort) X("argsort", Argsort)
  X("add_", Add_) X("sub_", Sub_) X("mul_", Mul_) X("div_", Div_) X("copy_", Copy_) X("addS_", AddS_)
  X("mulS_", MulS_) X("divS_", DivS_) X("fill_", Fill_) X("addScaled_", AddScaled_) X("zero_", Zero_)
  X("addcmul_", Addcmul_) X("addcdiv_", Addcdiv_) X("lerp_", Lerp_) X("clamp_", Clamp_) X("uniform_", Uniform_)
  X("normal_", Normal_) X("narrowCopy_", NarrowCopy_) X("adamwStep", AdamwStep) X("globalNorm", GlobalNorm)
  X("mulListByTensor_", MulListByTensor_) X("setData_", SetData_)
#undef X
}

}  // namespace rlhf
