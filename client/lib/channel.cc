#include "client/lib/channel.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/support/channel_arguments.h"
#include "grpcpp/support/client_interceptor.h"

namespace actserve::client {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

// A service-config duration: decimal seconds with an "s" ("0.1s").
Value Seconds(absl::Duration d) {
  Value v;
  v.set_string_value(absl::StrCat(absl::ToDoubleSeconds(d), "s"));
  return v;
}

Value Number(double x) {
  Value v;
  v.set_number_value(x);
  return v;
}

// Adds `authorization: Bearer <token>` to every call's initial metadata. An interceptor rather
// than call credentials: gRPC sends call credentials only over TLS, and a server on loopback may
// take tokens in plaintext.
class BearerInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit BearerInterceptor(const std::string& value) : value_(value) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace("authorization", value_);
    }
    methods->Proceed();
  }

 private:
  const std::string& value_;
};

class BearerInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerInterceptorFactory(const std::string& token)
      : value_(absl::StrCat("Bearer ", token)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerInterceptor(value_);
  }

 private:
  const std::string value_;
};

}  // namespace

std::string ServiceConfigJson(const ChannelOptions& options) {
  // gRPC's service config (grpc/doc/service_config.md): round_robin, and one method config whose
  // empty name matches every method of every service.
  Struct config;
  Value round_robin;
  (*round_robin.mutable_struct_value()->mutable_fields())["round_robin"].mutable_struct_value();
  *(*config.mutable_fields())["loadBalancingConfig"].mutable_list_value()->add_values() =
      round_robin;
  if (options.max_attempts > 1) {
    Struct retry;
    auto& f = *retry.mutable_fields();
    f["maxAttempts"] = Number(std::min(options.max_attempts, 5));
    f["initialBackoff"] = Seconds(options.initial_backoff);
    f["maxBackoff"] = Seconds(std::max(options.max_backoff, options.initial_backoff));
    f["backoffMultiplier"] = Number(2);
    f["retryableStatusCodes"].mutable_list_value()->add_values()->set_string_value("UNAVAILABLE");
    Struct method;
    (*method.mutable_fields())["name"].mutable_list_value()->add_values()->mutable_struct_value();
    *(*method.mutable_fields())["retryPolicy"].mutable_struct_value() = retry;
    *(*config.mutable_fields())["methodConfig"]
         .mutable_list_value()
         ->add_values()
         ->mutable_struct_value() = method;
  }
  std::string json;
  // A Struct always prints.
  (void)google::protobuf::util::MessageToJsonString(config, &json);
  return json;
}

std::shared_ptr<grpc::Channel> NewChannel(const ChannelOptions& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);  // the server enforces its own limit
  args.SetMaxSendMessageSize(-1);
  args.SetServiceConfigJSON(ServiceConfigJson(options));
  if (options.own_connection) args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      options.credentials != nullptr ? options.credentials : grpc::InsecureChannelCredentials();
  if (options.token.empty()) return grpc::CreateCustomChannel(options.target, credentials, args);
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<BearerInterceptorFactory>(options.token));
  return grpc::experimental::CreateCustomChannelWithInterceptors(options.target, credentials, args,
                                                                 std::move(interceptors));
}

std::shared_ptr<grpc::Channel> NewChannel(const std::string& target) {
  ChannelOptions options;
  options.target = target;
  return NewChannel(options);
}

void SetTimeout(grpc::ClientContext* context, absl::Duration timeout) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace actserve::client
