#include "server/auth/listen_policy.h"

#include <arpa/inet.h>

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace actserve::server::auth {
namespace {

// The host part of "host:port", "[v6]:port" or "dns:///host:port", without brackets.
std::string HostOf(absl::string_view address) {
  absl::ConsumePrefix(&address, "dns:///");
  absl::ConsumePrefix(&address, "ipv4:");
  absl::ConsumePrefix(&address, "ipv6:");
  if (absl::StartsWith(address, "[")) {
    const size_t close = address.find(']');
    return std::string(address.substr(1, close == absl::string_view::npos ? 0 : close - 1));
  }
  const size_t colon = address.rfind(':');
  return std::string(colon == absl::string_view::npos ? address : address.substr(0, colon));
}

}  // namespace

bool IsLoopbackAddress(absl::string_view address) {
  if (absl::StartsWith(address, "unix:") || absl::StartsWith(address, "unix-abstract:"))
    return true;
  const std::string host = absl::AsciiStrToLower(HostOf(address));
  if (host == "localhost") return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

bool ServesInsecurely(absl::string_view address, const SecurityConfig& config) {
  const bool authenticated = config.tokens || config.client_certs;
  return !IsLoopbackAddress(address) && !(config.tls && authenticated);
}

absl::Status CheckListenAddress(absl::string_view address, const SecurityConfig& config) {
  if (!ServesInsecurely(address, config) || config.insecure) return absl::OkStatus();
  std::string missing;
  if (!config.tls) missing = "--tls_cert and --tls_key";
  if (!config.tokens && !config.client_certs) {
    absl::StrAppend(&missing, missing.empty() ? "" : ", and ", "--tokens_file or --tls_client_ca");
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "refusing to serve on ", address,
      ", which other machines can reach, without TLS and caller authentication: pass ", missing,
      " (or --insecure to serve anyway, or a loopback address such as 127.0.0.1)"));
}

bool ServeReflection(absl::string_view address, bool reflection_flag) {
  return reflection_flag || IsLoopbackAddress(address);
}

}  // namespace actserve::server::auth
