#include "server/jobs/durable_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace actserve::server {
namespace {

// fsync of a directory, so that a rename or unlink in it is on disk.
absl::Status SyncDirectory(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return FileError(errno, "open", dir);
  const int rc = fsync(fd);
  const int error = errno;
  close(fd);
  return rc == 0 ? absl::OkStatus() : FileError(error, "fsync", dir);
}

}  // namespace

absl::Status FileError(int error, absl::string_view what, const std::string& path) {
  const std::string message = absl::StrCat(what, " ", path, ": ", std::strerror(error));
  if (error == ENOSPC || error == EDQUOT || error == EFBIG) {
    return absl::ResourceExhaustedError(absl::StrCat(message, " (the state directory is full)"));
  }
  return absl::UnavailableError(message);
}

absl::Status WriteFileDurably(const std::string& dir, const std::string& name,
                              absl::string_view bytes) {
  const std::string path = absl::StrCat(dir, "/", name), tmp = absl::StrCat(path, ".tmp");
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return FileError(errno, "create", tmp);
  absl::Status status;
  for (size_t done = 0; done < bytes.size() && status.ok();) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      status = FileError(errno, "write", tmp);
    else
      done += static_cast<size_t>(n);
  }
  if (status.ok() && fsync(fd) != 0) status = FileError(errno, "fsync", tmp);
  if (close(fd) != 0 && status.ok()) status = FileError(errno, "close", tmp);
  if (status.ok() && std::rename(tmp.c_str(), path.c_str()) != 0) {
    status = FileError(errno, "rename", tmp);
  }
  if (!status.ok()) {
    unlink(tmp.c_str());
    return status;
  }
  return SyncDirectory(dir);
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rbe");
  if (f == nullptr) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat(path, " does not exist"));
    return FileError(errno, "open", path);
  }
  std::string out;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return FileError(EIO, "read", path);
  return out;
}

}  // namespace actserve::server
