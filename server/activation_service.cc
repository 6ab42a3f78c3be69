#include "server/activation_service.h"

#include <chrono>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "google/protobuf/arena.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "grpcpp/support/proto_buffer_writer.h"
#include "server/convert.h"
#include "server/handler_status.h"

namespace actserve::server {
namespace {

grpc::Status Draining() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "server is shutting down; retry on another instance");
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

template <class Message>
bool Parse(const grpc::ByteBuffer& bytes, Message* message) {
  grpc::ProtoBufferReader reader(const_cast<grpc::ByteBuffer*>(&bytes));
  return message->ParseFromZeroCopyStream(&reader);
}

grpc::Status Unparsable(const std::string& type) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                      absl::StrFormat("the request is not a valid %s message", type));
}

template <class Message>
grpc::Status Serialize(const Message& message, grpc::ByteBuffer* bytes) {
  bool own_buffer = false;
  return grpc::SerializationTraits<Message>::Serialize(message, bytes, &own_buffer);
}

void SetError(const grpc::Status& status, uint64_t id, v1::EvaluateResponse* response) {
  response->Clear();
  response->set_id(id);
  response->mutable_error()->set_code(status.error_code());
  response->mutable_error()->set_message(status.error_message());
}

// One Evaluate stream: reads a request, computes it on the pool, writes its response, and
// reads the next; so responses come in request order, one computation per stream at a time.
// A message that does not parse ends the stream with INVALID_ARGUMENT.
class EvaluateReactor final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit EvaluateReactor(ActivationServiceImpl* service) : service_(service) {
    service_->AddInFlight(1);
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::OK);  // the client closed its side (or the call broke)
    ++messages_;
    if (service_->draining()) return Finish(Draining());
    auto task = [this] {
      v1::EvaluateRequest request;
      if (!Parse(in_, &request)) {
        return Finish(grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            absl::StrFormat("message %d of the stream is not a valid actserve.v1.EvaluateRequest",
                            messages_)));
      }
      v1::EvaluateResponse response;
      grpc::Status s = Guarded([&] {
        service_->EvaluateOne(request, &response);
        return grpc::Status::OK;
      });
      if (!s.ok()) SetError(s, request.id(), &response);
      Write(response);
    };
    if (service_->ComputesInline(in_.Length())) return task();
    if (!service_->pool().TrySubmit(task)) {
      // The id is unknown without parsing; parsing is cheap next to the computation refused.
      v1::EvaluateRequest request;
      v1::EvaluateResponse response;
      service_->CountRejection();
      SetError(Busy(service_->pool()), Parse(in_, &request) ? request.id() : 0, &response);
      Write(response);
    }
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status(grpc::StatusCode::CANCELLED, "stream broken"));
    StartRead(&in_);
  }

  void OnDone() override {
    service_->AddInFlight(-1);
    delete this;
  }

 private:
  void Write(const v1::EvaluateResponse& response) {
    out_.Clear();  // the previous response was sent (OnWriteDone); serializing needs it empty
    grpc::Status s = Serialize(response, &out_);
    if (!s.ok()) return Finish(s);
    StartWrite(&out_);
  }

  ActivationServiceImpl* const service_;
  grpc::ByteBuffer in_, out_;
  int messages_ = 0;
};

void SetError(const absl::Status& status, v1::EvaluateResponse* response) {
  SetError(ToGrpcStatus(status), response->id(), response);
}

}  // namespace

ActivationServiceImpl::ActivationServiceImpl(const Backends& backends, ComputePool& pool,
                                             const ServiceOptions& options, Metrics* metrics)
    : backends_(backends), pool_(pool), metrics_(metrics), options_(options) {}

