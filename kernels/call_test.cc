#include "kernels/call.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace actserve {
namespace {

using ::testing::HasSubstr;

absl::Status Prepare(CallSpec spec) { return PrepareCall(spec).status(); }

void ExpectInvalid(const CallSpec& spec, const std::string& text) {
  absl::Status s = Prepare(spec);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(text));
}

TEST(PrepareCallTest, ResolvesDefaultsAndShapes) {
  auto call = PrepareCall({.activation = "leaky_relu", .shape = {2, 3, 4}});
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_EQ(call->input_size, 24);
  EXPECT_EQ(call->output_size, 24);
  EXPECT_EQ(call->channels, 3);
  EXPECT_EQ(call->inner, 4);
  EXPECT_EQ(call->params[0], std::vector<double>{0.01});
  EXPECT_FALSE(call->per_channel());
}

TEST(PrepareCallTest, AcceptsAliasesOverridesAndPerChannelLearnables) {
  ASSERT_TRUE(PrepareCall({.activation = "logistic", .shape = {5}}).ok());
  auto call =
      PrepareCall({.activation = "prelu", .shape = {2, 3}, .params = {{"a", {0.1, 0.2, 0.3}}}});
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_TRUE(call->per_channel());
  EXPECT_EQ(call->params[0].size(), 3u);
}

TEST(PrepareCallTest, ComputesOutputShapesOfLastAxisFunctions) {
  auto maxout = PrepareCall({.activation = "maxout", .shape = {4, 6}, .params = {{"k", {3}}}});
  ASSERT_TRUE(maxout.ok());
  EXPECT_EQ(maxout->output_shape, (std::vector<int64_t>{4, 2}));
  EXPECT_EQ(maxout->output_size, 8);
  auto glu = PrepareCall({.activation = "glu", .shape = {3, 8}});
  ASSERT_TRUE(glu.ok());
  EXPECT_EQ(glu->output_shape, (std::vector<int64_t>{3, 4}));
}

TEST(PrepareCallTest, EmptyTensorsAreValid) {
  auto call = PrepareCall({.activation = "relu", .shape = {0, 5}});
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(call->input_size, 0);
  auto rows = PrepareCall({.activation = "softmax", .shape = {3, 0}});
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->output_size, 0);
  // Found by tests/fuzz: an empty tensor's other dimensions may multiply past int64.
  auto huge = PrepareCall({.activation = "prelu", .shape = {0, 2, int64_t{1} << 40, 1 << 30}});
  ASSERT_TRUE(huge.ok()) << huge.status();
  EXPECT_EQ(huge->input_size, 0);
}

TEST(PrepareCallTest, UnknownNamesAreQuotedByAShortEscapedPrefix) {
  const std::string huge(8 << 20, 'g');
  absl::StatusOr<ActivationCall> call = PrepareCall({.activation = huge, .shape = {1}});
  ASSERT_EQ(call.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_LT(call.status().message().size(), 200u) << call.status().message().substr(0, 200);
  EXPECT_THAT(std::string(call.status().message()), ::testing::HasSubstr("(8388608 bytes)"));
  // A known name followed by more bytes is not that name.
  EXPECT_FALSE(PrepareCall({.activation = std::string("gelu\0", 5), .shape = {1}}).ok());
  call = PrepareCall({.activation = "elu", .shape = {1}, .params = {{huge, {1}}}});
  ASSERT_EQ(call.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_LT(call.status().message().size(), 200u);
}

TEST(PrepareCallTest, RejectsBadInputNamingTheFieldAndTheExpectation) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  ExpectInvalid({.activation = "relux", .shape = {1}}, "unknown activation 'relux'");
  ExpectInvalid({.activation = "elu", .shape = {1}, .params = {{"b", {1}}}},
                "elu has no parameter 'b'; its parameters are: a");
  ExpectInvalid({.activation = "elu", .shape = {1}, .params = {{"a", {1}}, {"a", {2}}}},
                "given twice");
  ExpectInvalid({.activation = "elu", .shape = {1}, .params = {{"a", {nan}}}}, "must be finite");
  ExpectInvalid({.activation = "elu", .shape = {1}, .params = {{"a", {inf}}}}, "must be finite");
  ExpectInvalid({.activation = "celu", .shape = {1}, .params = {{"a", {0}}}}, "must be > 0, got 0");
  ExpectInvalid({.activation = "maxout", .shape = {4}, .params = {{"k", {0}}}}, "must be >= 1");
  ExpectInvalid({.activation = "maxout", .shape = {4}, .params = {{"k", {1.5}}}}, "whole number");
  // Found by tests/fuzz: a huge k once reached a float-to-integer conversion out of range.
  ExpectInvalid({.activation = "maxout", .shape = {4}, .params = {{"k", {1.7e212}}}},
                "parameter 'k' of maxout must be >= 1 and <= 16777216, got 1.7e+212");
  ExpectInvalid({.activation = "maxout", .shape = {2, 5}},
                "maxout needs the last axis divisible by k = 2, got length 5");
  ExpectInvalid({.activation = "glu", .shape = {3}}, "glu needs the last axis even, got length 3");
  ExpectInvalid({.activation = "softmax", .shape = {}}, "needs x of rank >= 1");
  ExpectInvalid({.activation = "hard_tanh", .shape = {1}, .params = {{"lo", {1}}, {"hi", {-1}}}},
                "hard_tanh needs lo <= hi, got lo = 1 and hi = -1");
  ExpectInvalid(
      {.activation = "rrelu", .shape = {1}, .params = {{"lower", {0.5}}, {"upper", {0.1}}}},
      "needs lower <= upper");
  ExpectInvalid({.activation = "prelu", .shape = {2, 3}, .params = {{"a", {0.1, 0.2}}}},
                "has 2 values but x has 3 channels");
  ExpectInvalid({.activation = "leaky_relu", .shape = {2, 2}, .params = {{"a", {0.1, 0.2}}}},
                "not learnable and takes one value");
  ExpectInvalid({.activation = "relu", .shape = {2, -3}}, "shape[1] is -3");
  ExpectInvalid({.activation = "relu", .shape = {1LL << 40, 1LL << 40}}, "64-bit count");
}

// from_output is taken exactly where the catalog says the derivative is a function of y.
TEST(PrepareCallTest, BackwardFromTheOutputOnlyWhereTheCatalogHasIt) {
  for (const ActivationInfo& info : AllActivations()) {
    const CallSpec spec = {.activation = info.name, .shape = {2, 4}, .from_output = true};
    if (info.backward_from_output) {
      absl::StatusOr<ActivationCall> call = PrepareCall(spec);
      ASSERT_TRUE(call.ok()) << info.name << ": " << call.status();
      EXPECT_TRUE(call->from_output);
    } else {
      ExpectInvalid(spec,
                    absl::StrCat("from_output: ", info.name, " has no backward from its output"));
    }
  }
}

TEST(CheckSizesTest, NamesTheMismatchedBuffer) {
  auto call = PrepareCall({.activation = "relu", .shape = {2, 5}});
  ASSERT_TRUE(call.ok());
  EXPECT_THAT(std::string(CheckForwardSizes(*call, 9, 10).message()),
              HasSubstr("x has 9 elements but shape [2, 5] needs 10"));
  EXPECT_THAT(std::string(CheckBackwardSizes(*call, 10, 12, 10).message()),
              HasSubstr("x has 10 elements but dy has 12"));
  EXPECT_TRUE(CheckBackwardSizes(*call, 10, 10, 10).ok());
}

}  // namespace
}  // namespace actserve
