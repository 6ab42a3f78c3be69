// actserve: the gRPC activation server. `actserve` alone serves on 127.0.0.1:50051. This file
// holds the flags and wires the components together (see Run); requests enter in server/api/.
// SIGTERM or SIGINT: health turns NOT_SERVING, new calls get UNAVAILABLE, calls in flight finish
// within --drain_deadline, then the process exits 0.
#include <malloc.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cuda/cuda_backend.h"
#include "prometheus/exposer.h"
#include "server/admission/admission.h"
#include "server/admission/memory_admission.h"
#include "server/admission/memory_budget.h"
#include "server/admission/tenant_quotas.h"
#include "server/api/activation_service.h"
#include "server/api/convert_training.h"
#include "server/api/handler.h"
#include "server/api/training_service.h"
#include "server/auth/auth_admission.h"
#include "server/auth/grpc_auth.h"
#include "server/auth/server_security.h"
#include "server/compute/compute_pool.h"
#include "server/jobs/job_manager.h"
#include "server/jobs/job_store.h"
#include "server/metrics/exposer_options.h"
#include "server/metrics/https_endpoint.h"
#include "server/metrics/metrics.h"

ABSL_FLAG(std::string, address, "127.0.0.1:50051",
          "Address to serve gRPC on, host:port. Port 0 picks a free port (printed at start).");
ABSL_FLAG(std::string, metrics_address, "127.0.0.1:9464",
          "Address to serve Prometheus metrics on (http://ADDRESS/metrics); empty: no metrics. "
          "Port 0 picks a free port (printed at start).");
ABSL_FLAG(int, compute_threads, 0, "Threads that compute requests (0: one per hardware thread).");
ABSL_FLAG(int, kernel_threads, 0,
          "Threads one large tensor may be split across (0: one per hardware thread).");
ABSL_FLAG(int, max_queued, 256,
          "Requests that may wait for a compute thread; beyond, RESOURCE_EXHAUSTED.");
ABSL_FLAG(int64_t, max_elements, int64_t{64} << 20,
          "Largest tensor in elements; beyond, RESOURCE_EXHAUSTED.");
ABSL_FLAG(int, max_message_bytes, 512 << 20,
          "Largest request or response message in bytes; beyond, RESOURCE_EXHAUSTED.");
ABSL_FLAG(int, malloc_arenas, 2,
          "glibc malloc arenas (0: glibc's default of 8 per core). Few arenas keep freed tensor "
          "buffers reusable across threads: less memory and fewer page faults under load.");
ABSL_FLAG(int64_t, malloc_keep_bytes, int64_t{256} << 20,
          "Freed memory that glibc keeps for reuse instead of handing back to the kernel "
          "(M_TRIM_THRESHOLD), with buffers up to 32 MiB or this, if less, taken from that kept "
          "heap rather than fresh mappings (M_MMAP_THRESHOLD). Every fresh page costs a fault "
          "(dearer still in a VM): a 4 MiB request on fresh memory spent most of its time in them. "
          "0: glibc's adaptive defaults.");
ABSL_FLAG(bool, mutex_deadlock_detection, false,
          "Abseil's lock-order checking on every Mutex acquisition, gRPC's own included (on by "
          "default in Debian's Abseil build): a debugging aid that cost about 8% of a 1 Ki "
          "call's CPU; tests turn it on.");
ABSL_FLAG(int64_t, max_memory_bytes, 0,
          "The memory budget: bytes that requests, stream messages and training jobs may hold "
          "at once; beyond, RESOURCE_EXHAUSTED saying what was asked and what is free. 0: half "
          "of what the process may use (its cgroup's memory limit, else RLIMIT_AS, else the "
          "physical memory).");
ABSL_FLAG(bool, http2_bdp_probe, false,
          "Let HTTP/2 flow control grow receive windows by bandwidth-delay probing. Off by "
          "default: a stream's window then stays at gRPC's default beyond the message being "
          "read, so clients sending on streams the server does not read cannot park megabytes "
          "each in the transport, outside the memory budget (tests/abuse_test.py: 674 MiB peak "
          "with it, 263 MiB without). Measured on loopback, turning it off cost no throughput.");
