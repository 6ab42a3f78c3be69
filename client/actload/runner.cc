#include "client/actload/runner.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "client/actload/workload.h"

namespace actserve::actload {
namespace {

constexpr int kShards = 16;
constexpr int kUnavailable = 14;
constexpr int kResourceExhausted = 8;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void SleepUntilNs(int64_t t) {
  const int64_t d = t - NowNs();
  if (d > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(d));
}

int ThisThreadShard() {
  static std::atomic<int> next{0};
  thread_local int shard = next.fetch_add(1) % kShards;
  return shard;
}

}  // namespace

std::string CodeName(int code) {
  static const char* kNames[] = {"OK",
                                 "CANCELLED",
                                 "UNKNOWN",
                                 "INVALID_ARGUMENT",
                                 "DEADLINE_EXCEEDED",
                                 "NOT_FOUND",
                                 "ALREADY_EXISTS",
                                 "PERMISSION_DENIED",
                                 "RESOURCE_EXHAUSTED",
                                 "FAILED_PRECONDITION",
                                 "ABORTED",
                                 "OUT_OF_RANGE",
                                 "UNIMPLEMENTED",
                                 "INTERNAL",
                                 "UNAVAILABLE",
                                 "DATA_LOSS",
                                 "UNAUTHENTICATED"};
  if (code >= 0 && code <= 16) return kNames[code];
  return "CODE_" + std::to_string(code);
}

Latency LatencyOf(const Histogram& h) {
  Latency l;
  l.set_p50(h.ValueAtPercentile(50) / 1e3);
  l.set_p90(h.ValueAtPercentile(90) / 1e3);
  l.set_p99(h.ValueAtPercentile(99) / 1e3);
  l.set_p99_9(h.ValueAtPercentile(99.9) / 1e3);
  l.set_p99_99(h.ValueAtPercentile(99.99) / 1e3);
  l.set_max(h.max() / 1e3);
  l.set_min(h.min() / 1e3);
  l.set_mean(h.mean() / 1e3);
  return l;
}

struct Runner::Impl {
  struct Shard {
    std::mutex mu;
    Histogram total, interval;
    int64_t requests = 0, errors = 0, in_window = 0, interval_requests = 0, interval_errors = 0;
    int64_t train_steps = 0;
    int64_t last_completion_ns = 0;
    std::map<int, int64_t> codes;
  };

  explicit Impl(RunOptions o) : options(std::move(o)) {}

  RunOptions options;
  Driver* driver = nullptr;
  int64_t t0 = 0, warmup_end = 0, end = 0;
  std::atomic<int64_t> stop_ns{0};
  std::atomic<int64_t> in_flight{0}, next_index{0}, measured_issued{0};
  std::atomic<bool> stop_issuing{false};
  std::atomic<double> target{0};  // closed loop: asked concurrency
  Shard shards[kShards];
  std::mutex messages_mu;
  std::map<int, std::vector<std::string>> messages;
  std::mutex backlog_mu;
  std::deque<int64_t> backlog;
  std::atomic<int64_t> backlog_size{0}, max_backlog{0};
  std::atomic<int64_t> backoff_until{0}, backoffs{0};
  std::atomic<int> consecutive_errors{0};

  // Sends one call due at `intended`; the caller holds a slot (in_flight counts it).
  void Issue(int64_t intended) {
    Token token;
    token.intended_ns = intended;
    token.index = next_index.fetch_add(1);
    token.measured = intended >= warmup_end;
    if (token.measured && options.requests > 0 &&
        measured_issued.fetch_add(1) >= options.requests) {
      stop_issuing = true;
      ReleaseSlot();
      return;
    }
    driver->Start(token);
  }

  void ReleaseSlot() { in_flight.fetch_sub(1); }

  bool AcquireSlot(int64_t limit) {
    int64_t cur = in_flight.load();
    while (cur < limit) {
      if (in_flight.compare_exchange_weak(cur, cur + 1)) return true;
    }
    return false;
  }

  int64_t Limit() const {
    return options.open_loop ? options.max_in_flight
                             : static_cast<int64_t>(std::llround(target.load()));
  }

  // Sends what is due: backlogged arrivals (open loop) or calls up to the concurrency (closed).
  void Refill(int64_t now) {
    if (stop_issuing || now < backoff_until.load()) return;
    if (options.open_loop) {
      // A call that fails at once sets a back-off before the next turn of these loops.
      while (backlog_size.load() > 0 && backoff_until.load() <= now && AcquireSlot(Limit())) {
        int64_t intended;
        {
          std::lock_guard<std::mutex> lock(backlog_mu);
          if (backlog.empty()) {
            ReleaseSlot();
            return;
          }
          intended = backlog.front();
          backlog.pop_front();
          backlog_size = backlog.size();
        }
        Issue(intended);
      }
    } else {
      while (!stop_issuing && backoff_until.load() <= now && AcquireSlot(Limit())) Issue(NowNs());
    }
  }

