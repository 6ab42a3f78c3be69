#include "server/activation_service.h"

#include <chrono>
#include <exception>
#include <new>
#include <string>

#include "absl/strings/str_format.h"
#include "server/convert.h"

namespace actserve::server {
namespace {

grpc::Status Busy(const ComputePool& pool) {
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      absl::StrFormat("server busy: %d requests already wait for computation "
                                      "(--max_queued); retry with backoff",
                                      pool.max_queued()));
}

grpc::Status Draining() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "server is shutting down; retry on another instance");
}

// Runs `body`, turning any exception into a status: nothing may escape a handler (gRPC's
// callback API would answer an empty UNIMPLEMENTED).
template <class Body>
grpc::Status Guarded(Body&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "out of memory for this request");
  } catch (const std::exception& e) {
    return grpc::Status(grpc::StatusCode::INTERNAL, e.what());
  } catch (...) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "unknown error");
  }
}

// CANCELLED or DEADLINE_EXCEEDED if the call ended while it waited in the queue.
grpc::Status Expired(grpc::CallbackServerContext* context) {
  if (context->IsCancelled()) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled before it was computed");
  }
  if (context->deadline() <= std::chrono::system_clock::now()) {
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                        "deadline passed before the call was computed");
  }
  return grpc::Status::OK;
}

// One Evaluate stream: reads a request, computes it on the pool, writes its response, and
// reads the next; so responses come in request order, one computation per stream at a time.
class EvaluateReactor final
    : public grpc::ServerBidiReactor<v1::EvaluateRequest, v1::EvaluateResponse> {
 public:
  explicit EvaluateReactor(ActivationServiceImpl* service) : service_(service) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::OK);  // the client closed its side (or the call broke)
    if (service_->draining()) return Finish(Draining());
    response_.Clear();
    bool queued = service_->pool().TrySubmit([this] {
      grpc::Status s = Guarded([this] {
        service_->Evaluate(request_, &response_);
        return grpc::Status::OK;
      });
      if (!s.ok()) {
        response_.Clear();
        response_.set_id(request_.id());
        response_.mutable_error()->set_code(s.error_code());
        response_.mutable_error()->set_message(s.error_message());
      }
      StartWrite(&response_);
    });
    if (!queued) {
      grpc::Status busy = Busy(service_->pool());
      response_.set_id(request_.id());
      response_.mutable_error()->set_code(busy.error_code());
      response_.mutable_error()->set_message(busy.error_message());
      StartWrite(&response_);
    }
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "stream broken"));
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  ActivationServiceImpl* const service_;
  v1::EvaluateRequest request_;
  v1::EvaluateResponse response_;
};

void SetError(const absl::Status& status, v1::EvaluateResponse* response) {
  response->mutable_error()->set_code(static_cast<int>(status.code()));
  response->mutable_error()->set_message(std::string(status.message()));
}

}  // namespace

ActivationServiceImpl::ActivationServiceImpl(Backend& backend, ComputePool& pool,
                                             const ServiceOptions& options)
    : backend_(backend), pool_(pool), options_(options) {}

template <class Compute>
grpc::ServerUnaryReactor* ActivationServiceImpl::Offload(grpc::CallbackServerContext* context,
                                                         Compute compute) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (draining()) {
    reactor->Finish(Draining());
    return reactor;
  }
  bool queued = pool_.TrySubmit([context, reactor, compute] {
    grpc::Status expired = Expired(context);
    reactor->Finish(expired.ok() ? Guarded(compute) : expired);
  });
  if (!queued) reactor->Finish(Busy(pool_));
  return reactor;
}

grpc::ServerUnaryReactor* ActivationServiceImpl::ListActivations(
    grpc::CallbackServerContext* context, const v1::ListActivationsRequest*,
    v1::ListActivationsResponse* response) {
  // Cheap and bounded: answered on the gRPC thread.
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(Guarded([response] {
    FillActivationList(response);
    return grpc::Status::OK;
  }));
  return reactor;
}

grpc::ServerUnaryReactor* ActivationServiceImpl::Forward(grpc::CallbackServerContext* context,
                                                         const v1::ForwardRequest* request,
                                                         v1::ForwardResponse* response) {
  return Offload(context, [this, request, response] {
    absl::StatusOr<ActivationCall> call = PrepareForward(*request, options_.max_elements);
    if (!call.ok()) return ToGrpcStatus(call.status());
    return ToGrpcStatus(RunForward(backend_, *call, *request, response));
  });
}

grpc::ServerUnaryReactor* ActivationServiceImpl::Backward(grpc::CallbackServerContext* context,
                                                          const v1::BackwardRequest* request,
                                                          v1::BackwardResponse* response) {
  return Offload(context, [this, request, response] {
    absl::StatusOr<ActivationCall> call = PrepareBackward(*request, options_.max_elements);
    if (!call.ok()) return ToGrpcStatus(call.status());
    return ToGrpcStatus(RunBackward(backend_, *call, *request, response));
  });
}

grpc::ServerBidiReactor<v1::EvaluateRequest, v1::EvaluateResponse>* ActivationServiceImpl::Evaluate(
    grpc::CallbackServerContext*) {
  return new EvaluateReactor(this);
}

void ActivationServiceImpl::Evaluate(const v1::EvaluateRequest& request,
                                     v1::EvaluateResponse* response) {
  response->set_id(request.id());
  switch (request.call_case()) {
    case v1::EvaluateRequest::kForward: {
      absl::StatusOr<ActivationCall> call =
          PrepareForward(request.forward(), options_.max_elements);
      absl::Status s =
          call.ok() ? RunForward(backend_, *call, request.forward(), response->mutable_forward())
                    : call.status();
      if (!s.ok()) SetError(s, response);
      return;
    }
    case v1::EvaluateRequest::kBackward: {
      absl::StatusOr<ActivationCall> call =
          PrepareBackward(request.backward(), options_.max_elements);
      absl::Status s =
          call.ok() ? RunBackward(backend_, *call, request.backward(), response->mutable_backward())
                    : call.status();
      if (!s.ok()) SetError(s, response);
      return;
    }
    case v1::EvaluateRequest::CALL_NOT_SET:
      SetError(absl::InvalidArgumentError("call: set forward or backward"), response);
      return;
  }
}

}  // namespace actserve::server
