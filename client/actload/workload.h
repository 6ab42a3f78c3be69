// Workload: what actload sends. A Mix of call types, each with a weight, activation names,
// a distribution of payload sizes and a dtype, turned once into ready-to-send requests; each
// call then picks one deterministically from the seed and its index (PickRequest), so a run is
// reproducible whatever thread sends it.
//
// A mix file has one entry per line ('#' starts a comment):
//   KIND [weight=W] [activation=NAME[,NAME...]] [elements=N[:W][,N[:W]...]] [dtype=float32|float64]
// KIND is forward or backward; elements lists payload sizes (elements per tensor, a 1-D tensor)
// with optional relative weights; activations are drawn uniformly. Defaults: weight 1, relu,
// 1024 elements, float32. Example:
//   forward  weight=8 activation=relu,gelu elements=1024:3,65536:1
//   backward weight=2 activation=swish dtype=float64
// Backward's dy has x's shape, so last-axis functions that change it (glu, maxout) get the
// server's INVALID_ARGUMENT there.
#ifndef ACTSERVE_CLIENT_ACTLOAD_WORKLOAD_H_
#define ACTSERVE_CLIENT_ACTLOAD_WORKLOAD_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/support/byte_buffer.h"
#include "proto/actserve/v1/activation_service.pb.h"

namespace actserve::actload {

enum class CallKind { kForward, kBackward };

struct MixEntry {
  CallKind kind = CallKind::kForward;
  double weight = 1;
  std::vector<std::string> activations = {"relu"};
  std::vector<std::pair<int64_t, double>> sizes = {{1024, 1}};  // elements, weight
  v1::DType dtype = v1::DTYPE_FLOAT32;
};

// Parses one mix line (without the comment); INVALID_ARGUMENT naming the bad key.
absl::StatusOr<MixEntry> ParseMixLine(const std::string& line);
// Parses a mix file; at least one entry.
absl::StatusOr<std::vector<MixEntry>> ReadMixFile(const std::string& path);

// One prepared call.
struct PreparedRequest {
  CallKind kind;
  std::string method;            // full gRPC method, e.g. /actserve.v1.ActivationService/Forward
  grpc::ByteBuffer serialized;   // the unary request, serialized once
  v1::EvaluateRequest evaluate;  // the same call as an Evaluate stream message (id unset)
  int64_t elements = 0;
  std::string label;  // "forward relu 1024 float32"
};

class Workload {
 public:
  // Builds every (entry, activation, size) request with values drawn from `seed`.
  static absl::StatusOr<std::unique_ptr<Workload>> FromMix(std::vector<MixEntry> mix,
                                                           uint64_t seed);
  // The benchmark echo service of ../shared/bench/grpc (benchecho.Tensor{repeated float}),
  // `floats` values: a baseline for the client's own overhead.
  static std::unique_ptr<Workload> Echo(int64_t floats, uint64_t seed);

  // The request of call number `index` (any thread; deterministic in seed and index).
  const PreparedRequest& PickRequest(uint64_t index) const;
  const std::vector<PreparedRequest>& requests() const { return requests_; }

 private:
  std::vector<PreparedRequest> requests_;
  std::vector<double> cumulative_;  // cumulative pick probabilities, last = 1
  uint64_t seed_ = 0;
};

// A uniform double in [0, 1) from (seed, index): splitmix64.
double UniformAt(uint64_t seed, uint64_t index);

}  // namespace actserve::actload

#endif  // ACTSERVE_CLIENT_ACTLOAD_WORKLOAD_H_