  void Arrive(int64_t intended) {
    if (backlog_size.load() == 0 && NowNs() >= backoff_until.load() && AcquireSlot(Limit())) {
      Issue(intended);
      return;
    }
    std::lock_guard<std::mutex> lock(backlog_mu);
    backlog.push_back(intended);
    backlog_size = backlog.size();
    if (backlog_size > max_backlog) max_backlog = backlog_size.load();
  }

  void Complete(const Token& token, const Completion& c) {
    const int64_t now = NowNs();
    if (token.measured) {
      Shard& s = shards[ThisThreadShard()];
      std::lock_guard<std::mutex> lock(s.mu);
      const int64_t latency = now - token.intended_ns;
      s.total.Record(latency);
      s.interval.Record(latency);
      ++s.requests;
      ++s.interval_requests;
      if (stop_ns.load() == 0 || now <= stop_ns.load()) ++s.in_window;
      s.last_completion_ns = std::max(s.last_completion_ns, now);
      s.train_steps += c.train_steps;
      if (c.code != 0) {
        ++s.errors;
        ++s.interval_errors;
        ++s.codes[c.code];
      }
    }
    if (c.code != 0 && !c.message.empty()) {
      std::lock_guard<std::mutex> lock(messages_mu);
      auto& m = messages[c.code];
      if (static_cast<int>(m.size()) < options.first_messages &&
          std::find(m.begin(), m.end(), c.message) == m.end()) {
        m.emplace_back(c.message);
      }
    }
    if (options.backoff && (c.code == kUnavailable || c.code == kResourceExhausted)) {
      const int n = std::min(consecutive_errors.fetch_add(1), 20);
      int64_t delay;
      if (c.pushback_ms >= 0) {
        delay = c.pushback_ms * 1000000;
      } else {
        const double base = absl::ToDoubleSeconds(options.backoff_base) * std::pow(2.0, n);
        const double jitter = 0.5 + UniformAt(options.seed ^ 0xb0ff, token.index);
        delay = static_cast<int64_t>(std::min(base, absl::ToDoubleSeconds(options.backoff_max)) *
                                     jitter * 1e9);
      }
      int64_t until = backoff_until.load();
      while (until < now + delay && !backoff_until.compare_exchange_weak(until, now + delay)) {
      }
      backoffs.fetch_add(1);
    } else if (c.code == 0) {
      consecutive_errors = 0;
    }
    ReleaseSlot();
    Refill(now);
  }

  Interval TakeInterval(int64_t now, double seconds) {
    Histogram h;
    int64_t requests = 0, errors = 0;
    for (Shard& s : shards) {
      std::lock_guard<std::mutex> lock(s.mu);
      h.Merge(s.interval);
      s.interval.Clear();
      requests += s.interval_requests;
      errors += s.interval_errors;
      s.interval_requests = s.interval_errors = 0;
    }
    Interval iv;
    iv.set_t_s((now - warmup_end) / 1e9);
    iv.set_asked(
        options.schedule.ValueAt(absl::Nanoseconds(std::max<int64_t>(0, now - warmup_end))));
    iv.set_requests(requests);
    iv.set_errors(errors);
    iv.set_achieved_rps(seconds > 0 ? requests / seconds : 0);
    *iv.mutable_latency_us() = LatencyOf(h);
    iv.set_in_flight(in_flight.load());
    iv.set_backlog(backlog_size.load());
    return iv;
  }

