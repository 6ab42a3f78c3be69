// The handler path: the one way every rpc of ActivationService and TrainingService is served.
// For each call (unary) or unit of work (a stream's opening, an Evaluate message) it applies,
// in this order:
//   1. drain accounting: CallTracker refuses new work with UNAVAILABLE while draining, and
//      counts what it accepts until the call ends, which is what a drain waits for; a refusal
//      carries grpc-retry-pushback-ms, so that a client's retry comes after the lame duck
//      (behind a proxy such as nginx, which keeps sending calls to a draining replica until its
//      port closes, an early retry could land on the same replica again);
//   2. admission (server/admission/admission.h): the hook where memory budgets, quotas and
//      authentication refuse a call; its grant is held until the call ends;
//   3. placement: kInline work (microseconds: lookups, small tensors, cancelling) runs on the
//      gRPC thread that received it; kPool work goes to the bounded ComputePool, RESOURCE_EXHAUSTED
//      when its queue is full; queued work whose call was cancelled or whose deadline passed
//      is answered CANCELLED or DEADLINE_EXCEEDED without running;
//   4. the body, with exceptions turned into statuses; its absl::Status becomes the call's
//      grpc::Status in ToGrpcStatus (status.h);
//   5. metrics: every refusal above is counted by method and reason (draining, busy,
//      admission); gRPC's own metrics come from the Metrics interceptor.
// Thread-safe.
#ifndef ACTSERVE_SERVER_API_HANDLER_H_
#define ACTSERVE_SERVER_API_HANDLER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "server/admission/admission.h"
#include "server/api/status.h"
#include "server/compute/compute_pool.h"
#include "server/metrics/metrics.h"

namespace actserve::server {

class UnaryCall;  // handler.cc

// Counts the calls and streams being served, and refuses new ones once draining. Thread-safe.
class CallTracker {
 public:
  // Counts a new call and returns true, or returns false while draining.
  bool TryEnter();
  // Ends a call counted by TryEnter.
  void Exit() { in_flight_.fetch_sub(1); }
  // From now on TryEnter refuses. Retries should come after `lame_duck_end`, when the server
  // stops listening (unless calls in flight still hold it).
  void StartDraining(absl::Time lame_duck_end = absl::Now()) {
    lame_duck_end_ns_.store(absl::ToUnixNanos(lame_duck_end));
    draining_.store(true);
  }
  bool draining() const { return draining_.load(); }
  // While draining: how long a refused client should wait before it retries (the rest of the
  // lame duck, plus kRetryMargin for the server to close its port).
  absl::Duration RetryPushback() const;
  static constexpr absl::Duration kRetryMargin = absl::Milliseconds(250);
  int in_flight() const { return in_flight_.load(); }
  // Waits until no counted call remains, or until `deadline`; true if none remains.
  bool WaitUntilIdle(absl::Time deadline) const;

