// Training speed: steps/s of the small MLPs ../shared/bench/torch_mlp.py times in PyTorch (ReLU,
// softmax cross-entropy, SGD lr 0.1, 16 batches of random data cycled, one thread), through
// train::Train with its per-step diagnostics. Prints one JSON line per network:
//   {"arch": "64-128-128-10", "batch": 64, "steps_per_s": {"median": ..., "min": ..., "max": ...}}
//
//   train_bench [--samples=N] [--min_sample_s=S]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/math/philox.h"
#include "kernels/train/trainer.h"

namespace actserve::train {
namespace {

struct Config {
  std::vector<int64_t> sizes;
  int64_t batch;
};

double Seconds(const TrainSpec& spec, const Dataset& data, Backend& backend) {
  TrainOptions options;
  options.backend = &backend;
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

void Run(const Config& c, int samples, double min_sample_s) {
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
  // Steady state: a sample is the time of a run of E epochs minus that of a run of 1 epoch
  // (16 steps each), so that setting up (data conversion, initial weights) and the final
  // evaluation cancel out, as they are outside torch_mlp.py's timed loop. E is calibrated so that
  // a sample takes at least min_sample_s.
  TrainSpec one = spec;
  one.epochs = 1;
  spec.epochs = 4;
  double t = Seconds(spec, data, *backend) - Seconds(one, data, *backend);
  spec.epochs =
      std::max<int64_t>(4, static_cast<int64_t>(3 * min_sample_s / std::max(t, 1e-6)) + 1);
  std::vector<double> rates;
  for (int i = 0; i < samples; ++i) {
    double seconds = Seconds(spec, data, *backend) - Seconds(one, data, *backend);
    rates.push_back(16.0 * (spec.epochs - 1) / seconds);
  }
  std::sort(rates.begin(), rates.end());
  std::string arch;
  for (int64_t s : c.sizes) arch += (arch.empty() ? "" : "-") + std::to_string(s);
  std::printf(
      "{\"arch\": \"%s\", \"batch\": %lld, \"threads\": 1, \"steps_per_sample\": %lld, "
      "\"steps_per_s\": {\"median\": %.1f, \"min\": %.1f, \"max\": %.1f, \"n\": %d}}\n",
      arch.c_str(), static_cast<long long>(c.batch), static_cast<long long>(16 * (spec.epochs - 1)),
      rates[rates.size() / 2], rates.front(), rates.back(), samples);
  std::fflush(stdout);
}

}  // namespace
}  // namespace actserve::train

int main(int argc, char** argv) {
  int samples = 7;
  double min_sample_s = 0.3;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--samples=", 10) == 0) samples = std::atoi(argv[i] + 10);
    if (std::strncmp(argv[i], "--min_sample_s=", 15) == 0) min_sample_s = std::atof(argv[i] + 15);
  }
  for (const actserve::train::Config& c : {actserve::train::Config{{64, 128, 128, 10}, 64},
                                           actserve::train::Config{{784, 256, 256, 10}, 128}}) {
    actserve::train::Run(c, samples, min_sample_s);
  }
  return 0;
}