ABSL_FLAG(int, max_streams, 64,
          "Evaluate and WatchJob streams open at once; more get RESOURCE_EXHAUSTED.");
ABSL_FLAG(int, training_workers, 0,
          "Training jobs that run at once, one thread each (0: half the hardware threads, at "
          "least 1).");
ABSL_FLAG(int, max_queued_jobs, 64,
          "Training jobs that may wait for a worker; more get RESOURCE_EXHAUSTED.");
ABSL_FLAG(int, max_retained_jobs, 256,
          "Ended training jobs kept for GetJob, WatchJob and Predict; the oldest go first.");
ABSL_FLAG(std::string, state_dir, "",
          "Directory for the durable job store: accepted training jobs, their checkpoints and "
          "results survive restarts and crashes (kill -9), and running jobs resume from their last "
          "checkpoint. Empty: jobs live in memory and a restart loses them. One server per "
          "directory (a lock refuses a second).");
ABSL_FLAG(int64_t, checkpoint_steps, 500,
          "With --state_dir: a running job is checkpointed once this many steps and "
          "--checkpoint_interval have both passed since its last checkpoint.");
ABSL_FLAG(absl::Duration, checkpoint_interval, absl::Seconds(10),
          "With --state_dir: the least time between two checkpoints of a job.");
ABSL_FLAG(absl::Duration, retain_jobs_for, absl::Hours(24 * 30),
          "Ended training jobs older than this are forgotten (with --max_retained_jobs), "
          "from memory and the state directory. inf: kept until displaced.");
ABSL_FLAG(absl::Duration, max_job_time, absl::Minutes(30),
          "Longest a training job may train; it then fails with DEADLINE_EXCEEDED.");
ABSL_FLAG(int64_t, max_job_parameters, int64_t{16} << 20,
          "Largest network (weights and biases) a training job may have.");
ABSL_FLAG(int64_t, max_job_data_elements, int64_t{64} << 20,
          "Most feature and target values a training job may hold, all data sets together.");
ABSL_FLAG(int64_t, max_job_steps, int64_t{10} << 20,
          "Most training steps (epochs x steps per epoch) one job may take.");
ABSL_FLAG(bool, cuda, true,
          "Use a CUDA device when the build has the CUDA backend and one is found; otherwise the "
          "server computes on the CPU alone.");
ABSL_FLAG(int, cuda_device, 0, "The CUDA device to use.");
ABSL_FLAG(int64_t, cuda_min_elements, std::numeric_limits<int64_t>::max(),
          "Requests with BACKEND_UNSPECIFIED go to the GPU from this many input elements. The "
          "default is never: measured on an H200 with a 16-core Xeon, the copies to and from the "
          "device cost more than the CPU's whole computation at every size up to 64 Mi elements "
          "(kernels/README.md, \"GPU check\"). Set it on a host with few cores for its GPU.");
ABSL_FLAG(absl::Duration, drain_deadline, absl::Seconds(10),
          "On SIGTERM/SIGINT, how long calls in flight may take to finish.");

ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain to serve TLS with (with --tls_key); reloaded when it changes.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert; reloaded when it changes.");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle: clients must present a certificate it signed (mTLS). Needs --tls_cert.");
ABSL_FLAG(std::string, tokens_file, "",
          "Bearer tokens and their tenants and roles, one 'sha256:<hex> <tenant> <roles>' per "
          "line (server/auth/README.md); reloaded when it changes. Empty: no tokens, every "
          "caller is an admin (then the server serves loopback only unless --insecure).");
ABSL_FLAG(bool, insecure, false,
          "Allow serving a non-loopback --address without TLS and tokens (or client "
          "certificates).");
ABSL_FLAG(bool, reflection, false,
          "Serve gRPC reflection on a non-loopback --address too (on loopback it is always on).");
ABSL_FLAG(bool, metrics_tls, false,
          "Serve /metrics over HTTPS (TLS 1.2 and later) with the certificate and key of "
          "--tls_cert and --tls_key, read at start (a rotation needs a restart here).");
ABSL_FLAG(absl::Duration, credentials_reload, absl::Seconds(1),
          "How often the TLS files and the tokens file are checked for changes.");

