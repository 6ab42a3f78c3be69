#include "kernels/train/dataset.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "absl/strings/str_format.h"
#include "kernels/math/philox.h"
#include "kernels/util/untrusted.h"

namespace actserve::train {
namespace {

constexpr double kPi = std::numbers::pi;

constexpr GeneratorInfo kGenerators[] = {
    {"xor", "points around the corners (+-1, +-1); class 1 where x1 * x2 < 0", 0.2, false},
    {"two_spirals", "two interleaved spirals of 1.5 turns (Lang & Witbrock)", 0.05, false},
    {"moons", "two interleaving half circles (as scikit-learn's make_moons)", 0.1, false},
    {"circles", "a circle of radius 0.5 inside one of radius 1", 0.05, false},
    {"blobs", "`classes` gaussian blobs of unit spread around centres in [-5, 5]^2", 1.0, false},
    {"sine", "regression: y = sin(x) + noise for x uniform in [-pi, pi]", 0.1, true},
};

// Draws for row r: uniform u(k) and normal n(k), k < 8, independent across rows and kinds.
struct RowRandom {
  uint64_t seed;
  int64_t row;
  double u(int k) const { return math::UniformSample(seed, static_cast<uint64_t>(row) * 8 + k); }
  double n(int k) const {
    return math::NormalSample(seed ^ 0x9e3779b97f4a7c15ull, static_cast<uint64_t>(row) * 8 + k);
  }
};

// Fills row r's features (2 of them, or 1 for sine) and its target.
void MakeRow(std::string_view name, const RowRandom& rnd, double noise, int64_t classes,
             uint64_t seed, double* x, double* y) {
  if (name == "xor") {
    double a = rnd.u(0) < 0.5 ? -1 : 1, b = rnd.u(1) < 0.5 ? -1 : 1;
    x[0] = a + noise * rnd.n(0);
    x[1] = b + noise * rnd.n(1);
    *y = x[0] * x[1] < 0 ? 1 : 0;
  } else if (name == "two_spirals") {
    int label = rnd.u(0) < 0.5 ? 0 : 1;
    double t = 0.25 + 0.75 * std::sqrt(rnd.u(1));  // uniform along the arc, roughly
    double angle = 3 * kPi * t, sign = label == 0 ? 1 : -1;
    x[0] = sign * t * std::cos(angle) + noise * rnd.n(0);
    x[1] = sign * t * std::sin(angle) + noise * rnd.n(1);
    *y = label;
  } else if (name == "moons") {
    int label = rnd.u(0) < 0.5 ? 0 : 1;
    double angle = kPi * rnd.u(1);
    x[0] = (label == 0 ? std::cos(angle) : 1 - std::cos(angle)) + noise * rnd.n(0);
    x[1] = (label == 0 ? std::sin(angle) : 0.5 - std::sin(angle)) + noise * rnd.n(1);
    *y = label;
  } else if (name == "circles") {
    int label = rnd.u(0) < 0.5 ? 0 : 1;
    double angle = 2 * kPi * rnd.u(1), radius = label == 0 ? 1.0 : 0.5;
    x[0] = radius * std::cos(angle) + noise * rnd.n(0);
    x[1] = radius * std::sin(angle) + noise * rnd.n(1);
    *y = label;
  } else if (name == "blobs") {
    int64_t label = std::min<int64_t>(classes - 1, static_cast<int64_t>(rnd.u(0) * classes));
    // Centres come from the seed alone, so every row of a set shares them.
    uint64_t centre_seed = DeriveSeed(seed, 1);
    double cx = -5 + 10 * math::UniformSample(centre_seed, 2 * label);
    double cy = -5 + 10 * math::UniformSample(centre_seed, 2 * label + 1);
    x[0] = cx + noise * rnd.n(0);
    x[1] = cy + noise * rnd.n(1);
    *y = static_cast<double>(label);
  } else {  // sine
    x[0] = -kPi + 2 * kPi * rnd.u(0);
    *y = std::sin(x[0]) + noise * rnd.n(0);
  }
}

}  // namespace

absl::Span<const GeneratorInfo> Generators() { return kGenerators; }

uint64_t DeriveSeed(uint64_t seed, uint64_t stream) {
  // SplitMix64 of the pair: consecutive streams give unrelated seeds.
  uint64_t z = seed + 0x9e3779b97f4a7c15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

absl::StatusOr<Dataset> Generate(const GeneratorSpec& spec, int64_t max_rows) {
  const GeneratorInfo* info = nullptr;
  for (const GeneratorInfo& g : kGenerators) {
    if (spec.name == g.name) info = &g;
  }
  if (info == nullptr) {
    std::string names;
    for (const GeneratorInfo& g : kGenerators)
      absl::StrAppend(&names, names.empty() ? "" : ", ", g.name);
    return absl::InvalidArgumentError(absl::StrFormat(
        "dataset.name: unknown dataset %s; expected one of %s", QuoteUntrusted(spec.name), names));
  }
  if (spec.rows < 1 || spec.rows > max_rows) {
    return absl::InvalidArgumentError(
        absl::StrFormat("dataset.rows: %d is out of range; expected 1 to %d", spec.rows, max_rows));
  }
  double noise = spec.noise.value_or(info->default_noise);
  if (!std::isfinite(noise) || noise < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("dataset.noise: %g is not allowed; expected a finite value >= 0", noise));
  }
  if (spec.name == "blobs" && (spec.classes < 2 || spec.classes > 64)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("dataset.classes: %d is out of range; expected 2 to 64", spec.classes));
  }
  Dataset data;
  data.rows = spec.rows;
  data.features = info->regression ? 1 : 2;
  data.target_width = 1;
  data.x.resize(data.rows * data.features);
  data.y.resize(data.rows);
  for (int64_t r = 0; r < data.rows; ++r) {
    MakeRow(spec.name, RowRandom{spec.seed, r}, noise, spec.classes, spec.seed,
            &data.x[r * data.features], &data.y[r]);
  }
  return data;
}

void SplitOff(Dataset& data, double fraction, uint64_t seed, Dataset* held_out) {
  int64_t n = data.rows;
  int64_t k = fraction <= 0 ? 0 : std::clamp<int64_t>(std::llround(fraction * n), 1, n);
  // Rank rows by a seeded key; the k smallest are held out.
  std::vector<std::pair<double, int64_t>> keys(n);
  for (int64_t r = 0; r < n; ++r) keys[r] = {math::UniformSample(seed, r), r};
  std::nth_element(keys.begin(), keys.begin() + k, keys.end());
  std::vector<char> out(n, 0);
  for (int64_t i = 0; i < k; ++i) out[keys[i].second] = 1;

  Dataset kept, held;
  for (Dataset* d : {&kept, &held}) {
    d->features = data.features;
    d->target_width = data.target_width;
  }
  for (int64_t r = 0; r < n; ++r) {
    Dataset& d = out[r] ? held : kept;
    d.x.insert(d.x.end(), data.x.begin() + r * data.features,
               data.x.begin() + (r + 1) * data.features);
    d.y.insert(d.y.end(), data.y.begin() + r * data.target_width,
               data.y.begin() + (r + 1) * data.target_width);
    ++d.rows;
  }
  data = std::move(kept);
  *held_out = std::move(held);
}

}  // namespace actserve::train
