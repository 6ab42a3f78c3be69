#include "kernels/cpu/cpu_backend.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "kernels/call.h"
#include "kernels/catalog/catalog.h"
#include "kernels/catalog/element_rules.h"
#include "kernels/cpu/noise.h"
#include "kernels/cpu/simd.h"
#include "kernels/util/status_macros.h"
#include "unsupported/Eigen/CXX11/ThreadPool"

namespace actserve {
namespace {

using cpu::Vec;

// Elements per block: the unit of noise generation and of float-to-double flushing of
// parameter-gradient sums (a float sum over 256 terms loses at most ~1e-5 relative).
constexpr int64_t kBlock = 256;

// Calls fn(begin, end, channel) on the runs of [begin, end) that share one channel. Without
// per-channel parameters the whole range is one run with channel 0.
template <class F>
void ForEachChannelRun(const ActivationCall& c, int64_t begin, int64_t end, F&& fn) {
  if (!c.per_channel()) {
    fn(begin, end, 0);
    return;
  }
  for (int64_t s = begin; s < end;) {
    int64_t e = std::min(end, (s / c.inner + 1) * c.inner);
    fn(s, e, ChannelOf(s, c.inner, c.channels));
    s = e;
  }
}

// A run's arguments; the noise is the constant where the call draws none.
template <class V>
Args<V> MakeArgs(const ActivationCall& c, int64_t channel, Noise noise) {
  Args<V> a;
  for (int k = 0; k < kMaxParams; ++k) {
    const std::vector<double>& p = c.params[k];
    a.p[k] = V(p.empty() ? 0.0 : ChannelValue(p.data(), static_cast<int64_t>(p.size()), channel));
  }
  a.noise = V(ConstantNoise(noise));
  return a;
}

// Loads `count` (<= kLanes) values, zero-padding a partial vector: a tensor's tail runs the same
// vector code as the rest and gives identical values.
template <class T>
Vec<T> LoadPartial(const T* p, int64_t count) {
  if (count == Vec<T>::kLanes) return Vec<T>::Load(p);
  alignas(64) T buf[Vec<T>::kLanes] = {};
  std::copy(p, p + count, buf);
  return Vec<T>::Load(buf);
}

// Stores `count` (<= kLanes) values. With `stream`, a whole vector goes around the caches (the
// kernels only ask for it where the destination is aligned).
template <class T>
void StorePartial(const Vec<T>& v, T* p, int64_t count, bool stream = false) {
  if (count == Vec<T>::kLanes) return stream ? v.StoreStream(p) : v.Store(p);
  alignas(64) T buf[Vec<T>::kLanes];
  v.Store(buf);
  std::copy(buf, buf + count, p);
}

template <class T>
double HorizontalSum(const Vec<T>& v) {
  double s = 0;
  for (int i = 0; i < Vec<T>::kLanes; ++i) s += v.Lane(i);
  return s;
}

// ---- Element-wise kernels: units are elements. ----
//
// A pass is an Op: a small struct of pointers with Step(i, count, args), which handles the
// `count` (<= kLanes) elements at i, EndBlock(channel), and kUsesNoise (whether args.noise must
// hold the elements' draws). Sweep copies the Op into a local, so
// that its pointers live in registers: vector stores may alias anything, and pointers read
// through a reference would be reloaded after every store, which halves DRAM-bound throughput.

template <class Fn, class T>
struct ForwardOp {
  static constexpr bool kUsesNoise = true;
  const T* x;
  T* y;
  bool stream;
  void Step(int64_t i, int64_t count, const Args<Vec<T>>& args) {
    Vec<T> xv = LoadPartial(x + i, count);
    StorePartial(ElementForward<Fn>(xv, args), y + i, count, stream);
  }
  void EndBlock(int64_t) {}
};

template <class Fn, class T>
struct BackwardOp {
  static constexpr bool kLearnable = LearnableParam(Fn::kInfo) >= 0;
  static constexpr bool kUsesNoise = BackwardUsesNoise(Fn::kInfo);
  const T* x;
  const T* dy;
  T* dx;
  double* grads;  // null: parameter gradients not wanted
  bool per_channel;
  bool stream;
  Vec<T> grad_sum = Vec<T>(0.0);
  double spill = 0;  // the block's terms that overflowed T, recomputed in double
  void Step(int64_t i, int64_t count, const Args<Vec<T>>& args) {
    Vec<T> xv = LoadPartial(x + i, count);
    Vec<T> dyv = LoadPartial(dy + i, count);
    StorePartial(ElementBackward<Fn>(xv, dyv, args), dx + i, count, stream);
    if constexpr (kLearnable) {
      if (grads != nullptr) {
        Vec<T> g = ElementParamGradient<Fn>(xv, dyv, args);
        if (cpu::Any(math::IsInf(g))) g = Spill(g, xv, dyv, args);  // rare: see ParamGradientTerm
        grad_sum += g;
      }
    }
  }
  // Moves g's infinite lanes into `spill` as ParamGradientTerm recomputes them.
  Vec<T> Spill(const Vec<T>& g, const Vec<T>& xv, const Vec<T>& dyv, const Args<Vec<T>>& args) {
    alignas(64) T lanes[Vec<T>::kLanes];
    g.Store(lanes);
    for (int j = 0; j < Vec<T>::kLanes; ++j) {
      if (!std::isinf(lanes[j])) continue;
      Args<T> a;
      for (int k = 0; k < kMaxParams; ++k) a.p[k] = args.p[k].Lane(0);
      a.noise = args.noise.Lane(j);
      spill += ParamGradientTerm<Fn>(xv.Lane(j), dyv.Lane(j), a);
      lanes[j] = T(0);
    }
    return Vec<T>::Load(lanes);
  }
  void EndBlock(int64_t channel) {
    if constexpr (kLearnable) {
      if (grads == nullptr) return;
      grads[per_channel ? channel : 0] += HorizontalSum(grad_sum) + spill;
      grad_sum = Vec<T>(0.0);
      spill = 0;
    }
  }
};

// Backward from the forward's output (ActivationCall::from_output): y in place of x.
template <class Fn, class T>
struct BackwardFromOutputOp {
  static constexpr bool kUsesNoise = false;
  const T* y;
  const T* dy;
  T* dx;
  bool stream;
  void Step(int64_t i, int64_t count, const Args<Vec<T>>& args) {
    Vec<T> yv = LoadPartial(y + i, count);
    Vec<T> dyv = LoadPartial(dy + i, count);
    StorePartial(ElementBackwardFromOutput<Fn>(yv, dyv, args), dx + i, count, stream);
  }
  void EndBlock(int64_t) {}
};

// Runs op over [begin, end) in vectors, block by block within channel runs, with each
// channel's parameters and each element's noise in the args.
template <class Fn, class T, class Op>
void Sweep(const ActivationCall& c, int64_t begin, int64_t end, const Op& op_in) {
  using V = Vec<T>;
  constexpr int L = V::kLanes;
  constexpr Noise kNoise = Fn::kInfo.noise;
  const NoiseDraw draw = Op::kUsesNoise ? DrawFor(kNoise, c.training) : NoiseDraw::kConstant;
  const bool noise_array = draw != NoiseDraw::kConstant;
  ForEachChannelRun(c, begin, end, [&](int64_t s, int64_t e, int64_t channel) {
    Op op = op_in;
    Args<V> args = MakeArgs<V>(c, channel, kNoise);
    alignas(64) T noise[kBlock];
    for (int64_t b = s; b < e; b += kBlock) {
      const int64_t n = std::min(kBlock, e - b);
      if (noise_array) cpu::FillNoise(draw, c.seed, b, n, noise);
      int64_t i = 0;
      for (; i + L <= n; i += L) {
        if (noise_array) args.noise = V::Load(noise + i);
        op.Step(b + i, L, args);
      }
      if (i < n) {
        if (noise_array) args.noise = LoadPartial(noise + i, n - i);
        op.Step(b + i, n - i, args);
      }
      op.EndBlock(channel);
    }
  });
}

// Number of leading elements of `out` to store normally so that the rest starts on a 64-byte
// boundary, where non-temporal stores may begin; all of them when streaming does not apply.
template <class T>
int64_t StreamHead(const ActivationCall& c, const T* out, int64_t n, bool stream) {
  if (!stream || c.per_channel()) return n;
  const int64_t misaligned = (reinterpret_cast<uintptr_t>(out) % 64) / sizeof(T);
  return misaligned == 0 ? 0 : std::min(n, static_cast<int64_t>(64 / sizeof(T)) - misaligned);
}

// Sweeps [begin, end) with op: normal stores up to the first aligned element, then streaming
// stores if `stream` (and a fence).
template <class Fn, class T, class Op>
void SweepMaybeStreaming(const ActivationCall& c, const T* out, int64_t begin, int64_t end,
                         bool stream, Op op) {
  const int64_t head = StreamHead(c, out + begin, end - begin, stream);
  op.stream = false;
  if (head > 0) Sweep<Fn, T>(c, begin, begin + head, op);
  if (begin + head < end) {
    op.stream = stream;
    Sweep<Fn, T>(c, begin + head, end, op);
    if (stream) cpu::StreamFence();
  }
}

template <class Fn, class T>
void ElementwiseForward(const ActivationCall& c, const T* x, T* y, int64_t begin, int64_t end,
                        bool stream) {
  SweepMaybeStreaming<Fn, T>(c, y, begin, end, stream, ForwardOp<Fn, T>{x, y, false});
}

// grads: where parameter-gradient sums go (one per channel or one), or null if not wanted.
template <class Fn, class T>
void ElementwiseBackward(const ActivationCall& c, const T* x, const T* dy, T* dx, int64_t begin,
                         int64_t end, double* grads, bool stream) {
  if constexpr (Fn::kInfo.backward_from_output) {
    if (c.from_output) {  // x holds the forward's output
      return SweepMaybeStreaming<Fn, T>(c, dx, begin, end, stream,
                                        BackwardFromOutputOp<Fn, T>{x, dy, dx, false});
    }
  }
  SweepMaybeStreaming<Fn, T>(c, dx, begin, end, stream,
                             BackwardOp<Fn, T>{x, dy, dx, grads, c.per_channel(), false});
}

// ---- Last-axis kernels: units are rows. ----

struct RowParams {
  double p[kMaxParams] = {};
  explicit RowParams(const ActivationCall& c) {
    for (int k = 0; k < kMaxParams; ++k) p[k] = c.params[k].empty() ? 0 : c.params[k][0];
  }
};

template <class Fn, class T>
void RowForward(const ActivationCall& c, const T* x, T* y, int64_t begin, int64_t end, bool) {
  RowParams params(c);
  int64_t n = c.row_length, m = c.output_shape.back();
  for (int64_t r = begin; r < end; ++r) {
    Fn::template Forward<Vec<T>>(x + r * n, n, params.p, y + r * m);
  }
}

template <class Fn, class T>
void RowBackward(const ActivationCall& c, const T* x, const T* dy, T* dx, int64_t begin,
                 int64_t end, double*, bool) {
  RowParams params(c);
  int64_t n = c.row_length, m = c.output_shape.back();
  std::vector<T> scratch(n);
  for (int64_t r = begin; r < end; ++r) {
    RowBackwardOf<Fn, Vec<T>>(c.from_output, x + r * n, dy + r * m, n, params.p, scratch.data(),
                              dx + r * n);
  }
}

// ---- Dispatch tables, one row per catalog entry. ----

template <class T>
struct Kernels {
  // (call, x, y, begin, end, stream)
  void (*forward)(const ActivationCall&, const T*, T*, int64_t, int64_t, bool);
  // (call, x, dy, dx, begin, end, grads or null, stream)
  void (*backward)(const ActivationCall&, const T*, const T*, T*, int64_t, int64_t, double*, bool);
};

template <class Fn, class T>
constexpr Kernels<T> KernelsFor() {
  if constexpr (Fn::kInfo.layout == Layout::kLastAxis) {
    return {&RowForward<Fn, T>, &RowBackward<Fn, T>};
  } else {
    return {&ElementwiseForward<Fn, T>, &ElementwiseBackward<Fn, T>};
  }
}

template <class T>
constexpr Kernels<T> kKernels[] = {
#define ACTSERVE_KERNELS_(Type) KernelsFor<fn::Type, T>(),
    ACTSERVE_ACTIVATIONS(ACTSERVE_KERNELS_)
#undef ACTSERVE_KERNELS_
};

class CpuBackend final : public TypedBackend<CpuBackend> {
 public:
  explicit CpuBackend(const CpuBackendOptions& options)
      : threads_(options.threads > 0 ? options.threads
                                     : std::max(1u, std::thread::hardware_concurrency())),
        parallel_threshold_(options.parallel_threshold),
        streaming_bytes_(options.streaming_store_bytes),
        pool_(threads_ > 1 ? std::make_unique<Eigen::ThreadPool>(threads_ - 1) : nullptr) {}