// Quotas per tenant (the tokens file's tenants; server/admission/tenant_quotas.h). Without
// --tokens_file there is one caller and no quotas.
ABSL_FLAG(double, tenant_rps, 0,
          "Requests per second each tenant may send (a token bucket of --tenant_burst); beyond, "
          "RESOURCE_EXHAUSTED with a retry delay. 0: no rate limit.");
ABSL_FLAG(double, tenant_burst, 0,
          "Requests a tenant may send at once above --tenant_rps (0: one second's worth).");
ABSL_FLAG(int, tenant_max_calls, 0,
          "Calls and streams one tenant may have in flight. 0: half of --max_queued plus the "
          "compute threads, so that one tenant cannot fill the compute queue; -1: no limit.");
ABSL_FLAG(int64_t, tenant_max_bytes, 0,
          "Request bytes one tenant may have in flight. 0: what half of the memory budget holds "
          "(requests are charged 4 times their size); -1: no limit.");
ABSL_FLAG(int, tenant_max_jobs, 0,
          "Training jobs one tenant may have queued or running. 0: half of --max_queued_jobs "
          "(at least 1); -1: no limit.");

namespace actserve::server {
namespace {

constexpr char kServiceName[] = "actserve.v1.ActivationService";
constexpr char kTrainingServiceName[] = "actserve.v1.TrainingService";

// SIGTERM and SIGINT, blocked in every thread: they are taken by sigwait in Run. Call before any
// other thread starts.
sigset_t BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A file-size limit (ulimit -f) makes a write fail with EFBIG, which the job store handles as
  // a full disk, rather than end the process.
  signal(SIGXFSZ, SIG_IGN);
  return signals;
}

int HardwareThreads() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// The backends the flags ask for and the machine has; logs them on stderr (stdout's first line
// is the "listening on" line that scripts wait for).
struct OwnedBackends {
  std::unique_ptr<Backend> cpu, cuda;
  Backends view;
  std::vector<std::string> names;  // for the metrics' backend label
};
OwnedBackends OpenBackends() {
  OwnedBackends b;
  b.cpu = NewCpuBackend({.threads = absl::GetFlag(FLAGS_kernel_threads)});
  b.view = {.cpu = b.cpu.get(), .cuda_min_elements = absl::GetFlag(FLAGS_cuda_min_elements)};
  b.names = {"cpu"};
  if (!absl::GetFlag(FLAGS_cuda)) {
    b.view.cuda_unavailable = "turned off with --nocuda";
  } else if (absl::StatusOr<std::unique_ptr<Backend>> gpu =
                 NewCudaBackend({.device = absl::GetFlag(FLAGS_cuda_device)});
             gpu.ok()) {
    b.cuda = *std::move(gpu);
    b.view.cuda = b.cuda.get();
    b.view.cuda_device = absl::GetFlag(FLAGS_cuda_device);
    b.names.push_back("cuda");
  } else {
    b.view.cuda_unavailable = std::string(gpu.status().message());
  }
  std::fprintf(stderr, "actserve: backends: cpu%s (CUDA %s: %s)\n",
               b.cuda != nullptr ? ", cuda" : "",
               CudaCompiledIn() ? "compiled in" : "not compiled in",
               b.cuda != nullptr ? DescribeCudaDevices().c_str() : b.view.cuda_unavailable.c_str());
  return b;
}

TrainingLimits TrainingLimitsFromFlags() {
  TrainingLimits limits;
  limits.core.max_wall_time = absl::GetFlag(FLAGS_max_job_time);
  limits.core.max_parameters = absl::GetFlag(FLAGS_max_job_parameters);
  limits.core.max_data_elements = absl::GetFlag(FLAGS_max_job_data_elements);
  limits.core.max_total_steps = absl::GetFlag(FLAGS_max_job_steps);
  limits.max_tensor_elements = absl::GetFlag(FLAGS_max_job_data_elements);
  return limits;
}

JobManagerOptions JobOptionsFromFlags(const Backends& backends) {
  const int workers = absl::GetFlag(FLAGS_training_workers);
  return {.workers = workers > 0 ? workers : std::max(1, HardwareThreads() / 2),
          .max_queued = absl::GetFlag(FLAGS_max_queued_jobs),
          .max_retained = absl::GetFlag(FLAGS_max_retained_jobs),
          .cuda_device = backends.cuda_device,
          .max_age = absl::GetFlag(FLAGS_retain_jobs_for),
          .checkpoint_steps = std::max<int64_t>(1, absl::GetFlag(FLAGS_checkpoint_steps)),
          .checkpoint_interval = absl::GetFlag(FLAGS_checkpoint_interval)};
}

// A per-tenant limit from its flag: 0 gives `fallback`, a negative value no limit (0).
int64_t TenantLimit(int64_t flag, int64_t fallback) {
  if (flag < 0) return 0;
  return flag > 0 ? flag : std::max<int64_t>(1, fallback);
}

// The per-tenant metrics: the quotas' counters and the job manager's refusals ("jobs").
std::vector<TenantCounters> TenantCountersOf(const std::vector<TenantUsage>& usage,
                                             const std::map<std::string, int64_t>& job_refusals) {
  std::map<std::string, TenantCounters> by_tenant;
  for (const TenantUsage& u : usage) {
    TenantCounters& c = by_tenant[u.tenant];
    c.requests = u.admitted;
    c.request_bytes = u.admitted_bytes;
    c.calls_in_flight = u.calls_in_flight;
    for (int r = 0; r < static_cast<int>(QuotaReason::kCount); ++r) {
      c.rejections.emplace_back(QuotaReasonName(static_cast<QuotaReason>(r)), u.rejected[r]);
    }
  }
  for (const auto& [tenant, n] : job_refusals) by_tenant[tenant].rejections.emplace_back("jobs", n);
  std::vector<TenantCounters> out;
  for (auto& [tenant, c] : by_tenant) {
    c.tenant = tenant;
    out.push_back(std::move(c));
  }
  return out;
}

// The metrics endpoint on --metrics_address (HTTP through prometheus-cpp's Exposer, or HTTPS
// with --metrics_tls), and what it serves: `metrics` and the gauges read from `state`. The
// endpoint holds its collectables weakly; they live here with it.
struct MetricsEndpoint {
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables;
  std::unique_ptr<prometheus::Exposer> exposer;  // HTTP
  std::unique_ptr<HttpsMetricsEndpoint> https;   // or HTTPS

