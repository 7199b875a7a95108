// Tensor handles, creation, data in and out, autograd, autocast, threads and build information.
#include "tensor.h"

#include <ATen/autocast_mode.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/csrc/autograd/function.h>
#include <torch/version.h>
#include <cmath>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <sstream>

#include <torch/cuda.h>  // device_count / synchronize / seeding without CUDA headers: works with any build

namespace rlhf {

std::atomic<int64_t> g_live{0};
std::atomic<int64_t> g_bytes{0};

// ---------------------------------------------------------------------------------------------
// Handles: a table of slots per Node environment (main thread or worker). handle = index + gen·2²⁴.

namespace {

constexpr double kSlotBits = 16777216.0;  // 2^24 slots
constexpr uint32_t kGenMask = (1u << 28) - 1;

struct Slot {
  at::Tensor t;
  c10::StorageImpl* storage = nullptr;  // the storage this handle is counted against, or null
  uint32_t gen = 0;
};

// Bytes are counted per storage, not per handle: views, detach(), .grad reads and no-op
// conversions share their base's storage and must not count it again.
struct StorageCount {
  int64_t handles = 0;
  int64_t bytes = 0;
};
std::mutex g_storage_mutex;  // storages can be shared between environments only in theory; be safe
std::unordered_map<c10::StorageImpl*, StorageCount> g_storages;

struct Table {
  std::vector<Slot> slots;
  std::vector<uint32_t> free;
};

// Adds a handle's claim on its storage; returns the bytes newly reported (0 if already counted).
int64_t Claim(const at::Tensor& t, c10::StorageImpl** key) {
  *key = nullptr;
  if (!t.defined() || !t.has_storage()) return 0;
  auto* impl = t.storage().unsafeGetStorageImpl();
  if (!impl) return 0;
  *key = impl;
  std::lock_guard<std::mutex> lock(g_storage_mutex);
  auto& c = g_storages[impl];
  if (c.handles++ == 0) {
    c.bytes = (int64_t)impl->nbytes();
    return c.bytes;
  }
  return 0;
}

// Drops a claim; returns the bytes no longer reported.
int64_t Unclaim(c10::StorageImpl* key) {
  if (!key) return 0;
  std::lock_guard<std::mutex> lock(g_storage_mutex);
  auto it = g_storages.find(key);
  if (it == g_storages.end()) return 0;
  if (--it->second.handles > 0) return 0;
  int64_t b = it->second.bytes;
  g_storages.erase(it);
  return b;
}

void Report(Napi::Env env, int64_t delta) {
  if (delta == 0) return;
  g_bytes += delta;
  Napi::MemoryManagement::AdjustExternalMemory(env, delta);
}

// When an environment ends (a worker exits, the process shuts down), free every tensor it holds.
void FreeTable(Napi::Env, Table* table) {
  for (auto& s : table->slots) {
    if (!s.t.defined()) continue;
    g_bytes -= Unclaim(s.storage);
    g_live--;
    s.t = at::Tensor();
  }
  delete table;
}

Table& TableOf(Napi::Env env) {
  Table* table = env.GetInstanceData<Table>();
  if (!table) {
    table = new Table();
    env.SetInstanceData<Table, FreeTable>(table);
  }
  return *table;
}

Slot* Lookup(Table& table, double h) {
  if (!(h >= 0) || h > 9007199254740991.0) return nullptr;
  uint64_t v = (uint64_t)h;
  uint32_t index = (uint32_t)(v % (uint64_t)kSlotBits);
  uint32_t gen = (uint32_t)(v / (uint64_t)kSlotBits);
  if (index >= table.slots.size()) return nullptr;
  Slot& s = table.slots[index];
  if (s.gen != gen || !s.t.defined()) return nullptr;
  return &s;
}

void Free(Napi::Env env, Table& table, Slot& s, uint32_t index) {
  int64_t released = Unclaim(s.storage);
  s.t = at::Tensor();
  s.storage = nullptr;
  s.gen = (s.gen + 1) & kGenMask;
  table.free.push_back(index);
  g_live--;
  Report(env, -released);
}

}  // namespace

Napi::Value Wrap(Napi::Env env, at::Tensor t) {
  Table& table = TableOf(env);
  uint32_t index;
  if (!table.free.empty()) {
    index = table.free.back();
    table.free.pop_back();
  } else {
    if (table.slots.size() >= (size_t)kSlotBits) throw std::runtime_error("too many live tensors (16M): dispose tensors or use tidy()");
    index = (uint32_t)table.slots.size();
    table.slots.emplace_back();
  }
  Slot& s = table.slots[index];
  s.t = std::move(t);
  int64_t added = Claim(s.t, &s.storage);
  g_live++;
  Report(env, added);
  return Napi::Number::New(env, (double)index + (double)s.gen * kSlotBits);
}

Napi::Value WrapList(Napi::Env env, const std::vector<at::Tensor>& ts) {
  auto arr = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); i++) arr.Set(i, Wrap(env, ts[i]));
  return arr;
}

