#include "server/api/handler.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <optional>
#include <string>

#include "absl/time/clock.h"
#include "server/auth/grpc_auth.h"

namespace actserve::server {

bool CallTracker::TryEnter() {
  // Counted first, then checked: a drain that has begun either sees this call in in_flight or
  // this call sees the drain.
  in_flight_.fetch_add(1);
  if (draining_.load()) {
    in_flight_.fetch_sub(1);
    return false;
  }
  return true;
}

absl::Duration CallTracker::RetryPushback() const {
  const absl::Duration rest = absl::FromUnixNanos(lame_duck_end_ns_.load()) - absl::Now();
  return std::max(rest, absl::ZeroDuration()) + kRetryMargin;
}

bool CallTracker::WaitUntilIdle(absl::Time deadline) const {
  while (in_flight_.load() > 0) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

// One unary call from admission to OnDone. Finishes once: through Done, or with CANCELLED when
// the client cancels while an asynchronous body waits (a body that has returned without calling
// Done). Freed when both gRPC (OnDone) and a running body are done with it.
class UnaryCall final : public grpc::ServerUnaryReactor {
 public:
  UnaryCall(grpc::CallbackServerContext* context, CallTracker& calls)
      : context_(context), calls_(calls) {}

  void set_grant(std::unique_ptr<Admission::Grant> grant) { grant_ = std::move(grant); }

  // Runs the body now, on this thread. A synchronous body finishes the call inside Done, which
  // claims the call first, so a cancellation cannot free the request or response under it.
  void Run(const std::function<void(Handler::Done)>& body) {
    refs_.fetch_add(1);
    body(Handler::Done(this));
    waiting_.store(true);
    Release();
  }
  // Runs the body unless the call ended while it was queued (a queued call is never finished by
  // OnCancel: the pool still holds it).
  void RunQueued(const std::function<void(Handler::Done)>& body) {
    const bool cancelled = context_->IsCancelled();
    if (cancelled || context_->deadline() <= std::chrono::system_clock::now()) {
      return Complete([cancelled] { return ExpiredError(cancelled); });
    }
    Run(body);
  }
  // Finishes the call with `fill`'s status, once.
  void Complete(const std::function<absl::Status()>& fill) {
    if (finished_.exchange(true)) return;
    Finish(ToGrpcStatus(Guarded(fill)));
  }

  void OnCancel() override {
    if (waiting_.load()) Complete([] { return absl::CancelledError("the call was cancelled"); });
  }
  void OnDone() override {
    grant_.reset();
    calls_.Exit();
    Release();
  }

 private:
  void Release() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  grpc::CallbackServerContext* const context_;
  CallTracker& calls_;
  std::unique_ptr<Admission::Grant> grant_;  // released with the call
  std::atomic<int> refs_{1};                 // gRPC's, until OnDone; and a running body's
  std::atomic<bool> finished_{false};
  std::atomic<bool> waiting_{false};  // an asynchronous body has returned
};

Handler::Done::~Done() {
  if (call_ != nullptr) {
    call_->Complete([] { return absl::InternalError("the handler dropped the call unanswered"); });
  }
}

void Handler::Done::operator()(const std::function<absl::Status()>& fill) {
  UnaryCall* call = std::exchange(call_, nullptr);
  if (call != nullptr) call->Complete(fill);
}

Handler::StreamSlot::~StreamSlot() = default;

Handler::Handler(ComputePool& pool, CallTracker& calls, Admission& admission, Metrics* metrics)
    : pool_(pool), calls_(calls), admission_(admission), metrics_(metrics) {}

void Handler::CountRejection(const Method& method, Metrics::Rejection reason) {
  if (metrics_ != nullptr) metrics_->RecordRejection(method.path, reason);
}

absl::Status Handler::RefuseDraining(grpc::CallbackServerContext* context, const Method& method) {
  CountRejection(method, Metrics::Rejection::kDraining);
  // gRPC's retry policy waits this long before its next attempt (gRFC A6, server pushback).
  context->AddTrailingMetadata("grpc-retry-pushback-ms",
                               std::to_string(absl::ToInt64Milliseconds(calls_.RetryPushback())));
  return DrainingError();
}

absl::StatusOr<std::unique_ptr<Admission::Grant>> Handler::Admit(
    grpc::CallbackServerContext* context, const Method& method, int64_t request_bytes) {
  const std::string peer = context->peer();
  std::string joined;  // a key sent several times: its values, joined as HTTP joins them
  auto header = [context, &joined](absl::string_view key) -> std::optional<absl::string_view> {
    const auto range =
        context->client_metadata().equal_range(grpc::string_ref(key.data(), key.size()));
    if (range.first == range.second) return std::nullopt;
    if (std::next(range.first) == range.second) {
      return absl::string_view(range.first->second.data(), range.first->second.size());
    }
    joined.clear();
    for (auto it = range.first; it != range.second; ++it) {
      if (!joined.empty()) joined += ", ";
      joined.append(it->second.data(), it->second.size());
    }
    return absl::string_view(joined);
  };
  const std::string certificate_name = auth::ClientCertificateName(*context);
  absl::StatusOr<std::unique_ptr<Admission::Grant>> grant =
      admission_.Admit({.service = method.service,
                        .method = method.name,
                        .request_bytes = request_bytes,
                        .peer = peer,
                        .certificate_name = certificate_name,
                        .header = header});
  if (!grant.ok()) CountRejection(method, Metrics::Rejection::kAdmission);
  return grant;
}

grpc::ServerUnaryReactor* Handler::UnaryAsync(grpc::CallbackServerContext* context,
                                              const Method& method, int64_t request_bytes,
                                              Placement placement, std::function<void(Done)> body) {
  if (!calls_.TryEnter()) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(ToGrpcStatus(RefuseDraining(context, method)));
    return reactor;
  }
  auto* call = new UnaryCall(context, calls_);  // deletes itself in OnDone, which exits
  absl::StatusOr<std::unique_ptr<Admission::Grant>> grant = Admit(context, method, request_bytes);
  if (!grant.ok()) {
    call->Complete([&] { return grant.status(); });
    return call;
  }
  call->set_grant(*std::move(grant));
  if (placement == Placement::kInline) {
    call->Run(body);
  } else if (!pool_.TrySubmit([call, body = std::move(body)] { call->RunQueued(body); })) {
    CountRejection(method, Metrics::Rejection::kBusy);
    call->Complete([this] { return Busy(); });
  }
  return call;
}

absl::StatusOr<Handler::StreamSlot> Handler::OpenStream(grpc::CallbackServerContext* context,
                                                        const Method& method, bool admit) {
  if (!calls_.TryEnter()) return RefuseDraining(context, method);
  StreamSlot slot(&calls_, nullptr);
  if (admit) {
    absl::StatusOr<std::unique_ptr<Admission::Grant>> grant = Admit(context, method, 0);
    if (!grant.ok()) return grant.status();
    slot.grant_ = *std::move(grant);
  }
  return slot;
}

absl::StatusOr<std::unique_ptr<Admission::Grant>> Handler::AdmitMessage(
    grpc::CallbackServerContext* context, const Method& method, int64_t request_bytes) {
  if (calls_.draining()) return RefuseDraining(context, method);
  return Admit(context, method, request_bytes);
}

bool Handler::Dispatch(const Method& method, Placement placement, std::function<void()> task) {
  if (placement == Placement::kInline) {
    task();
    return true;
  }
  if (pool_.TrySubmit(std::move(task))) return true;
  CountRejection(method, Metrics::Rejection::kBusy);
  return false;
}

}  // namespace actserve::server
