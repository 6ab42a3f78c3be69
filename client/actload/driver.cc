#include "client/actload/driver.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/actload/workload.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "proto/actserve/v1/activation_service.grpc.pb.h"
#include "proto/actserve/v1/training_service.grpc.pb.h"

namespace actserve::actload {
namespace {

std::chrono::system_clock::time_point DeadlineFromNow(absl::Duration d) {
  return std::chrono::system_clock::now() + absl::ToChronoNanoseconds(d);
}

int64_t Pushback(const grpc::ClientContext& ctx) {
  const auto& trailers = ctx.GetServerTrailingMetadata();
  auto it = trailers.find("grpc-retry-pushback-ms");
  int64_t ms;
  if (it == trailers.end() ||
      !absl::SimpleAtoi(absl::string_view(it->second.data(), it->second.size()), &ms)) {
    return -1;
  }
  return ms;
}

// ---- Unary ----

class UnaryDriver : public Driver {
 public:
  UnaryDriver(std::vector<std::shared_ptr<grpc::Channel>> channels, const Workload* workload,
              int threads, absl::Duration deadline, CompletionSink* sink)
      : workload_(workload), deadline_(deadline), sink_(sink) {
    for (auto& c : channels) stubs_.push_back(std::make_unique<grpc::GenericStub>(c));
    for (int i = 0; i < threads; ++i) {
      cqs_.push_back(std::make_unique<grpc::CompletionQueue>());
    }
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this, i] { Poll(cqs_[i].get()); });
    }
  }
  ~UnaryDriver() override { Shutdown(); }

  void Start(const Token& token) override {
    const PreparedRequest& r = workload_->PickRequest(token.index);
    auto* call = new Call;
    call->token = token;
    call->ctx.set_deadline(DeadlineFromNow(deadline_));
    grpc::CompletionQueue* cq = cqs_[token.index % cqs_.size()].get();
    call->rpc = stubs_[token.index % stubs_.size()]->PrepareUnaryCall(&call->ctx, r.method,
                                                                      r.serialized, cq);
    call->rpc->StartCall();
    call->rpc->Finish(&call->response, &call->status, call);
  }

  void Shutdown() override {
    if (shut_) return;
    shut_ = true;
    for (auto& cq : cqs_) cq->Shutdown();
    for (auto& t : threads_) t.join();
  }

 private:
  struct Call {
    Token token;
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::GenericClientAsyncResponseReader> rpc;
    grpc::ByteBuffer response;
    grpc::Status status;
  };

  void Poll(grpc::CompletionQueue* cq) {
    void* tag;
    bool ok;
    while (cq->Next(&tag, &ok)) {
      auto* call = static_cast<Call*>(tag);
      Completion c;
      c.code = call->status.error_code();
      const std::string message = call->status.error_message();  // returned by value
      c.message = message;
      if (c.code != 0) c.pushback_ms = Pushback(call->ctx);
      const Token token = call->token;
      sink_->Complete(token, c);
      delete call;
    }
  }

  const Workload* workload_;
  absl::Duration deadline_;
  CompletionSink* sink_;
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs_;
  std::vector<std::unique_ptr<grpc::CompletionQueue>> cqs_;
  std::vector<std::thread> threads_;
  bool shut_ = false;
};

// ---- Evaluate streams ----

class StreamDriver;

class Stream : public grpc::ClientBidiReactor<v1::EvaluateRequest, v1::EvaluateResponse> {
 public:
  Stream(StreamDriver* driver, int slot, v1::ActivationService::Stub* stub, int depth);
  // Queues a message; false if the stream has ended (the caller replaces it).
  bool Enqueue(const Token& token, const v1::EvaluateRequest* request);
  void Close();

  void OnWriteDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  void MaybeWriteLocked();

  StreamDriver* driver_;
  int slot_;
  int depth_;
  grpc::ClientContext ctx_;
  v1::EvaluateResponse response_;
  std::mutex mu_;
  std::deque<std::pair<Token, const v1::EvaluateRequest*>> pending_;  // not yet written
  std::deque<Token> written_;                                         // awaiting answers
  bool writing_ = false;
  bool closing_ = false;
  bool finished_ = false;
};

class StreamDriver : public Driver {
 public:
  StreamDriver(std::vector<std::shared_ptr<grpc::Channel>> channels, const Workload* workload,
               int streams, int depth, CompletionSink* sink)
      : workload_(workload), depth_(depth), sink_(sink), slots_(streams) {
    for (auto& c : channels) stubs_.push_back(v1::ActivationService::NewStub(c));
  }
  ~StreamDriver() override { Shutdown(); }

