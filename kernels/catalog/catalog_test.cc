#include "kernels/catalog/catalog.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace actserve {
namespace {

TEST(CatalogTest, HasTheFortySevenFunctionsOfTheSpecification) {
  EXPECT_EQ(kNumActivations, 47);
  EXPECT_EQ(AllActivations().size(), 47u);
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

TEST(CatalogTest, LearnableParametersMatchTheSpecification) {
  std::set<std::string> learnable;
  for (const ActivationInfo& info : AllActivations()) {
    int k = LearnableParam(info);
    if (k >= 0) learnable.insert(std::string(info.name) + "." + info.params[k].name);
  }
  EXPECT_EQ(learnable,
            (std::set<std::string>{"prelu.a", "elu.a", "trelu.a", "swish.b", "xwish.b"}));
}

}  // namespace
}  // namespace actserve

namespace actserve {
namespace {

// The benchmarks hold this class to memory bandwidth, so it is pinned here.
TEST(CatalogTest, SelectCostClassIsTheReluFamilyClipsShrinksAndSteps) {
  std::set<std::string> select;
  for (const ActivationInfo& info : AllActivations()) {
    if (info.properties.cost == Cost::kSelect) select.insert(info.name);
  }
  EXPECT_EQ(select,
            (std::set<std::string>{"identity", "binary_step", "relu", "leaky_relu", "prelu",
                                   "rrelu", "relu6", "hard_sigmoid", "hard_tanh", "absolute",
                                   "hardshrink", "softshrink", "threshold", "maxout"}));
}

}  // namespace
}  // namespace actserve
