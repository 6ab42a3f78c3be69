// MakeDeviceCall is host code: it runs (and is tested) without a GPU.
#include "kernels/cuda/device_call.h"

#include "gtest/gtest.h"

namespace actserve::cuda {
namespace {

TEST(DeviceCallTest, CarriesChannelsParametersAndNoiseSettings) {
  absl::StatusOr<ActivationCall> call = PrepareCall({.activation = "prelu",
                                                     .shape = {2, 3, 5},
                                                     .params = {{"a", {0.1, 0.2, 0.3}}},
                                                     .seed = 9,
                                                     .training = true});
  ASSERT_TRUE(call.ok()) << call.status();
  DeviceCall d = MakeDeviceCall(*call);
  EXPECT_EQ(d.id, static_cast<int>(ActivationId::kPrelu));
  EXPECT_EQ(d.size, 30);
  EXPECT_TRUE(d.per_channel);
  EXPECT_EQ(d.channels, 3);
  EXPECT_EQ(d.inner, 5);
  EXPECT_EQ(d.learnable, 0);
  EXPECT_EQ(d.params[0], 0.1);
  EXPECT_EQ(d.channel_params, nullptr);  // the backend copies the values and sets it
  EXPECT_EQ(d.seed, 9u);
  EXPECT_TRUE(d.training);
}

TEST(DeviceCallTest, LastAxisCallsCarryTheirRowGeometry) {
  absl::StatusOr<ActivationCall> call =
      PrepareCall({.activation = "maxout", .shape = {4, 6}, .params = {{"k", {3}}}});
  ASSERT_TRUE(call.ok()) << call.status();
  DeviceCall d = MakeDeviceCall(*call);
  EXPECT_EQ(d.rows, 4);
  EXPECT_EQ(d.row_length, 6);
  EXPECT_EQ(d.out_row_length, 2);
  EXPECT_EQ(d.params[0], 3);
  EXPECT_FALSE(d.per_channel);
  EXPECT_EQ(d.learnable, -1);
  EXPECT_FALSE(d.from_output);
}

TEST(DeviceCallTest, BackwardFromTheOutputIsCarried) {
  absl::StatusOr<ActivationCall> call =
      PrepareCall({.activation = "softmax", .shape = {2, 5}, .from_output = true});
  ASSERT_TRUE(call.ok()) << call.status();
  EXPECT_TRUE(MakeDeviceCall(*call).from_output);
}

}  // namespace
}  // namespace actserve::cuda
