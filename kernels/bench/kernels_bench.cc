// Element throughput of every catalog function, forward and backward, fp32, at 4 Ki, 256 Ki and
// 16 Mi elements on 1 and 2 threads, next to a plain copy of the same bytes measured in the same
// run: memcpy of 8 bytes per element for forward (read x, write y) and 12 for backward (read x
// and dy, write dx). Functions with a backward from the output (the softmax family) also run it
// as "bwd_y": given y = f(x) in x's place, as PyTorch's backward is. Each function's label is its
// catalog cost class (select, arithmetic, transcendental). Functions run with default parameters
// (rrelu in inference mode).
//
//   build/kernels/kernels_bench --benchmark_format=json > ours.json
// kernels/bench/compare.py runs it beside PyTorch and oneDNN and prints the ratios.
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "kernels/cpu/cpu_backend.h"

namespace actserve {
namespace {

struct Buffers {
  std::vector<float> x, dy, out, y;  // y: the forward's output, for bwd_y
  explicit Buffers(int64_t n) : x(n + n / 2), dy(n), out(n + n / 2), y(n) {
    for (int64_t i = 0; i < n; ++i) {
      x[i] = -8.0f + 16.0f * static_cast<float>((i * 2654435761u) % 1000003) / 1000003.0f;
      dy[i] = 0.5f;
    }
  }
};

Buffers& BuffersFor(int64_t n) {
  static auto* cache = new std::map<int64_t, Buffers>();
  auto it = cache->find(n);
  if (it == cache->end()) it = cache->emplace(n, Buffers(n)).first;
  return it->second;
}

Backend& BackendFor(int threads) {
  static auto* one = NewCpuBackend({.threads = 1}).release();
  static auto* two = NewCpuBackend({.threads = 2}).release();
  return threads == 1 ? *one : *two;
}

// Copy reference: the same bytes as the kernel (8 per element forward, 12 backward), as one
// memcpy; items are the activation's elements, so items/s compare directly.
void BM_Copy(benchmark::State& state) {
  const int64_t n = state.range(0);
  const bool backward = state.range(1) != 0;
  const int64_t floats = backward ? n + n / 2 : n;
  Buffers& b = BuffersFor(n);
  for (auto _ : state) {
    std::memcpy(b.out.data(), b.x.data(), floats * sizeof(float));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetLabel(backward ? "bwd" : "fwd");
}

// direction: 0 forward, 1 backward, 2 backward from the output.
void BM_Activation(benchmark::State& state, ActivationId id, int direction) {
  const bool backward = direction != 0;
  const int64_t n = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  Buffers& b = BuffersFor(n);
  const ActivationInfo& info = Info(id);
  // Last-axis functions work on rows of 1024.
  std::vector<int64_t> shape = info.layout == Layout::kLastAxis
                                   ? std::vector<int64_t>{n / 1024, 1024}
                                   : std::vector<int64_t>{n};
  auto call = PrepareCall({.activation = info.name, .shape = shape, .from_output = direction == 2});
  if (!call.ok()) return state.SkipWithError(std::string(call.status().message()).c_str());
  Backend& backend = BackendFor(threads);
  absl::Span<const float> x(b.x.data(), call->input_size);
  absl::Span<const float> dy(b.dy.data(), call->output_size);
  if (direction == 2) {  // the forward's output in x's place (an allocation kept across runs)
    absl::Span<float> y(b.y.data(), call->output_size);
    if (!backend.Forward(*call, x, y).ok()) return state.SkipWithError("forward");
    x = y;
  }
  for (auto _ : state) {
    absl::Status s =
        backward ? backend.Backward(*call, x, dy, absl::MakeSpan(b.out.data(), call->input_size),
                                    nullptr)
                 : backend.Forward(*call, x, absl::MakeSpan(b.out.data(), call->output_size));
    if (!s.ok()) return state.SkipWithError(std::string(s.message()).c_str());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);
  static constexpr const char* kCost[] = {"select", "arithmetic", "transcendental"};
  state.SetLabel(std::string(kCost[static_cast<int>(info.properties.cost)]) +
                 (info.layout == Layout::kLastAxis ? " rows" : ""));
}

// Where a second thread starts to pay: forward at sizes around the default threshold, on one
// thread and on two with parallelism forced at every size.
void BM_Crossover(benchmark::State& state, ActivationId id) {
  const int64_t n = state.range(0);
  const int threads = static_cast<int>(state.range(1));
  static auto* forced = NewCpuBackend({.threads = 2, .parallel_threshold = 1}).release();
  Backend& backend = threads == 1 ? BackendFor(1) : *forced;
  Buffers& b = BuffersFor(n);
  auto call = PrepareCall({.activation = Info(id).name, .shape = {n}});
  for (auto _ : state) {
    absl::Status s =
        backend.Forward(*call, absl::MakeSpan(b.x.data(), n), absl::MakeSpan(b.out.data(), n));
    if (!s.ok()) return state.SkipWithError(std::string(s.message()).c_str());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);
}

const std::vector<int64_t> kSizes = {4 << 10, 256 << 10, 16 << 20};

int RegisterAll() {
  for (int64_t n : kSizes) {
    for (int backward : {0, 1}) {
      benchmark::RegisterBenchmark("copy", BM_Copy)->Args({n, backward})->UseRealTime();
    }
  }
  for (int i = 0; i < kNumActivations; ++i) {
    auto id = static_cast<ActivationId>(i);
    for (int direction : {0, 1, 2}) {
      if (direction == 2 && !Info(id).backward_from_output) continue;
      static constexpr const char* kDirection[] = {"/fwd", "/bwd", "/bwd_y"};
      std::string name = std::string(Info(id).name) + kDirection[direction];
      auto* bm = benchmark::RegisterBenchmark(name.c_str(), BM_Activation, id, direction);
      for (int64_t n : kSizes) {
        for (int threads : {1, 2}) bm->Args({n, threads});
      }
      bm->UseRealTime();
    }
  }
  for (ActivationId id : {ActivationId::kRelu, ActivationId::kHyperbolicTangent}) {
    std::string name = std::string("crossover/") + Info(id).name;
    auto* bm = benchmark::RegisterBenchmark(name.c_str(), BM_Crossover, id);
    for (int64_t n = 8 << 10; n <= (2 << 20); n *= 2) {
      for (int threads : {1, 2}) bm->Args({n, threads});
    }
    bm->UseRealTime();
  }
  return 0;
}
const int kRegistered = RegisterAll();

}  // namespace
}  // namespace actserve

BENCHMARK_MAIN();
