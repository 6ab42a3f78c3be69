#include "server/api/enum_tables.h"

namespace actserve::server {

const EnumTable<v1::DType, train::DType>& DTypeTable() {
  static const auto* table = new EnumTable<v1::DType, train::DType>(
      {{v1::DTYPE_FLOAT32, train::DType::kFloat32}, {v1::DTYPE_FLOAT64, train::DType::kFloat64}},
      {.unspecified = train::DType::kFloat32});
  return *table;
}

const EnumTable<v1::Backend, BackendChoice>& BackendTable() {
  static const auto* table =
      new EnumTable<v1::Backend, BackendChoice>({{v1::BACKEND_UNSPECIFIED, BackendChoice::kAuto},
                                                 {v1::BACKEND_CPU, BackendChoice::kCpu},
                                                 {v1::BACKEND_CUDA, BackendChoice::kCuda}});
  return *table;
}

const EnumTable<v1::Loss, train::Loss>& LossTable() {
  static const auto* table = new EnumTable<v1::Loss, train::Loss>(
      {{v1::LOSS_MEAN_SQUARED_ERROR, train::Loss::kMeanSquaredError},
       {v1::LOSS_SOFTMAX_CROSS_ENTROPY, train::Loss::kSoftmaxCrossEntropy},
       {v1::LOSS_SIGMOID_CROSS_ENTROPY, train::Loss::kSigmoidCrossEntropy}},
      {.noun = "loss"});
  return *table;
}

const EnumTable<v1::Optimizer::Kind, train::OptimizerKind>& OptimizerKindTable() {
  static const auto* table = new EnumTable<v1::Optimizer::Kind, train::OptimizerKind>(
      {{v1::Optimizer::KIND_SGD, train::OptimizerKind::kSgd},
       {v1::Optimizer::KIND_MOMENTUM, train::OptimizerKind::kMomentum},
       {v1::Optimizer::KIND_NESTEROV, train::OptimizerKind::kNesterov},
       {v1::Optimizer::KIND_ADAM, train::OptimizerKind::kAdam}},
      {.unspecified = train::OptimizerKind::kSgd});
  return *table;
}

const EnumTable<v1::Optimizer::Schedule, train::Schedule>& ScheduleTable() {
  static const auto* table = new EnumTable<v1::Optimizer::Schedule, train::Schedule>(
      {{v1::Optimizer::SCHEDULE_CONSTANT, train::Schedule::kConstant},
       {v1::Optimizer::SCHEDULE_STEP, train::Schedule::kStep},
       {v1::Optimizer::SCHEDULE_COSINE, train::Schedule::kCosine}},
      {.unspecified = train::Schedule::kConstant});
  return *table;
}

const EnumTable<v1::Initialization::Kind, train::Init>& InitKindTable() {
  static const auto* table = new EnumTable<v1::Initialization::Kind, train::Init>(
      {{v1::Initialization::KIND_XAVIER, train::Init::kXavier},
       {v1::Initialization::KIND_HE, train::Init::kHe},
       {v1::Initialization::KIND_LECUN, train::Init::kLecun},
       {v1::Initialization::KIND_UNIFORM, train::Init::kUniform},
       {v1::Initialization::KIND_EXPLICIT, train::Init::kExplicit}},
      {.unspecified = train::Init::kXavier});
  return *table;
}

const EnumTable<v1::Saturation, Saturation>& SaturationTable() {
  static const auto* table = new EnumTable<v1::Saturation, Saturation>(
      {{v1::SATURATION_NONE, Saturation::kNone},
       {v1::SATURATION_ONE_SIDED_SOFT, Saturation::kOneSidedSoft},
       {v1::SATURATION_ONE_SIDED_HARD, Saturation::kOneSidedHard},
       {v1::SATURATION_TWO_SIDED_SOFT, Saturation::kTwoSidedSoft},
       {v1::SATURATION_TWO_SIDED_HARD, Saturation::kTwoSidedHard}});
  return *table;
}

const EnumTable<v1::Cost, Cost>& CostTable() {
  static const auto* table =
      new EnumTable<v1::Cost, Cost>({{v1::COST_SELECT, Cost::kSelect},
                                     {v1::COST_ARITHMETIC, Cost::kArithmetic},
                                     {v1::COST_TRANSCENDENTAL, Cost::kTranscendental}});
  return *table;
}

const EnumTable<v1::Layout, Layout>& LayoutTable() {
  static const auto* table = new EnumTable<v1::Layout, Layout>(
      {{v1::LAYOUT_ELEMENTWISE, Layout::kElementwise}, {v1::LAYOUT_LAST_AXIS, Layout::kLastAxis}});
  return *table;
}

const EnumTable<v1::Noise, Noise>& NoiseTable() {
  static const auto* table = new EnumTable<v1::Noise, Noise>(
      {{v1::NOISE_NONE, Noise::kNone},
       {v1::NOISE_UNIFORM_WHEN_TRAINING, Noise::kUniformWhenTraining},
       {v1::NOISE_STANDARD_NORMAL, Noise::kStandardNormal}});
  return *table;
}

const EnumTable<v1::JobState, JobState>& JobStateTable() {
  static const auto* table =
      new EnumTable<v1::JobState, JobState>({{v1::JOB_STATE_QUEUED, JobState::kQueued},
                                             {v1::JOB_STATE_RUNNING, JobState::kRunning},
                                             {v1::JOB_STATE_SUCCEEDED, JobState::kSucceeded},
                                             {v1::JOB_STATE_FAILED, JobState::kFailed},
                                             {v1::JOB_STATE_CANCELLED, JobState::kCancelled}});
  return *table;
}

std::vector<const EnumTableBase*> AllEnumTables() {
  return {&DTypeTable(),    &BackendTable(),  &LossTable(),       &OptimizerKindTable(),
          &ScheduleTable(), &InitKindTable(), &SaturationTable(), &CostTable(),
          &LayoutTable(),   &NoiseTable(),    &JobStateTable()};
}

}  // namespace actserve::server