at::Tensor& TensorOf(Napi::Env env, Napi::Value v) {
  if (!v.IsNumber()) throw std::invalid_argument("expected a tensor handle");
  Slot* s = Lookup(TableOf(env), v.As<Napi::Number>().DoubleValue());
  if (!s) throw std::invalid_argument("tensor was used after dispose()");
  return s->t;
}

at::Tensor& T(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length()) throw std::invalid_argument("missing tensor argument " + std::to_string(i));
  return TensorOf(info.Env(), info[i]);
}

void Rebind(Napi::Env env, Napi::Value handle) {
  Slot* s = Lookup(TableOf(env), handle.As<Napi::Number>().DoubleValue());
  if (!s) return;
  int64_t released = Unclaim(s->storage);
  int64_t added = Claim(s->t, &s->storage);
  Report(env, added - released);
}

c10::optional<at::Tensor> OptT(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return c10::nullopt;
  return T(info, i);
}

std::vector<at::Tensor> TList(const Napi::CallbackInfo& info, size_t i) {
  auto arr = info[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) {
    out.push_back(TensorOf(info.Env(), arr.Get(k)));
  }
  return out;
}

std::vector<int64_t> Ints(const Napi::CallbackInfo& info, size_t i) {
  auto arr = info[i].As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) out[k] = arr.Get(k).As<Napi::Number>().Int64Value();
  return out;
}

c10::optional<std::vector<int64_t>> OptInts(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return c10::nullopt;
  return Ints(info, i);
}

int64_t Int(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int64Value(); }
double Num(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().DoubleValue(); }
bool Bool(const Napi::CallbackInfo& info, size_t i) { return info[i].ToBoolean().Value(); }

// Dtype codes shared with src/torch/dtype.ts.
static const at::ScalarType kDtypes[] = {
    at::kFloat, at::kDouble, at::kBFloat16, at::kHalf, at::kLong, at::kInt, at::kBool, at::kByte, at::kChar, at::kShort,
};

at::ScalarType Dtype(const Napi::CallbackInfo& info, size_t i) {
  int64_t c = Int(info, i);
  if (c < 0 || c >= (int64_t)(sizeof(kDtypes) / sizeof(kDtypes[0]))) throw std::invalid_argument("unknown dtype code");
  return kDtypes[c];
}

int DtypeCode(at::ScalarType s) {
  for (int k = 0; k < (int)(sizeof(kDtypes) / sizeof(kDtypes[0])); k++)
    if (kDtypes[k] == s) return k;
  return -1;
}

at::Device Dev(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsUndefined() || info[i].IsNull()) return at::Device(at::kCPU);
  return at::Device(info[i].As<Napi::String>().Utf8Value());
}

at::Scalar Scalar(const Napi::CallbackInfo& info, size_t i) {
  if (info[i].IsBoolean()) return at::Scalar(info[i].As<Napi::Boolean>().Value());
  double v = Num(info, i);
  // Whole numbers become integer scalars so `intTensor + 1` stays an integer tensor (as in PyTorch).
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9007199254740992.0) return at::Scalar((int64_t)v);
  return at::Scalar(v);
}

static at::TensorOptions Opts(const Napi::CallbackInfo& info, size_t dtypeIdx, size_t devIdx) {
  return at::TensorOptions().dtype(Dtype(info, dtypeIdx)).device(Dev(info, devIdx));
}