  RunResult Run(Driver* d) {
    driver = d;
    RunResult result;
    Report& r = result.report;
    t0 = NowNs();
    warmup_end = t0 + absl::ToInt64Nanoseconds(options.warmup);
    const absl::Duration length =
        options.schedule.constant() ? options.duration : options.schedule.TotalLength();
    end = warmup_end + absl::ToInt64Nanoseconds(length);
    auto sched_value = [this](int64_t t) {
      return options.schedule.ValueAt(absl::Nanoseconds(std::max<int64_t>(0, t - warmup_end)));
    };
    target = sched_value(t0);

    std::thread pacer;
    if (options.open_loop) {
      pacer = std::thread([&] {
        int64_t t = t0;
        uint64_t k = 0;
        while (!stop_issuing && t < end) {
          if (t > NowNs() + 200000) {
            SleepUntilNs(std::min(t, NowNs() + 5000000));  // wake often enough to stop
            continue;
          }
          Arrive(t);
          const double rate = sched_value(t);
          double gap = 1 / rate;
          if (options.poisson) gap = -std::log(1 - UniformAt(options.seed ^ 0xa771, k)) / rate;
          t += static_cast<int64_t>(gap * 1e9);
          ++k;
        }
      });
    }

    std::string stop_reason = "duration";
    int64_t next_interval = warmup_end + absl::ToInt64Nanoseconds(options.interval);
    int64_t last_interval = warmup_end;
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      const int64_t now = NowNs();
      if (!options.open_loop) target = sched_value(now);
      Refill(now);
      if (options.interrupted != nullptr && *options.interrupted) {
        stop_reason = "interrupted";
        break;
      }
      if (now >= end) break;
      if (stop_issuing) {
        stop_reason = "requests";
        break;
      }
      if (options.max_error_rate < 1) {
        int64_t calls = 0, errors = 0;
        for (Shard& s : shards) {
          std::lock_guard<std::mutex> lock(s.mu);
          calls += s.requests;
          errors += s.errors;
        }
        if (calls >= options.min_calls_for_error_rate && errors > options.max_error_rate * calls) {
          stop_reason = "max_error_rate";
          break;
        }
      }
      if (now >= next_interval) {
        Interval iv = TakeInterval(now, (now - last_interval) / 1e9);
        last_interval = now;
        next_interval += absl::ToInt64Nanoseconds(options.interval);
        if (options.on_interval) options.on_interval(iv);
        *r.add_intervals() = iv;
      }
    }
    const int64_t stopped = NowNs();
    stop_ns = stopped;
    stop_issuing = true;
    if (pacer.joinable()) pacer.join();
    int64_t unsent;
    {
      std::lock_guard<std::mutex> lock(backlog_mu);
      unsent = backlog.size();
      backlog.clear();
      backlog_size = 0;
    }
    while (in_flight.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const int64_t drained = NowNs();
    if (drained - last_interval > 1000000 && stopped > warmup_end) {
      Interval iv = TakeInterval(drained, (drained - last_interval) / 1e9);
      if (iv.requests() > 0) {
        if (options.on_interval) options.on_interval(iv);
        *r.add_intervals() = iv;
      }
    }
    driver->Shutdown();

    int64_t requests = 0, errors = 0, in_window = 0, last = warmup_end, steps = 0;
    std::map<int, int64_t> codes;
    for (Shard& s : shards) {
      result.latency_ns.Merge(s.total);
      requests += s.requests;
      errors += s.errors;
      in_window += s.in_window;
      steps += s.train_steps;
      last = std::max(last, s.last_completion_ns);
      for (auto [code, n] : s.codes) codes[code] += n;
    }
    const double window = std::max<int64_t>(1, stopped - warmup_end) / 1e9;
    const double seconds =
        stop_reason == "requests" ? std::max<int64_t>(1, last - warmup_end) / 1e9 : window;
    const double counted = stop_reason == "requests" ? requests : in_window;
    r.set_mode(options.open_loop ? "open" : "closed");
    if (options.open_loop) r.set_arrivals(options.poisson ? "poisson" : "constant");
    const double mean_asked = options.schedule.ArrivalsUntil(absl::Seconds(window)) / window;
    if (options.open_loop) {
      r.set_asked_rps(mean_asked);
    } else {
      r.set_asked_concurrency(mean_asked);
    }
    r.set_duration_s(seconds);
    r.set_requests(requests);
    r.set_ok(requests - errors);
    r.set_errors(errors);
    r.set_achieved_rps(counted / seconds);
    for (auto [code, n] : codes) (*r.mutable_errors_by_code())[CodeName(code)] = n;
    for (auto& [code, msgs] : messages) {
      ErrorSample* e = r.add_first_errors();
      e->set_code(CodeName(code));
      e->set_count(codes[code]);
      for (auto& m : msgs) e->add_messages(m);
    }
    *r.mutable_latency_us() = LatencyOf(result.latency_ns);
    for (auto [bucket, n] : result.latency_ns.NonEmptyBuckets()) {
      Bucket* b = r.add_histogram();
      b->set_low_us(Histogram::BucketLow(bucket) / 1e3);
      b->set_high_us((Histogram::BucketHigh(bucket) + 1) / 1e3);
      b->set_count(n);
    }
    r.set_max_backlog(std::max(max_backlog.load(), unsent));
    r.set_kept_up(!options.open_loop || (r.achieved_rps() >= 0.95 * r.asked_rps() && unsent == 0));
    r.set_stop_reason(stop_reason);
    r.set_backoffs(backoffs.load());
    r.set_train_steps(steps);
    r.set_seed(options.seed);
    return result;
  }
};

Runner::Runner(RunOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Runner::~Runner() = default;
RunResult Runner::Run(Driver* driver) { return impl_->Run(driver); }
void Runner::Complete(const Token& token, const Completion& completion) {
  impl_->Complete(token, completion);
}

}  // namespace actserve::actload
