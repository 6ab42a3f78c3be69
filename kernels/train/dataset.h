// Dataset: training data as the core holds it, and the built-in generated datasets (xor, two
// spirals, moons, circles, gaussian blobs, sine regression) that let a newcomer train without
// data of their own.
#ifndef ACTSERVE_KERNELS_TRAIN_DATASET_H_
#define ACTSERVE_KERNELS_TRAIN_DATASET_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace actserve::train {

// Row-major features and targets. Targets are one value per row (a class index, or the single
// output's target) or `target_width` values per row (one per output).
struct Dataset {
  int64_t rows = 0;
  int64_t features = 0;
  std::vector<double> x;  // rows x features
  int64_t target_width = 1;
  std::vector<double> y;  // rows x target_width

  bool empty() const { return rows == 0; }
  size_t bytes() const { return (x.capacity() + y.capacity()) * sizeof(double); }
};

struct GeneratorSpec {
  std::string name;  // the name of one of Generators()
  int64_t rows = 0;
  uint64_t seed = 0;
  std::optional<double> noise;  // standard deviation of the gaussian noise; unset: the default
  int64_t classes = 3;          // blobs only
};

// Every generator: its name, what it makes, and its default noise.
struct GeneratorInfo {
  const char* name;
  const char* description;
  double default_noise;
  bool regression;  // targets are values, not class indices
};
absl::Span<const GeneratorInfo> Generators();

// Generates `spec.rows` rows, the same for the same spec. Classification sets hold class indices
// (two classes, blobs `classes`); sine holds y = sin(x) + noise. INVALID_ARGUMENT (naming
// `dataset.name`, `dataset.rows`, ...) for an unknown name, rows < 1 or above `max_rows`, a
// negative or non-finite noise, or classes outside [2, 64].
absl::StatusOr<Dataset> Generate(const GeneratorSpec& spec, int64_t max_rows);

// Splits off `fraction` of the rows (at least one row when fraction > 0), drawn with `seed`,
// into `held_out`; `data` keeps the rest in their original order.
void SplitOff(Dataset& data, double fraction, uint64_t seed, Dataset* held_out);

// A stream of independent seeds from one: the same (seed, stream) always gives the same value.
uint64_t DeriveSeed(uint64_t seed, uint64_t stream);

}  // namespace actserve::train

#endif  // ACTSERVE_KERNELS_TRAIN_DATASET_H_