// dispose(handle): frees the slot. A stale or already-freed handle is ignored (the JS-side
// FinalizationRegistry may call this for tensors that were disposed long ago).
RLHF_FN(Dispose) {
  RLHF_TRY
  if (!info[0].IsNumber()) return info.Env().Undefined();
  Table& table = TableOf(info.Env());
  Slot* s = Lookup(table, info[0].As<Napi::Number>().DoubleValue());
  if (s) Free(info.Env(), table, *s, (uint32_t)(s - table.slots.data()));
  return info.Env().Undefined();
  RLHF_CATCH
}

RLHF_FN(IsDisposed) {
  RLHF_TRY
  return Napi::Boolean::New(info.Env(), !info[0].IsNumber() || Lookup(TableOf(info.Env()), info[0].As<Napi::Number>().DoubleValue()) == nullptr);
  RLHF_CATCH
}

RLHF_FN(Memory) {
  auto o = Napi::Object::New(info.Env());
  o.Set("liveTensors", Napi::Number::New(info.Env(), (double)g_live.load()));
  o.Set("bytes", Napi::Number::New(info.Env(), (double)g_bytes.load()));
  return o;
}

// Metadata in one call: [dtypeCode, requiresGrad, ...shape]. The TS side caches it.
RLHF_FN(Meta) {
  RLHF_TRY
  auto& t = T(info, 0);
  auto sizes = t.sizes();
  auto arr = Napi::Array::New(info.Env(), sizes.size() + 2);
  arr.Set((uint32_t)0, Napi::Number::New(info.Env(), DtypeCode(t.scalar_type())));
  arr.Set((uint32_t)1, Napi::Number::New(info.Env(), t.requires_grad() ? 1 : 0));
  for (size_t k = 0; k < sizes.size(); k++) arr.Set((uint32_t)(k + 2), Napi::Number::New(info.Env(), (double)sizes[k]));
  return arr;
  RLHF_CATCH
}

RLHF_FN(DeviceOf) {
  RLHF_TRY
  return Napi::String::New(info.Env(), T(info, 0).device().str());
  RLHF_CATCH
}

RLHF_FN(IsContiguous) {
  RLHF_TRY
  return Napi::Boolean::New(info.Env(), T(info, 0).is_contiguous());
  RLHF_CATCH
}

RLHF_FN(Strides) {
  RLHF_TRY
  auto s = T(info, 0).strides();
  auto arr = Napi::Array::New(info.Env(), s.size());
  for (size_t k = 0; k < s.size(); k++) arr.Set((uint32_t)k, Napi::Number::New(info.Env(), (double)s[k]));
  return arr;
  RLHF_CATCH
}

// ---------------------------------------------------------------------------------------------
// Data in and out

// fromBuffer(typedArray, shape, dtype, device): copies the bytes into a new tensor.
RLHF_FN(FromBuffer) {
  RLHF_TRY
  auto ta = info[0].As<Napi::TypedArray>();
  auto shape = Ints(info, 1);
  auto opts = Opts(info, 2, 3);
  auto cpu = at::empty(shape, opts.device(at::kCPU));
  size_t nbytes = cpu.numel() * cpu.element_size();
  if (nbytes != ta.ByteLength())
    throw std::invalid_argument("fromBuffer: " + std::to_string(ta.ByteLength()) + " bytes given, shape needs " + std::to_string(nbytes));
  auto* src = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  if (nbytes) std::memcpy(cpu.data_ptr(), src, nbytes);
  auto dev = Dev(info, 3);
  return Wrap(info.Env(), dev.is_cpu() ? cpu : cpu.to(dev));
  RLHF_CATCH
}

// toBuffer(t): a copy of the tensor's elements (row-major) in a new ArrayBuffer.
RLHF_FN(ToBuffer) {
  RLHF_TRY
  auto t = T(info, 0).detach();
  if (!t.device().is_cpu()) t = t.to(at::kCPU);
  t = t.contiguous();
  size_t nbytes = t.numel() * t.element_size();
  auto ab = Napi::ArrayBuffer::New(info.Env(), nbytes);
  if (nbytes) std::memcpy(ab.Data(), t.data_ptr(), nbytes);
  return ab;
  RLHF_CATCH
}

RLHF_FN(Item) {
  RLHF_TRY
  auto& t = T(info, 0);
  if (t.numel() != 1) throw std::invalid_argument("item(): tensor has " + std::to_string(t.numel()) + " elements, expected 1");
  auto s = t.item();
  if (s.isBoolean()) return Napi::Boolean::New(info.Env(), s.toBool());
  return Napi::Number::New(info.Env(), s.toDouble());
  RLHF_CATCH
}

