// actload: a gRPC load tester for actserve that measures what users feel. See README.md here
// and `actload --help`.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/actload/driver.h"
#include "client/actload/report_format.h"
#include "client/actload/runner.h"
#include "client/actload/schedule.h"
#include "client/actload/server_metrics.h"
#include "client/actload/sweep.h"
#include "client/actload/workload.h"
#include "client/lib/credential_flags.h"
#include "client/lib/training_client.h"
#include "google/protobuf/text_format.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051",
          "Target: HOST:PORT, or a gRPC target such as ipv4:127.0.0.1:50051,127.0.0.1:50052 or "
          "dns:///host:port (calls are spread with round_robin over its addresses).");
ABSL_FLAG(int, channels, 1, "Channels (each its own connection) to spread calls over.");
ABSL_FLAG(std::string, concurrency, "",
          "Closed loop: calls in flight, as a schedule (see SCHEDULES). The default mode, with 8.");
ABSL_FLAG(std::string, rate, "",
          "Open loop: arrivals per second, as a schedule (see SCHEDULES). Latency is timed from "
          "each arrival's intended send time.");
ABSL_FLAG(std::string, arrivals, "constant",
          "Open loop arrivals: constant (evenly spaced) or "
          "poisson (exponential gaps, reproducible by --seed).");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10),
          "Measured time for a constant schedule (a stepped or ramped schedule has its own).");
ABSL_FLAG(int64_t, requests, 0, "Stop after this many measured calls (0: no limit).");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(1),
          "Load sent first and not recorded (at the schedule's first value).");
ABSL_FLAG(std::string, workload, "forward",
          "forward | backward (unary calls of --activation on --elements values of --dtype), "
          "mix (the calls of --mix), train (training jobs of --job, each submitted and watched "
          "to its end), echo (../shared/bench/grpc's echo server, --elements floats: a baseline "
          "of actload's own cost).");
ABSL_FLAG(std::string, activation, "relu", "Activation of the forward/backward workloads.");
ABSL_FLAG(int64_t, elements, 1024, "Values per tensor (forward, backward, echo).");
ABSL_FLAG(std::string, dtype, "float32", "float32 or float64 (forward, backward).");
ABSL_FLAG(std::string, mix, "", "Mix file for --workload=mix (see MIX FILES).");
ABSL_FLAG(bool, stream, false,
          "Send forward/backward/mix calls as messages of Evaluate streams instead of unary "
          "calls.");
ABSL_FLAG(int, streams, 0, "Evaluate streams to use (0: one per channel).");
ABSL_FLAG(int, stream_depth, 8,
          "Messages written ahead of their answers on each stream (pipelining).");
ABSL_FLAG(std::string, job, "",
          "JobSpec file for --workload=train (protobuf text, or JSON if it ends in .json). "
          "Default: a tiny XOR network, 2 epochs.");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(30),
          "Deadline of each unary call (and of each training job).");
ABSL_FLAG(int, threads, 2, "Threads receiving unary completions.");
ABSL_FLAG(int64_t, max_in_flight, 10000,
          "Open loop: most calls in flight at once; further arrivals wait in a backlog (and are "
          "still timed from their intended send time).");
ABSL_FLAG(double, max_error_rate, 1,
          "Stop early (exit status 3) when errors exceed this fraction of the calls (after 100 "
          "calls). 1: never.");
ABSL_FLAG(bool, backoff, false,
          "After UNAVAILABLE or RESOURCE_EXHAUSTED, pause sending: the server's "
          "grpc-retry-pushback-ms if it sent one, otherwise exponential back-off with jitter "
          "from --backoff_base to --backoff_max (open loop: delayed arrivals keep their intended "
          "times).");
ABSL_FLAG(absl::Duration, backoff_base, absl::Milliseconds(10), "First back-off pause.");
ABSL_FLAG(absl::Duration, backoff_max, absl::Seconds(1), "Longest back-off pause.");
ABSL_FLAG(absl::Duration, interval, absl::Seconds(1), "Length of a progress/CSV interval.");
ABSL_FLAG(std::string, progress, "auto",
          "auto (a live line on a terminal, plain interval lines otherwise), line, plain, none. "
          "Written to stderr.");
ABSL_FLAG(std::string, json, "",
          "Write the whole result as one JSON object to FILE (- : stdout, "
          "instead of the table).");
ABSL_FLAG(std::string, csv, "", "Write one row per interval to FILE (- : stdout).");
ABSL_FLAG(std::string, svg, "", "Write the SVG report to FILE.");
ABSL_FLAG(std::string, metrics, "",
          "The server's metrics URL(s), comma-separated, one per replica (e.g. "
          "http://127.0.0.1:9464/metrics): scraped before and after the run (and around each "
          "sweep step) for server-side figures.");
