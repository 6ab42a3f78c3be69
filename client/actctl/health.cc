// actctl health [SERVICE]: the gRPC health status.
#include <cstdio>

#include "client/actctl/command.h"
#include "client/actctl/common.h"
#include "client/lib/activation_client.h"

namespace actserve::client {

int RunHealth(const std::vector<std::string>& args) {
  auto ok = ActivationClient::Connect(ServerOptions())
                ->Healthy(args.empty() ? "" : args[0], CallTimeout());
  if (!ok.ok()) return Fail(ok.status());
  std::printf("%s\n", *ok ? "SERVING" : "NOT_SERVING");
  return *ok ? 0 : 1;
}

}  // namespace actserve::client