  void Start(const Token& token) override {
    const int s = static_cast<int>(token.index % slots_.size());
    const v1::EvaluateRequest* request = &workload_->PickRequest(token.index).evaluate;
    std::lock_guard<std::mutex> lock(slots_[s].mu);
    for (;;) {
      if (slots_[s].stream == nullptr) {
        slots_[s].stream = new Stream(this, s, stubs_[s % stubs_.size()].get(), depth_);
        std::lock_guard<std::mutex> l(live_mu_);
        ++live_;
      }
      if (slots_[s].stream->Enqueue(token, request)) return;
      slots_[s].stream = nullptr;
    }
  }

  void Shutdown() override {
    if (shut_) return;
    shut_ = true;
    for (Slot& slot : slots_) {
      std::lock_guard<std::mutex> lock(slot.mu);
      if (slot.stream) slot.stream->Close();
    }
    std::unique_lock<std::mutex> lock(live_mu_);
    live_cv_.wait(lock, [this] { return live_ == 0; });
  }

  // From a stream's OnDone: forget it (the next call opens a new one), then count it out.
  void Forget(int slot, Stream* stream) {
    std::lock_guard<std::mutex> lock(slots_[slot].mu);
    if (slots_[slot].stream == stream) slots_[slot].stream = nullptr;
  }
  void Ended() {
    std::lock_guard<std::mutex> lock(live_mu_);
    if (--live_ == 0) live_cv_.notify_all();
  }
  CompletionSink* sink() { return sink_; }

 private:
  struct Slot {
    std::mutex mu;
    Stream* stream = nullptr;
  };
  const Workload* workload_;
  int depth_;
  CompletionSink* sink_;
  std::vector<std::unique_ptr<v1::ActivationService::Stub>> stubs_;
  std::vector<Slot> slots_;
  std::mutex live_mu_;
  std::condition_variable live_cv_;
  int live_ = 0;
  bool shut_ = false;
};

Stream::Stream(StreamDriver* driver, int slot, v1::ActivationService::Stub* stub, int depth)
    : driver_(driver), slot_(slot), depth_(depth) {
  stub->async()->Evaluate(&ctx_, this);
  StartRead(&response_);
  StartCall();
}

bool Stream::Enqueue(const Token& token, const v1::EvaluateRequest* request) {
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_ || closing_) return false;
  pending_.emplace_back(token, request);
  MaybeWriteLocked();
  return true;
}

void Stream::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (closing_ || finished_) return;
  closing_ = true;
  if (!writing_) StartWritesDone();
}

void Stream::MaybeWriteLocked() {
  if (writing_ || closing_ || pending_.empty() || static_cast<int>(written_.size()) >= depth_) {
    return;
  }
  auto [token, request] = pending_.front();
  pending_.pop_front();
  written_.push_back(token);
  writing_ = true;
  StartWrite(request);
}

void Stream::OnWriteDone(bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  writing_ = false;
  if (!ok) return;  // the stream is ending: OnDone fails what is left
  if (closing_) {
    StartWritesDone();
    return;
  }
  MaybeWriteLocked();
}

void Stream::OnReadDone(bool ok) {
  if (!ok) return;
  Token token;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (written_.empty()) return;  // an answer to nothing: OnDone follows with the status
    token = written_.front();
    written_.pop_front();
  }
  Completion c;
  std::string message;
  if (response_.has_error()) {
    c.code = response_.error().code();
    message = response_.error().message();
    c.message = message;
  }
  driver_->sink()->Complete(token, c);
  StartRead(&response_);
  std::lock_guard<std::mutex> lock(mu_);
  MaybeWriteLocked();
}

void Stream::OnDone(const grpc::Status& status) {
  std::vector<Token> failed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    finished_ = true;
    for (const Token& t : written_) failed.push_back(t);
    for (const auto& p : pending_) failed.push_back(p.first);
    written_.clear();
    pending_.clear();
  }
  driver_->Forget(slot_, this);
  Completion c;
  c.code = status.ok() ? grpc::StatusCode::UNKNOWN : status.error_code();
  const std::string message =
      status.ok() ? "the Evaluate stream ended before answering" : status.error_message();
  c.message = message;
  if (!status.ok()) c.pushback_ms = Pushback(ctx_);
  for (const Token& t : failed) driver_->sink()->Complete(t, c);
  StreamDriver* driver = driver_;
  delete this;
  driver->Ended();
}

// ---- Training jobs ----

