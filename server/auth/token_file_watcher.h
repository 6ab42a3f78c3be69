// TokenFileWatcher: the tokens file, reloaded while serving when it changes on disk.
//
// A changed file (modification time, size or inode: an editor's in-place write and an atomic
// rename both count) is parsed again; if it is valid it replaces the current table, otherwise the
// last good table is kept and the reason is reported (once per broken version of the file).
// Current() and CheckNow() are thread-safe.
#ifndef ACTSERVE_SERVER_AUTH_TOKEN_FILE_WATCHER_H_
#define ACTSERVE_SERVER_AUTH_TOKEN_FILE_WATCHER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/auth/token_table.h"

namespace actserve::server::auth {

class TokenFileWatcher {
 public:
  // Receives one line of news: a reload, or why a changed file was refused.
  using Reporter = std::function<void(const std::string& message)>;

  // Loads `path` (its error, as TokenTable::Load, if it cannot be read or parsed: a server must
  // not start with a broken tokens file) and, if `interval` > 0, checks it every `interval` on a
  // thread of its own until destroyed.
  static absl::StatusOr<std::unique_ptr<TokenFileWatcher>> Start(std::string path,
                                                                 absl::Duration interval,
                                                                 Reporter report);
  ~TokenFileWatcher();

  // The table in force. Never null.
  std::shared_ptr<const TokenTable> Current() const;
  // Reloads now if the file changed. OK if it did not change or reloaded; otherwise why the
  // new version was refused (the previous table stays in force).
  absl::Status CheckNow();
  // OK, or why the file's current version is refused.
  absl::Status last_error() const;

 private:
  struct FileVersion {
    bool exists = false;
    int64_t inode = 0, size = 0, mtime_ns = 0, ctime_ns = 0;
    bool operator==(const FileVersion& o) const {
      return exists == o.exists && inode == o.inode && size == o.size && mtime_ns == o.mtime_ns &&
             ctime_ns == o.ctime_ns;
    }
  };
  static FileVersion Stat(const std::string& path);

  TokenFileWatcher(std::string path, Reporter report) : path_(std::move(path)), report_(report) {}
  void Loop(absl::Duration interval);

  const std::string path_;
  const Reporter report_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const TokenTable> current_ ABSL_GUARDED_BY(mu_);
  FileVersion version_ ABSL_GUARDED_BY(mu_);  // the version last looked at
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace actserve::server::auth

#endif  // ACTSERVE_SERVER_AUTH_TOKEN_FILE_WATCHER_H_