// ---------------------------------------------------------------------------------------------
// Creation

RLHF_FN(Zeros) { RLHF_TRY return Wrap(info.Env(), at::zeros(Ints(info, 0), Opts(info, 1, 2))); RLHF_CATCH }
RLHF_FN(Ones) { RLHF_TRY return Wrap(info.Env(), at::ones(Ints(info, 0), Opts(info, 1, 2))); RLHF_CATCH }
RLHF_FN(Empty) { RLHF_TRY return Wrap(info.Env(), at::empty(Ints(info, 0), Opts(info, 1, 2))); RLHF_CATCH }
RLHF_FN(Full) { RLHF_TRY return Wrap(info.Env(), at::full(Ints(info, 0), Scalar(info, 1), Opts(info, 2, 3))); RLHF_CATCH }
RLHF_FN(Arange) {
  RLHF_TRY return Wrap(info.Env(), at::arange(Scalar(info, 0), Scalar(info, 1), Scalar(info, 2), Opts(info, 3, 4)));
  RLHF_CATCH
}
RLHF_FN(Linspace) {
  RLHF_TRY return Wrap(info.Env(), at::linspace(Scalar(info, 0), Scalar(info, 1), Int(info, 2), Opts(info, 3, 4)));
  RLHF_CATCH
}
RLHF_FN(Eye) { RLHF_TRY return Wrap(info.Env(), at::eye(Int(info, 0), Opts(info, 1, 2))); RLHF_CATCH }
RLHF_FN(Randn) { RLHF_TRY return Wrap(info.Env(), at::randn(Ints(info, 0), Opts(info, 1, 2))); RLHF_CATCH }
RLHF_FN(Rand) { RLHF_TRY return Wrap(info.Env(), at::rand(Ints(info, 0), Opts(info, 1, 2))); RLHF_CATCH }
RLHF_FN(Randint) {
  RLHF_TRY return Wrap(info.Env(), at::randint(Int(info, 0), Int(info, 1), Ints(info, 2), Opts(info, 3, 4)));
  RLHF_CATCH
}
RLHF_FN(ManualSeed) {
  RLHF_TRY
  uint64_t seed = (uint64_t)Int(info, 0);
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(seed);
  }
  if (torch::cuda::is_available()) torch::cuda::manual_seed_all(seed);
  return info.Env().Undefined();
  RLHF_CATCH
}

// The default generators, in the order their states are packed: the CPU one, then each CUDA device's.
static std::vector<at::Generator> DefaultGenerators() {
  std::vector<at::Generator> gens{at::detail::getDefaultCPUGenerator()};
  if (torch::cuda::is_available())
    for (int64_t i = 0; i < (int64_t)torch::cuda::device_count(); i++) gens.push_back(at::globalContext().defaultGenerator(at::Device(at::kCUDA, (c10::DeviceIndex)i)));
  return gens;
}

// getRngState(): every default generator's state in one uint8 tensor (torch.get_rng_state() followed
// by torch.cuda.get_rng_state_all()), for resuming a run exactly.
RLHF_FN(GetRngState) {
  RLHF_TRY
  std::vector<at::Tensor> parts;
  for (auto& gen : DefaultGenerators()) {
    std::lock_guard<std::mutex> lock(gen.mutex());
    parts.push_back(gen.get_state().flatten());
  }
  return Wrap(info.Env(), at::cat(parts));
  RLHF_CATCH
}

