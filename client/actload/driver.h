// Drivers: how one call of a workload is sent. The Runner asks a Driver to Start a call and the
// Driver reports its end to a CompletionSink, from any thread, with the call's status code
// exactly as gRPC (or the stream's error response, or the training job) gave it.
//
// - UnaryDriver: Forward/Backward (or the bench echo) as unary calls through gRPC's generic
//   stub and asynchronous API, with requests serialized once (PreparedRequest) and `threads`
//   completion-queue threads; responses are not parsed (the status says whether it worked).
// - StreamDriver: the same calls as messages of Evaluate streams (generated stub, callback
//   API), `depth` messages written ahead of their answers per stream, pipelined; a stream that
//   fails fails its messages with its status and is replaced by a new one on the next call.
// - TrainDriver: a training job per call (SubmitJob, then WatchJob to its end), timed from
//   submission to the end; a FAILED job counts with its error's code.
#ifndef ACTSERVE_CLIENT_ACTLOAD_DRIVER_H_
#define ACTSERVE_CLIENT_ACTLOAD_DRIVER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/lib/channel.h"
#include "grpcpp/channel.h"
#include "proto/actserve/v1/training_service.pb.h"

namespace actserve::actload {

class Workload;

// What the Runner knows about one call.
struct Token {
  int64_t intended_ns = 0;  // when it was due (open loop) or sent (closed loop)
  uint64_t index = 0;       // the call's number, which picks its request
  bool measured = false;    // false in the warm-up
};

// Where a call's end goes.
struct Completion {
  int code = 0;               // grpc::StatusCode
  absl::string_view message;  // for errors
  int64_t pushback_ms = -1;   // the server's grpc-retry-pushback-ms, if it sent one
  int64_t train_steps = 0;    // TrainDriver: steps the job ran
};

class CompletionSink {
 public:
  virtual ~CompletionSink() = default;
  // Called once per Start, from any thread; may Start the next call.
  virtual void Complete(const Token& token, const Completion& completion) = 0;
};

class Driver {
 public:
  virtual ~Driver() = default;
  virtual void Start(const Token& token) = 0;
  // Called once no call is in flight; stops the driver's threads and streams.
  virtual void Shutdown() = 0;
};

// `count` channels to `base.target` with `base`'s credentials and token, each its own
// connection, round_robin over the addresses of an ipv4:/dns:/// target, no message size limit
// and no retries (a load tester counts every failure).
std::vector<std::shared_ptr<grpc::Channel>> MakeChannels(const client::ChannelOptions& base,
                                                         int count);

std::unique_ptr<Driver> NewUnaryDriver(std::vector<std::shared_ptr<grpc::Channel>> channels,
                                       const Workload* workload, int threads,
                                       absl::Duration deadline, CompletionSink* sink);
std::unique_ptr<Driver> NewStreamDriver(std::vector<std::shared_ptr<grpc::Channel>> channels,
                                        const Workload* workload, int streams, int depth,
                                        CompletionSink* sink);
std::unique_ptr<Driver> NewTrainDriver(std::vector<std::shared_ptr<grpc::Channel>> channels,
                                       v1::JobSpec spec, absl::Duration deadline,
                                       CompletionSink* sink);

}  // namespace actserve::actload

#endif  // ACTSERVE_CLIENT_ACTLOAD_DRIVER_H_
