// ServerProcess: the real actserve binary, started for a test on 127.0.0.1 with a free port.
#ifndef ACTSERVE_TESTS_SERVER_PROCESS_H_
#define ACTSERVE_TESTS_SERVER_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace actserve::testing {

class ServerProcess {
 public:
  // Starts `binary` with --address=127.0.0.1:0 and --metrics_address=127.0.0.1:0 (unless args
  // set them) and `args`, and waits until it prints the port it listens on. FAILED_PRECONDITION
  // with its stderr if it exits.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(const std::string& binary,
                                                              std::vector<std::string> args);
  // Kills the process if it still runs.
  ~ServerProcess();

  // "127.0.0.1:PORT".
  const std::string& address() const { return address_; }
  // "http://127.0.0.1:PORT/metrics", or empty when the server serves no metrics.
  const std::string& metrics_url() const { return metrics_url_; }
  pid_t pid() const { return pid_; }

  // Sends `signal` and waits up to `timeout` for the exit; returns the exit status, or -1 if it
  // did not exit in time (it is then killed).
  int Stop(int signal, absl::Duration timeout);

  // What the process wrote to stderr so far.
  std::string Stderr() const;

 private:
  ServerProcess() = default;
  pid_t pid_ = -1;
  std::string address_;
  std::string metrics_url_;
  std::string stderr_path_;
};

// The value of the sample `name{labels}` (as written in the exposition) in a Prometheus scrape,
// or -1 if it is not there.
double MetricValue(const std::string& scrape, const std::string& sample);

// Runs a command line through the shell; returns its exit status and stdout.
std::pair<int, std::string> RunCommand(const std::string& command);

}  // namespace actserve::testing

#endif  // ACTSERVE_TESTS_SERVER_PROCESS_H_
