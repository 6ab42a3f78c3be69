// What actctl's commands share: how they report failures and usage errors.
#ifndef ACTSERVE_CLIENT_ACTCTL_COMMON_H_
#define ACTSERVE_CLIENT_ACTCTL_COMMON_H_

#include <cstdio>
#include <string>

#include "absl/status/status.h"

namespace actserve::client {

// Prints a failed call's status; returns actctl's exit status for it, 1.
inline int Fail(const absl::Status& s) {
  std::fprintf(stderr, "actctl: %s\n", s.ToString().c_str());
  return 1;
}

// Prints a usage error; returns actctl's exit status for it, 2.
inline int Usage(const std::string& message) {
  std::fprintf(stderr, "actctl: %s (actctl --help for usage)\n", message.c_str());
  return 2;
}

}  // namespace actserve::client

#endif  // ACTSERVE_CLIENT_ACTCTL_COMMON_H_
