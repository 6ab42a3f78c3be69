// actctl: the command line for an actserve server.
//
//   actctl [--server=HOST:PORT] list [--json]
//   actctl forward NAME [X...] [--range=A:B:N | --csv=FILE|-] [--param=NAME=V[/V...],...]
//          [--dtype=float32|float64] [--seed=S] [--training] [--format=csv|json]
//   actctl backward NAME [X...] (same inputs) [--dy=V,V,...]   (dy defaults to ones)
//   actctl health [SERVICE]
//   actctl plot NAME[,NAME...] [--range=A:B:N] [--out=FILE.svg]
//   actctl load [--mode=unary|stream] [--payload=FLOATS] [--in_flight=N] [--duration=S]
//          [--activation=NAME]   (a closed-loop load generator; prints req/s, MB/s, p50, p99)
//   actctl train JOB_FILE [--curves=FILE.svg] [--detach]   (JOB_FILE: a JobSpec in protobuf text
//          format, or JSON if it ends in .json; shows progress, then a summary)
//   actctl jobs | watch ID | cancel ID | delete ID | curves ID [--curves=FILE.svg]
//   actctl predict --job=ID --features='1,2;3,4'
//   actctl sweep JOB_FILE --activations=relu,tanh,...   (the same job once per activation)
//
// Inputs given as values, a range or CSV are one tensor of shape [n]; last-axis functions see
// them as one row. Exit status: 0 on success, 1 on a failed call (the server's status is
// printed), 2 on bad usage.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/actctl_common.h"
#include "client/actctl_train.h"
#include "client/activation_client.h"
#include "client/svg_chart.h"
#include "google/protobuf/util/json_util.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "The actserve server, host:port.");
ABSL_FLAG(bool, json, false, "list: print a JSON array, one object per function.");
ABSL_FLAG(std::string, range, "", "Inputs A:B:N: N evenly spaced values from A to B.");
ABSL_FLAG(std::string, csv, "",
          "Inputs from a CSV file (all numbers in it, in order); - is stdin.");
ABSL_FLAG(std::vector<std::string>, param, {},
          "Parameter overrides NAME=V, several separated by commas; per-channel values V/V/...");
ABSL_FLAG(std::string, dtype, "float32", "float32 or float64.");
ABSL_FLAG(uint64_t, seed, 0, "Noise seed of stochastic functions.");
ABSL_FLAG(bool, training, false, "Training mode (rrelu draws random slopes).");
ABSL_FLAG(std::vector<std::string>, dy, {}, "backward: upstream gradient values (default: ones).");
ABSL_FLAG(std::string, format, "csv", "Output of forward/backward: csv or json.");
ABSL_FLAG(std::string, out, "activations.svg", "plot: the SVG file to write.");
ABSL_FLAG(double, timeout, 30, "Seconds each call may take.");
ABSL_FLAG(std::string, mode, "unary",
          "load: unary (Forward calls) or stream (one Evaluate stream per slot).");
ABSL_FLAG(int64_t, payload, 1024, "load: float32 elements per request.");
ABSL_FLAG(int, in_flight, 16, "load: requests kept in flight (one thread each).");
ABSL_FLAG(double, duration, 5, "load: seconds measured (after 0.5 s of warm-up).");
ABSL_FLAG(std::string, activation, "relu", "load: the activation computed.");