  bool serving() const { return exposer != nullptr || https != nullptr; }
  void Add(std::shared_ptr<prometheus::Collectable> collectable) {
    if (exposer != nullptr) exposer->RegisterCollectable(collectable);
    if (https != nullptr) https->RegisterCollectable(collectable);
    collectables.push_back(std::move(collectable));
  }
  int port() const {
    return https != nullptr ? https->port()
                            : static_cast<int>(exposer->GetListeningPorts().front());
  }
};
// False (after saying why) if it cannot listen.
bool ServeMetrics(const Metrics& metrics, StateSources state, MetricsEndpoint* endpoint) {
  const std::string address = absl::GetFlag(FLAGS_metrics_address);
  if (absl::GetFlag(FLAGS_metrics_tls)) {
    absl::StatusOr<std::unique_ptr<HttpsMetricsEndpoint>> https = HttpsMetricsEndpoint::Start(
        address, absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key));
    if (!https.ok()) {
      std::fprintf(stderr, "actserve: %s\n", std::string(https.status().message()).c_str());
      return false;
    }
    endpoint->https = *std::move(https);
  } else {
    try {
      endpoint->exposer = NewExposer(address);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "actserve: cannot serve metrics on %s (%s)\n", address.c_str(),
                   e.what());
      return false;
    }
  }
  for (auto& c : metrics.Collectables()) endpoint->Add(std::move(c));
  endpoint->Add(NewStateCollector(std::move(state)));
  return true;
}

