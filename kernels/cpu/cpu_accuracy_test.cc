// Accuracy of every catalog function on the CPU backend against the long double references.
// fp32: within 4 ulp; fp64: within 1e-13 relative. The exceptions below are documented with
// their reason and bound. Near zeros of f the error is measured on the conditioned scale
// max(|f|, |x f'(x)|) (|x f''| for f'): "4 ulp of the function's scale near its zeros".
#include <string>
#include <string_view>

#include "gtest/gtest.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/testing/accuracy.h"
#include "kernels/testing/reference.h"

namespace actserve::testing {
namespace {

enum class Scale { kStrict, kConditioned };

// Functions held to a looser bound, and why. Measured 2026-11-22 (accuracy_table); the bounds
// leave a little room above the measurement.
struct Exception {
  const char* name;
  Quantity quantity;
  Scale scale;
  double fp32_ulps;
  double fp64_ulps;
  const char* why;
};

constexpr double k64 = 1e-13 / 2.220446049250313e-16;  // the promised fp64 bound, in ulps

constexpr Exception kExceptions[] = {
    {"swish", Quantity::kDerivative, Scale::kConditioned, 8, k64,
     "f' crosses zero near x = -1.28 (5.1 ulp)"},
    {"silu", Quantity::kDerivative, Scale::kConditioned, 8, k64,
     "f' crosses zero near x = -1.28 (5.1 ulp)"},
    {"mish", Quantity::kDerivative, Scale::kConditioned, 10, k64,
     "f' crosses zero near x = -1.19 (7.6 ulp)"},
    {"gelu", Quantity::kDerivative, Scale::kConditioned, 10, k64,
     "f' crosses zero near x = -0.75 (7.8 ulp)"},
    {"sinc", Quantity::kDerivative, Scale::kConditioned, 4, k64, "f' crosses zero where tan x = x"},
    {"gelu_tanh", Quantity::kValue, Scale::kConditioned, 6, k64,
     "the cubic argument u rounds and sigmoid(2u) amplifies that by |2u| in the lower tail "
     "(132 ulp strict, 4.0 conditioned)"},
    {"gelu_tanh", Quantity::kDerivative, Scale::kStrict, 300, 1100,
     "as its value; in the lower tail the result nears the smallest normal number "
     "(263 ulp fp32, 1038 ulp = 2.3e-13 fp64)"},
    {"complementary_log_log", Quantity::kDerivative, Scale::kStrict, 300, 1000,
     "exp(x) rounds and exp(-exp(x)) amplifies that by exp(x); near x = 4.5 the fp32 factor "
     "exp(-exp(x)) is subnormal (296 ulp fp32, 891 ulp = 2.0e-13 fp64)"},
    {"lecun_tanh", Quantity::kDerivative, Scale::kConditioned, 4, k64,
     "B*x rounds and sech^2 amplifies that by 2|Bx| (92 ulp strict)"},
    {"xwish", Quantity::kDerivative, Scale::kStrict, 12, k64,
     "for b*x < -1 it is (u - sin u)/2 with u = 2 atan(-1/(b x)), cubic in u: it triples atan's "
     "rounding error (9.5 ulp)"},
    {"swish", Quantity::kValue, Scale::kStrict, 5, k64, "x*sigmoid(x): 4.02 ulp"},
    {"silu", Quantity::kValue, Scale::kStrict, 5, k64, "as swish"},
    {"mish", Quantity::kValue, Scale::kStrict, 5, k64, "x*w/(w+2), w = e^x(e^x+2): 4.7 ulp"},
    {"squareplus", Quantity::kDerivative, Scale::kStrict, 6, k64,
     "sqrt(x^2+b) enters twice: 4.7 ulp near x = -16 (5.0 in a build without AVX)"},
    {"tanhshrink", Quantity::kDerivative, Scale::kStrict, 6, k64,
     "tanh(x)^2 doubles tanh's error: 2.9 ulp with libmvec, 4.7 with the scalar libm tanhf of a "
     "build without AVX"},
};

const Exception* FindException(std::string_view name, Quantity q) {
  for (const Exception& e : kExceptions) {
    if (name == e.name && q == e.quantity) return &e;
  }
  return nullptr;
}

struct Case {
  ActivationId id;
  Quantity quantity;
};

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  return std::string(Info(info.param.id).name) +
         (info.param.quantity == Quantity::kValue ? "_value" : "_derivative");
}

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  for (int i = 0; i < kNumActivations; ++i) {
    for (Quantity q : {Quantity::kValue, Quantity::kDerivative}) {
      cases.push_back({static_cast<ActivationId>(i), q});
    }
  }
  return cases;
}

class CpuAccuracyTest : public ::testing::TestWithParam<Case> {
 protected:
  template <class T>
  void Check() {
    auto backend = NewCpuBackend({.threads = 1});
    const char* name = Info(GetParam().id).name;
    auto acc = MeasureAccuracy<T>(*backend, GetParam().id, GetParam().quantity);
    ASSERT_TRUE(acc.ok()) << acc.status();
    EXPECT_EQ(acc->special_mismatches, 0) << name << ": " << acc->first_special_mismatch;
    const Exception* e = FindException(name, GetParam().quantity);
    const bool conditioned = e != nullptr && e->scale == Scale::kConditioned;
    double measured = conditioned ? acc->max_conditioned_ulp : acc->max_ulp;
    double bound = e == nullptr               ? PromisedUlps<T>()
                   : std::is_same_v<T, float> ? e->fp32_ulps
                                              : e->fp64_ulps;
    EXPECT_LE(measured, bound) << name << (e ? " (documented: " : "") << (e ? e->why : "")
                               << (e ? ")" : "") << ": max error " << acc->max_ulp << " ulp ("
                               << acc->max_conditioned_ulp
                               << " on the conditioned scale) at x = " << acc->worst_x << " (got "
                               << acc->ours << ", reference " << acc->ref << ")";
    EXPECT_GT(acc->points, 1000);
  }
};

TEST_P(CpuAccuracyTest, Fp32WithinPromisedUlps) { Check<float>(); }
TEST_P(CpuAccuracyTest, Fp64WithinPromisedRelativeError) { Check<double>(); }

INSTANTIATE_TEST_SUITE_P(Catalog, CpuAccuracyTest, ::testing::ValuesIn(AllCases()), CaseName);

TEST(ReferenceTest, EveryCatalogEntryHasAnIndependentReference) {
  std::vector<std::string_view> names = ReferenceNames();
  for (const ActivationInfo& info : AllActivations()) {
    EXPECT_NE(std::find(names.begin(), names.end(), info.name), names.end())
        << info.name << " has no reference in kernels/testing/reference.cc";
  }
  for (std::string_view name : names) {
    EXPECT_TRUE(FindActivation(name).has_value()) << "reference for unknown activation " << name;
  }
}

TEST(ReferenceTest, ExceptionsNameCatalogEntries) {
  for (const Exception& e : kExceptions) EXPECT_TRUE(FindActivation(e.name)) << e.name;
}

}  // namespace
}  // namespace actserve::testing
