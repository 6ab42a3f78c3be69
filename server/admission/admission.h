// Admission: the one decision, made for every call before any work starts, whether the server
// takes it. The handler path (server/api/handler.h) asks it once per unit of work: a unary call,
// each message of an Evaluate stream, the opening of a WatchJob stream. This is where a memory
// budget, per-tenant quotas and authentication plug in: an implementation that refuses returns
// the status the client receives (RESOURCE_EXHAUSTED for a budget, PERMISSION_DENIED or
// UNAUTHENTICATED for auth) and the call is counted as rejected with reason "admission".
//
// Implementations work on core types (no gRPC, no protobuf) and must be thread-safe: Admit runs
// on gRPC threads, concurrently, and must not block.
#ifndef ACTSERVE_SERVER_ADMISSION_ADMISSION_H_
#define ACTSERVE_SERVER_ADMISSION_ADMISSION_H_

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace actserve::server {

// What admission knows about a unit of work.
struct CallInfo {
  absl::string_view service;  // "actserve.v1.ActivationService"
  absl::string_view method;   // "Forward"
  // Serialized size of the request message (0 when not known, e.g. at a stream's opening).
  int64_t request_bytes = 0;
  absl::string_view peer;  // "ipv4:127.0.0.1:40000"
  // The subject common name of the client certificate the TLS handshake verified (mTLS); empty
  // without one.
  absl::string_view certificate_name;
  // The caller's tenant once authentication has named it (server/auth/auth_admission.h); empty
  // before, without a tokens file, and for open methods (health).
  absl::string_view tenant;
  // The value of a request header (metadata key, lower case), if the client sent it; a key sent
  // several times gives its values joined with ", ", as HTTP joins repeated fields.
  absl::FunctionRef<std::optional<absl::string_view>(absl::string_view key)> header;
};

class Admission {
 public:
  // What an admitted call holds until it ends (its reservation); destroying it gives back what
  // Admit took. May be null when nothing was taken.
  class Grant {
   public:
    virtual ~Grant() = default;
  };

  virtual ~Admission() = default;

  // The call's grant, or the status that refuses it.
  virtual absl::StatusOr<std::unique_ptr<Grant>> Admit(const CallInfo& call) = 0;
};

// Admits every call and takes nothing: the server's behaviour until budgets, quotas or
// authentication are configured.
std::unique_ptr<Admission> NewAdmitAll();

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_ADMISSION_ADMISSION_H_
