// ActivationServiceImpl: actserve.v1.ActivationService on gRPC's callback API. Handlers only
// validate cheap things and queue the work on a ComputePool; the pool's threads compute and
// finish the call. Thread-safe.
#ifndef ACTSERVE_SERVER_ACTIVATION_SERVICE_H_
#define ACTSERVE_SERVER_ACTIVATION_SERVICE_H_

#include <atomic>
#include <cstdint>

#include "kernels/backend.h"
#include "proto/actserve/v1/activation_service.grpc.pb.h"
#include "server/compute_pool.h"

namespace actserve::server {

struct ServiceOptions {
  // Largest tensor (elements) a request may carry; RESOURCE_EXHAUSTED beyond.
  int64_t max_elements = int64_t{16} << 20;
};

class ActivationServiceImpl final : public v1::ActivationService::CallbackService {
 public:
  // `backend` and `pool` must outlive the service.
  ActivationServiceImpl(Backend& backend, ComputePool& pool, const ServiceOptions& options);

  // From now on new calls (and new messages on open streams) get UNAVAILABLE; calls already
  // accepted complete.
  void StartDraining() { draining_.store(true); }

  grpc::ServerUnaryReactor* ListActivations(grpc::CallbackServerContext* context,
                                            const v1::ListActivationsRequest* request,
                                            v1::ListActivationsResponse* response) override;
  grpc::ServerUnaryReactor* Forward(grpc::CallbackServerContext* context,
                                    const v1::ForwardRequest* request,
                                    v1::ForwardResponse* response) override;
  grpc::ServerUnaryReactor* Backward(grpc::CallbackServerContext* context,
                                     const v1::BackwardRequest* request,
                                     v1::BackwardResponse* response) override;
  grpc::ServerBidiReactor<v1::EvaluateRequest, v1::EvaluateResponse>* Evaluate(
      grpc::CallbackServerContext* context) override;

  // Runs one Evaluate request synchronously (on a pool thread) into `response`.
  void Evaluate(const v1::EvaluateRequest& request, v1::EvaluateResponse* response);

  bool draining() const { return draining_.load(); }
  ComputePool& pool() { return pool_; }

 private:
  // Queues compute() on the pool and finishes the call with its status; UNAVAILABLE while
  // draining, RESOURCE_EXHAUSTED when the queue is full, CANCELLED or DEADLINE_EXCEEDED if the
  // call ended before its turn came.
  template <class Compute>
  grpc::ServerUnaryReactor* Offload(grpc::CallbackServerContext* context, Compute compute);

  Backend& backend_;
  ComputePool& pool_;
  const ServiceOptions options_;
  std::atomic<bool> draining_{false};
};

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_ACTIVATION_SERVICE_H_
