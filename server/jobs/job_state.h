// JobState: where a training job is in its life. Queued and running jobs may be cancelled; the
// other three are end states.
#ifndef ACTSERVE_SERVER_JOBS_JOB_STATE_H_
#define ACTSERVE_SERVER_JOBS_JOB_STATE_H_

namespace actserve::server {

enum class JobState { kQueued, kRunning, kSucceeded, kFailed, kCancelled };

// The state's name in messages: the wire value's name (actserve.v1.JobState), which
// enum_tables_test checks.
inline const char* JobStateName(JobState state) {
  switch (state) {
    case JobState::kQueued:
      return "JOB_STATE_QUEUED";
    case JobState::kRunning:
      return "JOB_STATE_RUNNING";
    case JobState::kSucceeded:
      return "JOB_STATE_SUCCEEDED";
    case JobState::kFailed:
      return "JOB_STATE_FAILED";
    case JobState::kCancelled:
      return "JOB_STATE_CANCELLED";
  }
  return "JOB_STATE_UNSPECIFIED";
}

inline bool Ended(JobState state) {
  return state == JobState::kSucceeded || state == JobState::kFailed ||
         state == JobState::kCancelled;
}

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_JOBS_JOB_STATE_H_
