// Authentication and authorization as an admission rule (server/admission/admission.h): every
// call of the handler path is checked against the tokens file and the role table before any
// work starts, then handed to the next admission rule.
#ifndef ACTSERVE_SERVER_AUTH_AUTH_ADMISSION_H_
#define ACTSERVE_SERVER_AUTH_AUTH_ADMISSION_H_

#include <memory>

#include "server/admission/admission.h"
#include "server/auth/token_file_watcher.h"

namespace actserve::server::auth {

// Admits a call whose `authorization` header carries a bearer token of `tokens` (as it stands at
// the call: reloads apply to the next call) that holds the role its rpc needs, then asks `next`
// with CallInfo::tenant set to the token's tenant. UNAUTHENTICATED / PERMISSION_DENIED otherwise
// (authenticator.h, rpc_roles.h). `tokens` and `next` must outlive the result. Thread-safe.
std::unique_ptr<Admission> NewAuthAdmission(const TokenFileWatcher& tokens, Admission& next);

}  // namespace actserve::server::auth

#endif  // ACTSERVE_SERVER_AUTH_AUTH_ADMISSION_H_