template <class Work>
grpc::ServerUnaryReactor* ActivationServiceImpl::Offload(grpc::CallbackServerContext* context,
                                                         size_t request_bytes, Work compute) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (draining()) {
    reactor->Finish(Draining());
    return reactor;
  }
  AddInFlight(1);
  if (ComputesInline(request_bytes)) {
    reactor->Finish(Guarded(compute));
    AddInFlight(-1);
    return reactor;
  }
  bool queued = pool_.TrySubmit([this, context, reactor, compute] {
    grpc::Status expired = Expired(context);
    reactor->Finish(expired.ok() ? Guarded(compute) : expired);
    AddInFlight(-1);
  });
  if (!queued) {
    AddInFlight(-1);
    CountRejection();
    reactor->Finish(Busy(pool_));
  }
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

bool ActivationServiceImpl::WaitUntilIdle(absl::Time deadline) const {
  while (in_flight_.load() > 0) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

template <class Request, class Response>
absl::Status ActivationServiceImpl::Compute(const Request& request, Response* response) {
  constexpr bool kBackward = std::is_same_v<Request, v1::BackwardRequest>;
  absl::StatusOr<ActivationCall> call;
  if constexpr (kBackward) {
    call = PrepareBackward(request, options_.max_elements);
  } else {
    call = PrepareForward(request, options_.max_elements);
  }
  if (!call.ok()) return call.status();
  absl::StatusOr<Backend*> backend = SelectBackend(backends_, request.backend(), call->input_size);
  if (!backend.ok()) return backend.status();
  const absl::Time start = absl::Now();
  absl::Status s;
  if constexpr (kBackward) {
    s = RunBackward(**backend, *call, request, response);
  } else {
    s = RunForward(**backend, *call, request, response);
  }
  if (metrics_ != nullptr && s.ok()) {
    metrics_->RecordCompute(call->id, kBackward, request.x().dtype() == v1::DTYPE_FLOAT64,
                            (*backend)->name(), call->input_size,
                            absl::ToDoubleSeconds(absl::Now() - start));
  }
  return s;
}

template <class Request, class Response>
grpc::ServerUnaryReactor* ActivationServiceImpl::Unary(grpc::CallbackServerContext* context,
                                                       const grpc::ByteBuffer* request,
                                                       grpc::ByteBuffer* response) {
  return Offload(context, request->Length(), [this, request, response] {
    google::protobuf::Arena arena;
    auto* req = google::protobuf::Arena::CreateMessage<Request>(&arena);
    if (!Parse(*request, req)) return Unparsable(Request::descriptor()->full_name());
    auto* resp = google::protobuf::Arena::CreateMessage<Response>(&arena);
    absl::Status s = Compute(*req, resp);
    return s.ok() ? Serialize(*resp, response) : ToGrpcStatus(s);
  });
}

grpc::ServerUnaryReactor* ActivationServiceImpl::Forward(grpc::CallbackServerContext* context,
                                                         const grpc::ByteBuffer* request,
                                                         grpc::ByteBuffer* response) {
  return Unary<v1::ForwardRequest, v1::ForwardResponse>(context, request, response);
}

grpc::ServerUnaryReactor* ActivationServiceImpl::Backward(grpc::CallbackServerContext* context,
                                                          const grpc::ByteBuffer* request,
                                                          grpc::ByteBuffer* response) {
  return Unary<v1::BackwardRequest, v1::BackwardResponse>(context, request, response);
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* ActivationServiceImpl::Evaluate(
    grpc::CallbackServerContext*) {
  return new EvaluateReactor(this);
}

void ActivationServiceImpl::EvaluateOne(const v1::EvaluateRequest& request,
                                        v1::EvaluateResponse* response) {
  response->set_id(request.id());
  absl::Status s;
  switch (request.call_case()) {
    case v1::EvaluateRequest::kForward:
      s = Compute(request.forward(), response->mutable_forward());
      break;
    case v1::EvaluateRequest::kBackward:
      s = Compute(request.backward(), response->mutable_backward());
      break;
    case v1::EvaluateRequest::CALL_NOT_SET:
      s = absl::InvalidArgumentError("call: set forward or backward");
      break;
  }
  if (!s.ok()) SetError(s, response);
}

}  // namespace actserve::server