namespace actserve::client {
namespace {

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
        !absl::SimpleAtoi(parts[2], &n) || n < 1) {
      return absl::InvalidArgumentError("--range must be A:B:N with N >= 1, got " + range);
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
  o.timeout = absl::Seconds(absl::GetFlag(FLAGS_timeout));
  return o;
}

std::string Json(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions o;
  o.always_print_primitive_fields = true;
  o.preserve_proto_field_names = true;
  std::string s;
  (void)google::protobuf::util::MessageToJsonString(m, &s, o);
  return s;
}

int List(ActivationClient& client) {
  auto list = client.ListActivations();
  if (!list.ok()) return Fail(list.status());
  if (absl::GetFlag(FLAGS_json)) {
    std::vector<std::string> items;
    for (const v1::ActivationInfo& a : *list) items.push_back(Json(a));
    std::printf("[%s]\n", absl::StrJoin(items, ",\n ").c_str());
    return 0;
  }
  std::printf("%-22s %-40s %-28s %s\n", "NAME", "f(x)", "PARAMETERS", "RANGE");
  for (const v1::ActivationInfo& a : *list) {
    std::vector<std::string> params;
    for (const v1::ParamInfo& p : a.params()) {
      params.push_back(
          absl::StrFormat("%s=%g%s", p.name(), p.default_value(), p.learnable() ? "*" : ""));
    }
    std::string name = a.name();
    if (a.aliases_size() > 0) name += " (" + absl::StrJoin(a.aliases(), ",") + ")";
    std::printf("%-22s %-40s %-28s %s\n", name.c_str(), a.formula().substr(0, 40).c_str(),
                absl::StrJoin(params, " ").c_str(), a.output_range().c_str());
  }
  std::printf("(* learnable)\n");
  return 0;
}

template <class T>
void Print(const std::vector<double>& x, const std::vector<T>& y, const char* label) {
  if (absl::GetFlag(FLAGS_format) == "json") {
    std::printf("{\"x\": [%s], \"%s\": [%s]}\n", absl::StrJoin(x, ", ").c_str(), label,
                absl::StrJoin(y, ", ", [](std::string* out, T v) {
                  absl::StrAppend(out, absl::StrFormat("%.9g", v));
                }).c_str());
    return;
  }
  std::printf("x,%s\n", label);
  // Last-axis functions may change the length (maxout, glu): print what there is.
  for (size_t i = 0; i < y.size(); ++i) {
    std::printf("%s,%.9g\n", i < x.size() ? absl::StrFormat("%.9g", x[i]).c_str() : "",
                static_cast<double>(y[i]));
  }
}

template <class T>
int Compute(ActivationClient& client, bool backward, const std::string& name,
            const std::vector<double>& xd, const CallOptions& o) {
  std::vector<T> x(xd.begin(), xd.end());
  std::vector<int64_t> shape = {static_cast<int64_t>(x.size())};
  if (!backward) {
    auto y = client.Forward(name, shape, absl::MakeConstSpan(x), o);
    if (!y.ok()) return Fail(y.status());
    Print(xd, y->values, "y");
    return 0;
  }
  // dy defaults to ones of the forward output's length.
  auto y = client.Forward(name, shape, absl::MakeConstSpan(x), o);
  if (!y.ok()) return Fail(y.status());
  std::vector<T> dy(y->values.size(), T(1));
  auto given = ParseNumbers(absl::GetFlag(FLAGS_dy));
  if (!given.ok()) return Usage(std::string(given.status().message()));
  if (!given->empty()) dy.assign(given->begin(), given->end());
  auto r =
      client.Backward(name, shape, absl::MakeConstSpan(x), y->shape, absl::MakeConstSpan(dy), o);
  if (!r.ok()) return Fail(r.status());
  Print(xd, r->dx.values, "dx");
  for (const auto& [param, g] : r->param_gradients) {
    std::fprintf(stderr, "d/d%s: %s\n", param.c_str(), absl::StrJoin(g, ", ").c_str());
  }
  return 0;
}

// An SVG with f (solid) and f' (dashed) of each function over the range, computed by the server.
int Plot(ActivationClient& client, const std::string& names, const CallOptions& o) {
  if (absl::GetFlag(FLAGS_range).empty()) absl::SetFlag(&FLAGS_range, "-5:5:401");
  auto xs = Inputs({});
  if (!xs.ok()) return Usage(std::string(xs.status().message()));
  struct Curve {
    std::string label;
    std::vector<double> y;
    bool dashed;
  };
  std::vector<Curve> curves;
  std::vector<int64_t> shape = {static_cast<int64_t>(xs->size())};
  std::vector<double> ones(xs->size(), 1.0);
  for (const std::string& name : std::vector<std::string>(absl::StrSplit(names, ','))) {
    auto y = client.Forward(name, shape, absl::MakeConstSpan(*xs), o);
    if (!y.ok()) return Fail(y.status());
    if (y->values.size() != xs->size()) {
      return Usage(name + " changes the tensor's length; plot takes element-wise functions");
    }
    auto d =
        client.Backward(name, shape, absl::MakeConstSpan(*xs), shape, absl::MakeConstSpan(ones), o);
    if (!d.ok()) return Fail(d.status());
    curves.push_back({name, y->values, false});
    curves.push_back({name + "'", d->dx.values, true});
  }
  Panel panel;
  for (size_t c = 0; c < curves.size(); ++c) {
    panel.series.push_back(
        {curves[c].label, *xs, curves[c].y, curves[c].dashed, static_cast<int>(c / 2)});
  }
  const std::string svg = RenderSvg({panel});
  const double x0 = xs->front(), x1 = xs->back();
  const std::string out = absl::GetFlag(FLAGS_out);
  std::ofstream f(out);
  f << svg;
  if (!f) return Fail(absl::InternalError("cannot write " + out));
  std::printf("wrote %s (%zu curves over [%g, %g])\n", out.c_str(), curves.size(), x0, x1);
  return 0;
}

// A closed-loop load generator: --in_flight threads each keep one request outstanding, for
// --duration seconds after a warm-up, by unary Forward calls or over one Evaluate stream each.
int Load(const std::string& target) {
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode != "unary" && mode != "stream") return Usage("--mode must be unary or stream");
  const int64_t payload = absl::GetFlag(FLAGS_payload);
  const int in_flight = std::max(1, absl::GetFlag(FLAGS_in_flight));
  v1::ForwardRequest request;
  request.set_activation(absl::GetFlag(FLAGS_activation));
  request.mutable_x()->add_shape(payload);
  request.mutable_x()->set_dtype(v1::DTYPE_FLOAT32);
  request.mutable_x()->mutable_float_data()->Resize(static_cast<int>(payload), 0.5f);
  auto client = ActivationClient::Connect(target);
  const absl::Time start = absl::Now();
  const absl::Time measure_from = start + absl::Milliseconds(500);
  const absl::Time end = measure_from + absl::Seconds(absl::GetFlag(FLAGS_duration));
  std::mutex mu;
  std::vector<double> latencies_us;
  std::atomic<int64_t> errors{0};
  std::string first_error;
  std::vector<std::thread> threads;
  for (int t = 0; t < in_flight; ++t) {
    threads.emplace_back([&] {
      std::vector<double> mine;
      grpc::ClientContext stream_context;
      std::unique_ptr<grpc::ClientReaderWriter<v1::EvaluateRequest, v1::EvaluateResponse>> stream;
      v1::EvaluateRequest eval;
      if (mode == "stream") {
        stream = client->stub().Evaluate(&stream_context);
        *eval.mutable_forward() = request;
      }
      v1::ForwardResponse response;
      v1::EvaluateResponse eval_response;
      while (true) {
        const absl::Time t0 = absl::Now();
        if (t0 >= end) break;
        grpc::Status s;
        if (stream != nullptr) {
          s = stream->Write(eval) && stream->Read(&eval_response)
                  ? (eval_response.has_error()
                         ? grpc::Status(grpc::StatusCode::INTERNAL, eval_response.error().message())
                         : grpc::Status::OK)
                  : grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream broke");
        } else {
          grpc::ClientContext context;
          context.set_deadline(absl::ToChronoTime(t0 + absl::Seconds(30)));
          s = client->stub().Forward(&context, request, &response);
        }
        const absl::Time t1 = absl::Now();
        if (!s.ok()) {
          if (errors.fetch_add(1) == 0) {
            std::lock_guard<std::mutex> l(mu);
            first_error = s.error_message();
          }
          if (stream != nullptr) break;
          continue;
        }
        if (t0 >= measure_from) mine.push_back(absl::ToDoubleMicroseconds(t1 - t0));
      }
      if (stream != nullptr) {
        stream->WritesDone();
        stream->Finish();
      }
      std::lock_guard<std::mutex> l(mu);
      latencies_us.insert(latencies_us.end(), mine.begin(), mine.end());
    });
  }
  for (std::thread& t : threads) t.join();
  if (latencies_us.empty())
    return Fail(absl::UnavailableError("no request completed: " + first_error));
  std::sort(latencies_us.begin(), latencies_us.end());
  const double seconds = absl::ToDoubleSeconds(end - measure_from);
  const double rps = latencies_us.size() / seconds;
  const double mbps = rps * 2 * 4 * payload / 1e6;  // request + response payload
  auto pct = [&](double q) {
    return latencies_us[static_cast<size_t>(q * (latencies_us.size() - 1))];
  };
  std::printf(
      "{\"mode\": \"%s\", \"payload_floats\": %lld, \"in_flight\": %d, \"requests\": %zu, "
      "\"errors\": %lld, \"rps\": %.1f, \"mbps\": %.1f, \"p50_us\": %.1f, \"p99_us\": %.1f}\n",
      mode.c_str(), static_cast<long long>(payload), in_flight, latencies_us.size(),
      static_cast<long long>(errors.load()), rps, mbps, pct(0.5), pct(0.99));
  if (errors > 0)
    std::fprintf(stderr, "actctl: %lld errors, first: %s\n", static_cast<long long>(errors.load()),
                 first_error.c_str());
  return errors > 0 ? 1 : 0;
}

