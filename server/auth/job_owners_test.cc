#include "server/auth/job_owners.h"

#include "gtest/gtest.h"

namespace actserve::server::auth {
namespace {

TEST(JobOwnersTest, ATenantSeesItsOwnJobsAndAnAdminSeesAll) {
  JobOwners owners;
  owners.Record("job-1", "alice");
  owners.Record("sweep-1", "bob");
  const Principal alice{.tenant = "alice", .roles = RoleSet().Add(Role::kTrain)};
  const Principal bob{.tenant = "bob", .roles = RoleSet().Add(Role::kTrain)};
  const Principal ops{.tenant = "ops", .roles = RoleSet().Add(Role::kAdmin)};
  EXPECT_TRUE(owners.Visible(alice, "job-1"));
  EXPECT_FALSE(owners.Visible(bob, "job-1"));
  EXPECT_FALSE(owners.Visible(alice, "sweep-1"));
  EXPECT_TRUE(owners.Visible(ops, "job-1"));
  EXPECT_TRUE(owners.Visible(ops, "sweep-1"));
  EXPECT_TRUE(owners.Visible(bob, "job-2")) << "an unknown id is the job manager's to refuse";
  owners.Forget("job-1");
  EXPECT_TRUE(owners.Visible(bob, "job-1"));
}

}  // namespace
}  // namespace actserve::server::auth