class TrainDriver : public Driver {
 public:
  TrainDriver(std::vector<std::shared_ptr<grpc::Channel>> channels, v1::JobSpec spec,
              absl::Duration deadline, CompletionSink* sink)
      : spec_(std::move(spec)), deadline_(deadline), sink_(sink) {
    for (auto& c : channels) stubs_.push_back(v1::TrainingService::NewStub(c));
  }
  ~TrainDriver() override { Shutdown(); }

  void Start(const Token& token) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++running_;
    }
    std::thread([this, token] {
      Run(token);
      std::lock_guard<std::mutex> lock(mu_);
      if (--running_ == 0) cv_.notify_all();
    }).detach();
  }

  void Shutdown() override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return running_ == 0; });
  }

 private:
  void Run(const Token& token) {
    v1::TrainingService::Stub* stub = stubs_[token.index % stubs_.size()].get();
    v1::SubmitJobRequest request;
    *request.mutable_spec() = spec_;
    request.mutable_spec()->set_name(absl::StrCat(spec_.name(), "-actload-", token.index));
    v1::Job job;
    Completion c;
    std::string message;
    {
      grpc::ClientContext ctx;
      ctx.set_deadline(DeadlineFromNow(deadline_));
      grpc::Status s = stub->SubmitJob(&ctx, request, &job);
      if (!s.ok()) {
        c.code = s.error_code();
        message = s.error_message();
        c.message = message;
        c.pushback_ms = Pushback(ctx);
        sink_->Complete(token, c);
        return;
      }
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(DeadlineFromNow(deadline_));
    v1::WatchJobRequest watch;
    watch.set_id(job.id());
    auto reader = stub->WatchJob(&ctx, watch);
    v1::WatchJobResponse update;
    bool ended = false;
    while (reader->Read(&update)) {
      if (update.has_job() && update.job().state() >= v1::JOB_STATE_SUCCEEDED) {
        job = update.job();
        ended = true;
      }
    }
    grpc::Status s = reader->Finish();
    if (!ended) {
      c.code = s.ok() ? grpc::StatusCode::UNKNOWN : s.error_code();
      message = s.ok() ? "WatchJob ended before the job" : s.error_message();
    } else if (job.state() == v1::JOB_STATE_FAILED) {
      c.code = job.error().code() ? job.error().code() : grpc::StatusCode::UNKNOWN;
      message = job.error().message();
    } else if (job.state() == v1::JOB_STATE_CANCELLED) {
      c.code = grpc::StatusCode::CANCELLED;
      message = "the job was cancelled";
    }
    c.message = message;
    c.train_steps = job.result().steps();
    sink_->Complete(token, c);
    grpc::ClientContext del_ctx;
    del_ctx.set_deadline(DeadlineFromNow(absl::Seconds(5)));
    v1::DeleteJobRequest del;
    del.set_id(job.id());
    v1::DeleteJobResponse ignored;
    (void)stub->DeleteJob(&del_ctx, del, &ignored);
  }

  v1::JobSpec spec_;
  absl::Duration deadline_;
  CompletionSink* sink_;
  std::vector<std::unique_ptr<v1::TrainingService::Stub>> stubs_;
  std::mutex mu_;
  std::condition_variable cv_;
  int running_ = 0;
};

}  // namespace

std::vector<std::shared_ptr<grpc::Channel>> MakeChannels(const client::ChannelOptions& base,
                                                         int count) {
  client::ChannelOptions options = base;
  options.max_attempts = 1;
  options.own_connection = true;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < count; ++i) channels.push_back(client::NewChannel(options));
  return channels;
}

std::unique_ptr<Driver> NewUnaryDriver(std::vector<std::shared_ptr<grpc::Channel>> channels,
                                       const Workload* workload, int threads,
                                       absl::Duration deadline, CompletionSink* sink) {
  return std::make_unique<UnaryDriver>(std::move(channels), workload, threads, deadline, sink);
}

std::unique_ptr<Driver> NewStreamDriver(std::vector<std::shared_ptr<grpc::Channel>> channels,
                                        const Workload* workload, int streams, int depth,
                                        CompletionSink* sink) {
  return std::make_unique<StreamDriver>(std::move(channels), workload, streams, depth, sink);
}

std::unique_ptr<Driver> NewTrainDriver(std::vector<std::shared_ptr<grpc::Channel>> channels,
                                       v1::JobSpec spec, absl::Duration deadline,
                                       CompletionSink* sink) {
  return std::make_unique<TrainDriver>(std::move(channels), std::move(spec), deadline, sink);
}

}  // namespace actserve::actload
