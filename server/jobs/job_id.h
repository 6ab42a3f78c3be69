// Job and sweep ids: "job-" or "sweep-" followed by 32 lowercase hex digits, 128 bits drawn from
// the kernel's CSPRNG (getrandom). They cannot be guessed from other ids, are never reused (even
// across restarts: there is no counter to start again), and have one spelling: ids are compared
// as strings, exactly, never parsed as numbers, so "job-00008", "job-+8" or " job-8" find nothing.
//
// Thread-safe.
#ifndef ACTSERVE_SERVER_JOBS_JOB_ID_H_
#define ACTSERVE_SERVER_JOBS_JOB_ID_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace actserve::server {

inline constexpr absl::string_view kJobIdPrefix = "job-";
inline constexpr absl::string_view kSweepIdPrefix = "sweep-";
inline constexpr int kIdRandomHexDigits = 32;  // 128 bits

// A fresh id: `prefix` then 32 random lowercase hex digits.
std::string NewJobId();
std::string NewSweepId();

// Whether `id` is spelled exactly as NewJobId() / NewSweepId() spell ids.
bool IsJobId(absl::string_view id);
bool IsSweepId(absl::string_view id);

// OK for a job id as NewJobId() spells it; otherwise NOT_FOUND naming `field` and quoting a
// short prefix of the value (no job can have that id), so that a lookup never needs to parse.
absl::Status CheckJobId(absl::string_view id, absl::string_view field);

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_JOBS_JOB_ID_H_
