#include "kernels/catalog/catalog.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace actserve {
namespace {

// Each row of the list is the entry at its id, with its own definition's metadata: the enum, the
// count and the metadata table are expansions of one list and must agree row by row.
TEST(CatalogTest, EveryRowOfTheListIsTheEntryAtItsId) {
  int row = 0;
#define ACTSERVE_ROW_(Type)                                                      \
  EXPECT_EQ(static_cast<int>(ActivationId::k##Type), row) << #Type;              \
  EXPECT_EQ(&Info(ActivationId::k##Type), &AllActivations()[row]) << #Type;      \
  EXPECT_STREQ(Info(ActivationId::k##Type).name, fn::Type::kInfo.name) << #Type; \
  ++row;
  ACTSERVE_ACTIVATIONS(ACTSERVE_ROW_)
#undef ACTSERVE_ROW_
  EXPECT_EQ(row, kNumActivations);
  EXPECT_EQ(AllActivations().size(), static_cast<size_t>(row));
  EXPECT_GT(row, 0);
}

TEST(CatalogTest, NamesAndAliasesAreUniqueAndFindTheirEntry) {
  std::set<std::string> seen;
  for (int i = 0; i < kNumActivations; ++i) {
    const ActivationInfo& info = AllActivations()[i];
    EXPECT_TRUE(seen.insert(info.name).second) << info.name;
    EXPECT_EQ(FindActivation(info.name), static_cast<ActivationId>(i)) << info.name;
    for (const char* alias : info.aliases) {
      if (alias == nullptr) continue;
      EXPECT_TRUE(seen.insert(alias).second) << alias;
      EXPECT_EQ(FindActivation(alias), static_cast<ActivationId>(i)) << alias;
    }
  }
  EXPECT_EQ(FindActivation("logistic"), ActivationId::kLogistic);
  EXPECT_FALSE(FindActivation("Relu").has_value());
  EXPECT_FALSE(FindActivation("").has_value());
}

TEST(CatalogTest, EveryEntryDescribesItself) {
  for (const ActivationInfo& info : AllActivations()) {
    for (const char* text : {info.name, info.formula, info.derivative, info.output_range,
                             info.kink_convention, info.source}) {
      ASSERT_NE(text, nullptr) << info.name;
      EXPECT_GT(std::string(text).size(), 0u) << info.name;
    }
    for (int k = 0; k < info.num_params(); ++k) {
      const ParamSpec& p = info.params[k];
      EXPECT_LE(p.min, p.default_value) << info.name << "." << p.name;
      EXPECT_GE(p.max, p.default_value) << info.name << "." << p.name;
      if (p.min_exclusive) EXPECT_LT(p.min, p.default_value) << info.name << "." << p.name;
    }
    if (info.order[0] >= 0) {
      EXPECT_LT(info.order[0], info.num_params()) << info.name;
      EXPECT_LT(info.order[1], info.num_params()) << info.name;
    }
  }
}

TEST(CatalogTest, AtMostOneLearnableParameterAndOnlyOnElementwiseFunctions) {
  for (const ActivationInfo& info : AllActivations()) {
    int learnable = 0;
    for (int k = 0; k < info.num_params(); ++k) learnable += info.params[k].learnable;
    EXPECT_LE(learnable, 1) << info.name;
    if (info.layout == Layout::kLastAxis) EXPECT_EQ(learnable, 0) << info.name;
  }
}

// An element-wise definition overrides ParamDerivative exactly when kInfo declares a learnable
// parameter: a gradient that is declared but never written (or written and never used) fails.
template <class Fn>
void ExpectParamDerivativeIffLearnable() {
  if constexpr (Fn::kInfo.layout == Layout::kElementwise) {
    constexpr bool overrides =
        &Fn::template ParamDerivative<double> != &Elementwise::template ParamDerivative<double>;
    EXPECT_EQ(overrides, LearnableParam(Fn::kInfo) >= 0) << Fn::kInfo.name;
  }
}

TEST(CatalogTest, LearnableParametersAreThoseWithAParamDerivative) {
#define ACTSERVE_CHECK_(Type) ExpectParamDerivativeIffLearnable<fn::Type>();
  ACTSERVE_ACTIVATIONS(ACTSERVE_CHECK_)
#undef ACTSERVE_CHECK_
}

// A backward from the output (ActivationInfo.backward_from_output) has only y to go on: no
// parameter gradient is computed there and no noise is drawn.
TEST(CatalogTest, BackwardFromTheOutputOnlyWithoutLearnableParametersOrNoise) {
  for (const ActivationInfo& info : AllActivations()) {
    if (!info.backward_from_output) continue;
    EXPECT_LT(LearnableParam(info), 0) << info.name;
    EXPECT_EQ(info.noise, Noise::kNone) << info.name;
  }
}

}  // namespace
}  // namespace actserve