// The lines scripts wait for, on stdout: where the server listens (first) and its metrics.
void AnnounceListening(int port, int compute_threads, int training_workers,
                       const MetricsEndpoint& metrics) {
  const std::string address = absl::GetFlag(FLAGS_address);
  std::printf("actserve: listening on %s:%d (%d compute threads, %d training workers)\n",
              address.substr(0, address.rfind(':')).c_str(), port, compute_threads,
              training_workers);
  if (metrics.serving()) {
    const std::string metrics_address = absl::GetFlag(FLAGS_metrics_address);
    std::printf("actserve: metrics on %s://%s:%d/metrics\n",
                metrics.https != nullptr ? "https" : "http",
                metrics_address.substr(0, metrics_address.rfind(':')).c_str(), metrics.port());
  }
  std::fflush(stdout);
}

// Builds and starts the gRPC server with `services`, health and (if `security` says so)
// reflection, on `security`'s credentials; null (after saying
// why) if it cannot listen. `*port` receives the port it listens on.
std::unique_ptr<grpc::Server> StartServer(const std::vector<grpc::Service*>& services,
                                          const auth::ServerSecurity& security, Metrics* metrics,
                                          int* port) {
  grpc::EnableDefaultHealthCheckService(true);
  if (security.reflection) grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // Without this, a second server on a busy port would silently share it (SO_REUSEPORT).
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, absl::GetFlag(FLAGS_http2_bdp_probe));
  const std::string address = absl::GetFlag(FLAGS_address);
  builder.AddListeningPort(address, security.credentials, port);
  builder.SetMaxReceiveMessageSize(absl::GetFlag(FLAGS_max_message_bytes));
  builder.SetMaxSendMessageSize(absl::GetFlag(FLAGS_max_message_bytes));
  for (grpc::Service* service : services) builder.RegisterService(service);
  if (metrics != nullptr) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(metrics->NewInterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || *port == 0) {
    std::fprintf(stderr, "actserve: cannot listen on %s (address in use, or not host:port)\n",
                 address.c_str());
    return nullptr;
  }
  server->GetHealthCheckService()->SetServingStatus(kServiceName, true);
  server->GetHealthCheckService()->SetServingStatus(kTrainingServiceName, true);
  return server;
}

// Lame duck first: health says NOT_SERVING and new calls get UNAVAILABLE (clients and load
// balancers move on) while accepted calls, streams and training jobs finish; then the server
// shuts down, cancelling only what outlived --drain_deadline.
void Drain(grpc::Server& server, CallTracker& calls, JobManager& jobs, bool durable) {
  // The lame-duck period lasts at least 1 s (or the whole deadline if shorter), so that clients
  // between two calls meet UNAVAILABLE rather than a closed port; refused calls are told to
  // retry after it.
  const absl::Duration drain = absl::GetFlag(FLAGS_drain_deadline);
  const absl::Time deadline = absl::Now() + drain;
  const absl::Time lame_duck_end = absl::Now() + std::min(drain, absl::Seconds(1));
  server.GetHealthCheckService()->SetServingStatus(false);
  calls.StartDraining(lame_duck_end);
  jobs.StartDraining();
  // Durable jobs do not hold the drain up: they stop at their next step and the next server on
  // the state directory resumes them.
  if (durable) jobs.Suspend();
  // Accepted training jobs get the same deadline to finish (their watchers end with them).
  if (!jobs.WaitUntilIdle(deadline) || !calls.WaitUntilIdle(deadline)) {
    std::fprintf(stderr, "actserve: drain deadline passed; cancelling what is still in flight\n");
    // Cancelled jobs stop within a step, and their watchers receive the end state.
    jobs.CancelAll();
    jobs.WaitUntilIdle(absl::Now() + absl::Seconds(1));
  }
  absl::SleepFor(lame_duck_end - absl::Now());
  // Our calls and streams are done (or out of time): what remains, such as health watches, is
  // cancelled after a short grace.
  server.Shutdown(absl::ToChronoTime(absl::Now() + absl::Milliseconds(100)));
  server.Wait();
}

