// The credential flags every command-line client takes (actctl, actload): --tls, --ca, --cert,
// --key and --token_file. Defined once here so that they read the same everywhere.
#ifndef ACTSERVE_CLIENT_LIB_CREDENTIAL_FLAGS_H_
#define ACTSERVE_CLIENT_LIB_CREDENTIAL_FLAGS_H_

#include <string>

#include "absl/flags/declare.h"
#include "client/lib/credentials.h"

ABSL_DECLARE_FLAG(bool, tls);
ABSL_DECLARE_FLAG(std::string, ca);
ABSL_DECLARE_FLAG(std::string, cert);
ABSL_DECLARE_FLAG(std::string, key);
ABSL_DECLARE_FLAG(std::string, token_file);

namespace actserve::client {

// The credentials the flags ask for.
CredentialOptions CredentialsFromFlags();

}  // namespace actserve::client

#endif  // ACTSERVE_CLIENT_LIB_CREDENTIAL_FLAGS_H_
