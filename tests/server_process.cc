#include "tests/server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace actserve::testing {

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(const std::string& binary,
                                                                    std::vector<std::string> args) {
  bool has_address = false, has_metrics = false;
  for (const std::string& a : args) {
    has_address |= absl::StartsWith(a, "--address");
    has_metrics |= absl::StartsWith(a, "--metrics_address");
  }
  if (!has_address) args.insert(args.begin(), "--address=127.0.0.1:0");
  if (!has_metrics) args.insert(args.begin(), "--metrics_address=127.0.0.1:0");
  // Tests keep Abseil's lock-order checking, which the server turns off by default.
  args.insert(args.begin(), "--mutex_deadlock_detection");
  std::unique_ptr<ServerProcess> p(new ServerProcess());
  char path[] = "/tmp/actserve_test_stderr_XXXXXX";
  int err_fd = mkstemp(path);
  if (err_fd < 0) return absl::InternalError("mkstemp failed");
  p->stderr_path_ = path;
  int out[2];
  if (pipe(out) != 0) return absl::InternalError("pipe failed");
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    close(out[0]);
    std::vector<char*> argv = {const_cast<char*>(binary.c_str())};
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  close(out[1]);
  close(err_fd);
  p->pid_ = pid;
  // Read stdout until "listening on HOST:PORT".
  std::string text;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    pollfd pfd = {out[0], POLLIN, 0};
    if (poll(&pfd, 1, 100) > 0) {
      char buf[512];
      ssize_t n = read(out[0], buf, sizeof buf);
      if (n <= 0) break;  // closed: the process ended
      text.append(buf, n);
      size_t at = text.find("listening on ");
      size_t end = at == std::string::npos ? at : text.find(' ', at + 13);
      // The metrics line, if any, follows the listening line.
      bool metrics_wanted = true;
      for (const std::string& a : args) metrics_wanted &= a != "--metrics_address=";
      size_t m = text.find("metrics on ");
      size_t m_end = m == std::string::npos ? m : text.find('\n', m);
      if (end != std::string::npos && (!metrics_wanted || m_end != std::string::npos)) {
        p->address_ = text.substr(at + 13, end - at - 13);
        if (m_end != std::string::npos) p->metrics_url_ = text.substr(m + 11, m_end - m - 11);
        close(out[0]);
        return p;
      }
    }
  }
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, WNOHANG);
  return absl::FailedPreconditionError(absl::StrCat("server did not start: ", p->Stderr()));
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (!stderr_path_.empty()) unlink(stderr_path_.c_str());
}

int ServerProcess::Stop(int signal, absl::Duration timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return -1;
}

std::string ServerProcess::Stderr() const {
  std::ifstream f(stderr_path_);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::pair<int, std::string> RunCommand(const std::string& command) {
  std::string output;
  FILE* f = popen(command.c_str(), "r");
  if (f == nullptr) return {-1, ""};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) output.append(buf, n);
  int status = pclose(f);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

double MetricValue(const std::string& scrape, const std::string& sample) {
  for (absl::string_view line : absl::StrSplit(scrape, '\n')) {
    double v;
    if (absl::StartsWith(line, sample + " ") &&
        absl::SimpleAtod(line.substr(sample.size() + 1), &v)) {
      return v;
    }
  }
  return -1;
}

}  // namespace actserve::testing
