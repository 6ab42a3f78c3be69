// Files that are either wholly there or not at all after a crash: written to a temporary name,
// fsynced, renamed over the final name, and the directory fsynced, so that the rename itself is
// on disk before the caller records the file anywhere.
#ifndef ACTSERVE_SERVER_JOBS_DURABLE_FILE_H_
#define ACTSERVE_SERVER_JOBS_DURABLE_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace actserve::server {

// Writes `bytes` to `dir`/`name` durably (above). A full disk or file-size limit (ENOSPC,
// EDQUOT, EFBIG) is RESOURCE_EXHAUSTED, other failures UNAVAILABLE, each naming the path and
// the system's reason; on failure the temporary file is removed and `name` is untouched.
absl::Status WriteFileDurably(const std::string& dir, const std::string& name,
                              absl::string_view bytes);

// The whole file; NOT_FOUND when it does not exist, UNAVAILABLE for other failures.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

// The status for a failed system call on `path`: RESOURCE_EXHAUSTED for ENOSPC, EDQUOT and
// EFBIG, UNAVAILABLE otherwise; the message is "`what` `path`: strerror".
absl::Status FileError(int error, absl::string_view what, const std::string& path);

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_JOBS_DURABLE_FILE_H_
