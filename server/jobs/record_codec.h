// Records: the byte strings the durable job store keeps (job_store.h), each sealed with a magic
// number and a CRC-32 (zlib's) of its contents, so that a truncated or altered record is found
// when it is read, not trusted. Numbers are little-endian, doubles their IEEE bits (exact).
//
// A type's record is its field list, written once as `Fields(io, value)`: `io` is a
// RecordWriter (value const: each field is appended) or a RecordReader (each field is read back
// in the same order). The field lists of the training core's values are below; the store's own
// types have theirs in job_store.cc. Encode and Decode make and read whole records.
#ifndef ACTSERVE_SERVER_JOBS_RECORD_CODEC_H_
#define ACTSERVE_SERVER_JOBS_RECORD_CODEC_H_

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kernels/train/checkpoint.h"
#include "kernels/train/trainer.h"

namespace actserve::server {

class RecordWriter {
 public:
  void operator()(int64_t v);
  void operator()(double v);
  void operator()(bool v) { (*this)(int64_t{v ? 1 : 0}); }
  void operator()(absl::string_view v);
  void operator()(const std::vector<double>& v);
  void operator()(const std::vector<uint8_t>& v);
  void operator()(const absl::Status& v);  // code and message
  void operator()(absl::Time v);           // InfinitePast included
  // A value of an enum whose last enumerator is `last` (RecordReader checks the range).
  template <typename E>
  void Enum(E v, E /*last*/) {
    (*this)(static_cast<int64_t>(v));
  }
  // Anything: a value above, or a type with a field list.
  template <typename T>
  void Item(const T& v) {
    if constexpr (requires { (*this)(v); }) {
      (*this)(v);
    } else {
      Fields(*this, v);
    }
  }
  template <typename T>
  void operator()(const std::vector<T>& v) {
    (*this)(static_cast<int64_t>(v.size()));
    for (const T& x : v) Item(x);
  }
  template <typename T>
  void operator()(const std::optional<T>& v) {
    (*this)(v.has_value());
    if (v.has_value()) Item(*v);
  }

  // The sealed record: magic, contents, CRC-32.
  std::string Seal() const;

 private:
  std::string bytes_;
};

class RecordReader {
 public:
  // DATA_LOSS naming `what` when `sealed` is not a whole, unaltered record.
  static absl::StatusOr<RecordReader> Open(absl::string_view sealed, absl::string_view what);

  // Each reads the next value. Past the end, a count or length beyond it, or a value out of
  // range, the reader fails: Finish says so, and every later read gives zeros.
  void operator()(int64_t& v);
  void operator()(double& v);
  void operator()(bool& v);
  void operator()(std::string& v);
  void operator()(std::vector<double>& v);
  void operator()(std::vector<uint8_t>& v);
  void operator()(absl::Status& v);
  void operator()(absl::Time& v);
  template <typename E>
  void Enum(E& v, E last) {
    int64_t n = 0;
    (*this)(n);
    if (n < 0 || n > static_cast<int64_t>(last)) {
      failed_ = true;
      n = 0;
    }
    v = static_cast<E>(n);
  }
  template <typename T>
  void Item(T& v) {
    if constexpr (requires { (*this)(v); }) {
      (*this)(v);
    } else {
      Fields(*this, v);
    }
  }
  template <typename T>
  void operator()(std::vector<T>& v) {
    v.clear();
    v.resize(static_cast<size_t>(Count()));  // each element takes at least one byte
    for (T& x : v) Item(x);
  }
  template <typename T>
  void operator()(std::optional<T>& v) {
    bool present = false;
    (*this)(present);
    v.reset();
    if (present) Item(v.emplace());
  }

  // OK once everything was read and nothing is left; DATA_LOSS naming the record otherwise.
  absl::Status Finish() const;

 private:
  RecordReader(absl::string_view contents, absl::string_view what) : rest_(contents), what_(what) {}
  bool Take(size_t n, const char** out);
  int64_t Count();  // a count, checked against the bytes left (a damaged one cannot allocate much)

  absl::string_view rest_;
  std::string what_;
  bool failed_ = false;
};

template <typename T>
std::string Encode(const T& value) {
  RecordWriter w;
  w.Item(value);
  return w.Seal();
}

// Reads `sealed` into `value`: DATA_LOSS naming `what` when it is damaged, and then `value`
// holds the fields read before the damage.
template <typename T>
absl::Status DecodeInto(absl::string_view sealed, absl::string_view what, T* value) {
  absl::StatusOr<RecordReader> r = RecordReader::Open(sealed, what);
  if (!r.ok()) return r.status();
  r->Item(*value);
  return r->Finish();
}

template <typename T>
absl::StatusOr<T> Decode(absl::string_view sealed, absl::string_view what) {
  T value;
  if (absl::Status s = DecodeInto(sealed, what, &value); !s.ok()) return s;
  return value;
}

// The field lists of the training core's values. `T` is the type, const or not.
template <typename T, typename U>
concept ConstOr = std::same_as<std::remove_const_t<T>, U>;

template <typename Io, ConstOr<train::LayerWeights> T>
void Fields(Io& io, T& l) {
  io(l.weights);
  io(l.bias);
  io(l.activation_param);
}

template <typename Io, ConstOr<train::LayerDiagnostics> T>
void Fields(Io& io, T& d) {
  io(d.has_derivative_stats);
  io(d.dead_fraction);
  io(d.saturated_fraction);
  io(d.activation_mean);
  io(d.activation_std);
  io(d.weight_norm);
  io(d.gradient_norm);
}

template <typename Io, ConstOr<train::Progress> T>
void Fields(Io& io, T& p) {
  io(p.epoch);
  io(p.step);
  io(p.epoch_end);
  io(p.learning_rate);
  io(p.train_loss);
  io(p.train_accuracy);
  io(p.has_accuracy);
  io(p.has_validation);
  io(p.validation_loss);
  io(p.validation_accuracy);
  io(p.layers);
  io(p.elapsed_seconds);
}

// Without its weights (the store keeps them apart).
template <typename Io, ConstOr<train::TrainResult> T>
void Fields(Io& io, T& t) {
  io.Enum(t.outcome, train::Outcome::kFailed);
  io(t.failure);
  io(t.epochs);
  io(t.steps);
  io(t.evaluated);
  io(t.train_loss);
  io(t.train_accuracy);
  io(t.has_validation);
  io(t.validation_loss);
  io(t.validation_accuracy);
  io(t.has_accuracy);
}

template <typename Io, ConstOr<train::LayerStats> T>
void Fields(Io& io, T& s) {
  io(s.alive);
  io(s.saturated);
  io(s.derivatives);
  io(s.sum);
  io(s.sum_sq);
  io(s.values);
  io(s.gradient_norm_sum);
  io(s.steps);
}

template <typename Io, ConstOr<train::TrainCheckpoint> T>
void Fields(Io& io, T& c) {
  io(c.step);
  io(c.elapsed_seconds);
  io(c.weights);
  io(c.engine.optimizer_steps);
  io(c.engine.first_moments);
  io(c.engine.second_moments);
  io(c.engine.stats);
  io(c.period_loss_sum);
  io(c.period_rows);
  io(c.period_correct);
  io(c.period_predicted);
  io(c.best);
  io(c.waited);
  io(c.best_weights);
  io(c.last_train_loss);
  io(c.last_train_accuracy);
  io(c.last_train_measured);
  io(c.last_validation_loss);
  io(c.last_validation_accuracy);
  io(c.last_validation_measured);
}

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_JOBS_RECORD_CODEC_H_
