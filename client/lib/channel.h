// The client's edge to gRPC: channels built from ChannelOptions, and statuses converted to
// absl::Status. Every client in this repository (ActivationClient, TrainingClient, actctl, the
// load tester) gets its channel here, so that balancing and retries are configured once.
#ifndef ACTSERVE_CLIENT_LIB_CHANNEL_H_
#define ACTSERVE_CLIENT_LIB_CHANNEL_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/status.h"

namespace actserve::client {

// How to reach one or several actserve servers.
struct ChannelOptions {
  // A gRPC target: "host:port" (every address it resolves to), "ipv4:10.0.0.1:50051,10.0.0.2:50051"
  // (a fixed list), or "dns:///actserve-headless:50051" (every address of a name, re-resolved:
  // a Kubernetes headless Service). Calls are spread over the addresses by `round_robin`.
  std::string target = "127.0.0.1:50051";
  // Attempts per call (the first included) when the server answers UNAVAILABLE or cannot be
  // reached; gRPC caps this at 5. 1 disables retries.
  int max_attempts = 4;
  // Back-off before the n-th retry: a random time up to min(initial * 2^(n-1), max).
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(2);
  // Transport credentials; null means plaintext. credentials.h fills this and `token` from the
  // --tls, --ca, --cert, --key and --token_file flags.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // Sent as `authorization: Bearer <token>` with every call of the channel; empty: none.
  std::string token;
  // A connection of its own, shared with no other channel to the same target (load testers
  // spread their calls over several connections); false: gRPC may share one.
  bool own_connection = false;
};

// A channel as `options` say: round_robin over the target's addresses, UNAVAILABLE retried with
// back-off, no client-side message size limits (the server enforces its own), the token on every
// call. Never fails: a
// target that does not resolve or answer shows in each call's status.
std::shared_ptr<grpc::Channel> NewChannel(const ChannelOptions& options);
// NewChannel with the default options for `target`.
std::shared_ptr<grpc::Channel> NewChannel(const std::string& target);

// The gRPC service config NewChannel gives the channel (load balancing and retry policy), as JSON.
std::string ServiceConfigJson(const ChannelOptions& options);

// Sets `context`'s deadline `timeout` from now.
void SetTimeout(grpc::ClientContext* context, absl::Duration timeout);

// The absl::Status for a grpc::Status (same canonical code and message).
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace actserve::client

#endif  // ACTSERVE_CLIENT_LIB_CHANNEL_H_