  std::string_view name() const override { return "cpu"; }

 private:
  friend class TypedBackend<CpuBackend>;

  template <class T>
  absl::Status DoForward(const ActivationCall& call, absl::Span<const T> x, absl::Span<T> y) {
    ACTSERVE_RETURN_IF_ERROR(CheckForwardSizes(call, x.size(), y.size()));
    auto kernel = kKernels<T>[static_cast<int>(call.id)].forward;
    const bool stream = Streams(y.size() * sizeof(T));
    ParallelFor(call, [&](int64_t begin, int64_t end, int) {
      kernel(call, x.data(), y.data(), begin, end, stream);
    });
    return absl::OkStatus();
  }

  template <class T>
  absl::Status DoBackward(const ActivationCall& call, absl::Span<const T> x, absl::Span<const T> dy,
                          absl::Span<T> dx, ParamGradients* grads) {
    ACTSERVE_RETURN_IF_ERROR(CheckBackwardSizes(call, x.size(), dy.size(), dx.size()));
    auto kernel = kKernels<T>[static_cast<int>(call.id)].backward;
    const int learnable = LearnableParam(*call.info);
    const size_t grad_count = learnable < 0 ? 0 : call.params[learnable].size();
    std::vector<std::vector<double>> partial(threads_, std::vector<double>(grad_count, 0.0));
    const bool stream = Streams(dx.size() * sizeof(T));
    ParallelFor(call, [&](int64_t begin, int64_t end, int task) {
      kernel(call, x.data(), dy.data(), dx.data(), begin, end,
             grads != nullptr ? partial[task].data() : nullptr, stream);
    });
    if (grads != nullptr) {
      *grads = ParamGradients();
      if (learnable >= 0) {
        std::vector<double>& sum = grads->values[learnable];
        sum.assign(grad_count, 0.0);
        for (const auto& p : partial) {
          for (size_t i = 0; i < grad_count; ++i) sum[i] += p[i];
        }
      }
    }
    return absl::OkStatus();
  }