int Main(const std::vector<std::string>& args) {
  if (args.empty()) {
    return Usage(
        "missing command: list, forward, backward, health, plot, load, train, jobs, "
        "watch, cancel, delete, predict, curves or sweep");
  }
  const std::string& command = args[0];
  if (command == "load") return Load(absl::GetFlag(FLAGS_server));
  if (IsTrainingCommand(command)) return RunTrainingCommand(args, absl::GetFlag(FLAGS_server));
  auto client = ActivationClient::Connect(absl::GetFlag(FLAGS_server));
  if (command == "list") return List(*client);
  if (command == "health") {
    auto ok = client->Healthy(args.size() > 1 ? args[1] : "");
    if (!ok.ok()) return Fail(ok.status());
    std::printf("%s\n", *ok ? "SERVING" : "NOT_SERVING");
    return *ok ? 0 : 1;
  }
  auto options = Options();
  if (!options.ok()) return Usage(std::string(options.status().message()));
  if (command == "plot") {
    if (args.size() != 2) return Usage("plot takes one argument: NAME[,NAME...]");
    return Plot(*client, args[1], *options);
  }
  if (command == "forward" || command == "backward") {
    if (args.size() < 2) return Usage(command + " needs an activation name");
    auto x = Inputs(std::vector<std::string>(args.begin() + 2, args.end()));
    if (!x.ok()) return Usage(std::string(x.status().message()));
    const bool backward = command == "backward";
    const std::string dtype = absl::GetFlag(FLAGS_dtype);
    if (dtype == "float32") return Compute<float>(*client, backward, args[1], *x, *options);
    if (dtype == "float64") return Compute<double>(*client, backward, args[1], *x, *options);
    return Usage("--dtype must be float32 or float64");
  }
  return Usage("unknown command '" + command + "'");
}

}  // namespace
}  // namespace actserve::client

