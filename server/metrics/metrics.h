// Metrics: every metric family the server exports, owned in one place, on prometheus-cpp.
//
// - gRPC server metrics with go-grpc-prometheus's names and labels (grpc_server_started_total,
//   grpc_server_handled_total, grpc_server_msg_received_total, grpc_server_msg_sent_total,
//   grpc_server_handling_seconds), recorded by a server interceptor;
// - actserve_* domain metrics: elements computed, compute time, calls refused by the handler path
//   (by method and reason), training jobs, build info;
// - scrape-time gauges of state owned elsewhere (requests in flight, compute queue depth, training
//   jobs queued and running, their memory): NewStateCollector;
// - process_* metrics as Prometheus clients publish them (prometheus-cpp 1.0 has none).
//
// Label values are bounded: methods come from the services the server registers (any other
// path counts as "unknown"), activations from the catalog. Thread-safe.
#ifndef ACTSERVE_SERVER_METRICS_METRICS_H_
#define ACTSERVE_SERVER_METRICS_METRICS_H_

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "grpcpp/support/server_interceptor.h"
#include "kernels/catalog/catalog.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace actserve::server {

// The recorders: families the server's components record into. Depends on nothing of the
// server's, so it is made first and handed to every component.
class Metrics {
 public:
  // `backends` are the compute backends the server has (their Backend::name(), the values of the
  // backend label), `cuda_devices` the GPUs it found.
  explicit Metrics(std::vector<std::string> backends = {"cpu"}, int cuda_devices = 0);
  ~Metrics();

  // Everything to register with a prometheus::Exposer (with NewStateCollector's collector).
  std::vector<std::shared_ptr<prometheus::Collectable>> Collectables() const;

  // Creates the interceptors that record the gRPC server metrics, for
  // ServerBuilder::experimental().SetInterceptorCreators.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewInterceptorFactory();

  // One computation on `backend`: `elements` input elements of `id`, in double or float, taking
  // `seconds`.
  void RecordCompute(ActivationId id, bool backward, bool fp64, std::string_view backend,
                     int64_t elements, double seconds);
  // Training: a job accepted; a job ended (0 succeeded, 1 failed, 2 cancelled) after training
  // for `seconds`; training steps done.
  void RecordJobSubmitted() { jobs_submitted_->Increment(); }
  void RecordJobEnded(int state, double seconds);
  void RecordTrainingSteps(int64_t steps) {
    training_steps_->Increment(static_cast<double>(steps));
  }
  // The durable job store (--state_dir): a job that was running when the server stopped came
  // back; a checkpoint written in `seconds`; a write that failed ("submit", "checkpoint",
  // "update", "finish", "delete").
  void RecordJobResumed() { jobs_resumed_->Increment(); }
  void RecordCheckpoint(double seconds) { checkpoint_seconds_->Observe(seconds); }
  void RecordStoreError(const std::string& operation);

  // Why the handler path refused a call (or a stream's message).
  enum class Rejection { kDraining, kBusy, kAdmission };
  // A call to the method at `path` ("/package.Service/Method") refused: counted by method and
  // reason, and, for kBusy, in actserve_compute_rejections_total.
  void RecordRejection(const char* path, Rejection reason);
  // A request refused because the compute queue was full (method unknown).
  void RecordRejection() { rejections_->Increment(); }

  // Per-method gRPC metrics (public for the interceptor).
  struct MethodMetrics {
    prometheus::Counter* started;
    prometheus::Counter* received;
    prometheus::Counter* sent;
    prometheus::Histogram* seconds;
    std::array<prometheus::Counter*, 17> handled;  // by grpc::StatusCode
    std::array<prometheus::Counter*, 3> rejected;  // by Rejection
  };
  const MethodMetrics& ForMethod(const char* path) const;

 private:
  void AddGrpcFamilies();
  void AddComputeFamilies();
  void AddTrainingFamilies();
  void AddBuildInfo(int cuda_devices);
  MethodMetrics AddMethod(const std::string& service, const std::string& method,
                          const std::string& type);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* started_;
  prometheus::Family<prometheus::Counter>* handled_;
  prometheus::Family<prometheus::Counter>* received_;
  prometheus::Family<prometheus::Counter>* sent_;
  prometheus::Family<prometheus::Histogram>* handling_seconds_;
  prometheus::Family<prometheus::Counter>* rejected_;
  std::vector<std::pair<std::string, MethodMetrics>> methods_;  // by path, fixed after construction
  MethodMetrics unknown_method_;
  std::vector<std::string> backends_;
  // [backend][activation][direction][dtype]
  std::vector<std::vector<std::array<std::array<prometheus::Counter*, 2>, 2>>> elements_;
  std::vector<std::array<prometheus::Histogram*, 2>> compute_seconds_;  // [backend][direction]
  prometheus::Counter* rejections_;
  prometheus::Counter* jobs_submitted_;
  std::array<prometheus::Counter*, 3> jobs_ended_;
  prometheus::Histogram* job_seconds_;
  prometheus::Counter* training_steps_;
  prometheus::Counter* jobs_resumed_;
  prometheus::Histogram* checkpoint_seconds_;
  prometheus::Family<prometheus::Counter>* store_errors_;
  std::shared_ptr<prometheus::Collectable> process_;
};

// Values owned by other components, read at each scrape.
struct StateSources {
  std::function<int()> in_flight;    // requests and streams being served
  std::function<int()> queue_depth;  // requests waiting for a compute thread
  std::function<int()> jobs_queued;  // training jobs waiting for a worker
  std::function<int()> jobs_running;
  std::function<int64_t()> jobs_memory_bytes;  // held by every training job
  // Bytes the durable job store's directory holds; empty: jobs live in memory (no gauge).
  std::function<int64_t()> job_store_bytes;
  // The memory budget (server/admission/memory_budget.h): capacity, bytes reserved now, and
  // charges refused so far.
  std::function<int64_t()> memory_budget_bytes;
  std::function<int64_t()> memory_reserved_bytes;
  std::function<int64_t()> memory_rejections;
  // Serving other hosts without TLS and authentication (--insecure): actserve_insecure 1.
  bool insecure = false;
};
// The gauges actserve_requests_in_flight, actserve_compute_queue_depth, actserve_training_jobs,
// actserve_training_memory_bytes, actserve_memory_budget_bytes, actserve_memory_reserved_bytes
// and the counter actserve_memory_rejections_total, read from `sources` (an unset source reads 0),
// and actserve_insecure.
// The objects the sources read must outlive the exposer the collector is registered with.
std::shared_ptr<prometheus::Collectable> NewStateCollector(StateSources sources);

// One tenant's counters (server/admission/tenant_quotas.h, the job manager's per-tenant quota).
struct TenantCounters {
  std::string tenant;
  int64_t requests = 0;       // calls admitted by the tenant's quotas
  int64_t request_bytes = 0;  // their request bytes
  int64_t calls_in_flight = 0;
  // Refusals by reason: "rate", "calls", "bytes" (admission) and "jobs" (submits).
  std::vector<std::pair<std::string, int64_t>> rejections;
};
// actserve_tenant_requests_total, actserve_tenant_request_bytes_total,
// actserve_tenant_calls_in_flight and actserve_tenant_rejections_total{reason}, each labelled by
// tenant, read from `source` at each scrape. What it reads must outlive the exposer.
std::shared_ptr<prometheus::Collectable> NewTenantCollector(
    std::function<std::vector<TenantCounters>()> source);

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_METRICS_METRICS_H_