// setRngState(state): restores what getRngState() returned, on a machine with the same devices.
RLHF_FN(SetRngState) {
  RLHF_TRY
  auto state = T(info, 0);
  if (state.scalar_type() != at::kByte || state.dim() != 1)
    throw std::invalid_argument("setRngState: expected the 1-D uint8 tensor getRngState() returns");
  state = state.to(at::kCPU).contiguous();
  auto gens = DefaultGenerators();
  std::vector<int64_t> sizes;
  int64_t total = 0;
  for (auto& gen : gens) {
    std::lock_guard<std::mutex> lock(gen.mutex());
    sizes.push_back(gen.get_state().numel());
    total += sizes.back();
  }
  if (state.numel() != total)
    throw std::invalid_argument("setRngState: the state has " + std::to_string(state.numel()) + " bytes, but this process's generators (CPU + " +
                                std::to_string(gens.size() - 1) + " CUDA) need " + std::to_string(total) +
                                ": it was saved by a process with other devices or another libtorch");
  int64_t offset = 0;
  for (size_t k = 0; k < gens.size(); k++) {
    std::lock_guard<std::mutex> lock(gens[k].mutex());
    gens[k].set_state(state.narrow(0, offset, sizes[k]).clone());
    offset += sizes[k];
  }
  return info.Env().Undefined();
  RLHF_CATCH
}

// ---------------------------------------------------------------------------------------------
// Autograd

RLHF_FN(SetRequiresGrad) { RLHF_TRY T(info, 0).requires_grad_(Bool(info, 1)); return info.Env().Undefined(); RLHF_CATCH }
RLHF_FN(Grad) {
  RLHF_TRY
  auto& g = T(info, 0).grad();
  if (!g.defined()) return info.Env().Null();
  return Wrap(info.Env(), g);
  RLHF_CATCH
}
RLHF_FN(SetGrad) {
  RLHF_TRY
  auto& t = T(info, 0);
  auto g = OptT(info, 1);
  t.mutable_grad() = g ? *g : at::Tensor();
  return info.Env().Undefined();
  RLHF_CATCH
}
RLHF_FN(Backward) {
  RLHF_TRY
  auto& t = T(info, 0);
  auto g = OptT(info, 1);
  bool retain = Bool(info, 2);
  torch::autograd::backward({t}, g ? torch::autograd::variable_list{*g} : torch::autograd::variable_list{}, retain, false);
  return info.Env().Undefined();
  RLHF_CATCH
}
// autogradGrad(outputs, inputs, gradOutputs|null, retain, create): torch.autograd.grad.
RLHF_FN(AutogradGrad) {
  RLHF_TRY
  auto outs = TList(info, 0);
  auto ins = TList(info, 1);
  torch::autograd::variable_list gouts;
  if (!info[2].IsNull() && !info[2].IsUndefined()) gouts = TList(info, 2);
  auto res = torch::autograd::grad(outs, ins, gouts, Bool(info, 3), Bool(info, 4), true);
  auto arr = Napi::Array::New(info.Env(), res.size());
  for (size_t k = 0; k < res.size(); k++) arr.Set((uint32_t)k, res[k].defined() ? Wrap(info.Env(), res[k]) : info.Env().Null());
  return arr;
  RLHF_CATCH
}
RLHF_FN(RetainGrad) { RLHF_TRY T(info, 0).retain_grad(); return info.Env().Undefined(); RLHF_CATCH }
RLHF_FN(IsLeaf) { RLHF_TRY return Napi::Boolean::New(info.Env(), T(info, 0).is_leaf()); RLHF_CATCH }
RLHF_FN(GradFnName) {
  RLHF_TRY
  auto fn = T(info, 0).grad_fn();
  if (!fn) return info.Env().Null();
  return Napi::String::New(info.Env(), fn->name());
  RLHF_CATCH
}
RLHF_FN(SetGradEnabled) {
  bool prev = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(info[0].ToBoolean().Value());
  return Napi::Boolean::New(info.Env(), prev);
}
RLHF_FN(IsGradEnabled) { return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled()); }

// ---------------------------------------------------------------------------------------------
// Autocast: setAutocast('cpu'|'cuda', enabled, dtype) returns whether it was enabled before.
// Leaving the outermost autocast region must clear the cast-weight cache (as torch.autocast does).