int main(int argc, char** argv) {
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view f) {
    return absl::EndsWith(f, "client/actctl.cc") || absl::EndsWith(f, "client/actctl_train.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(
      "actctl [--server=HOST:PORT] list [--json] | forward NAME [X...] | backward NAME [X...] | "
      "health [SERVICE] | plot NAME[,NAME...] [--range=A:B:N] [--out=FILE.svg] | "
      "load [--mode=unary|stream] [--payload=N] [--in_flight=N] [--duration=S] | "
      "train JOB_FILE | jobs | watch ID | cancel ID | delete ID | curves ID | "
      "predict --job=ID --features=ROWS | sweep JOB_FILE --activations=A,B");
  // Negative numbers ("-1.5") are values, not flags: every argument that is not a flag goes
  // behind "--", in its order, so that the parser leaves them alone.
  std::vector<char*> flags = {argv[0]}, positional;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    double unused;
    const bool is_flag =
        arg.size() > 1 && arg[0] == '-' && arg != "--" && !absl::SimpleAtod(arg, &unused);
    if (arg == "--") {
      positional.insert(positional.end(), argv + i + 1, argv + argc);
      break;
    }
    (is_flag ? flags : positional).push_back(argv[i]);
    // "--flag value": a non-boolean flag without '=' takes the next argument.
    static const absl::flat_hash_set<std::string> kNoValue = {
        "--json",      "--training", "--nojson", "--notraining", "--help",    "--helpfull",
        "--helpshort", "--version",  "-h",       "--detach",     "--nodetach"};
    if (is_flag && arg.find('=') == std::string::npos && !kNoValue.contains(arg) && i + 1 < argc) {
      flags.push_back(argv[++i]);
    }
  }
  flags.push_back(const_cast<char*>("--"));
  flags.insert(flags.end(), positional.begin(), positional.end());
  std::vector<char*> rest = absl::ParseCommandLine(static_cast<int>(flags.size()), flags.data());
  return actserve::client::Main(std::vector<std::string>(rest.begin() + 1, rest.end()));
}
