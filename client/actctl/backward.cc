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
int Backward(const std::string& name, const std::vector<double>& xd, const CallOptions& options) {
  const std::vector<T> x(xd.begin(), xd.end());
  const std::vector<int64_t> shape = {static_cast<int64_t>(x.size())};
  auto client = ActivationClient::Connect(ServerOptions());
  // dy defaults to ones of the forward output's length (last-axis functions may change it).
  auto y = client->Forward(name, shape, absl::MakeConstSpan(x), options);
  if (!y.ok()) return Fail(y.status());
  std::vector<T> dy(y->values.size(), T(1));
  auto given = ParseNumbers(absl::GetFlag(FLAGS_dy));
  if (!given.ok()) return Usage("--dy: " + std::string(given.status().message()));
  if (!given->empty()) dy.assign(given->begin(), given->end());
  auto r =
      client->Backward(name, shape, absl::MakeConstSpan(x), y->shape, absl::MakeConstSpan(dy), options);
  if (!r.ok()) return Fail(r.status());
  PrintValues(xd, "dx", r->dx.values, r->param_gradients);
  return 0;
}

}  // namespace

int RunBackward(const std::vector<std::string>& args) {
  if (absl::Status s = CheckOutputFlags(); !s.ok()) return Usage(std::string(s.message()));
  auto options = Options();
  if (!options.ok()) return Usage(std::string(options.status().message()));
  auto x = Inputs(std::vector<std::string>(args.begin() + 1, args.end()));
  if (!x.ok()) return Usage(std::string(x.status().message()));
  return absl::GetFlag(FLAGS_dtype) == "float64" ? Backward<double>(args[0], *x, *options)
                                                 : Backward<float>(args[0], *x, *options);
}

}  // namespace actserve::client
