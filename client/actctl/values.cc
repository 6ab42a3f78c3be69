#include "client/actctl/values.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/actctl/common.h"
#include "google/protobuf/struct.pb.h"
#include "kernels/util/status_macros.h"

ABSL_FLAG(std::string, range, "", "Inputs A:B:N: N evenly spaced values from A to B.");
ABSL_FLAG(std::string, csv, "",
          "Inputs from a CSV file (all numbers in it, in order); - is stdin.");
ABSL_FLAG(std::vector<std::string>, param, {},
          "Parameter overrides NAME=V, several separated by commas; per-channel values V/V/...");
ABSL_FLAG(std::string, dtype, "float32", "float32 or float64.");
ABSL_FLAG(uint64_t, seed, 0, "Noise seed of stochastic functions.");
ABSL_FLAG(bool, training, false, "Training mode (rrelu draws random slopes).");
ABSL_FLAG(std::string, format, "csv", "Output: csv or json.");

namespace actserve::client {
namespace {

// A list of numbers as a JSON array value. A float goes through its shortest text, so that the
// JSON shows 0.1 for 0.1f rather than the double nearest to it.
template <class T>
google::protobuf::Value NumberList(const std::vector<T>& values) {
  google::protobuf::Value list;
  for (T v : values) {
    double d = v;
    if constexpr (std::is_same_v<T, float>) (void)absl::SimpleAtod(FormatNumber(v), &d);
    list.mutable_list_value()->add_values()->set_number_value(d);
  }
  return list;
}

}  // namespace

absl::StatusOr<std::vector<double>> ParseNumbers(const std::vector<std::string>& words) {
  std::vector<double> out;
  for (const std::string& w : words) {
    if (w.empty()) continue;
    double v;
    if (!absl::SimpleAtod(w, &v)) return absl::InvalidArgumentError("not a number: '" + w + "'");
    out.push_back(v);
  }
  return out;
}

absl::StatusOr<std::vector<double>> Inputs(const std::vector<std::string>& positional) {
  const std::string range = absl::GetFlag(FLAGS_range), csv = absl::GetFlag(FLAGS_csv);
  if (!range.empty()) {
    std::vector<std::string> parts = absl::StrSplit(range, ':');
    double a, b;
    int64_t n;
    if (parts.size() != 3 || !absl::SimpleAtod(parts[0], &a) || !absl::SimpleAtod(parts[1], &b) ||
        !absl::SimpleAtoi(parts[2], &n) || n < 1 || n > (int64_t{1} << 28)) {
      return absl::InvalidArgumentError("--range must be A:B:N with 1 <= N <= 2^28, got " + range);
    }
    std::vector<double> x(n);
    for (int64_t i = 0; i < n; ++i) x[i] = n == 1 ? a : a + (b - a) * i / (n - 1);
    return x;
  }
  if (!csv.empty()) {
    std::stringstream text;
    if (csv == "-") {
      text << std::cin.rdbuf();
    } else {
      std::ifstream f(csv);
      if (!f) return absl::NotFoundError("cannot read " + csv);
      text << f.rdbuf();
    }
    return ParseNumbers(absl::StrSplit(text.str(), absl::ByAnyChar(", \t\r\n"), absl::SkipEmpty()));
  }
  return ParseNumbers(positional);
}

absl::StatusOr<CallOptions> Options() {
  CallOptions o;
  for (const std::string& p : absl::GetFlag(FLAGS_param)) {
    std::vector<std::string> kv = absl::StrSplit(p, absl::MaxSplits('=', 1));
    if (kv.size() != 2) return absl::InvalidArgumentError("--param must be NAME=V, got " + p);
    auto values = ParseNumbers(absl::StrSplit(kv[1], '/'));
    if (!values.ok()) return values.status();
    o.params.emplace_back(kv[0], *values);
  }
  o.seed = absl::GetFlag(FLAGS_seed);
  o.training = absl::GetFlag(FLAGS_training);
  o.timeout = CallTimeout();
  return o;
}

absl::StatusOr<ValueCall> ParseValueCall(const std::vector<std::string>& args) {
  const std::string format = absl::GetFlag(FLAGS_format), dtype = absl::GetFlag(FLAGS_dtype);
  if (format != "csv" && format != "json") {
    return absl::InvalidArgumentError("--format must be csv or json, got " + format);
  }
  if (dtype != "float32" && dtype != "float64") {
    return absl::InvalidArgumentError("--dtype must be float32 or float64, got " + dtype);
  }
  ValueCall call{.activation = args.at(0), .float64 = dtype == "float64"};
  ACTSERVE_ASSIGN_OR_RETURN(call.options, Options());
  ACTSERVE_ASSIGN_OR_RETURN(call.x, Inputs(std::vector<std::string>(args.begin() + 1, args.end())));
  return call;
}

template <class T>
void PrintValues(const std::vector<double>& x, const char* label, const std::vector<T>& y,
                 const std::map<std::string, std::vector<double>>& param_gradients) {
  if (absl::GetFlag(FLAGS_format) == "json") {
    google::protobuf::Struct out;
    auto& fields = *out.mutable_fields();
    fields["x"] = NumberList(x);
    fields[label] = NumberList(y);
    if (!param_gradients.empty()) {
      auto& grads = *fields["param_gradients"].mutable_struct_value()->mutable_fields();
      for (const auto& [name, g] : param_gradients) grads[name] = NumberList(g);
    }
    std::printf("%s\n", ToJson(out, /*spaced=*/true).c_str());
    return;
  }
  std::printf("x,%s\n", label);
  // Last-axis functions may change the length (maxout, glu): print what there is.
  for (size_t i = 0; i < y.size(); ++i) {
    std::printf("%s,%s\n", i < x.size() ? FormatNumber(x[i]).c_str() : "",
                FormatNumber(y[i]).c_str());
  }
  for (const auto& [name, g] : param_gradients) {
    std::fprintf(stderr, "d/d%s: %s\n", name.c_str(),
                 absl::StrJoin(g, ", ", [](std::string* out, double v) {
                   out->append(FormatNumber(v));
                 }).c_str());
  }
}

template void PrintValues<float>(const std::vector<double>&, const char*, const std::vector<float>&,
                                 const std::map<std::string, std::vector<double>>&);
template void PrintValues<double>(const std::vector<double>&, const char*,
                                  const std::vector<double>&,
                                  const std::map<std::string, std::vector<double>>&);

}  // namespace actserve::client
