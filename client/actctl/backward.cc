// actctl backward NAME [X...]: dx and parameter gradients computed by the server.
#include "absl/flags/flag.h"
#include "client/actctl/command.h"
#include "client/actctl/common.h"
#include "client/actctl/values.h"

ABSL_FLAG(std::vector<std::string>, dy, {},
          "Upstream gradient values, separated by commas (default: ones of the output's length).");

namespace actserve::client {
namespace {

template <class T>
int Backward(const ValueCall& call) {
  const std::vector<T> x(call.x.begin(), call.x.end());
  const std::vector<int64_t> shape = {static_cast<int64_t>(x.size())};
  auto client = ActivationClient::Connect(ServerOptions());
  // dy defaults to ones of the forward output's length (last-axis functions may change it).
  auto y = client->Forward(call.activation, shape, absl::MakeConstSpan(x), call.options);
  if (!y.ok()) return Fail(y.status());
  std::vector<T> dy(y->values.size(), T(1));
  auto given = ParseNumbers(absl::GetFlag(FLAGS_dy));
  if (!given.ok()) return Usage("--dy: " + std::string(given.status().message()));
  if (!given->empty()) dy.assign(given->begin(), given->end());
  auto r = client->Backward(call.activation, shape, absl::MakeConstSpan(x), y->shape,
                            absl::MakeConstSpan(dy), call.options);
  if (!r.ok()) return Fail(r.status());
  PrintValues(call.x, "dx", r->dx.values, r->param_gradients);
  return 0;
}

}  // namespace

int RunBackward(const std::vector<std::string>& args) {
  absl::StatusOr<ValueCall> call = ParseValueCall(args);
  if (!call.ok()) return Usage(std::string(call.status().message()));
  return call->float64 ? Backward<double>(*call) : Backward<float>(*call);
}

}  // namespace actserve::client
