#include "server/auth/rpc_roles.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace actserve::server::auth {
namespace {

struct Row {
  absl::string_view method;
  Role role;
};

// Every rpc of actserve's own services and the role it needs.
constexpr Row kRows[] = {
    {"/actserve.v1.ActivationService/ListActivations", Role::kCompute},
    {"/actserve.v1.ActivationService/Forward", Role::kCompute},
    {"/actserve.v1.ActivationService/Backward", Role::kCompute},
    {"/actserve.v1.ActivationService/Evaluate", Role::kCompute},
    {"/actserve.v1.TrainingService/SubmitJob", Role::kTrain},
    {"/actserve.v1.TrainingService/WatchJob", Role::kTrain},
    {"/actserve.v1.TrainingService/GetJob", Role::kTrain},
    {"/actserve.v1.TrainingService/ListJobs", Role::kTrain},
    {"/actserve.v1.TrainingService/CancelJob", Role::kTrain},
    {"/actserve.v1.TrainingService/DeleteJob", Role::kTrain},
    {"/actserve.v1.TrainingService/Predict", Role::kTrain},
    {"/actserve.v1.TrainingService/SubmitSweep", Role::kTrain},
    {"/actserve.v1.TrainingService/GetSweep", Role::kTrain},
};

constexpr absl::string_view kHealthPrefix = "/grpc.health.v1.Health/";
constexpr absl::string_view kReflectionPrefixes[] = {"/grpc.reflection.v1alpha.ServerReflection/",
                                                     "/grpc.reflection.v1.ServerReflection/"};

const Row* FindRow(absl::string_view method) {
  for (const Row& row : kRows) {
    if (row.method == method) return &row;
  }
  return nullptr;
}

}  // namespace

Access AccessFor(absl::string_view method) {
  if (absl::StartsWith(method, kHealthPrefix)) return Access::kOpen;
  for (absl::string_view prefix : kReflectionPrefixes) {
    if (absl::StartsWith(method, prefix)) return Access::kAuthenticated;
  }
  return Access::kRole;
}

std::optional<Role> RequiredRole(absl::string_view method) {
  if (AccessFor(method) != Access::kRole) return std::nullopt;
  const Row* row = FindRow(method);
  return row != nullptr ? row->role : Role::kAdmin;
}

bool IsListed(absl::string_view method) {
  return AccessFor(method) != Access::kRole || FindRow(method) != nullptr;
}

absl::Status Authorize(const Principal& principal, absl::string_view method) {
  std::optional<Role> role = RequiredRole(method);
  if (!role.has_value() || principal.roles.Grants(*role)) return absl::OkStatus();
  const std::string held = principal.roles.ToString();
  return absl::PermissionDeniedError(absl::StrCat(
      method, " needs the role ", RoleName(*role), "; the token of tenant ", principal.tenant,
      " has ", held.empty() ? "no role" : absl::StrCat("the roles ", held)));
}

}  // namespace actserve::server::auth