// The components in dependency order: backends, metrics (which depend on nothing), the
// handler path, the job manager, the services; then the metrics endpoint, whose scrape-time
// gauges read the components, and the gRPC server.
int Run() {
  if (absl::GetFlag(FLAGS_malloc_arenas) > 0) {
    mallopt(M_ARENA_MAX, absl::GetFlag(FLAGS_malloc_arenas));
  }
  if (!absl::GetFlag(FLAGS_mutex_deadlock_detection)) {
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  }
  if (const int64_t keep = absl::GetFlag(FLAGS_malloc_keep_bytes); keep > 0) {
    constexpr int64_t kLargestHeapBuffer = 32 << 20;  // glibc's ceiling for M_MMAP_THRESHOLD
    mallopt(M_TRIM_THRESHOLD, static_cast<int>(std::min<int64_t>(keep, INT32_MAX)));
    mallopt(M_MMAP_THRESHOLD, static_cast<int>(std::min(keep, kLargestHeapBuffer)));
  }
  sigset_t signals = BlockStopSignals();
  absl::StatusOr<auth::ServerSecurity> security =
      auth::SetUpSecurity({.address = absl::GetFlag(FLAGS_address),
                           .tls_cert = absl::GetFlag(FLAGS_tls_cert),
                           .tls_key = absl::GetFlag(FLAGS_tls_key),
                           .tls_client_ca = absl::GetFlag(FLAGS_tls_client_ca),
                           .tokens_file = absl::GetFlag(FLAGS_tokens_file),
                           .insecure = absl::GetFlag(FLAGS_insecure),
                           .reflection = absl::GetFlag(FLAGS_reflection),
                           .reload_interval = absl::GetFlag(FLAGS_credentials_reload)});
  if (!security.ok()) {
    std::fprintf(stderr, "actserve: %s\n", std::string(security.status().message()).c_str());
    return 1;
  }
  if (absl::GetFlag(FLAGS_metrics_tls) && absl::GetFlag(FLAGS_tls_cert).empty()) {
    std::fprintf(stderr,
                 "actserve: --metrics_tls serves the certificate of --tls_cert and --tls_key: "
                 "pass them too\n");
    return 1;
  }
  std::fprintf(stderr, "actserve: security: %s\n", security->summary.c_str());
  OwnedBackends backends = OpenBackends();
  std::unique_ptr<Metrics> metrics;  // null: no metrics
  if (!absl::GetFlag(FLAGS_metrics_address).empty()) {
    metrics = std::make_unique<Metrics>(backends.names, backends.cuda != nullptr ? 1 : 0);
  }
  const int compute_threads = absl::GetFlag(FLAGS_compute_threads) > 0
                                  ? absl::GetFlag(FLAGS_compute_threads)
                                  : HardwareThreads();
  ComputePool pool(compute_threads, absl::GetFlag(FLAGS_max_queued));
  CallTracker calls;
  const int64_t max_memory = absl::GetFlag(FLAGS_max_memory_bytes) > 0
                                 ? absl::GetFlag(FLAGS_max_memory_bytes)
                                 : DefaultMaxMemoryBytes();
  MemoryBudget budget(max_memory);
  std::fprintf(stderr, "actserve: memory budget %s (%s)\n", HumanBytes(max_memory).c_str(),
               absl::GetFlag(FLAGS_max_memory_bytes) > 0
                   ? "--max_memory_bytes"
                   : absl::StrCat("half of ", ProcessMemoryLimit().source).c_str());
  MemoryTrimmer trimmer(budget, absl::Seconds(1));
  std::unique_ptr<Admission> memory =
      NewMemoryAdmission(budget, {.max_streams = absl::GetFlag(FLAGS_max_streams)});
  // The one admission chain: authentication and roles first, then the caller's tenant's quotas,
  // so that the memory admission after them sees (and charges) only authorized, metered calls.
  // Tenants exist with a tokens file; without one there is no chain before the memory.
  std::unique_ptr<TenantQuotas> quotas;
  std::unique_ptr<Admission> authenticated;
  JobManagerOptions job_options = JobOptionsFromFlags(backends.view);
  if (security->tokens != nullptr) {
    quotas = std::make_unique<TenantQuotas>(
        TenantQuotaOptions{.requests_per_second = absl::GetFlag(FLAGS_tenant_rps),
                           .burst = absl::GetFlag(FLAGS_tenant_burst),
                           .max_calls = static_cast<int>(TenantLimit(
                               absl::GetFlag(FLAGS_tenant_max_calls),
                               (absl::GetFlag(FLAGS_max_queued) + compute_threads) / 2)),
                           .max_bytes = TenantLimit(absl::GetFlag(FLAGS_tenant_max_bytes),
                                                    max_memory / 2 / kRequestCopies)},
        *memory);
    authenticated = auth::NewAuthAdmission(*security->tokens, *quotas);
    job_options.max_active_per_owner = static_cast<int>(
        TenantLimit(absl::GetFlag(FLAGS_tenant_max_jobs), job_options.max_queued / 2));
  }
  Handler handler(pool, calls, authenticated != nullptr ? *authenticated : *memory, metrics.get());
  job_options.budget = &budget;
  const TrainingLimits training_limits = TrainingLimitsFromFlags();
  std::unique_ptr<JobStore> store;
  if (!absl::GetFlag(FLAGS_state_dir).empty()) {
    absl::StatusOr<std::unique_ptr<JobStore>> opened =
        JobStore::Open(absl::GetFlag(FLAGS_state_dir));
    if (!opened.ok()) {
      std::fprintf(stderr, "actserve: %s\n", std::string(opened.status().message()).c_str());
      return 1;
    }
    store = *std::move(opened);
    if (!store->salvage_report().empty()) {
      std::fprintf(stderr, "actserve: %s\n", store->salvage_report().c_str());
    }
    job_options.store = store.get();
    job_options.rebuild = [&training_limits, &backends](const std::string& recipe) {
      return RebuildJobInput(recipe, training_limits, backends.view);
    };
    job_options.rebuild_network = RebuildNetwork;
  } else {
    std::fprintf(stderr,
                 "actserve: training jobs live in memory (no --state_dir): a restart loses them\n");
  }
  JobManager jobs(job_options, metrics.get());
  const auth::CallGuard guard(security->tokens.get());
  TrainingServiceImpl training(jobs, handler, backends.view, training_limits, guard);
  ActivationServiceImpl activation(
      backends.view, handler, {.max_elements = absl::GetFlag(FLAGS_max_elements)}, metrics.get());

  MetricsEndpoint endpoint;
  if (metrics != nullptr &&
      !ServeMetrics(*metrics,
                    {.in_flight = [&calls] { return calls.in_flight(); },
                     .queue_depth = [&pool] { return pool.queued(); },
                     .jobs_queued = [&jobs] { return jobs.queued(); },
                     .jobs_running = [&jobs] { return jobs.running(); },
                     .jobs_memory_bytes = [&jobs] { return jobs.memory_bytes(); },
                     .job_store_bytes = store == nullptr ? std::function<int64_t()>()
                                                         : [&store] { return store->bytes_used(); },
                     .memory_budget_bytes = [&budget] { return budget.capacity(); },
                     .memory_reserved_bytes = [&budget] { return budget.stats().reserved; },
                     .memory_rejections = [&budget] { return budget.stats().rejections; },
                     .insecure = security->insecure},
                    &endpoint)) {
    return 1;
  }
  if (endpoint.serving() && quotas != nullptr) {
    endpoint.Add(NewTenantCollector(
        [&quotas, &jobs] { return TenantCountersOf(quotas->Usage(), jobs.owner_rejections()); }));
  }
  int port = 0;
  std::unique_ptr<grpc::Server> server =
      StartServer({&activation, &training}, *security, metrics.get(), &port);
  if (server == nullptr) return 1;
  AnnounceListening(port, compute_threads, job_options.workers, endpoint);

  int signal = 0;
  sigwait(&signals, &signal);
  std::fprintf(stderr, "actserve: %s, draining (up to %s)\n", strsignal(signal),
               absl::FormatDuration(absl::GetFlag(FLAGS_drain_deadline)).c_str());
  Drain(*server, calls, jobs, store != nullptr);
  std::fprintf(stderr, "actserve: stopped\n");
  return 0;
}

}  // namespace
}  // namespace actserve::server

int main(int argc, char** argv) {
  // --help lists this binary's own flags (those defined in this file).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "server/main.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(
      "actserve [flags]: serves actserve.v1.ActivationService (activation functions forward "
      "and backward) and actserve.v1.TrainingService (small-MLP training jobs) over gRPC, with "
      "the gRPC health and reflection services.");
  absl::ParseCommandLine(argc, argv);
  return actserve::server::Run();
}
