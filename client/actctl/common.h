// What actctl's commands share: the global flags (--server, --timeout, the credentials), how
// failures and usage errors are reported, JSON output through protobuf's printer, and numbers in
// text.
#ifndef ACTSERVE_CLIENT_ACTCTL_COMMON_H_
#define ACTSERVE_CLIENT_ACTCTL_COMMON_H_

#include <string>

#include "absl/flags/declare.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/lib/channel.h"
#include "google/protobuf/message.h"

ABSL_DECLARE_FLAG(std::string, server);
ABSL_DECLARE_FLAG(double, timeout);

namespace actserve::client {

// The channel options --server (a host:port, ipv4:A:P,B:P or dns:///HOST:PORT target) and the
// credential flags (client/lib/credential_flags.h) ask for; INVALID_ARGUMENT naming the flag
// when a credential file cannot be used.
absl::StatusOr<ChannelOptions> CheckServerOptions();
// CheckServerOptions' options, once main.cc has checked them.
ChannelOptions ServerOptions();
// The deadline of each call, from --timeout.
absl::Duration CallTimeout();

// Prints a failed call's status (with a hint when credentials look missing or mismatched);
// returns actctl's exit status for it, 1.
int Fail(const absl::Status& s);
// Prints a usage error; returns actctl's exit status for it, 2.
int Usage(const std::string& message);

// `message` in protobuf's JSON mapping (proto field names, default values printed) on one line:
// compact as the printer writes it, or `spaced` with a space after each ':' and ',' (forward and
// backward's value lists, which people read).
std::string ToJson(const google::protobuf::Message& message, bool spaced = false);

// The shortest text that reads back as the same value (round-trip), e.g. "0.1", "1e-05".
std::string FormatNumber(double value);
std::string FormatNumber(float value);

}  // namespace actserve::client

#endif  // ACTSERVE_CLIENT_ACTCTL_COMMON_H_
