#include "server/auth/token_file_watcher.h"

#include <sys/stat.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace actserve::server::auth {

TokenFileWatcher::FileVersion TokenFileWatcher::Stat(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return {};
  return {.exists = true,
          .inode = static_cast<int64_t>(st.st_ino),
          .size = static_cast<int64_t>(st.st_size),
          .mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec,
          .ctime_ns = int64_t{st.st_ctim.tv_sec} * 1000000000 + st.st_ctim.tv_nsec};
}

absl::StatusOr<std::unique_ptr<TokenFileWatcher>> TokenFileWatcher::Start(std::string path,
                                                                          absl::Duration interval,
                                                                          Reporter report) {
  std::unique_ptr<TokenFileWatcher> watcher(new TokenFileWatcher(std::move(path), report));
  // Stat before reading: a change made while reading is then seen by the next check.
  const FileVersion version = Stat(watcher->path_);
  absl::StatusOr<TokenTable> table = TokenTable::Load(watcher->path_);
  if (!table.ok()) return table.status();
  {
    absl::MutexLock lock(&watcher->mu_);
    watcher->current_ = std::make_shared<const TokenTable>(*std::move(table));
    watcher->version_ = version;
  }
  if (interval > absl::ZeroDuration()) {
    watcher->thread_ = std::thread([w = watcher.get(), interval] { w->Loop(interval); });
  }
  return watcher;
}

TokenFileWatcher::~TokenFileWatcher() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void TokenFileWatcher::Loop(absl::Duration interval) {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping), interval)) return;
    }
    CheckNow().IgnoreError();  // reported through report_
  }
}

std::shared_ptr<const TokenTable> TokenFileWatcher::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

absl::Status TokenFileWatcher::last_error() const {
  absl::MutexLock lock(&mu_);
  return last_error_;
}

absl::Status TokenFileWatcher::CheckNow() {
  const FileVersion version = Stat(path_);
  {
    absl::MutexLock lock(&mu_);
    if (version == version_) return last_error_;
  }
  // Read outside the lock: calls keep authenticating against the current table meanwhile.
  absl::StatusOr<TokenTable> table = TokenTable::Load(path_);
  std::string news;
  absl::Status result;
  {
    absl::MutexLock lock(&mu_);
    version_ = version;
    if (table.ok()) {
      news = absl::StrCat("tokens file ", path_, " reloaded: ", table->size(), " tokens");
      current_ = std::make_shared<const TokenTable>(*std::move(table));
      last_error_ = absl::OkStatus();
    } else {
      last_error_ = table.status();
      news = absl::StrCat(table.status().message(), "; keeping the previous ", current_->size(),
                          " tokens");
    }
    result = last_error_;
  }
  if (report_) report_(news);
  return result;
}

}  // namespace actserve::server::auth
