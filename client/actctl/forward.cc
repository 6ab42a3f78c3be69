// actctl forward NAME [X...]: f(x) computed by the server.
#include "absl/flags/flag.h"
#include "client/actctl/command.h"
#include "client/actctl/common.h"
#include "client/actctl/values.h"

namespace actserve::client {
namespace {

template <class T>
int Forward(const std::string& name, const std::vector<double>& xd, const CallOptions& options) {
  const std::vector<T> x(xd.begin(), xd.end());
  const std::vector<int64_t> shape = {static_cast<int64_t>(x.size())};
  auto y = ActivationClient::Connect(ServerOptions())
               ->Forward(name, shape, absl::MakeConstSpan(x), options);
  if (!y.ok()) return Fail(y.status());
  PrintValues(xd, "y", y->values);
  return 0;
}

}  // namespace

int RunForward(const std::vector<std::string>& args) {
  if (absl::Status s = CheckOutputFlags(); !s.ok()) return Usage(std::string(s.message()));
  auto options = Options();
  if (!options.ok()) return Usage(std::string(options.status().message()));
  auto x = Inputs(std::vector<std::string>(args.begin() + 1, args.end()));
  if (!x.ok()) return Usage(std::string(x.status().message()));
  return absl::GetFlag(FLAGS_dtype) == "float64" ? Forward<double>(args[0], *x, *options)
                                                 : Forward<float>(args[0], *x, *options);
}

}  // namespace actserve::client
