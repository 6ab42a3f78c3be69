#include "server/metrics/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/support/interceptor.h"
#include "prometheus/metric_family.h"
#include "proto/actserve/v1/activation_service.pb.h"
#include "proto/actserve/v1/training_service.pb.h"

namespace actserve::server {
namespace {

constexpr char kVersion[] = "0.1.0";

// The services whose methods get their own label values: the API (from its descriptor), and
// gRPC's health and reflection services.
struct Method {
  std::string service, method, type;
};

std::vector<Method> KnownMethods() {
  std::vector<Method> out;
  // Through generated classes, so that the APIs' descriptors are linked into every binary.
  for (const auto* api :
       {v1::ForwardRequest::descriptor()->file()->FindServiceByName("ActivationService"),
        v1::JobSpec::descriptor()->file()->FindServiceByName("TrainingService")}) {
    for (int i = 0; api != nullptr && i < api->method_count(); ++i) {
      const auto* m = api->method(i);
      const char* type = m->client_streaming()
                             ? (m->server_streaming() ? "bidi_stream" : "client_stream")
                             : (m->server_streaming() ? "server_stream" : "unary");
      out.push_back({api->full_name(), m->name(), type});
    }
  }
  out.push_back({"grpc.health.v1.Health", "Check", "unary"});
  out.push_back({"grpc.health.v1.Health", "Watch", "server_stream"});
  out.push_back(
      {"grpc.reflection.v1alpha.ServerReflection", "ServerReflectionInfo", "bidi_stream"});
  return out;
}

// go-grpc-prometheus's code names.
constexpr const char* kCodeNames[17] = {
    "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
    "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
    "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
    "DataLoss", "Unauthenticated"};

// Buckets from 10 us: this service answers small requests in tens of microseconds.
prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {1e-5,   2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2,
          2.5e-2, 5e-2,   0.1,  0.25, 0.5,    1,    2.5,  5,      10};
}

class Interceptor final : public grpc::experimental::Interceptor {
 public:
  explicit Interceptor(const Metrics::MethodMetrics& m)
      : m_(m), start_(std::chrono::steady_clock::now()) {
    m_.started->Increment();
  }
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) {
      m_.received->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      m_.sent->Increment();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      int code = static_cast<int>(methods->GetSendStatus().error_code());
      m_.handled[code >= 0 && code < 17 ? code : 2]->Increment();
      m_.seconds->Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
    }
    methods->Proceed();
  }

 private:
  const Metrics::MethodMetrics& m_;
  const std::chrono::steady_clock::time_point start_;
};

class InterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit InterceptorFactory(const Metrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new Interceptor(metrics_->ForMethod(info->method()));
  }

 private:
  const Metrics* metrics_;
};

prometheus::ClientMetric Value(double v) {
  prometheus::ClientMetric m;
  m.gauge.value = v;
  m.counter.value = v;
  return m;
}

prometheus::MetricFamily Family(const char* name, const char* help, prometheus::MetricType type,
                                double value) {
  prometheus::MetricFamily f{name, help, type, {Value(value)}};
  return f;
}

