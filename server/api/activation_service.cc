#include "server/api/activation_service.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/io/coded_stream.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "grpcpp/support/proto_buffer_writer.h"
#include "kernels/util/status_macros.h"
#include "server/api/convert.h"
#include "server/api/status.h"

namespace actserve::server {
namespace {

#define ACTSERVE_METHOD(name) ACTSERVE_RPC_METHOD("actserve.v1.ActivationService", name)
const Method kListActivations = ACTSERVE_METHOD(ListActivations);
const Method kForward = ACTSERVE_METHOD(Forward);
const Method kBackward = ACTSERVE_METHOD(Backward);
const Method kEvaluate = ACTSERVE_METHOD(Evaluate);
#undef ACTSERVE_METHOD

template <class Message>
bool Parse(const grpc::ByteBuffer& bytes, Message* message) {
  grpc::ProtoBufferReader reader(const_cast<grpc::ByteBuffer*>(&bytes));
  // Merge, not Parse: parsing clears the message first, which on an arena drops the tensors
  // that ReserveForParse gave room to.
  google::protobuf::io::CodedInputStream in(&reader);
  return message->MergeFromCodedStream(&in) && in.ConsumedEntireMessage();
}

absl::Status Unparsable(const std::string& type) {
  return absl::InvalidArgumentError(absl::StrFormat("the request is not a valid %s message", type));
}

template <class Message>
absl::Status Serialize(const Message& message, grpc::ByteBuffer* bytes) {
  bool own_buffer = false;
  grpc::Status s = grpc::SerializationTraits<Message>::Serialize(message, bytes, &own_buffer);
  if (s.ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("cannot serialize the response: ", s.error_message()));
}

// One Evaluate stream: reads a message, computes it (inline or on the pool, per its size),
// writes its response, and reads the next; so responses come in request order, one computation
// per stream at a time. A message that does not parse ends the stream with INVALID_ARGUMENT; a
// message that arrives while the server drains ends it with UNAVAILABLE; a message admission
// refuses, or that finds the pool's queue full, gets an in-band error and the stream goes on.
class EvaluateReactor final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  EvaluateReactor(ActivationServiceImpl* service, grpc::CallbackServerContext* context,
                  Handler::StreamSlot slot)
      : service_(service), context_(context), slot_(std::move(slot)) {
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::OK);  // the client closed its side (or the call broke)
    ++messages_;
    // An empty message still counts as a message, not as a stream's opening.
    const int64_t bytes = std::max<int64_t>(static_cast<int64_t>(in_.Length()), 1);
    absl::StatusOr<std::unique_ptr<Admission::Grant>> grant =
        service_->handler().AdmitMessage(context_, kEvaluate, bytes);
    if (absl::IsUnavailable(grant.status())) return Finish(ToGrpcStatus(grant.status()));
    if (!grant.ok()) return WriteError(grant.status());
    auto task = [this, grant = std::shared_ptr<Admission::Grant>(*std::move(grant))] {
      v1::EvaluateRequest request;
      if (!Parse(in_, &request)) {
        return Finish(ToGrpcStatus(absl::InvalidArgumentError(absl::StrFormat(
            "message %d of the stream is not a valid actserve.v1.EvaluateRequest", messages_))));
      }
      v1::EvaluateResponse response;
      service_->EvaluateOne(request, &response);
      held_ = grant;  // until the response is written: out_ holds it meanwhile
      Write(response);
    };
    if (!service_->handler().Dispatch(kEvaluate, service_->PlaceBySize(bytes), task)) {
      WriteError(service_->handler().Busy());
    }
  }

  void OnWriteDone(bool ok) override {
    held_.reset();
    if (!ok) return Finish(ToGrpcStatus(absl::CancelledError("stream broken")));
    StartRead(&in_);
  }

  void OnDone() override { delete this; }

 private:
  // An in-band error for the message just read. Its id is unknown without parsing; parsing is
  // cheap next to the computation refused.
  void WriteError(const absl::Status& status) {
    v1::EvaluateRequest request;
    v1::EvaluateResponse response;
    SetEvaluateError(status, Parse(in_, &request) ? &request : nullptr, &response);
    Write(response);
  }

  void Write(const v1::EvaluateResponse& response) {
    out_.Clear();  // the previous response was sent (OnWriteDone); serializing needs it empty
    absl::Status s = Serialize(response, &out_);
    if (!s.ok()) return Finish(ToGrpcStatus(s));
    StartWrite(&out_);
  }