ABSL_FLAG(std::string, sweep, "",
          "concurrency:V,V,... | rate:V,V,... | rate:FROM:TO:+STEP: one run per value, until "
          "one misses --slo; reports the best throughput within it and the knee.");
ABSL_FLAG(std::string, slo, "p99<10ms", "Sweep objective: PERCENTILE<DURATION.");
ABSL_FLAG(absl::Duration, sweep_step, absl::Seconds(5), "Measured time of each sweep step.");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the payloads, the mix choices and Poisson arrivals.");

namespace actserve::actload {
namespace {

constexpr char kUsage[] = R"(load testing for an actserve server, open or closed loop.

USAGE
  actload [--server=HOST:PORT] [--concurrency=SCHEDULE | --rate=SCHEDULE] [--workload=...]
          [--duration=10s | --requests=N] [--json=FILE] [--csv=FILE] [--svg=FILE] ...

MODES
  Closed loop (--concurrency, the default with 8): a fixed number of calls in flight, each
  followed by the next as soon as it ends. Latency is timed from each call's send; a stalled
  server slows the client down, so few slow calls are seen (coordinated omission).
  Open loop (--rate): arrivals at the asked rate whatever the server does, each timed from its
  intended send time, so a stall is charged to every call it delayed. A run that cannot keep up
  says so: achieved versus asked rate, and the backlog of arrivals not yet sent.

SCHEDULES (--rate, --concurrency)
  500                 constant, for --duration (or --requests)
  100:2000:+100/10s   steps: 100, 200, ... 2000, 10 s each
  100:2000/60s        linear ramp over 60 s
  @FILE               phases, one per line: "10s 100" (constant) or "30s 100..1000" (ramp)

WORKLOADS
  forward, backward   unary calls, --activation on --elements values of --dtype
  mix                 weighted calls from --mix (MIX FILES); with --stream over Evaluate streams
  --stream            the calls as messages of Evaluate streams (--streams, --stream_depth
                      messages in flight each, pipelined)
  train               training jobs (--job): submit, watch to the end; latency is the job's
                      duration, throughput jobs/s, and the report counts training steps
  echo                the echo server of ../shared/bench/grpc (--elements floats), a baseline

MIX FILES
  One entry per line: KIND [weight=W] [activation=A[,A...]] [elements=N[:W][,N[:W]...]]
  [dtype=float32|float64], KIND forward or backward. E.g.
    forward  weight=8 activation=relu,gelu elements=1024:3,65536:1
    backward weight=2 activation=swish dtype=float64

SECURITY
  --tls (the system's CAs, or --ca=FILE), --cert/--key for a server with mTLS, and the bearer
  token from --token_file=FILE or the ACTSERVE_TOKEN environment variable, as actctl takes them.

ERRORS
  Counted by their gRPC status code exactly as received (a stream's error responses by theirs),
  with the first messages of each; the run goes on. --max_error_rate stops it early,
  --backoff pauses after UNAVAILABLE / RESOURCE_EXHAUSTED.

OUTPUT
  A summary table on stdout (client and server latency percentiles, errors, sweep table);
  --json one object (asked_rps, achieved_rps, requests, errors_by_code, latency_us{p50, p90,
  p99, p99_9, p99_99, max}, the histogram, intervals, server, sweep); --csv one row per
  interval; --svg rate and latency over time (and the sweep's latency-throughput curve).
  Progress on stderr. Exit status: 0 done, 1 cannot run, 2 bad usage, 3 stopped by
  --max_error_rate.

EXAMPLES
  actload --rate=1000 --duration=30s --metrics=http://127.0.0.1:9464/metrics
  actload --rate=100:2000:+100/10s --arrivals=poisson --svg=ramp.svg --csv=ramp.csv
  actload --workload=mix --mix=mix.txt --stream --stream_depth=16 --concurrency=64
  actload --sweep=concurrency:1,2,4,8,16,32 --slo=p99<5ms --json=sweep.json
  actload --workload=train --concurrency=2 --duration=60s
)";

volatile int g_interrupted = 0;
void OnSigint(int) {
  g_interrupted = 1;
  signal(SIGINT, SIG_DFL);  // a second ^C ends at once
}

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec * 1e-6;
}

int Usage(const std::string& message) {
  std::cerr << "actload: " << message << "\n(see actload --help)\n";
  return 2;
}

constexpr char kDefaultJob[] = R"(name: "xor"
inputs: 2
layers { units: 8 activation: "tanh" }
layers { units: 1 activation: "identity" }
loss: LOSS_MEAN_SQUARED_ERROR
optimizer { kind: KIND_SGD learning_rate: 0.1 }
batch_size: 16
epochs: 2
data { generated { name: "xor" rows: 64 seed: 1 } }
)";

bool WriteFile(const std::string& path, const std::string& text) {
  if (path == "-") {
    std::cout << text << std::flush;
    return true;
  }
  std::ofstream out(path);
  out << text;
  return static_cast<bool>(out);
}

int Main() {
  const std::string concurrency = absl::GetFlag(FLAGS_concurrency);
  const std::string rate = absl::GetFlag(FLAGS_rate);
  const std::string sweep_text = absl::GetFlag(FLAGS_sweep);
  if (!concurrency.empty() && !rate.empty()) return Usage("give --concurrency or --rate, not both");
  bool open_loop = !rate.empty();
  std::optional<SweepPlan> plan;
  std::optional<Slo> slo;
  if (!sweep_text.empty()) {
    auto p = ParseSweep(sweep_text);
    if (!p.ok()) return Usage(std::string(p.status().message()));
    plan = *p;
    open_loop = plan->over == "rate";
    auto s = ParseSlo(absl::GetFlag(FLAGS_slo));
    if (!s.ok()) return Usage(std::string(s.status().message()));
    slo = *s;
  }
  const std::string schedule_text = open_loop ? rate : (concurrency.empty() ? "8" : concurrency);
  absl::StatusOr<Schedule> schedule = Schedule::Constant(1);
  if (!plan) {
    schedule = Schedule::Parse(schedule_text);
    if (!schedule.ok()) return Usage(std::string(schedule.status().message()));
  }
  const std::string arrivals = absl::GetFlag(FLAGS_arrivals);
  if (arrivals != "constant" && arrivals != "poisson") {
    return Usage("--arrivals must be constant or poisson");
  }
  const int channel_count = absl::GetFlag(FLAGS_channels);
  if (channel_count < 1 || absl::GetFlag(FLAGS_threads) < 1 ||
      absl::GetFlag(FLAGS_stream_depth) < 1 || absl::GetFlag(FLAGS_streams) < 0) {
    return Usage("--channels, --threads and --stream_depth must be >= 1, --streams >= 0");
  }
  if (absl::GetFlag(FLAGS_elements) < 0) return Usage("--elements must be >= 0");
  const std::string progress = absl::GetFlag(FLAGS_progress);
  if (progress != "auto" && progress != "line" && progress != "plain" && progress != "none") {
    return Usage("--progress must be auto, line, plain or none");
  }

  // The workload.
  const std::string kind = absl::GetFlag(FLAGS_workload);
  const uint64_t seed = absl::GetFlag(FLAGS_seed);
  std::unique_ptr<Workload> workload;
  v1::JobSpec job;
  std::string workload_label = kind;
  if (kind == "forward" || kind == "backward") {
    MixEntry e;
    e.kind = kind == "forward" ? CallKind::kForward : CallKind::kBackward;
    e.activations = {absl::GetFlag(FLAGS_activation)};
    e.sizes = {{absl::GetFlag(FLAGS_elements), 1}};
    const std::string dtype = absl::GetFlag(FLAGS_dtype);
    if (dtype != "float32" && dtype != "float64") return Usage("--dtype: float32 or float64");
    e.dtype = dtype == "float64" ? v1::DTYPE_FLOAT64 : v1::DTYPE_FLOAT32;
    auto w = Workload::FromMix({e}, seed);
    if (!w.ok()) return Usage(std::string(w.status().message()));
    workload = *std::move(w);
    workload_label = workload->requests()[0].label;
  } else if (kind == "mix") {
    if (absl::GetFlag(FLAGS_mix).empty()) return Usage("--workload=mix needs --mix=FILE");
    auto mix = ReadMixFile(absl::GetFlag(FLAGS_mix));
    if (!mix.ok()) return Usage(std::string(mix.status().message()));
    auto w = Workload::FromMix(*std::move(mix), seed);
    if (!w.ok()) return Usage(std::string(w.status().message()));
    workload = *std::move(w);
    workload_label = absl::StrCat("mix ", absl::GetFlag(FLAGS_mix));
  } else if (kind == "echo") {
    workload = Workload::Echo(absl::GetFlag(FLAGS_elements), seed);
    workload_label = workload->requests()[0].label;
  } else if (kind == "train") {
    if (absl::GetFlag(FLAGS_job).empty()) {
      google::protobuf::TextFormat::ParseFromString(kDefaultJob, &job);
    } else {
      auto spec = client::ReadJobSpec(absl::GetFlag(FLAGS_job));
      if (!spec.ok()) return Usage(std::string(spec.status().message()));
      job = *spec;
    }
    workload_label = absl::StrCat("train ", job.name());
  } else {
    return Usage("--workload must be forward, backward, mix, train or echo");
  }
  const bool stream = absl::GetFlag(FLAGS_stream);
  if (stream && (kind == "train" || kind == "echo")) {
    return Usage("--stream applies to forward, backward and mix");
  }
  if (stream) workload_label += " (Evaluate streams)";

  // Channels.
  const std::string target = absl::GetFlag(FLAGS_server);
  client::ChannelOptions channel_options;
  channel_options.target = target;
  if (absl::Status s = client::ApplyCredentials(client::CredentialsFromFlags(), &channel_options);
      !s.ok()) {
    return Usage(std::string(s.message()));
  }
  std::vector<std::shared_ptr<grpc::Channel>> channels =
      MakeChannels(channel_options, channel_count);
  for (auto& c : channels) {
    if (!c->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
      std::cerr << "actload: cannot connect to " << target << " within 10 s"
                << (channel_options.credentials == nullptr
                        ? " (if the server uses TLS, pass --tls and --ca)"
                        : " (check --tls, --ca, --cert and --key against the server's TLS)")
                << "\n";
      return 1;
    }
  }

  // Output sinks.
  const std::string csv_path = absl::GetFlag(FLAGS_csv);
  std::unique_ptr<std::ofstream> csv_file;
  std::ostream* csv = nullptr;
  if (csv_path == "-") {
    csv = &std::cout;
  } else if (!csv_path.empty()) {
    csv_file = std::make_unique<std::ofstream>(csv_path);
    if (!*csv_file) return Usage("cannot write " + csv_path);
    csv = csv_file.get();
  }
  if (csv) *csv << CsvHeader() << std::flush;
  const bool live = progress == "line" || (progress == "auto" && isatty(STDERR_FILENO));
  const bool plain = progress == "plain" || (progress == "auto" && !live);
  double t_offset = 0;
  auto on_interval = [&](const Interval& iv) {
    Interval shifted = iv;
    shifted.set_t_s(iv.t_s() + t_offset);
    if (csv) *csv << CsvRow(shifted) << std::flush;
    if (live) std::cerr << "\r" << ProgressLine(shifted) << "\x1b[K" << std::flush;
    if (plain) std::cerr << ProgressLine(shifted) << "\n" << std::flush;
  };

  std::vector<std::string> metrics_urls =
      absl::StrSplit(absl::GetFlag(FLAGS_metrics), ',', absl::SkipEmpty());
  signal(SIGINT, OnSigint);

  // One run under `sched`.
  auto run_once = [&](const Schedule& sched, absl::Duration duration, absl::Duration warmup) {
    RunOptions o;
    o.open_loop = open_loop;
    o.poisson = arrivals == "poisson";
    o.schedule = sched;
    o.warmup = warmup;
    o.duration = duration;
    o.requests = absl::GetFlag(FLAGS_requests);
    o.max_in_flight = absl::GetFlag(FLAGS_max_in_flight);
    o.max_error_rate = absl::GetFlag(FLAGS_max_error_rate);
    o.backoff = absl::GetFlag(FLAGS_backoff);
    o.backoff_base = absl::GetFlag(FLAGS_backoff_base);
    o.backoff_max = absl::GetFlag(FLAGS_backoff_max);
    o.interval = absl::GetFlag(FLAGS_interval);
    o.seed = seed;
    o.on_interval = on_interval;
    o.interrupted = &g_interrupted;
    Runner runner(o);
    std::unique_ptr<Driver> driver;
    if (kind == "train") {
      driver = NewTrainDriver(channels, job, absl::GetFlag(FLAGS_deadline), &runner);
    } else if (stream) {
      const int streams =
          absl::GetFlag(FLAGS_streams) ? absl::GetFlag(FLAGS_streams) : channel_count;
      driver = NewStreamDriver(channels, workload.get(), streams, absl::GetFlag(FLAGS_stream_depth),
                               &runner);
    } else {
      driver = NewUnaryDriver(channels, workload.get(), absl::GetFlag(FLAGS_threads),
                              absl::GetFlag(FLAGS_deadline), &runner);
    }
    RunResult result = runner.Run(driver.get());
    if (workload) {
      double bytes = 0;
      for (const auto& r : workload->requests()) bytes += r.serialized.Length();
      bytes /= workload->requests().size();
      result.report.set_request_mb_per_s(result.report.achieved_rps() * bytes / 1e6);
    }
    return result;
  };

  Report report;
  const absl::Time started = absl::Now();
  const double cpu_started = CpuSeconds();
  Scrape before = TakeScrape(metrics_urls);
  if (!plan) {
    report = run_once(*schedule, absl::GetFlag(FLAGS_duration), absl::GetFlag(FLAGS_warmup)).report;
  } else {
    Histogram all;
    Report total;
    bool first = true;
    Sweep sweep = RunSweep(*plan, *slo, [&](double value) {
      Scrape step_before = TakeScrape(metrics_urls);
      const absl::Time step_start = absl::Now();
      const absl::Duration warmup =
          first ? absl::GetFlag(FLAGS_warmup)
                : std::min(absl::GetFlag(FLAGS_warmup), absl::Milliseconds(500));
      first = false;
      RunResult r = run_once(Schedule::Constant(value), absl::GetFlag(FLAGS_sweep_step), warmup);
      SweepStep step;
      step.set_asked(value);
      step.set_achieved_rps(r.report.achieved_rps());
      step.set_requests(r.report.requests());
      step.set_errors(r.report.errors());
      *step.mutable_latency_us() = r.report.latency_us();
      if (!metrics_urls.empty()) {
        *step.mutable_server() = Diff(step_before, TakeScrape(metrics_urls),
                                      absl::ToDoubleSeconds(absl::Now() - step_start));
      }
      all.Merge(r.latency_ns);
      for (Interval iv : r.report.intervals()) {
        iv.set_t_s(iv.t_s() + t_offset);
        *total.add_intervals() = iv;
      }
      t_offset += r.report.duration_s();
      total.set_requests(total.requests() + r.report.requests());
      total.set_ok(total.ok() + r.report.ok());
      total.set_errors(total.errors() + r.report.errors());
      total.set_duration_s(total.duration_s() + r.report.duration_s());
      for (const auto& [code, n] : r.report.errors_by_code()) {
        (*total.mutable_errors_by_code())[code] += n;
      }
      for (const auto& e : r.report.first_errors()) *total.add_first_errors() = e;
      total.set_stop_reason(r.report.stop_reason());
      total.set_mode(r.report.mode());
      total.set_arrivals(r.report.arrivals());
      total.set_kept_up(r.report.kept_up());
      total.set_max_backlog(std::max(total.max_backlog(), r.report.max_backlog()));
      return step;
    });
    report = total;
    report.set_achieved_rps(report.requests() / std::max(1e-9, report.duration_s()));
    *report.mutable_latency_us() = LatencyOf(all);
    for (auto [bucket, n] : all.NonEmptyBuckets()) {
      Bucket* b = report.add_histogram();
      b->set_low_us(Histogram::BucketLow(bucket) / 1e3);
      b->set_high_us((Histogram::BucketHigh(bucket) + 1) / 1e3);
      b->set_count(n);
    }
    *report.mutable_sweep() = sweep;
    report.set_seed(seed);
  }
  if (live) std::cerr << "\n";
  if (!metrics_urls.empty()) {
    *report.mutable_server() =
        Diff(before, TakeScrape(metrics_urls), absl::ToDoubleSeconds(absl::Now() - started));
  }
  report.set_client_cpu_cores((CpuSeconds() - cpu_started) /
                              std::max(1e-9, absl::ToDoubleSeconds(absl::Now() - started)));
  report.set_workload(workload_label);
  report.set_target(target);
  report.set_channels(channel_count);
  report.set_schedule(plan ? sweep_text : schedule_text);

  const std::string json_path = absl::GetFlag(FLAGS_json);
  if (json_path != "-") std::cout << FormatTable(report) << std::flush;
  if (!json_path.empty() && !WriteFile(json_path, ToJson(report))) {
    std::cerr << "actload: cannot write " << json_path << "\n";
    return 1;
  }
  const std::string svg_path = absl::GetFlag(FLAGS_svg);
  if (!svg_path.empty() && !WriteFile(svg_path, RenderReportSvg(report))) {
    std::cerr << "actload: cannot write " << svg_path << "\n";
    return 1;
  }
  return report.stop_reason() == "max_error_rate" ? 3 : 0;
}

}  // namespace
}  // namespace actserve::actload

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(actserve::actload::kUsage);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() > 1) {
    std::cerr << "actload: unexpected argument '" << args[1] << "' (see actload --help)\n";
    return 2;
  }
  return actserve::actload::Main();
}