// process_* as the Prometheus client libraries publish them, read from /proc at each scrape.
class ProcessCollector final : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    std::ifstream stat_file("/proc/self/stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
    // Fields after the command (which may hold spaces), counted from field 3 (state).
    size_t close = stat.rfind(')');
    if (close == std::string::npos) return out;
    std::istringstream fields(stat.substr(close + 2));
    std::vector<std::string> f((std::istream_iterator<std::string>(fields)),
                               std::istream_iterator<std::string>());
    if (f.size() < 22) return out;
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    // utime = field 14, stime = 15, starttime = 22, vsize = 23, rss = 24 (f[0] is field 3).
    double cpu = (std::stod(f[11]) + std::stod(f[12])) / ticks;
    double start = BootTime() + std::stod(f[19]) / ticks;
    out.push_back(Family("process_cpu_seconds_total",
                         "Total user and system CPU time spent in seconds.",
                         prometheus::MetricType::Counter, cpu));
    out.push_back(Family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                         prometheus::MetricType::Gauge, std::stod(f[20])));
    out.push_back(Family("process_resident_memory_bytes", "Resident memory size in bytes.",
                         prometheus::MetricType::Gauge, std::stod(f[21]) * page));
    out.push_back(Family("process_start_time_seconds",
                         "Start time of the process since unix epoch in seconds.",
                         prometheus::MetricType::Gauge, start));
    out.push_back(Family("process_open_fds", "Number of open file descriptors.",
                         prometheus::MetricType::Gauge, OpenFds()));
    rlimit limit{};
    getrlimit(RLIMIT_NOFILE, &limit);
    out.push_back(Family("process_max_fds", "Maximum number of open file descriptors.",
                         prometheus::MetricType::Gauge, static_cast<double>(limit.rlim_cur)));
    return out;
  }

 private:
  static double BootTime() {
    std::ifstream f("/proc/stat");
    std::string key;
    double value = 0;
    while (f >> key) {
      if (key == "btime") {
        f >> value;
        break;
      }
    }
    return value;
  }
  static double OpenFds() {
    int n = 0;
    if (DIR* d = opendir("/proc/self/fd")) {
      while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
      closedir(d);
    }
    return n - 1;  // the directory stream's own descriptor
  }
};

// Values owned elsewhere, read at each scrape.
class SourcesCollector final : public prometheus::Collectable {
 public:
  explicit SourcesCollector(StateSources s) : s_(std::move(s)) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    prometheus::MetricFamily jobs{"actserve_training_jobs",
                                  "Training jobs queued for a worker or running, by state.",
                                  prometheus::MetricType::Gauge,
                                  {Value(s_.jobs_queued ? s_.jobs_queued() : 0),
                                   Value(s_.jobs_running ? s_.jobs_running() : 0)}};
    jobs.metric[0].label = {{"state", "queued"}};
    jobs.metric[1].label = {{"state", "running"}};
    std::vector<prometheus::MetricFamily> out = {
        Family("actserve_requests_in_flight", "Requests and streams being served.",
               prometheus::MetricType::Gauge, s_.in_flight ? s_.in_flight() : 0),
        Family("actserve_compute_queue_depth", "Requests waiting for a compute thread.",
               prometheus::MetricType::Gauge, s_.queue_depth ? s_.queue_depth() : 0),
        std::move(jobs),
        Family("actserve_training_memory_bytes",
               "Bytes held by training jobs: data, buffers and optimizer state while they "
               "run; weights and reports once they end.",
               prometheus::MetricType::Gauge,
               static_cast<double>(s_.jobs_memory_bytes ? s_.jobs_memory_bytes() : 0)),
        Family("actserve_memory_budget_bytes",
               "The memory budget: bytes the server's work may hold at once "
               "(--max_memory_bytes).",
               prometheus::MetricType::Gauge, Read(s_.memory_budget_bytes)),
        Family("actserve_memory_reserved_bytes",
               "Bytes of the memory budget held now by requests, stream messages and training "
               "jobs.",
               prometheus::MetricType::Gauge, Read(s_.memory_reserved_bytes)),
        Family("actserve_memory_rejections_total",
               "Requests and jobs refused because the memory budget could not hold them.",
               prometheus::MetricType::Counter, Read(s_.memory_rejections)),
        Family("actserve_insecure",
               "1 when the server is reachable from other hosts without TLS and "
               "authentication (started with --insecure), else 0.",
               prometheus::MetricType::Gauge, s_.insecure ? 1 : 0)};
    if (s_.job_store_bytes) {
      out.push_back(Family("actserve_job_store_bytes",
                           "Bytes the durable job store (--state_dir) holds: its database, "
                           "write-ahead log and checkpoints.",
                           prometheus::MetricType::Gauge, Read(s_.job_store_bytes)));
    }
    return out;
  }

  static double Read(const std::function<int64_t()>& source) {
    return source ? static_cast<double>(source()) : 0.0;
  }

 private:
  StateSources s_;
};

