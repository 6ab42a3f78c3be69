#include "client/actctl/common.h"

#include <charconv>
#include <cstdio>

#include "absl/flags/flag.h"
#include "client/lib/credential_flags.h"
#include "google/protobuf/util/json_util.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051",
          "The server: HOST:PORT, or several balanced per call (ipv4:A:PORT,B:PORT or "
          "dns:///HOST:PORT), UNAVAILABLE retried.");
ABSL_FLAG(double, timeout, 30, "Seconds each call may take.");

namespace actserve::client {
namespace {

template <class T>
std::string Shortest(T value) {
  char buffer[64];
  const auto r = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, r.ptr);
}

}  // namespace

absl::StatusOr<ChannelOptions> CheckServerOptions() {
  ChannelOptions options;
  options.target = absl::GetFlag(FLAGS_server);
  if (absl::Status s = ApplyCredentials(CredentialsFromFlags(), &options); !s.ok()) return s;
  return options;
}

ChannelOptions ServerOptions() {
  absl::StatusOr<ChannelOptions> options = CheckServerOptions();
  if (options.ok()) return *std::move(options);
  ChannelOptions plain;  // main.cc has refused the command already
  plain.target = absl::GetFlag(FLAGS_server);
  return plain;
}

absl::Duration CallTimeout() { return absl::Seconds(absl::GetFlag(FLAGS_timeout)); }

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "actctl: %s\n",
               ExplainCredentialFailure(s, ServerOptions()).ToString().c_str());
  return 1;
}

int Usage(const std::string& message) {
  std::fprintf(stderr, "actctl: %s (actctl --help for usage)\n", message.c_str());
  return 2;
}

std::string ToJson(const google::protobuf::Message& message, bool spaced) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string compact;
  // Printing a message that exists cannot fail (its descriptor is linked in).
  (void)google::protobuf::util::MessageToJsonString(message, &compact, options);
  if (!spaced) return compact;
  // The printer's compact form, spaced for people: outside strings, ':' and ',' get a space.
  std::string out;
  out.reserve(compact.size() + compact.size() / 4);
  bool in_string = false, escaped = false;
  for (char c : compact) {
    out += c;
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == ':' || c == ',') {
      out += ' ';
    }
  }
  return out;
}

std::string FormatNumber(double value) { return Shortest(value); }
std::string FormatNumber(float value) { return Shortest(value); }

}  // namespace actserve::client
