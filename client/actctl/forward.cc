// actctl forward NAME [X...]: f(x) computed by the server.
#include "absl/flags/flag.h"
#include "client/actctl/command.h"
#include "client/actctl/common.h"
#include "client/actctl/values.h"

namespace actserve::client {
namespace {

template <class T>
int Forward(const ValueCall& call) {
  const std::vector<T> x(call.x.begin(), call.x.end());
  const std::vector<int64_t> shape = {static_cast<int64_t>(x.size())};
  auto y = ActivationClient::Connect(ServerOptions())
               ->Forward(call.activation, shape, absl::MakeConstSpan(x), call.options);
  if (!y.ok()) return Fail(y.status());
  PrintValues(call.x, "y", y->values);
  return 0;
}

}  // namespace

int RunForward(const std::vector<std::string>& args) {
  absl::StatusOr<ValueCall> call = ParseValueCall(args);
  if (!call.ok()) return Usage(std::string(call.status().message()));
  return call->float64 ? Forward<double>(*call) : Forward<float>(*call);
}

}  // namespace actserve::client