// Per-tenant counters, read at each scrape.
class TenantCollector final : public prometheus::Collectable {
 public:
  explicit TenantCollector(std::function<std::vector<TenantCounters>()> source)
      : source_(std::move(source)) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    prometheus::MetricFamily requests{"actserve_tenant_requests_total",
                                      "Calls a tenant's quotas admitted.",
                                      prometheus::MetricType::Counter,
                                      {}};
    prometheus::MetricFamily bytes{"actserve_tenant_request_bytes_total",
                                   "Request bytes of the calls a tenant's quotas admitted.",
                                   prometheus::MetricType::Counter,
                                   {}};
    prometheus::MetricFamily in_flight{"actserve_tenant_calls_in_flight",
                                       "A tenant's admitted calls and streams being served.",
                                       prometheus::MetricType::Gauge,
                                       {}};
    prometheus::MetricFamily rejections{
        "actserve_tenant_rejections_total",
        "A tenant's calls refused by its quotas, by reason: rate (--tenant_rps), calls "
        "(--tenant_max_calls), bytes (--tenant_max_bytes), jobs (--tenant_max_jobs).",
        prometheus::MetricType::Counter,
        {}};
    for (const TenantCounters& t : source_()) {
      auto add = [&t](prometheus::MetricFamily& family, double value) {
        family.metric.push_back(Value(value));
        family.metric.back().label = {{"tenant", t.tenant}};
      };
      add(requests, static_cast<double>(t.requests));
      add(bytes, static_cast<double>(t.request_bytes));
      add(in_flight, static_cast<double>(t.calls_in_flight));
      for (const auto& [reason, n] : t.rejections) {
        add(rejections, static_cast<double>(n));
        rejections.metric.back().label.push_back({"reason", reason});
      }
    }
    return {std::move(requests), std::move(bytes), std::move(in_flight), std::move(rejections)};
  }

 private:
  std::function<std::vector<TenantCounters>()> source_;
};

constexpr const char* kRejectionReasons[3] = {"draining", "busy", "admission"};

}  // namespace

Metrics::Metrics(std::vector<std::string> backends, int cuda_devices)
    : registry_(std::make_shared<prometheus::Registry>()),
      backends_(std::move(backends)),
      process_(std::make_shared<ProcessCollector>()) {
  AddGrpcFamilies();
  AddComputeFamilies();
  AddTrainingFamilies();
  AddBuildInfo(cuda_devices);
}

void Metrics::AddGrpcFamilies() {
  started_ = &prometheus::BuildCounter()
                  .Name("grpc_server_started_total")
                  .Help("Total number of RPCs started on the server.")
                  .Register(*registry_);
  handled_ =
      &prometheus::BuildCounter()
           .Name("grpc_server_handled_total")
           .Help("Total number of RPCs completed on the server, regardless of success or failure.")
           .Register(*registry_);
  received_ = &prometheus::BuildCounter()
                   .Name("grpc_server_msg_received_total")
                   .Help("Total number of RPC stream messages received on the server.")
                   .Register(*registry_);
  sent_ = &prometheus::BuildCounter()
               .Name("grpc_server_msg_sent_total")
               .Help("Total number of gRPC stream messages sent by the server.")
               .Register(*registry_);
  handling_seconds_ = &prometheus::BuildHistogram()
                           .Name("grpc_server_handling_seconds")
                           .Help(
                               "Histogram of response latency (seconds) of gRPC that had been "
                               "application-level handled by the server.")
                           .Register(*registry_);
  rejected_ = &prometheus::BuildCounter()
                   .Name("actserve_rejections_total")
                   .Help(
                       "Calls (and Evaluate messages) the handler path refused, by method and "
                       "reason: draining (UNAVAILABLE), busy (compute queue full) or admission.")
                   .Register(*registry_);
  for (const Method& m : KnownMethods()) {
    methods_.emplace_back("/" + m.service + "/" + m.method, AddMethod(m.service, m.method, m.type));
  }
  unknown_method_ = AddMethod("unknown", "unknown", "unknown");
}

