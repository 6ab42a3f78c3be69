// Prints the accuracy of every catalog function on the CPU backend, forward and derivative, fp32
// and fp64, against the long double references: max error in ulps and where it occurs.
//
//   build/kernels/accuracy_table [--markdown]
#include <cstdio>
#include <cstring>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/testing/accuracy.h"

namespace {

template <class T>
std::string Cell(actserve::Backend& backend, actserve::ActivationId id,
                 actserve::testing::Quantity q, bool* ok) {
  auto acc = actserve::testing::MeasureAccuracy<T>(backend, id, q);
  if (!acc.ok()) {
    *ok = false;
    return std::string(acc.status().message());
  }
  char buf[160];
  std::snprintf(buf, sizeof buf, "%.2f @ %.4g", acc->max_ulp, acc->worst_x);
  if (acc->special_mismatches) {
    *ok = false;
    std::fprintf(stderr, "%s: %d NaN/inf mismatches, first at %s\n", actserve::Info(id).name,
                 acc->special_mismatches, acc->first_special_mismatch.c_str());
    return std::string(buf) + " MISMATCH";
  }
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  bool markdown = argc > 1 && std::strcmp(argv[1], "--markdown") == 0;
  auto backend = actserve::NewCpuBackend({.threads = 1});
  using actserve::testing::Quantity;
  const char* fmt = markdown ? "| %s | %s | %s | %s | %s |\n" : "%-22s %-28s %-28s %-28s %-28s\n";
  std::printf(fmt, "function", "fp32 f (ulp @ x)", "fp32 f'", "fp64 f", "fp64 f'");
  if (markdown) std::printf("|---|---|---|---|---|\n");
  bool ok = true;
  for (int i = 0; i < actserve::kNumActivations; ++i) {
    auto id = static_cast<actserve::ActivationId>(i);
    std::printf(fmt, actserve::Info(id).name,
                Cell<float>(*backend, id, Quantity::kValue, &ok).c_str(),
                Cell<float>(*backend, id, Quantity::kDerivative, &ok).c_str(),
                Cell<double>(*backend, id, Quantity::kValue, &ok).c_str(),
                Cell<double>(*backend, id, Quantity::kDerivative, &ok).c_str());
  }
  return ok ? 0 : 1;
}
