// rlhf native addon: a thin layer of N-API functions over ATen (libtorch's tensor library).
// It holds no model or training logic: every function takes tensor handles and plain values,
// calls one ATen function, and returns a new handle.
//
// Handles are plain numbers: an index into a per-environment table of tensors plus a generation
// count, so a stale handle (disposed, slot reused) is detected instead of touching another tensor.
// JavaScript frees a slot deterministically (dispose); a FinalizationRegistry on the JS side is the
// fallback for tensors dropped without dispose. No per-handle native finalizers: a synchronous
// loop that creates and disposes millions of tensors reuses the same slots and never grows.
#pragma once
#include <napi.h>
#include <ATen/ATen.h>
#include <atomic>
#include <string>
#include <vector>

namespace rlhf {

// Process-wide counts for memory(): live handles and the bytes they account for.
extern std::atomic<int64_t> g_live;
extern std::atomic<int64_t> g_bytes;

// Converting between JS values and ATen values.
at::Tensor& T(const Napi::CallbackInfo& info, size_t i);
at::Tensor& TensorOf(Napi::Env env, Napi::Value v);  // a handle value → its tensor (throws if stale)
void Rebind(Napi::Env env, Napi::Value handle);       // re-account a handle whose storage changed
c10::optional<at::Tensor> OptT(const Napi::CallbackInfo& info, size_t i);
std::vector<at::Tensor> TList(const Napi::CallbackInfo& info, size_t i);
std::vector<int64_t> Ints(const Napi::CallbackInfo& info, size_t i);
c10::optional<std::vector<int64_t>> OptInts(const Napi::CallbackInfo& info, size_t i);
int64_t Int(const Napi::CallbackInfo& info, size_t i);
double Num(const Napi::CallbackInfo& info, size_t i);
bool Bool(const Napi::CallbackInfo& info, size_t i);
at::ScalarType Dtype(const Napi::CallbackInfo& info, size_t i);
at::Device Dev(const Napi::CallbackInfo& info, size_t i);
at::Scalar Scalar(const Napi::CallbackInfo& info, size_t i);

Napi::Value Wrap(Napi::Env env, at::Tensor t);
Napi::Value WrapList(Napi::Env env, const std::vector<at::Tensor>& ts);
int DtypeCode(at::ScalarType s);

// Every exported function runs its body inside this guard so that a c10::Error (shape mismatch,
// bad dtype, …) becomes a JavaScript exception carrying ATen's message instead of a crash.
#define RLHF_FN(name) static Napi::Value name(const Napi::CallbackInfo& info)
#define RLHF_TRY try {
#define RLHF_CATCH                                                                 \
  }                                                                                \
  catch (const c10::Error& e) {                                                    \
    Napi::Error::New(info.Env(), e.what_without_backtrace()).ThrowAsJavaScriptException(); \
    return info.Env().Undefined();                                                 \
  }                                                                                \
  catch (const std::exception& e) {                                                \
    Napi::Error::New(info.Env(), e.what()).ThrowAsJavaScriptException();          \
    return info.Env().Undefined();                                                 \
  }

void RegisterOps(Napi::Env env, Napi::Object exports);
void RegisterFused(Napi::Env env, Napi::Object exports);  // fused.cc

}  // namespace rlhf