 private:
  std::atomic<bool> draining_{false};
  std::atomic<int64_t> lame_duck_end_ns_{0};
  std::atomic<int> in_flight_{0};
};

// An rpc as the handler path names it, for admission and metrics.
struct Method {
  const char* service;  // "actserve.v1.ActivationService"
  const char* name;     // "Forward"
  const char* path;     // "/actserve.v1.ActivationService/Forward"
};

// The Method of rpc `name` (an identifier) of `service` (a string literal): its full path is built
// at compile time.
#define ACTSERVE_RPC_METHOD(service, name) \
  ::actserve::server::Method { service, #name, "/" service "/" #name }

// Where a unit of work runs.
enum class Placement {
  kInline,  // on the gRPC thread: bounded work of microseconds, and nothing that waits
  kPool,    // on the compute pool: validation of large inputs, computation, data generation
};

class Handler {
 public:
  // Everything given must outlive the handler; `metrics` may be null (no metrics).
  Handler(ComputePool& pool, CallTracker& calls, Admission& admission, Metrics* metrics);

  // Finishes a unary call once, from any thread. Passed to asynchronous bodies, which may keep
  // it (e.g. until a job ends). Dropping it unused finishes the call with INTERNAL.
  class Done {
   public:
    Done(Done&& other) noexcept : call_(std::exchange(other.call_, nullptr)) {}
    Done& operator=(Done&&) = delete;
    ~Done();
    // Runs `fill` (which writes the response and returns the call's status) and finishes the
    // call with its status, unless the call was already finished (cancelled by the client).
    void operator()(const std::function<absl::Status()>& fill);

   private:
    friend class UnaryCall;
    explicit Done(UnaryCall* call) : call_(call) {}
    UnaryCall* call_;
  };

  // A unary call whose body returns its status when done.
  template <class Body>
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* context, const Method& method,
                                  int64_t request_bytes, Placement placement, Body body) {
    return UnaryAsync(context, method, request_bytes, placement,
                      [body = std::move(body)](Done done) mutable { done(body); });
  }
  // A unary call whose body finishes it through `Done`, possibly later and on another thread.
  // While a body waits (after it returned without calling Done), a client's cancellation
  // finishes the call with CANCELLED.
  grpc::ServerUnaryReactor* UnaryAsync(grpc::CallbackServerContext* context, const Method& method,
                                       int64_t request_bytes, Placement placement,
                                       std::function<void(Done)> body);

  // A stream's place in the drain accounting and its admission grant, held until the stream
  // ends.
  class StreamSlot {
   public:
    StreamSlot(StreamSlot&&) = default;
    ~StreamSlot();

   private:
    friend class Handler;
    StreamSlot(CallTracker* calls, std::unique_ptr<Admission::Grant> grant)
        : calls_(calls), grant_(std::move(grant)) {}
    struct Exit {
      void operator()(CallTracker* calls) const { calls->Exit(); }
    };
    std::unique_ptr<CallTracker, Exit> calls_;
    std::unique_ptr<Admission::Grant> grant_;
  };
  // Opens a stream (steps 1 and 2, with `admit` deciding whether the opening is admitted: a
  // stream whose messages are admitted one by one passes false). The status, on failure, is
  // the one to finish the stream with.
  absl::StatusOr<StreamSlot> OpenStream(grpc::CallbackServerContext* context, const Method& method,
                                        bool admit);
  // One message of an open stream: UNAVAILABLE while draining (the stream should end with it),
  // or admission's refusal (an in-band error); then its grant, held until the message's work
  // is done.
  absl::StatusOr<std::unique_ptr<Admission::Grant>> AdmitMessage(
      grpc::CallbackServerContext* context, const Method& method, int64_t request_bytes);
  // Runs `task` inline or queues it on the pool; false (counted as "busy") when the queue is
  // full, and then `task` is dropped unrun.
  bool Dispatch(const Method& method, Placement placement, std::function<void()> task);
  // The status a full pool answers.
  absl::Status Busy() const { return BusyError(pool_.max_queued()); }

  // Whether a request of `bytes` runs inline when its rpc allows it: small requests cost less
  // than the hand-off to the pool.
  Placement PlaceBySize(int64_t bytes, int64_t inline_bytes) const {
    return bytes <= inline_bytes ? Placement::kInline : Placement::kPool;
  }

 private:
  friend class UnaryCall;
  absl::StatusOr<std::unique_ptr<Admission::Grant>> Admit(grpc::CallbackServerContext* context,
                                                          const Method& method,
                                                          int64_t request_bytes);
  void CountRejection(const Method& method, Metrics::Rejection reason);
  // The refusal of a call or message while draining: counted, with the retry pushback set.
  absl::Status RefuseDraining(grpc::CallbackServerContext* context, const Method& method);

  ComputePool& pool_;
  CallTracker& calls_;
  Admission& admission_;
  Metrics* const metrics_;
};

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_API_HANDLER_H_
