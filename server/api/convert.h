// ActivationService's conversion module, the edge where its protobuf meets the compute core:
// request validation and conversion into kernels/ types, computation into response messages,
// catalog metadata into messages. (TrainingService's is convert_training.h; statuses are
// converted in status.h, enums through enum_tables.h.)
#ifndef ACTSERVE_SERVER_API_CONVERT_H_
#define ACTSERVE_SERVER_API_CONVERT_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/support/status.h"
#include "kernels/backend.h"
#include "kernels/call.h"
#include "proto/actserve/v1/activation_service.pb.h"
#include "server/api/status.h"
#include "server/compute/backends.h"

namespace actserve::server {

// Checks that `tensor` (the request field named `field`, e.g. "x") is well formed: a dtype, the
// matching data field holding exactly product(shape) elements and the other one empty, and at
// most `max_elements` elements (RESOURCE_EXHAUSTED beyond). Returns its element count.
absl::StatusOr<int64_t> CheckTensor(const v1::Tensor& tensor, const char* field,
                                    int64_t max_elements);

// Validates a request's activation call: the tensor x (see CheckTensor), the activation, the
// parameters and the shape rules of the catalog (kernels/call.h). The backend is chosen apart,
// by SelectBackend.
absl::StatusOr<ActivationCall> PrepareForward(const v1::ForwardRequest& request,
                                              int64_t max_elements);
// As PrepareForward, and dy: the dtype of x and the shape of the forward output.
absl::StatusOr<ActivationCall> PrepareBackward(const v1::BackwardRequest& request,
                                               int64_t max_elements);

// Computes the call on `backend` into the response, sizing its tensors. The request must have
// passed PrepareForward / PrepareBackward for this call.
absl::Status RunForward(Backend& backend, const ActivationCall& call,
                        const v1::ForwardRequest& request, v1::ForwardResponse* response);
absl::Status RunBackward(Backend& backend, const ActivationCall& call,
                         const v1::BackwardRequest& request, v1::BackwardResponse* response);

// The backend a request asking for `requested` runs on, for `elements` input elements: the CPU
// for BACKEND_CPU; the GPU for BACKEND_CUDA (UNAVAILABLE, saying why, when the server has none);
// for BACKEND_UNSPECIFIED the GPU when there is one and elements >= cuda_min_elements, else the
// CPU. INVALID_ARGUMENT for an unknown value. `field` names the request field.
absl::StatusOr<Backend*> SelectBackend(const Backends& backends, v1::Backend requested,
                                       int64_t elements, const char* field = "backend");

// A Forward or Backward request in core terms, ready to run.
struct Computation {
  ActivationCall call;
  Backend* backend = nullptr;
  bool backward = false;
  bool fp64 = false;
};
// Validates a request (PrepareForward / PrepareBackward) and chooses its backend
// (SelectBackend).
absl::StatusOr<Computation> ToComputation(const v1::ForwardRequest& request,
                                          const Backends& backends, int64_t max_elements);
absl::StatusOr<Computation> ToComputation(const v1::BackwardRequest& request,
                                          const Backends& backends, int64_t max_elements);
// Before parsing a serialized request of `bytes` bytes into an empty `request`: gives its float
// tensor data room for all the floats those bytes could hold. Protobuf parses a packed field that
// spans many of gRPC's slices a slice at a time, growing the field by doubling (a copy per
// doubling, and on an arena every earlier buffer stays allocated until the call ends); with the
// room taken first, the data is copied once. float32 is the common case; a float64 request
// parses as before and the unused room goes with the arena.
void ReserveForParse(int64_t bytes, v1::ForwardRequest* request);
void ReserveForParse(int64_t bytes, v1::BackwardRequest* request);
// Computes a request that passed ToComputation into its response.
absl::Status Run(const Computation& c, const v1::ForwardRequest& request,
                 v1::ForwardResponse* response);
absl::Status Run(const Computation& c, const v1::BackwardRequest& request,
                 v1::BackwardResponse* response);

// Replaces `response` with the in-band error `status` answering `request` (its id; 0 when the
// request is null: a message that does not parse).
void SetEvaluateError(const absl::Status& status, const v1::EvaluateRequest* request,
                      v1::EvaluateResponse* response);
// Answers one Evaluate message: sets the response's id, and calls `compute` with the forward or
// backward request and response it carries; a failure (or a message with neither) becomes the
// response's in-band error.
template <class Compute>
void AnswerEvaluate(const v1::EvaluateRequest& request, v1::EvaluateResponse* response,
                    Compute&& compute) {
  response->set_id(request.id());
  absl::Status s;
  switch (request.call_case()) {
    case v1::EvaluateRequest::kForward:
      s = Guarded([&] { return compute(request.forward(), response->mutable_forward()); });
      break;
    case v1::EvaluateRequest::kBackward:
      s = Guarded([&] { return compute(request.backward(), response->mutable_backward()); });
      break;
    case v1::EvaluateRequest::CALL_NOT_SET:
      s = absl::InvalidArgumentError("call: set forward or backward");
      break;
  }
  if (!s.ok()) SetEvaluateError(s, &request, response);
}

// The catalog as the listing RPC returns it.
void FillActivationList(v1::ListActivationsResponse* response);

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_API_CONVERT_H_