RLHF_FN(SetAutocast) {
  RLHF_TRY
  std::string dev = info[0].As<Napi::String>().Utf8Value();
  bool enabled = Bool(info, 1);
  auto dtype = Dtype(info, 2);
  bool prev;
  if (dev == "cpu") {
    prev = at::autocast::is_cpu_enabled();
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  } else {
    prev = at::autocast::is_enabled();
    at::autocast::set_enabled(enabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
  }
  return Napi::Boolean::New(info.Env(), prev);
  RLHF_CATCH
}
RLHF_FN(AutocastIncrementNesting) { return Napi::Number::New(info.Env(), (double)at::autocast::increment_nesting()); }
RLHF_FN(AutocastDecrementNesting) {
  int64_t n = at::autocast::decrement_nesting();
  if (n == 0) at::autocast::clear_cache();
  return Napi::Number::New(info.Env(), (double)n);
}

// ---------------------------------------------------------------------------------------------
// Threads, devices and build information

RLHF_FN(SetNumThreads) { RLHF_TRY at::set_num_threads((int)Int(info, 0)); return info.Env().Undefined(); RLHF_CATCH }
RLHF_FN(GetNumThreads) { return Napi::Number::New(info.Env(), at::get_num_threads()); }

RLHF_FN(BuildInfo) {
  auto env = info.Env();
  auto o = Napi::Object::New(env);
  o.Set("torchVersion", Napi::String::New(env, TORCH_VERSION));
  o.Set("config", Napi::String::New(env, at::show_config()));
  o.Set("parallelInfo", Napi::String::New(env, at::get_parallel_info()));
  o.Set("mkldnn", Napi::Boolean::New(env, at::hasMKLDNN()));
  o.Set("mkl", Napi::Boolean::New(env, at::hasMKL()));
  o.Set("lapack", Napi::Boolean::New(env, at::hasLAPACK()));
  o.Set("cudaCompiled", Napi::Boolean::New(env, at::hasCUDA()));
  return o;
}

RLHF_FN(CudaDeviceCount) {
  RLHF_TRY
  return Napi::Number::New(info.Env(), torch::cuda::is_available() ? (double)torch::cuda::device_count() : 0);
  RLHF_CATCH
}
RLHF_FN(Synchronize) {
  RLHF_TRY
  if (torch::cuda::is_available()) torch::cuda::synchronize();
  return info.Env().Undefined();
  RLHF_CATCH
}

}  // namespace rlhf

// Context-aware module: it can be loaded from several worker_threads at once. All state it keeps
// is process-wide (the live-tensor counters, libtorch's own globals), none is tied to one isolate.
static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace rlhf;
#define EXPORT(js, fn) exports.Set(js, Napi::Function::New(env, fn, js))
  EXPORT("dispose", Dispose);
  EXPORT("isDisposed", IsDisposed);
  EXPORT("memory", Memory);
  EXPORT("meta", Meta);
  EXPORT("deviceOf", DeviceOf);
  EXPORT("isContiguous", IsContiguous);
  EXPORT("strides", Strides);
  EXPORT("fromBuffer", FromBuffer);
  EXPORT("toBuffer", ToBuffer);
  EXPORT("item", Item);
  EXPORT("zeros", Zeros);
  EXPORT("ones", Ones);
  EXPORT("empty", Empty);
  EXPORT("full", Full);
  EXPORT("arange", Arange);
  EXPORT("linspace", Linspace);
  EXPORT("eye", Eye);
  EXPORT("randn", Randn);
  EXPORT("rand", Rand);
  EXPORT("randint", Randint);
  EXPORT("manualSeed", ManualSeed);
  EXPORT("getRngState", GetRngState);
  EXPORT("setRngState", SetRngState);
  EXPORT("setRequiresGrad", SetRequiresGrad);
  EXPORT("grad", Grad);
  EXPORT("setGrad", SetGrad);
  EXPORT("backward", Backward);
  EXPORT("autogradGrad", AutogradGrad);
  EXPORT("retainGrad", RetainGrad);
  EXPORT("isLeaf", IsLeaf);
  EXPORT("gradFnName", GradFnName);
  EXPORT("setGradEnabled", SetGradEnabled);
  EXPORT("isGradEnabled", IsGradEnabled);
  EXPORT("setAutocast", SetAutocast);
  EXPORT("autocastIncrementNesting", AutocastIncrementNesting);
  EXPORT("autocastDecrementNesting", AutocastDecrementNesting);
  EXPORT("setNumThreads", SetNumThreads);
  EXPORT("getNumThreads", GetNumThreads);
  EXPORT("buildInfo", BuildInfo);
  EXPORT("cudaDeviceCount", CudaDeviceCount);
  EXPORT("synchronize", Synchronize);
#undef EXPORT
  RegisterOps(env, exports);
  RegisterFused(env, exports);
  return exports;
}

NODE_API_MODULE(rlhf_torch, Init)
