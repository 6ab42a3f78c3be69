#include "client/actload/workload.h"

#include <cstdio>
#include <fstream>
#include <map>

#include "gtest/gtest.h"

namespace actserve::actload {
namespace {

TEST(ActloadWorkloadTest, AMixLineSetsEveryKey) {
  auto e = ParseMixLine("backward weight=2.5 activation=gelu,swish elements=16:3,64 dtype=float64");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->kind, CallKind::kBackward);
  EXPECT_EQ(e->weight, 2.5);
  EXPECT_EQ(e->activations, (std::vector<std::string>{"gelu", "swish"}));
  EXPECT_EQ(e->sizes, (std::vector<std::pair<int64_t, double>>{{16, 3}, {64, 1}}));
  EXPECT_EQ(e->dtype, v1::DTYPE_FLOAT64);
}

TEST(ActloadWorkloadTest, BadMixLinesNameTheirProblem) {
  EXPECT_NE(ParseMixLine("sideways").status().message().find("sideways"), std::string::npos);
  EXPECT_NE(ParseMixLine("forward weight=0").status().message().find("weight"), std::string::npos);
  EXPECT_NE(ParseMixLine("forward colour=red").status().message().find("colour"),
            std::string::npos);
  EXPECT_NE(ParseMixLine("forward dtype=int8").status().message().find("dtype"), std::string::npos);
  EXPECT_NE(ParseMixLine("forward elements=x").status().message().find("elements"),
            std::string::npos);
}

TEST(ActloadWorkloadTest, PicksFollowTheWeightsAndAreReproducible) {
  const std::string path = ::testing::TempDir() + "/mix.txt";
  std::ofstream(path)
      << "# a comment\nforward weight=3 elements=8\n\nbackward weight=1 elements=8\n";
  auto mix = ReadMixFile(path);
  std::remove(path.c_str());
  ASSERT_TRUE(mix.ok()) << mix.status();
  auto w = Workload::FromMix(*mix, 42);
  ASSERT_TRUE(w.ok());
  ASSERT_EQ((*w)->requests().size(), 2u);
  auto again = Workload::FromMix(*mix, 42);
  std::map<CallKind, int> counts;
  for (uint64_t i = 0; i < 40000; ++i) {
    const PreparedRequest& r = (*w)->PickRequest(i);
    ++counts[r.kind];
    ASSERT_EQ(r.label, (*again)->PickRequest(i).label);
  }
  EXPECT_NEAR(counts[CallKind::kForward] / 40000.0, 0.75, 0.01);
  EXPECT_EQ((*w)->requests()[0].method, "/actserve.v1.ActivationService/Forward");
  EXPECT_EQ((*w)->requests()[1].evaluate.backward().dy().float_data_size(), 8);
}

TEST(ActloadWorkloadTest, TheEchoRequestIsAPackedFloatMessage) {
  auto w = Workload::Echo(1024, 1);
  const PreparedRequest& r = w->PickRequest(0);
  EXPECT_EQ(r.method, "/benchecho.EchoService/Echo");
  // tag, a two-byte varint length (4096), then 4096 bytes of floats.
  EXPECT_EQ(r.serialized.Length(), 1u + 2u + 4096u);
}

}  // namespace
}  // namespace actserve::actload
