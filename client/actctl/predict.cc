// actctl predict --job=ID --features=ROWS: a trained network's outputs.
#include <cstdio>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/actctl/command.h"
#include "client/actctl/common.h"
#include "client/lib/training_client.h"

ABSL_FLAG(std::string, job, "", "The job whose trained network predicts.");
ABSL_FLAG(std::string, features, "",
          "Input rows: values separated by commas and rows by semicolons ('1,2;3,4').");
ABSL_DECLARE_FLAG(bool, json);

namespace actserve::client {
namespace {

absl::StatusOr<v1::Tensor> ParseFeatures(const std::string& text) {
  v1::Tensor t;
  t.set_dtype(v1::DTYPE_FLOAT32);
  int64_t rows = 0, cols = -1;
  for (absl::string_view row : absl::StrSplit(text, ';', absl::SkipWhitespace())) {
    std::vector<std::string> values = absl::StrSplit(row, ',', absl::SkipWhitespace());
    if (cols >= 0 && static_cast<int64_t>(values.size()) != cols) {
      return absl::InvalidArgumentError("--features: rows of different lengths");
    }
    cols = static_cast<int64_t>(values.size());
    for (const std::string& v : values) {
      double d;
      if (!absl::SimpleAtod(v, &d)) {
        return absl::InvalidArgumentError("--features: not a number: " + v);
      }
      t.add_float_data(static_cast<float>(d));
    }
    ++rows;
  }
  if (rows == 0) return absl::InvalidArgumentError("--features: no rows ('1,2;3,4')");
  t.add_shape(rows);
  t.add_shape(cols);
  return t;
}

}  // namespace

int RunPredict(const std::vector<std::string>&) {
  if (absl::GetFlag(FLAGS_job).empty()) return Usage("predict needs --job=ID");
  absl::StatusOr<v1::Tensor> features = ParseFeatures(absl::GetFlag(FLAGS_features));
  if (!features.ok()) return Usage(std::string(features.status().message()));
  v1::PredictRequest request;
  request.set_job_id(absl::GetFlag(FLAGS_job));
  *request.mutable_features() = *features;
  absl::StatusOr<v1::PredictResponse> r =
      TrainingClient::Connect(ServerOptions())->Predict(request, CallTimeout());
  if (!r.ok()) return Fail(r.status());
  if (absl::GetFlag(FLAGS_json)) {
    std::printf("%s\n", ToJson(*r).c_str());
    return 0;
  }
  const v1::Tensor& out = r->outputs();
  const int64_t rows = out.shape_size() > 0 ? out.shape(0) : 0;
  const int64_t cols = out.shape_size() > 1 ? out.shape(1) : 1;
  for (int64_t i = 0; i < rows && (i + 1) * cols <= out.float_data_size(); ++i) {
    std::printf("%s", absl::StrJoin(out.float_data().begin() + i * cols,
                                    out.float_data().begin() + (i + 1) * cols, ",",
                                    [](std::string* s, float v) { s->append(FormatNumber(v)); })
                          .c_str());
    if (i < r->classes_size()) std::printf("  class %lld", static_cast<long long>(r->classes(i)));
    std::printf("\n");
  }
  return 0;
}

}  // namespace actserve::client
