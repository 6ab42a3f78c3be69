// actctl load: a closed-loop load generator. --in_flight threads each keep one request
// outstanding, for --duration seconds after a warm-up, by unary Forward calls or over one
// Evaluate stream each.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "client/actctl/command.h"
#include "client/actctl/common.h"
#include "client/lib/activation_client.h"
#include "google/protobuf/struct.pb.h"

ABSL_FLAG(std::string, mode, "unary",
          "unary (Forward calls) or stream (one Evaluate stream per slot).");
ABSL_FLAG(int64_t, payload, 1024, "float32 elements per request (1 to 2^26).");
ABSL_FLAG(int, in_flight, 16, "Requests kept in flight, one thread each (1 to 4096).");
ABSL_FLAG(double, duration, 5, "Seconds measured, after 0.5 s of warm-up (more than 0).");
ABSL_FLAG(std::string, activation, "relu", "The activation computed.");

namespace actserve::client {
namespace {

// INVALID_ARGUMENT naming the first load flag out of its range.
absl::Status CheckLoadFlags() {
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode != "unary" && mode != "stream") {
    return absl::InvalidArgumentError("--mode must be unary or stream, got " + mode);
  }
  const int64_t payload = absl::GetFlag(FLAGS_payload);
  if (payload < 1 || payload > (int64_t{1} << 26)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--payload must be between 1 and 2^26 elements, got ", payload));
  }
  const int in_flight = absl::GetFlag(FLAGS_in_flight);
  if (in_flight < 1 || in_flight > 4096) {
    return absl::InvalidArgumentError(
        absl::StrCat("--in_flight must be between 1 and 4096, got ", in_flight));
  }
  const double duration = absl::GetFlag(FLAGS_duration);
  if (!(duration > 0 && duration <= 86400)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--duration must be more than 0 seconds (and at most a day), got ", duration));
  }
  return absl::OkStatus();
}

}  // namespace

int RunLoad(const std::vector<std::string>&) {
  if (absl::Status s = CheckLoadFlags(); !s.ok()) return Usage(std::string(s.message()));
  const std::string mode = absl::GetFlag(FLAGS_mode);
  const int64_t payload = absl::GetFlag(FLAGS_payload);
  const int in_flight = absl::GetFlag(FLAGS_in_flight);
  v1::ForwardRequest request;
  request.set_activation(absl::GetFlag(FLAGS_activation));
  request.mutable_x()->add_shape(payload);
  request.mutable_x()->set_dtype(v1::DTYPE_FLOAT32);
  request.mutable_x()->mutable_float_data()->Resize(static_cast<int>(payload), 0.5f);
  auto client = ActivationClient::Connect(ServerOptions());
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
          context.set_deadline(absl::ToChronoTime(t0 + CallTimeout()));
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
  if (latencies_us.empty()) {
    return Fail(absl::UnavailableError("no request completed: " + first_error));
  }
  std::sort(latencies_us.begin(), latencies_us.end());
  const double seconds = absl::ToDoubleSeconds(end - measure_from);
  const double rps = latencies_us.size() / seconds;
  auto pct = [&](double q) {
    return latencies_us[static_cast<size_t>(q * (latencies_us.size() - 1))];
  };
  auto round1 = [](double v) { return std::round(v * 10) / 10; };
  google::protobuf::Struct summary;
  auto& f = *summary.mutable_fields();
  f["mode"].set_string_value(mode);
  f["payload_floats"].set_number_value(payload);
  f["in_flight"].set_number_value(in_flight);
  f["requests"].set_number_value(latencies_us.size());
  f["errors"].set_number_value(errors.load());
  f["rps"].set_number_value(round1(rps));
  f["mbps"].set_number_value(round1(rps * 2 * 4 * payload / 1e6));  // request + response
  f["p50_us"].set_number_value(round1(pct(0.5)));
  f["p99_us"].set_number_value(round1(pct(0.99)));
  std::printf("%s\n", ToJson(summary, /*spaced=*/true).c_str());
  if (errors > 0) {
    std::fprintf(stderr, "actctl: %lld errors, first: %s\n", static_cast<long long>(errors.load()),
                 first_error.c_str());
  }
  return errors > 0 ? 1 : 0;
}

}  // namespace actserve::client
