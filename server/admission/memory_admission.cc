#include "server/admission/memory_admission.h"

#include <map>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"

namespace actserve::server {
namespace {

class MemoryAdmission final : public Admission {
 public:
  MemoryAdmission(MemoryBudget& budget, const MemoryAdmissionOptions& options)
      : budget_(budget),
        max_streams_(options.max_streams),
        max_peer_bytes_(options.max_peer_bytes > 0 ? options.max_peer_bytes
                                                   : budget.capacity() / 2) {}

  absl::StatusOr<std::unique_ptr<Grant>> Admit(const CallInfo& call) override {
    const bool stream_opening =
        call.request_bytes == 0 && (call.method == "Evaluate" || call.method == "WatchJob");
    if (stream_opening) return OpenStream(call);
    const int64_t bytes = kRequestCopies * call.request_bytes;
    if (bytes == 0) return nullptr;
    const std::string peer(call.peer);
    {
      absl::MutexLock lock(&mu_);
      int64_t& held = peer_bytes_[peer];
      if (held + bytes > max_peer_bytes_) {
        const int64_t was = held;
        if (held == 0) peer_bytes_.erase(peer);
        return absl::ResourceExhaustedError(absl::StrFormat(
            "%s needs %s of memory but this connection already holds %s of its %s "
            "(half the server's --max_memory_bytes); wait for its answers or send less",
            call.method, HumanBytes(bytes), HumanBytes(was), HumanBytes(max_peer_bytes_)));
      }
      held += bytes;
    }
    absl::StatusOr<MemoryBudget::Reservation> reservation = budget_.Reserve(bytes, call.method);
    if (!reservation.ok()) {
      GivePeer(peer, bytes);
      return reservation.status();
    }
    return std::make_unique<MemoryGrant>(this, peer, std::move(*reservation));
  }

 private:
  // A call's charge: its budget reservation and its connection's share.
  class MemoryGrant final : public Grant {
   public:
    MemoryGrant(MemoryAdmission* owner, std::string peer, MemoryBudget::Reservation reservation)
        : owner_(owner), peer_(std::move(peer)), reservation_(std::move(reservation)) {}
    ~MemoryGrant() override { owner_->GivePeer(peer_, reservation_.bytes()); }

   private:
    MemoryAdmission* owner_;
    std::string peer_;
    MemoryBudget::Reservation reservation_;
  };

  // A stream's place.
  class StreamGrant final : public Grant {
   public:
    explicit StreamGrant(MemoryAdmission* owner) : owner_(owner) {}
    ~StreamGrant() override {
      absl::MutexLock lock(&owner_->mu_);
      --owner_->streams_;
    }

   private:
    MemoryAdmission* owner_;
  };

  absl::StatusOr<std::unique_ptr<Grant>> OpenStream(const CallInfo& call) {
    absl::MutexLock lock(&mu_);
    if (streams_ >= max_streams_) {
      return absl::ResourceExhaustedError(absl::StrFormat(
          "%s: %d streams are open, the server's limit (--max_streams); close one or retry "
          "later",
          call.method, streams_));
    }
    ++streams_;
    return std::make_unique<StreamGrant>(this);
  }

  void GivePeer(const std::string& peer, int64_t bytes) {
    absl::MutexLock lock(&mu_);
    auto it = peer_bytes_.find(peer);
    if (it == peer_bytes_.end()) return;
    it->second -= bytes;
    if (it->second <= 0) peer_bytes_.erase(it);
  }

  MemoryBudget& budget_;
  const int max_streams_;
  const int64_t max_peer_bytes_;
  absl::Mutex mu_;
  int streams_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, int64_t> peer_bytes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<Admission> NewMemoryAdmission(MemoryBudget& budget,
                                              const MemoryAdmissionOptions& options) {
  return std::make_unique<MemoryAdmission>(budget, options);
}

}  // namespace actserve::server
