// The values forward, backward and plot send and print: input flags (--range, --csv, --param,
// --dtype, --seed, --training, --format), parsing them, and printing results as CSV or JSON.
#ifndef ACTSERVE_CLIENT_ACTCTL_VALUES_H_
#define ACTSERVE_CLIENT_ACTCTL_VALUES_H_

#include <map>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "client/lib/activation_client.h"

ABSL_DECLARE_FLAG(std::string, range);
ABSL_DECLARE_FLAG(std::string, dtype);

namespace actserve::client {

// Numbers from words (empty words skipped). INVALID_ARGUMENT naming the first that is not one.
absl::StatusOr<std::vector<double>> ParseNumbers(const std::vector<std::string>& words);

// The inputs: --range=A:B:N, else --csv, else `positional`. INVALID_ARGUMENT or NOT_FOUND (an
// unreadable CSV file) saying what is wrong.
absl::StatusOr<std::vector<double>> Inputs(const std::vector<std::string>& positional);

// CallOptions from --param, --seed, --training and --timeout. INVALID_ARGUMENT for a bad --param.
absl::StatusOr<CallOptions> Options();

// Prints x and the result `y` named `label` (y or dx), and parameter gradients, as --format asks:
// CSV lines (gradients on stderr) or one JSON object. Numbers round-trip (shortest exact text).
template <class T>
void PrintValues(const std::vector<double>& x, const char* label, const std::vector<T>& y,
                 const std::map<std::string, std::vector<double>>& param_gradients = {});

// What forward and backward compute: the activation, its inputs and the call's options.
struct ValueCall {
  std::string activation;
  std::vector<double> x;
  CallOptions options;
  bool float64 = false;  // --dtype=float64
};

// The call `args` (NAME [X...]) and the flags ask for. INVALID_ARGUMENT saying what is wrong
// (--format, --dtype, --param, the inputs); NOT_FOUND for an unreadable CSV file.
absl::StatusOr<ValueCall> ParseValueCall(const std::vector<std::string>& args);

}  // namespace actserve::client

#endif  // ACTSERVE_CLIENT_ACTCTL_VALUES_H_
