#include "server/api/enum_tables.h"

#include <functional>
#include <set>
#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"

namespace actserve::server {
namespace {

using ::testing::HasSubstr;

// Every enum declared in the API's .proto files, top level and nested in messages.
std::vector<const google::protobuf::EnumDescriptor*> ApiEnums() {
  std::vector<const google::protobuf::EnumDescriptor*> out;
  std::function<void(const google::protobuf::Descriptor*)> nested =
      [&](const google::protobuf::Descriptor* m) {
        for (int i = 0; i < m->enum_type_count(); ++i) out.push_back(m->enum_type(i));
        for (int i = 0; i < m->nested_type_count(); ++i) nested(m->nested_type(i));
      };
  for (const google::protobuf::FileDescriptor* file :
       {v1::ForwardRequest::descriptor()->file(), v1::JobSpec::descriptor()->file()}) {
    for (int i = 0; i < file->enum_type_count(); ++i) out.push_back(file->enum_type(i));
    for (int i = 0; i < file->message_type_count(); ++i) nested(file->message_type(i));
  }
  return out;
}

TEST(EnumTablesTest, EveryValueOfEveryApiEnumIsHandledByItsTable) {
  const std::vector<const google::protobuf::EnumDescriptor*> enums = ApiEnums();
  ASSERT_GE(enums.size(), 11u);
  std::set<const google::protobuf::EnumDescriptor*> tabled;
  for (const EnumTableBase* table : AllEnumTables()) {
    EXPECT_TRUE(tabled.insert(table->descriptor()).second)
        << table->descriptor()->full_name() << " has two tables";
  }
  for (const google::protobuf::EnumDescriptor* e : enums) {
    ASSERT_TRUE(tabled.count(e)) << e->full_name() << " has no conversion table";
    const EnumTableBase* table = nullptr;
    for (const EnumTableBase* t : AllEnumTables()) {
      if (t->descriptor() == e) table = t;
    }
    for (int i = 0; i < e->value_count(); ++i) {
      EXPECT_TRUE(table->Handles(e->value(i)->number()))
          << e->value(i)->full_name() << " is not handled by its table";
    }
  }
}

TEST(EnumTablesTest, ExpectedValuesInMessagesComeFromTheTable) {
  EXPECT_EQ(LossTable().Expected(),
            "LOSS_MEAN_SQUARED_ERROR, LOSS_SOFTMAX_CROSS_ENTROPY or LOSS_SIGMOID_CROSS_ENTROPY");
  absl::Status unspecified = LossTable().ToCore(v1::LOSS_UNSPECIFIED, "loss").status();
  EXPECT_EQ(unspecified.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(unspecified.message(),
            "loss: LOSS_UNSPECIFIED is not a loss; expected LOSS_MEAN_SQUARED_ERROR, "
            "LOSS_SOFTMAX_CROSS_ENTROPY or LOSS_SIGMOID_CROSS_ENTROPY");
  EXPECT_THAT(LossTable().ToCore(static_cast<v1::Loss>(42), "loss").status().message(),
              HasSubstr("loss: value 42 is not a loss; expected"));
  EXPECT_EQ(DTypeTable().ToCore(static_cast<v1::DType>(9), "dtype").status().message(),
            "dtype: unknown value 9; expected DTYPE_FLOAT32 or DTYPE_FLOAT64");
  EXPECT_EQ(OptimizerKindTable()
                .ToCore(static_cast<v1::Optimizer::Kind>(7), "optimizer.kind")
                .status()
                .message(),
            "optimizer.kind: unknown value 7; expected KIND_SGD, KIND_MOMENTUM, KIND_NESTEROV or "
            "KIND_ADAM");
}

TEST(EnumTablesTest, DefaultsApplyOnlyWhereTheApiSaysUnspecifiedMeansOne) {
  EXPECT_EQ(*DTypeTable().ToCore(v1::DTYPE_UNSPECIFIED, "dtype"), train::DType::kFloat32);
  EXPECT_EQ(*OptimizerKindTable().ToCore(v1::Optimizer::KIND_UNSPECIFIED, "k"),
            train::OptimizerKind::kSgd);
  EXPECT_EQ(*ScheduleTable().ToCore(v1::Optimizer::SCHEDULE_UNSPECIFIED, "s"),
            train::Schedule::kConstant);
  EXPECT_EQ(*InitKindTable().ToCore(v1::Initialization::KIND_UNSPECIFIED, "k"),
            train::Init::kXavier);
  EXPECT_EQ(*BackendTable().ToCore(v1::BACKEND_UNSPECIFIED, "backend"), BackendChoice::kAuto);
  EXPECT_FALSE(LossTable().ToCore(v1::LOSS_UNSPECIFIED, "loss").ok());
}

TEST(EnumTablesTest, EveryRowRoundTripsAndCoreNamesMatchTheWire) {
  for (JobState s : {JobState::kQueued, JobState::kRunning, JobState::kSucceeded, JobState::kFailed,
                     JobState::kCancelled}) {
    const v1::JobState wire = JobStateTable().ToWire(s);
    EXPECT_NE(wire, v1::JOB_STATE_UNSPECIFIED) << JobStateName(s);
    EXPECT_EQ(v1::JobState_Name(wire), JobStateName(s));
    EXPECT_EQ(*JobStateTable().ToCore(wire, "state"), s);
  }
  for (train::Loss l : {train::Loss::kMeanSquaredError, train::Loss::kSoftmaxCrossEntropy,
                        train::Loss::kSigmoidCrossEntropy}) {
    EXPECT_EQ(*LossTable().ToCore(LossTable().ToWire(l), "loss"), l);
  }
}

}  // namespace
}  // namespace actserve::server
