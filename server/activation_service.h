// ActivationServiceImpl: actserve.v1.ActivationService on gRPC's callback API. Handlers queue
// the work on a ComputePool; the pool's threads parse, compute and finish the call. Thread-safe.
//
// Forward, Backward and Evaluate take raw bytes and parse them here, into a per-call arena: a
// message that does not parse then gets INVALID_ARGUMENT (gRPC 1.51's callback API would answer
// UNIMPLEMENTED before the handler ran).
#ifndef ACTSERVE_SERVER_ACTIVATION_SERVICE_H_
#define ACTSERVE_SERVER_ACTIVATION_SERVICE_H_

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"
#include "kernels/backend.h"
#include "proto/actserve/v1/activation_service.grpc.pb.h"
#include "server/backends.h"
#include "server/compute_pool.h"
#include "server/metrics.h"

namespace actserve::server {

struct ServiceOptions {
  // Requests up to this many bytes are computed on the gRPC thread that received them: their
  // work (microseconds) costs less than handing them to the pool. Larger ones go to the pool.
  size_t inline_bytes = 64 * 1024;
  // Largest tensor (elements) a request may carry; RESOURCE_EXHAUSTED beyond.
  int64_t max_elements = int64_t{16} << 20;
};

using ServiceBase = v1::ActivationService::WithCallbackMethod_ListActivations<
    v1::ActivationService::WithRawCallbackMethod_Forward<
        v1::ActivationService::WithRawCallbackMethod_Backward<
            v1::ActivationService::WithRawCallbackMethod_Evaluate<
                v1::ActivationService::Service>>>>;

class ActivationServiceImpl final : public ServiceBase {
 public:
  // The backends, `pool` and `metrics` (which may be null: no metrics) must outlive the service.
  ActivationServiceImpl(const Backends& backends, ComputePool& pool, const ServiceOptions& options,
                        Metrics* metrics = nullptr);

  // From now on new calls (and new messages on open streams) get UNAVAILABLE; calls already
  // accepted complete.
  void StartDraining() { draining_.store(true); }
  // Waits until no accepted call or open stream remains, or until `deadline`; true if none
  // remains.
  bool WaitUntilIdle(absl::Time deadline) const;

  grpc::ServerUnaryReactor* ListActivations(grpc::CallbackServerContext* context,
                                            const v1::ListActivationsRequest* request,
                                            v1::ListActivationsResponse* response) override;
  grpc::ServerUnaryReactor* Forward(grpc::CallbackServerContext* context,
                                    const grpc::ByteBuffer* request,
                                    grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Backward(grpc::CallbackServerContext* context,
                                     const grpc::ByteBuffer* request,
                                     grpc::ByteBuffer* response) override;
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* Evaluate(
      grpc::CallbackServerContext* context) override;

  // Runs one Evaluate request synchronously (on a pool thread) into `response`.
  void EvaluateOne(const v1::EvaluateRequest& request, v1::EvaluateResponse* response);

  bool draining() const { return draining_.load(); }
  ComputePool& pool() { return pool_; }
  // Accepted calls not yet finished, and open streams: what a drain waits for.
  void AddInFlight(int delta) { in_flight_.fetch_add(delta); }
  int in_flight() const { return in_flight_.load(); }
  // Records a refused request in the metrics.
  void CountRejection() {
    if (metrics_ != nullptr) metrics_->RecordRejection();
  }

 private:
  // Queues compute() on the pool and finishes the call with its status; UNAVAILABLE while
  // draining, RESOURCE_EXHAUSTED when the queue is full, CANCELLED or DEADLINE_EXCEEDED if the
  // call ended before its turn came.
  template <class Work>
  grpc::ServerUnaryReactor* Offload(grpc::CallbackServerContext* context, size_t request_bytes,
                                    Work compute);

 public:
  // Whether a request of this size is computed inline (see ServiceOptions::inline_bytes).
  bool ComputesInline(size_t request_bytes) const { return request_bytes <= options_.inline_bytes; }

 private:
  // Validates and computes one request into `response`, recording it in the metrics.
  template <class Request, class Response>
  absl::Status Compute(const Request& request, Response* response);
  // A unary handler: parses the request bytes into an arena, computes, serializes the response.
  template <class Request, class Response>
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* request, grpc::ByteBuffer* response);

  const Backends backends_;
  ComputePool& pool_;
  Metrics* const metrics_;
  const ServiceOptions options_;
  std::atomic<bool> draining_{false};
  std::atomic<int> in_flight_{0};
};

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_ACTIVATION_SERVICE_H_
