// Training speed: steps/s of the small MLPs ../shared/bench/torch_mlp.py times in PyTorch (ReLU,
// softmax cross-entropy, SGD lr 0.1, 16 batches of random data cycled, one thread), through
// train::Train with its per-step diagnostics, on the CPU engine (one thread) or the GPU's. Prints
// one JSON line per network and engine:
//   {"arch": "64-128-128-10", "batch": 64, "engine": "cpu", "steps_per_s": {"median": ...}}
// With --engine=both each network runs on both and a line {"arch": ..., "cuda_over_cpu": R}
// follows, R the ratio of the medians; a larger network (784-2048-2048-10, batch 1024), where a
// GPU pays off, joins the two.
//
//   train_bench [--engine=cpu|cuda|both] [--samples=N] [--min_sample_s=S]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_engine.h"
#include "kernels/math/philox.h"
#include "kernels/train/trainer.h"

namespace actserve::train {
namespace {

struct Config {
  std::vector<int64_t> sizes;
  int64_t batch;
};

double Seconds(const TrainSpec& spec, const Dataset& data, const TrainOptions& options) {
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<TrainResult> r = Train(spec, data, Dataset(), options);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!r.ok() || r->outcome != Outcome::kCompleted) {
    std::fprintf(stderr, "training failed: %s\n",
                 r.ok() ? r->failure.ToString().c_str() : r.status().ToString().c_str());
    std::exit(1);
  }
  return s;
}

std::string Arch(const Config& c) {
  std::string arch;
  for (int64_t s : c.sizes) arch += (arch.empty() ? "" : "-") + std::to_string(s);
  return arch;
}

// The median steps/s of `c` on `engine` ("cpu" or "cuda").
double Run(const Config& c, const std::string& engine, int samples, double min_sample_s) {
  TrainSpec spec;
  spec.inputs = c.sizes.front();
  for (size_t i = 1; i < c.sizes.size(); ++i) {
    spec.layers.push_back(
        {c.sizes[i], {.activation = i + 1 < c.sizes.size() ? "relu" : "identity"}});
  }
  spec.loss = Loss::kSoftmaxCrossEntropy;
  spec.optimizer = {.kind = OptimizerKind::kSgd, .learning_rate = 0.1};
  spec.init = Init::kUniform;  // torch.nn.Linear's default
  spec.batch_size = c.batch;
  spec.shuffle = false;
  Dataset data;
  data.rows = 16 * c.batch;  // 16 batches, as torch_mlp.py cycles
  data.features = spec.inputs;
  for (int64_t i = 0; i < data.rows * data.features; ++i) {
    data.x.push_back(math::NormalSample(1, i));
  }
  for (int64_t r = 0; r < data.rows; ++r) {
    data.y.push_back(
        static_cast<double>(static_cast<int64_t>(math::UniformSample(2, r) * c.sizes.back())));
  }
  if (absl::Status s = Validate(spec, data, Dataset(), Limits()); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    std::exit(1);
  }
  std::unique_ptr<Backend> backend = NewCpuBackend({.threads = 1});
  TrainOptions options;
  options.backend = backend.get();
  if (engine == "cuda") options.engine = [](const TrainSpec& s) { return NewCudaEngine(s); };
  // Steady state: a sample is the time of a run of E epochs minus that of a run of 1 epoch
  // (16 steps each), so that setting up (data conversion, initial weights) and the final
  // evaluation cancel out, as they are outside torch_mlp.py's timed loop. E doubles from 4 until
  // a sample takes at least min_sample_s. (It was once extrapolated from the first difference,
  // but with fast steps and a slow setup that difference can be noise, even negative, and the
  // extrapolation then asked for a million epochs: the GPU check's train_bench never ended.)
  TrainSpec one = spec;
  one.epochs = 1;
  spec.epochs = 4;
  while (Seconds(spec, data, options) - Seconds(one, data, options) < min_sample_s &&
         spec.epochs < (int64_t{1} << 20)) {
    spec.epochs *= 2;
  }
  std::vector<double> rates;
  for (int i = 0; i < samples; ++i) {
    double seconds = Seconds(spec, data, options) - Seconds(one, data, options);
    rates.push_back(16.0 * (spec.epochs - 1) / seconds);
  }
  std::sort(rates.begin(), rates.end());
  const std::string arch = Arch(c);
  std::printf(
      "{\"arch\": \"%s\", \"batch\": %lld, \"engine\": \"%s\", \"threads\": 1, "
      "\"steps_per_sample\": %lld, "
      "\"steps_per_s\": {\"median\": %.1f, \"min\": %.1f, \"max\": %.1f, \"n\": %d}}\n",
      arch.c_str(), static_cast<long long>(c.batch), engine.c_str(),
      static_cast<long long>(16 * (spec.epochs - 1)), rates[rates.size() / 2], rates.front(),
      rates.back(), samples);
  std::fflush(stdout);
  return rates[rates.size() / 2];
}

}  // namespace
}  // namespace actserve::train

int main(int argc, char** argv) {
  using actserve::train::Config;
  int samples = 7;
  double min_sample_s = 0.3;
  std::string engine = "cpu";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--samples=", 10) == 0) samples = std::atoi(argv[i] + 10);
    if (std::strncmp(argv[i], "--min_sample_s=", 15) == 0) min_sample_s = std::atof(argv[i] + 15);
    if (std::strncmp(argv[i], "--engine=", 9) == 0) engine = argv[i] + 9;
  }
  if (engine != "cpu" && engine != "cuda" && engine != "both") {
    std::fprintf(stderr, "--engine: expected cpu, cuda or both\n");
    return 2;
  }
  if (engine != "cpu") {
    if (absl::Status gpu = actserve::NewCudaBackend().status(); !gpu.ok()) {
      std::printf("train_bench: no GPU engine: %s\n", std::string(gpu.message()).c_str());
      if (engine == "cuda") return 0;
      engine = "cpu";
    }
  }
  std::vector<Config> configs = {Config{{64, 128, 128, 10}, 64}, Config{{784, 256, 256, 10}, 128}};
  if (engine != "cpu") configs.push_back(Config{{784, 2048, 2048, 10}, 1024});
  for (const Config& c : configs) {
    if (engine == "both") {
      const double cpu = actserve::train::Run(c, "cpu", samples, min_sample_s);
      const double gpu = actserve::train::Run(c, "cuda", samples, min_sample_s);
      std::printf("{\"arch\": \"%s\", \"batch\": %lld, \"cuda_over_cpu\": %.2f}\n",
                  actserve::train::Arch(c).c_str(), static_cast<long long>(c.batch), gpu / cpu);
    } else {
      actserve::train::Run(c, engine, samples, min_sample_s);
    }
  }
  return 0;
}