Metrics::MethodMetrics Metrics::AddMethod(const std::string& service, const std::string& method,
                                          const std::string& type) {
  prometheus::Labels labels = {
      {"grpc_type", type}, {"grpc_service", service}, {"grpc_method", method}};
  MethodMetrics mm;
  mm.started = &started_->Add(labels);
  mm.received = &received_->Add(labels);
  mm.sent = &sent_->Add(labels);
  mm.seconds = &handling_seconds_->Add(labels, LatencyBuckets());
  for (int code = 0; code < 17; ++code) {
    prometheus::Labels with_code = labels;
    with_code["grpc_code"] = kCodeNames[code];
    mm.handled[code] = &handled_->Add(with_code);
  }
  for (int r = 0; r < 3; ++r) {
    mm.rejected[r] = &rejected_->Add(
        {{"grpc_service", service}, {"grpc_method", method}, {"reason", kRejectionReasons[r]}});
  }
  return mm;
}

void Metrics::AddComputeFamilies() {
  auto& elements =
      prometheus::BuildCounter()
          .Name("actserve_elements_total")
          .Help("Tensor elements computed, by activation, direction, backend and dtype.")
          .Register(*registry_);
  auto& compute = prometheus::BuildHistogram()
                      .Name("actserve_compute_seconds")
                      .Help("Time spent computing one request, by backend and direction.")
                      .Register(*registry_);
  const char* directions[2] = {"forward", "backward"};
  for (const std::string& backend : backends_) {
    elements_.emplace_back();
    for (const ActivationInfo& info : AllActivations()) {
      std::array<std::array<prometheus::Counter*, 2>, 2> by;
      for (int d = 0; d < 2; ++d) {
        for (int t = 0; t < 2; ++t) {
          by[d][t] = &elements.Add({{"activation", info.name},
                                    {"direction", directions[d]},
                                    {"backend", backend},
                                    {"dtype", t ? "float64" : "float32"}});
        }
      }
      elements_.back().push_back(by);
    }
    compute_seconds_.emplace_back();
    for (int d = 0; d < 2; ++d) {
      compute_seconds_.back()[d] = &compute.Add(
          {{"backend", backend}, {"direction", directions[d]}},
          prometheus::Histogram::BucketBoundaries{1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3,
                                                  1e-2, 5e-2, 0.1, 0.5, 1, 5});
    }
  }
  rejections_ =
      &prometheus::BuildCounter()
           .Name("actserve_compute_rejections_total")
           .Help("Requests refused with RESOURCE_EXHAUSTED because the compute queue was full.")
           .Register(*registry_)
           .Add({});
}