  static int64_t Work(const ActivationCall& call) {
    static constexpr int64_t kWeight[] = {1, 2, 4};  // by Cost: select, arithmetic, transcendental
    return call.input_size * kWeight[static_cast<int>(call.info->properties.cost)];
  }

  // Outputs this large are written around the caches: they would only evict the inputs.
  bool Streams(size_t output_bytes) const { return output_bytes >= streaming_bytes_; }

  // Splits the call's units (elements, or rows for last-axis functions) into at most threads_
  // contiguous ranges and runs f(begin, end, task) on them, the caller taking the first range.
  // Small calls run on the caller alone: fork/join costs microseconds.
  template <class F>
  void ParallelFor(const ActivationCall& call, F&& f) {
    const bool rows = call.info->layout == Layout::kLastAxis;
    const int64_t units = rows ? call.rows() : call.input_size;
    int tasks = 1;
    if (pool_ != nullptr && Work(call) >= parallel_threshold_) {
      tasks = static_cast<int>(std::min<int64_t>(threads_, units));
    }
    if (tasks <= 1) {
      if (units > 0) f(0, units, 0);
      return;
    }
    // Element ranges start on 64-element boundaries (whole cache lines, whole vectors).
    const int64_t align = rows ? 1 : 64;
    auto bound = [&](int t) {
      if (t == tasks) return units;
      return std::min(units, (units * t / tasks) / align * align);
    };
    Eigen::Barrier done(static_cast<unsigned>(tasks - 1));
    for (int t = 1; t < tasks; ++t) {
      pool_->Schedule([&, t] {
        f(bound(t), bound(t + 1), t);
        done.Notify();
      });
    }
    f(bound(0), bound(1), 0);
    done.Wait();
  }

  const int threads_;
  const int64_t parallel_threshold_;
  const size_t streaming_bytes_;
  std::unique_ptr<Eigen::ThreadPool> pool_;
};

}  // namespace

std::unique_ptr<Backend> NewCpuBackend(const CpuBackendOptions& options) {
  return std::make_unique<CpuBackend>(options);
}

}  // namespace actserve
