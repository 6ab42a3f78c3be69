#include "server/auth/rpc_roles.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/actserve/v1/activation_service.pb.h"
#include "proto/actserve/v1/training_service.pb.h"

namespace actserve::server::auth {
namespace {

using ::testing::HasSubstr;

struct Method {
  std::string service;  // "actserve.v1.ActivationService"
  std::string path;     // "/actserve.v1.ActivationService/Forward"
};

// Every rpc of every service in actserve's .proto files, from their descriptors.
std::vector<Method> AllMethods() {
  std::vector<Method> methods;
  for (const google::protobuf::FileDescriptor* file :
       {actserve::v1::ForwardRequest::descriptor()->file(),
        actserve::v1::SubmitJobRequest::descriptor()->file()}) {
    for (int s = 0; s < file->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        methods.push_back({service->full_name(), absl::StrCat("/", service->full_name(), "/",
                                                              service->method(m)->name())});
      }
    }
  }
  return methods;
}

Principal With(std::initializer_list<Role> roles) {
  Principal p{.tenant = "t"};
  for (Role r : roles) p.roles.Add(r);
  return p;
}

TEST(RpcRolesTest, EveryRpcOfEveryServiceHasARow) {
  const std::vector<Method> methods = AllMethods();
  ASSERT_GE(methods.size(), 13u);
  for (const Method& m : methods) EXPECT_TRUE(IsListed(m.path)) << m.path << " has no role";
}

// The table, by service: compute is the ActivationService, train the TrainingService, admin all.
TEST(RpcRolesTest, EachRoleReachesExactlyItsService) {
  const std::string kActivation = "actserve.v1.ActivationService";
  const std::string kTraining = "actserve.v1.TrainingService";
  for (const Method& m : AllMethods()) {
    ASSERT_TRUE(m.service == kActivation || m.service == kTraining)
        << m.service << " is a new service: give its rpcs roles in rpc_roles.cc and here";
    const bool compute_ok = Authorize(With({Role::kCompute}), m.path).ok();
    const bool train_ok = Authorize(With({Role::kTrain}), m.path).ok();
    EXPECT_EQ(compute_ok, m.service == kActivation) << m.path;
    EXPECT_EQ(train_ok, m.service == kTraining) << m.path;
    EXPECT_TRUE(Authorize(With({Role::kCompute, Role::kTrain}), m.path).ok()) << m.path;
    EXPECT_TRUE(Authorize(With({Role::kAdmin}), m.path).ok()) << m.path;
    absl::Status none = Authorize(With({}), m.path);
    EXPECT_EQ(none.code(), absl::StatusCode::kPermissionDenied) << m.path;
    EXPECT_THAT(none.message(), HasSubstr("no role")) << m.path;
  }
}

TEST(RpcRolesTest, DenialNamesTheMissingRoleAndTheRolesHeld) {
  absl::Status s = Authorize(With({Role::kCompute}), "/actserve.v1.TrainingService/SubmitJob");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("needs the role train"));
  EXPECT_THAT(s.message(), HasSubstr("has the roles compute"));
}

TEST(RpcRolesTest, HealthIsOpenReflectionNeedsAnyTokenUnknownNeedsAdmin) {
  EXPECT_EQ(AccessFor("/grpc.health.v1.Health/Check"), Access::kOpen);
  EXPECT_EQ(AccessFor("/grpc.health.v1.Health/Watch"), Access::kOpen);
  EXPECT_EQ(AccessFor("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"),
            Access::kAuthenticated);
  EXPECT_TRUE(Authorize(With({}), "/grpc.health.v1.Health/Check").ok());
  EXPECT_FALSE(IsListed("/actserve.v1.TrainingService/Retrain"));
  EXPECT_EQ(RequiredRole("/actserve.v1.TrainingService/Retrain"), Role::kAdmin);
  EXPECT_FALSE(Authorize(With({Role::kCompute, Role::kTrain}), "/x.Y/Z").ok());
  EXPECT_TRUE(Authorize(With({Role::kAdmin}), "/x.Y/Z").ok());
}

TEST(RoleTest, NamesRoundTrip) {
  for (Role r : {Role::kCompute, Role::kTrain, Role::kAdmin}) {
    EXPECT_EQ(*ParseRole(RoleName(r)), r);
  }
  EXPECT_EQ(RoleSet().Add(Role::kAdmin).Add(Role::kCompute).ToString(), "compute,admin");
  EXPECT_FALSE(ParseRole("root").ok());
}

}  // namespace
}  // namespace actserve::server::auth
