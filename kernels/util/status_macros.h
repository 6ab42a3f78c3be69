// Status propagation helpers for Abseil 20220623, which ships no status macros.
//
// ACTSERVE_RETURN_IF_ERROR(expr): evaluates `expr` (an absl::Status) and returns it from the
// enclosing function when it is not OK.
// ACTSERVE_ASSIGN_OR_RETURN(lhs, expr): evaluates `expr` (an absl::StatusOr<T>), returns its status
// when not OK, otherwise move-assigns the value to `lhs` (which may be a declaration).
#ifndef ACTSERVE_KERNELS_UTIL_STATUS_MACROS_H_
#define ACTSERVE_KERNELS_UTIL_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define ACTSERVE_RETURN_IF_ERROR(expr)                   \
  do {                                                   \
    ::absl::Status actserve_status_ = (expr);            \
    if (!actserve_status_.ok()) return actserve_status_; \
  } while (false)

#define ACTSERVE_STATUS_CONCAT_INNER_(a, b) a##b
#define ACTSERVE_STATUS_CONCAT_(a, b) ACTSERVE_STATUS_CONCAT_INNER_(a, b)

#define ACTSERVE_ASSIGN_OR_RETURN(lhs, expr) \
  ACTSERVE_ASSIGN_OR_RETURN_IMPL_(ACTSERVE_STATUS_CONCAT_(actserve_statusor_, __LINE__), lhs, expr)

#define ACTSERVE_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                    \
  if (!statusor.ok()) return std::move(statusor).status();   \
  lhs = std::move(statusor).value()

#endif  // ACTSERVE_KERNELS_UTIL_STATUS_MACROS_H_
