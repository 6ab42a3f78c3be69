#include "client/actload/actload_testing.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/server_process.h"

namespace actserve::actload::testing {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

LoadRun Actload(const std::string& args) {
  static int n = 0;
  const std::string json =
      absl::StrCat(::testing::TempDir(), "/actload_", getpid(), "_", ++n, ".json");
  LoadRun r;
  std::tie(r.status, r.stdout_text) = actserve::testing::RunCommand(
      absl::StrCat(ACTLOAD_BINARY, " --progress=none --json=", json, " ", args, " 2>&1"));
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(ReadFile(json), &r.report).ok())
      << r.stdout_text;
  std::remove(json.c_str());
  return r;
}

double HistogramCount(const Report& r) {
  double n = 0;
  for (const Bucket& b : r.histogram()) n += b.count();
  return n;
}

double CountAbove(const Report& r, double us) {
  double n = 0;
  for (const Bucket& b : r.histogram()) {
    if (b.low_us() >= us) n += b.count();
  }
  return n;
}

}  // namespace actserve::actload::testing
