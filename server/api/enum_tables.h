// The conversion table of every protobuf enum the server converts (see enum_table.h).
#ifndef ACTSERVE_SERVER_API_ENUM_TABLES_H_
#define ACTSERVE_SERVER_API_ENUM_TABLES_H_

#include <vector>

#include "kernels/catalog/catalog.h"
#include "kernels/train/spec.h"
#include "proto/actserve/v1/activation_service.pb.h"
#include "proto/actserve/v1/training_service.pb.h"
#include "server/api/enum_table.h"
#include "server/compute/backends.h"
#include "server/jobs/job_state.h"

namespace actserve::server {

// Requests.
const EnumTable<v1::DType, train::DType>& DTypeTable();  // tensors and job descriptions
const EnumTable<v1::Backend, BackendChoice>& BackendTable();
const EnumTable<v1::Loss, train::Loss>& LossTable();
const EnumTable<v1::Optimizer::Kind, train::OptimizerKind>& OptimizerKindTable();
const EnumTable<v1::Optimizer::Schedule, train::Schedule>& ScheduleTable();
const EnumTable<v1::Initialization::Kind, train::Init>& InitKindTable();
// Responses.
const EnumTable<v1::Saturation, Saturation>& SaturationTable();
const EnumTable<v1::Cost, Cost>& CostTable();
const EnumTable<v1::Layout, Layout>& LayoutTable();
const EnumTable<v1::Noise, Noise>& NoiseTable();
const EnumTable<v1::JobState, JobState>& JobStateTable();

// Every table above, for the test that walks the API's descriptors.
std::vector<const EnumTableBase*> AllEnumTables();

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_API_ENUM_TABLES_H_