void Metrics::AddTrainingFamilies() {
  jobs_submitted_ = &prometheus::BuildCounter()
                         .Name("actserve_training_jobs_submitted_total")
                         .Help("Training jobs accepted (sweeps count one per job).")
                         .Register(*registry_)
                         .Add({});
  auto& ended = prometheus::BuildCounter()
                    .Name("actserve_training_jobs_ended_total")
                    .Help("Training jobs that ended, by end state.")
                    .Register(*registry_);
  const char* states[3] = {"succeeded", "failed", "cancelled"};
  for (int i = 0; i < 3; ++i) jobs_ended_[i] = &ended.Add({{"state", states[i]}});
  job_seconds_ = &prometheus::BuildHistogram()
                      .Name("actserve_training_job_duration_seconds")
                      .Help("Time from a job's start on a worker to its end.")
                      .Register(*registry_)
                      .Add({}, prometheus::Histogram::BucketBoundaries{0.01, 0.1, 0.5, 1, 5, 10, 30,
                                                                       60, 300, 900, 1800, 3600});
  training_steps_ = &prometheus::BuildCounter()
                         .Name("actserve_training_steps_total")
                         .Help("Training steps (one batch: forward, backward, update) done.")
                         .Register(*registry_)
                         .Add({});
  jobs_resumed_ = &prometheus::BuildCounter()
                       .Name("actserve_training_jobs_resumed_total")
                       .Help(
                           "Training jobs that were running when the server stopped and were "
                           "resumed (from their last checkpoint) when it started again.")
                       .Register(*registry_)
                       .Add({});
  checkpoint_seconds_ = &prometheus::BuildHistogram()
                             .Name("actserve_training_checkpoint_seconds")
                             .Help(
                                 "Time to write a running job's checkpoint durably and record "
                                 "it in the job store.")
                             .Register(*registry_)
                             .Add({}, prometheus::Histogram::BucketBoundaries{
                                          0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5});
  store_errors_ = &prometheus::BuildCounter()
                       .Name("actserve_job_store_errors_total")
                       .Help(
                           "Writes to the durable job store that failed (a full disk, an I/O "
                           "error), by operation.")
                       .Register(*registry_);
  for (const char* op : {"submit", "checkpoint", "update", "finish", "delete"}) {
    store_errors_->Add({{"operation", op}});
  }
}

void Metrics::RecordStoreError(const std::string& operation) {
  store_errors_->Add({{"operation", operation}}).Increment();
}

void Metrics::AddBuildInfo(int cuda_devices) {
  prometheus::BuildGauge()
      .Name("actserve_build_info")
      .Help("Build information: version and compiled backends; always 1.")
      .Register(*registry_)
      .Add({{"version", kVersion}, {"backends", absl::StrJoin(backends_, ",")}})
      .Set(1);
  prometheus::BuildGauge()
      .Name("actserve_cuda_devices")
      .Help("CUDA devices the server found at start (0 without a device, driver or CUDA build).")
      .Register(*registry_)
      .Add({})
      .Set(cuda_devices);
}

Metrics::~Metrics() = default;

std::vector<std::shared_ptr<prometheus::Collectable>> Metrics::Collectables() const {
  return {process_, registry_};
}

std::shared_ptr<prometheus::Collectable> NewStateCollector(StateSources sources) {
  return std::make_shared<SourcesCollector>(std::move(sources));
}

std::shared_ptr<prometheus::Collectable> NewTenantCollector(
    std::function<std::vector<TenantCounters>()> source) {
  return std::make_shared<TenantCollector>(std::move(source));
}

void Metrics::RecordRejection(const char* path, Rejection reason) {
  ForMethod(path).rejected[static_cast<int>(reason)]->Increment();
  if (reason == Rejection::kBusy) rejections_->Increment();
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
Metrics::NewInterceptorFactory() {
  return std::make_unique<InterceptorFactory>(this);
}

const Metrics::MethodMetrics& Metrics::ForMethod(const char* path) const {
  for (const auto& [p, m] : methods_) {
    if (std::strcmp(p.c_str(), path) == 0) return m;
  }
  return unknown_method_;
}

void Metrics::RecordJobEnded(int state, double seconds) {
  jobs_ended_[state]->Increment();
  job_seconds_->Observe(seconds);
}

void Metrics::RecordCompute(ActivationId id, bool backward, bool fp64, std::string_view backend,
                            int64_t elements, double seconds) {
  size_t b = 0;
  while (b + 1 < backends_.size() && backends_[b] != backend) ++b;
  elements_[b][static_cast<int>(id)][backward][fp64]->Increment(static_cast<double>(elements));
  compute_seconds_[b][backward]->Observe(seconds);
}

}  // namespace actserve::server
