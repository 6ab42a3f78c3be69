// ActivationServiceImpl: actserve.v1.ActivationService on gRPC's callback API. Every call goes
// through the handler path (handler.h): drain accounting, admission, then placement: requests
// up to ServiceOptions::inline_bytes are computed on the gRPC thread that received them (their
// microseconds cost less than a hand-off), larger ones on the compute pool. ListActivations is
// answered inline. Thread-safe.
//
// Forward, Backward and Evaluate take raw bytes and parse them here, into a per-call arena: a
// message that does not parse then gets INVALID_ARGUMENT (gRPC 1.51's callback API would answer
// UNIMPLEMENTED before the handler ran). Validation and conversion are convert.h's.
#ifndef ACTSERVE_SERVER_API_ACTIVATION_SERVICE_H_
#define ACTSERVE_SERVER_API_ACTIVATION_SERVICE_H_

#include <cstdint>

#include "proto/actserve/v1/activation_service.grpc.pb.h"
#include "server/api/handler.h"
#include "server/compute/backends.h"
#include "server/metrics/metrics.h"

namespace actserve::server {

struct ServiceOptions {
  // Requests up to this many bytes are computed on the gRPC thread that received them: their
  // work (microseconds) costs less than handing them to the pool. Larger ones go to the pool.
  int64_t inline_bytes = 64 * 1024;
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
  // The backends, `handler` and `metrics` (which may be null: no metrics) must outlive the
  // service.
  ActivationServiceImpl(const Backends& backends, Handler& handler, const ServiceOptions& options,
                        Metrics* metrics = nullptr);

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

  // Answers one Evaluate message into `response` (its result or its in-band error).
  void EvaluateOne(const v1::EvaluateRequest& request, v1::EvaluateResponse* response);

  Handler& handler() { return handler_; }
  // Where a request of this size runs (see ServiceOptions::inline_bytes).
  Placement PlaceBySize(int64_t request_bytes) const {
    return handler_.PlaceBySize(request_bytes, options_.inline_bytes);
  }

 private:
  // Validates and computes one request into `response`, recording it in the metrics.
  template <class Request, class Response>
  absl::Status Compute(const Request& request, Response* response);
  // A unary call's work: parses `request` (`bytes` long) into an arena, then releases its bytes,
  // computes, serializes into `response`.
  template <class Request, class Response>
  absl::Status Answer(int64_t bytes, grpc::ByteBuffer* request, grpc::ByteBuffer* response);
  // A unary handler: admits the call through the handler path and runs Answer.
  template <class Request, class Response>
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* context, const Method& method,
                                  const grpc::ByteBuffer* request, grpc::ByteBuffer* response);

  const Backends backends_;
  Handler& handler_;
  Metrics* const metrics_;
  const ServiceOptions options_;
};

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_API_ACTIVATION_SERVICE_H_
