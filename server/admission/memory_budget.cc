#include "server/admission/memory_budget.h"

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace actserve::server {
namespace {

// The first line of a file, or "" when it cannot be read.
std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The smallest limit in `file` of the cgroup at `path` under `root` and of its ancestors; 0 for
// none. A v1 hierarchy says "no limit" with a huge number (2^63 rounded down to a page).
int64_t SmallestLimitUpwards(const std::string& root, std::string path, const std::string& file) {
  int64_t smallest = 0;
  while (true) {
    std::string text = FirstLine(absl::StrCat(root, path == "/" ? "" : path, "/", file));
    int64_t value = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &value) && value > 0 &&
        value < (int64_t{1} << 62)) {
      smallest = smallest == 0 ? value : std::min(smallest, value);
    }
    if (path.empty() || path == "/") break;
    size_t slash = path.rfind('/');
    path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
  }
  return smallest;
}

}  // namespace

int64_t CgroupMemoryLimit(const std::string& proc_self_cgroup, const std::string& sys_fs_cgroup,
                          std::string* source) {
  std::ifstream in(proc_self_cgroup);
  std::string line;
  while (std::getline(in, line)) {
    // hierarchy-ID:controller-list:cgroup-path
    std::vector<std::string> parts = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (parts.size() != 3) continue;
    const std::string& path = parts[2];
    if (parts[0] == "0" && parts[1].empty()) {
      int64_t limit = SmallestLimitUpwards(sys_fs_cgroup, path, "memory.max");
      if (limit > 0) {
        *source = "cgroup v2 memory.max";
        return limit;
      }
      continue;
    }
    std::vector<absl::string_view> controllers = absl::StrSplit(parts[1], ',');
    if (std::find(controllers.begin(), controllers.end(), "memory") != controllers.end()) {
      int64_t limit =
          SmallestLimitUpwards(sys_fs_cgroup + "/memory", path, "memory.limit_in_bytes");
      if (limit > 0) {
        *source = "cgroup v1 memory.limit_in_bytes";
        return limit;
      }
    }
  }
  return 0;
}

MemoryLimit ProcessMemoryLimit() {
  MemoryLimit limit;
  limit.bytes = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGE_SIZE);
  limit.source = "physical memory";
  std::string source;
  int64_t cgroup = CgroupMemoryLimit("/proc/self/cgroup", "/sys/fs/cgroup", &source);
  if (cgroup > 0 && cgroup < limit.bytes) limit = {cgroup, source};
  rlimit as;
  if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY &&
      static_cast<int64_t>(as.rlim_cur) < limit.bytes) {
    limit = {static_cast<int64_t>(as.rlim_cur), "RLIMIT_AS"};
  }
  return limit;
}

int64_t DefaultMaxMemoryBytes() {
  return static_cast<int64_t>(ProcessMemoryLimit().bytes * kDefaultBudgetFraction);
}

std::string HumanBytes(int64_t bytes) {
  static constexpr const char* kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 6) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? absl::StrFormat("%d bytes", bytes)
                   : absl::StrFormat("%.1f %s", value, kUnits[unit]);
}

void TrimFreeMemory() { malloc_trim(0); }

MemoryTrimmer::MemoryTrimmer(const MemoryBudget& budget, absl::Duration period) {
  thread_ = std::thread([this, &budget, period] {
    int64_t seen = -1;
    absl::MutexLock lock(&mu_);
    while (!mu_.AwaitWithTimeout(absl::Condition(&stop_), period)) {
      const MemoryBudget::Stats s = budget.stats();
      const int64_t activity = s.reservations + s.rejections;
      if (activity != seen) {
        seen = activity;
        TrimFreeMemory();
      }
    }
  });
}

MemoryTrimmer::~MemoryTrimmer() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

MemoryBudget::MemoryBudget(int64_t capacity) : capacity_(std::max<int64_t>(capacity, 0)) {}

absl::StatusOr<MemoryBudget::Reservation> MemoryBudget::Reserve(int64_t bytes,
                                                                absl::string_view what) {
  if (bytes < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: a charge of %d bytes is negative", what, bytes));
  }
  if (bytes == 0) return Reservation(this, 0);
  int64_t free_bytes;
  {
    absl::MutexLock lock(&mu_);
    free_bytes = capacity_ - reserved_;
    if (bytes <= free_bytes) {
      reserved_ += bytes;
      peak_ = std::max(peak_, reserved_);
      ++reservations_;
      return Reservation(this, bytes);
    }
    ++rejections_;
  }
  if (bytes > capacity_) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "%s needs %s (%d bytes) of memory, more than the server's whole budget of %s "
        "(--max_memory_bytes); send less",
        what, HumanBytes(bytes), bytes, HumanBytes(capacity_)));
  }
  return absl::ResourceExhaustedError(absl::StrFormat(
      "%s needs %s (%d bytes) of memory but %s of the server's %s budget is free "
      "(--max_memory_bytes); retry later or send less",
      what, HumanBytes(bytes), bytes, HumanBytes(free_bytes), HumanBytes(capacity_)));
}

void MemoryBudget::Give(int64_t bytes) {
  {
    absl::MutexLock lock(&mu_);
    reserved_ -= bytes;
  }
  if (bytes >= kTrimThreshold) TrimFreeMemory();
}

MemoryBudget::Stats MemoryBudget::stats() const {
  absl::MutexLock lock(&mu_);
  return {capacity_, reserved_, peak_, reservations_, rejections_};
}

MemoryBudget::Reservation::Reservation(Reservation&& other) noexcept
    : budget_(std::exchange(other.budget_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

MemoryBudget::Reservation& MemoryBudget::Reservation::operator=(Reservation&& other) noexcept {
  if (this != &other) {
    Release();
    budget_ = std::exchange(other.budget_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void MemoryBudget::Reservation::Release() {
  if (budget_ != nullptr && bytes_ > 0) budget_->Give(bytes_);
  budget_ = nullptr;
  bytes_ = 0;
}

}  // namespace actserve::server
