#include "client/lib/training_client.h"

#include <chrono>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/client_context.h"

namespace actserve::client {
namespace {

// A unary call through `method` of the stub.
template <class Request, class Response, class Method>
absl::StatusOr<Response> Call(v1::TrainingService::Stub* stub, Method method,
                              const Request& request, absl::Duration timeout) {
  grpc::ClientContext context;
  SetTimeout(&context, timeout);
  Response response;
  grpc::Status s = (stub->*method)(&context, request, &response);
  if (!s.ok()) return FromGrpcStatus(s);
  return response;
}

}  // namespace

std::unique_ptr<TrainingClient> TrainingClient::Connect(const std::string& target) {
  return std::make_unique<TrainingClient>(NewChannel(target));
}

std::unique_ptr<TrainingClient> TrainingClient::Connect(const ChannelOptions& options) {
  return std::make_unique<TrainingClient>(NewChannel(options));
}

TrainingClient::TrainingClient(std::shared_ptr<grpc::Channel> channel)
    : stub_(v1::TrainingService::NewStub(std::move(channel))) {}

absl::StatusOr<v1::Job> TrainingClient::Submit(const v1::JobSpec& spec, absl::Duration timeout) {
  v1::SubmitJobRequest request;
  *request.mutable_spec() = spec;
  return Call<v1::SubmitJobRequest, v1::Job>(stub_.get(), &v1::TrainingService::Stub::SubmitJob,
                                             request, timeout);
}

absl::StatusOr<v1::Job> TrainingClient::Get(const std::string& id, bool include_weights,
                                            absl::Duration timeout) {
  v1::GetJobRequest request;
  request.set_id(id);
  request.set_include_weights(include_weights);
  return Call<v1::GetJobRequest, v1::Job>(stub_.get(), &v1::TrainingService::Stub::GetJob, request,
                                          timeout);
}

absl::StatusOr<std::vector<v1::Job>> TrainingClient::List(absl::Duration timeout) {
  absl::StatusOr<v1::ListJobsResponse> r = Call<v1::ListJobsRequest, v1::ListJobsResponse>(
      stub_.get(), &v1::TrainingService::Stub::ListJobs, v1::ListJobsRequest(), timeout);
  if (!r.ok()) return r.status();
  return std::vector<v1::Job>(r->jobs().begin(), r->jobs().end());
}

absl::StatusOr<v1::Job> TrainingClient::Cancel(const std::string& id, absl::Duration timeout) {
  v1::CancelJobRequest request;
  request.set_id(id);
  return Call<v1::CancelJobRequest, v1::Job>(stub_.get(), &v1::TrainingService::Stub::CancelJob,
                                             request, timeout);
}

absl::Status TrainingClient::Delete(const std::string& id, absl::Duration timeout) {
  v1::DeleteJobRequest request;
  request.set_id(id);
  return Call<v1::DeleteJobRequest, v1::DeleteJobResponse>(
             stub_.get(), &v1::TrainingService::Stub::DeleteJob, request, timeout)
      .status();
}

absl::StatusOr<v1::PredictResponse> TrainingClient::Predict(const v1::PredictRequest& request,
                                                            absl::Duration timeout) {
  return Call<v1::PredictRequest, v1::PredictResponse>(
      stub_.get(), &v1::TrainingService::Stub::Predict, request, timeout);
}

absl::StatusOr<v1::Sweep> TrainingClient::SubmitSweep(const v1::SubmitSweepRequest& request,
                                                      absl::Duration timeout) {
  return Call<v1::SubmitSweepRequest, v1::Sweep>(
      stub_.get(), &v1::TrainingService::Stub::SubmitSweep, request, timeout);
}

absl::StatusOr<v1::Sweep> TrainingClient::GetSweep(const std::string& id, absl::Duration timeout) {
  v1::GetSweepRequest request;
  request.set_id(id);
  return Call<v1::GetSweepRequest, v1::Sweep>(stub_.get(), &v1::TrainingService::Stub::GetSweep,
                                              request, timeout);
}

absl::StatusOr<v1::Job> TrainingClient::Watch(
    const std::string& id, int64_t from,
    const std::function<void(const v1::Progress&)>& on_progress) {
  grpc::ClientContext context;
  v1::WatchJobRequest request;
  request.set_id(id);
  request.set_from_report(from);
  std::unique_ptr<grpc::ClientReader<v1::WatchJobResponse>> reader =
      stub_->WatchJob(&context, request);
  v1::WatchJobResponse update;
  v1::Job job;
  bool ended = false;
  while (reader->Read(&update)) {
    if (update.has_progress() && on_progress) on_progress(update.progress());
    if (update.has_job()) {
      job = update.job();
      ended = true;
    }
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return FromGrpcStatus(s);
  if (!ended) return absl::UnavailableError("the watch ended before the job did");
  return job;
}

absl::StatusOr<v1::JobSpec> ParseJobSpec(const std::string& text, bool json) {
  v1::JobSpec spec;
  if (json) {
    auto s = google::protobuf::util::JsonStringToMessage(text, &spec);
    if (!s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("JSON job spec: ", s.message().ToString()));
    }
    return spec;
  }
  // Collects the parser's messages (line, column, what) instead of logging them.
  class Errors final : public google::protobuf::io::ErrorCollector {
   public:
    void AddError(int line, int column, const std::string& message) override {
      absl::StrAppend(&text, text.empty() ? "" : "; ", "line ", line + 1, ", column ", column + 1,
                      ": ", message);
    }
    std::string text;
  } errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &spec)) {
    return absl::InvalidArgumentError(absl::StrCat("text-format job spec: ", errors.text));
  }
  return spec;
}

absl::StatusOr<v1::JobSpec> ReadJobSpec(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return ParseJobSpec(text.str(), absl::EndsWith(path, ".json"));
}

}  // namespace actserve::client
