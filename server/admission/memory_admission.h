// MemoryAdmission: the Admission (admission.h) that charges every unit of work to the server's
// MemoryBudget before it allocates, and bounds streams:
//   - a unary call or an Evaluate message is charged kRequestCopies times its request's bytes
//     (the received buffer, the parsed request, the response and its serialized copy); the
//     charge is held until its work is done;
//   - one connection (the peer address) may hold at most max_peer_bytes of such charges at
//     once, so that one client cannot take the whole budget;
//   - the opening of an Evaluate or WatchJob stream takes one of max_streams places, held until
//     the stream ends.
// Refusals are RESOURCE_EXHAUSTED saying what was asked and what is free. Thread-safe; never
// blocks. Training jobs are charged apart, by the job manager, with their estimates.
#ifndef ACTSERVE_SERVER_ADMISSION_MEMORY_ADMISSION_H_
#define ACTSERVE_SERVER_ADMISSION_MEMORY_ADMISSION_H_

#include <cstdint>
#include <memory>

#include "server/admission/admission.h"
#include "server/admission/memory_budget.h"

namespace actserve::server {

struct MemoryAdmissionOptions {
  int max_streams = 64;
  int64_t max_peer_bytes = 0;  // 0: half the budget
};

inline constexpr int64_t kRequestCopies = 4;

// `budget` must outlive the admission.
std::unique_ptr<Admission> NewMemoryAdmission(MemoryBudget& budget,
                                              const MemoryAdmissionOptions& options);

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_ADMISSION_MEMORY_ADMISSION_H_