  ActivationServiceImpl* const service_;
  grpc::CallbackServerContext* const context_;
  const Handler::StreamSlot slot_;  // counted by the drain until the stream is done
  grpc::ByteBuffer in_, out_;
  // The grant of the message whose response is being written. The stream reads its next
  // message only once that write is done, so a client that does not read holds one message.
  std::shared_ptr<Admission::Grant> held_;
  int messages_ = 0;
};

// A stream refused at its opening.
class RefusedStream final : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit RefusedStream(const absl::Status& status) { Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

ActivationServiceImpl::ActivationServiceImpl(const Backends& backends, Handler& handler,
                                             const ServiceOptions& options, Metrics* metrics)
    : backends_(backends), handler_(handler), metrics_(metrics), options_(options) {}

grpc::ServerUnaryReactor* ActivationServiceImpl::ListActivations(
    grpc::CallbackServerContext* context, const v1::ListActivationsRequest*,
    v1::ListActivationsResponse* response) {
  return handler_.Unary(context, kListActivations, 0, Placement::kInline, [response] {
    FillActivationList(response);
    return absl::OkStatus();
  });
}

template <class Request, class Response>
absl::Status ActivationServiceImpl::Compute(const Request& request, Response* response) {
  ACTSERVE_ASSIGN_OR_RETURN(Computation c,
                            ToComputation(request, backends_, options_.max_elements));
  const absl::Time start = absl::Now();
  ACTSERVE_RETURN_IF_ERROR(Run(c, request, response));
  if (metrics_ != nullptr) {
    metrics_->RecordCompute(c.call.id, c.backward, c.fp64, c.backend->name(), c.call.input_size,
                            absl::ToDoubleSeconds(absl::Now() - start));
  }
  return absl::OkStatus();
}

template <class Request, class Response>
absl::Status ActivationServiceImpl::Answer(int64_t bytes, grpc::ByteBuffer* request,
                                           grpc::ByteBuffer* response) {
  google::protobuf::Arena arena;
  auto* req = google::protobuf::Arena::CreateMessage<Request>(&arena);
  ReserveForParse(bytes, req);
  if (!Parse(*request, req)) return Unparsable(Request::descriptor()->full_name());
  // The serialized request is not read again: its slices go now rather than when the call ends,
  // so that a large call holds its payload twice (parsed and answered), not three times.
  request->Clear();
  auto* resp = google::protobuf::Arena::CreateMessage<Response>(&arena);
  ACTSERVE_RETURN_IF_ERROR(Compute(*req, resp));
  return Serialize(*resp, response);
}

template <class Request, class Response>
grpc::ServerUnaryReactor* ActivationServiceImpl::Unary(grpc::CallbackServerContext* context,
                                                       const Method& method,
                                                       const grpc::ByteBuffer* request,
                                                       grpc::ByteBuffer* response) {
  const int64_t bytes = static_cast<int64_t>(request->Length());
  // The request buffer is this call's own: Answer may release it once parsed.
  auto* owned = const_cast<grpc::ByteBuffer*>(request);
  return handler_.Unary(context, method, bytes, PlaceBySize(bytes), [this, bytes, owned, response] {
    return Answer<Request, Response>(bytes, owned, response);
  });
}

grpc::ServerUnaryReactor* ActivationServiceImpl::Forward(grpc::CallbackServerContext* context,
                                                         const grpc::ByteBuffer* request,
                                                         grpc::ByteBuffer* response) {
  return Unary<v1::ForwardRequest, v1::ForwardResponse>(context, kForward, request, response);
}

grpc::ServerUnaryReactor* ActivationServiceImpl::Backward(grpc::CallbackServerContext* context,
                                                          const grpc::ByteBuffer* request,
                                                          grpc::ByteBuffer* response) {
  return Unary<v1::BackwardRequest, v1::BackwardResponse>(context, kBackward, request, response);
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* ActivationServiceImpl::Evaluate(
    grpc::CallbackServerContext* context) {
  // The opening takes one of the server's stream places; messages are admitted one by one, with
  // their sizes.
  absl::StatusOr<Handler::StreamSlot> slot = handler_.OpenStream(context, kEvaluate, true);
  if (!slot.ok()) return new RefusedStream(slot.status());
  return new EvaluateReactor(this, context, *std::move(slot));
}

void ActivationServiceImpl::EvaluateOne(const v1::EvaluateRequest& request,
                                        v1::EvaluateResponse* response) {
  AnswerEvaluate(request, response,
                 [this](const auto& req, auto* resp) { return Compute(req, resp); });
}

}  // namespace actserve::server
