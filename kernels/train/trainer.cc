#include "kernels/train/trainer.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_format.h"
#include "kernels/math/philox.h"
#include "kernels/train/network.h"
#include "kernels/train/optimizer.h"
#include "kernels/util/status_macros.h"

namespace actserve::train {
namespace {

// Seed streams derived from the job's seed (DeriveSeed), one per use.
constexpr uint64_t kShuffleStream = 2, kSplitStream = 3, kNoiseStream = 4;
// Rows per inference chunk in evaluation and Predict.
constexpr int64_t kEvalRows = 4096;

template <typename T>
using Matrix = typename Network<T>::Matrix;

template <typename T>
Matrix<T> ToMatrix(const std::vector<double>& v, int64_t rows, int64_t cols) {
  return Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
             v.data(), rows, cols)
      .template cast<T>();
}

// Running sums of one layer's diagnostics over a reporting period.
struct LayerStats {
  std::vector<uint8_t> alive;  // per unit: f' was nonzero for some sample
  int64_t saturated = 0, derivatives = 0;
  double sum = 0, sum_sq = 0;
  int64_t values = 0;
  double gradient_norm_sum = 0;
  int64_t steps = 0;

  void Reset(int64_t units) {
    *this = LayerStats();
    alive.assign(units, 0);
  }
};

struct PeriodStats {
  double loss_sum = 0;
  int64_t rows = 0, correct = 0, predicted = 0;
  std::vector<LayerStats> layers;
};

template <typename T>
class Run {
 public:
  Run(const TrainSpec& spec, const TrainOptions& options)
      : spec_(spec), options_(options), start_(absl::Now()) {}

  absl::StatusOr<TrainResult> Go(Dataset train, Dataset validation) {
    if (spec_.validation_fraction > 0) {
      SplitOff(train, spec_.validation_fraction, DeriveSeed(spec_.seed, kSplitStream), &validation);
    }
    x_ = ToMatrix<T>(train.x, train.rows, train.features);
    y_ = ToMatrix<T>(train.y, train.rows, train.target_width);
    has_validation_ = !validation.empty();
    if (has_validation_) {
      vx_ = ToMatrix<T>(validation.x, validation.rows, validation.features);
      vy_ = ToMatrix<T>(validation.y, validation.rows, validation.target_width);
    }
    train = Dataset();
    validation = Dataset();
    ACTSERVE_ASSIGN_OR_RETURN(net_, Network<T>::Create(spec_, Network<T>::InitialWeights(spec_)));

    std::vector<int64_t> sizes;
    for (const auto& layer : net_.layers()) {
      sizes.push_back(layer.w.size());
      sizes.push_back(layer.b.size());
      sizes.push_back(layer.param.size());
    }
    Optimizer<T> optimizer(spec_.optimizer, sizes);
    has_accuracy_ = spec_.loss != Loss::kMeanSquaredError;

    const int64_t rows = x_.rows(), batch = spec_.batch_size;
    const int64_t steps_per_epoch = (rows + batch - 1) / batch;
    std::vector<int64_t> order(rows);
    ResetPeriod();
    double best = INFINITY;
    int64_t waited = 0;
    std::vector<LayerWeights> best_weights;
    TrainResult result;

    for (int64_t epoch = 0; epoch < spec_.epochs && result.outcome == Outcome::kCompleted;
         ++epoch) {
      lr_ = LearningRate(spec_.optimizer, epoch, spec_.epochs);
      std::iota(order.begin(), order.end(), 0);
      if (spec_.shuffle) Shuffle(order, DeriveSeed(DeriveSeed(spec_.seed, kShuffleStream), epoch));
      for (int64_t s = 0; s < steps_per_epoch; ++s) {
        if (absl::Status stop = CheckStop(); !stop.ok()) {
          result.outcome = absl::IsCancelled(stop) ? Outcome::kCancelled : Outcome::kFailed;
          result.failure = stop;
          break;
        }
        const int64_t begin = s * batch, n = std::min(batch, rows - begin);
        xb_.resize(n, x_.cols());
        yb_.resize(n, y_.cols());
        for (int64_t r = 0; r < n; ++r) {
          xb_.row(r) = x_.row(order[begin + r]);
          yb_.row(r) = y_.row(order[begin + r]);
        }
        ACTSERVE_RETURN_IF_ERROR(
            net_.Forward(*options_.backend, xb_, /*training=*/true,
                         DeriveSeed(DeriveSeed(spec_.seed, kNoiseStream), steps_)));
        typename Network<T>::LossValue loss = net_.ComputeLoss(spec_.loss, yb_, &grad_out_);
        if (!std::isfinite(loss.loss)) {
          result.outcome = Outcome::kFailed;
          result.failure = absl::FailedPreconditionError(
              absl::StrFormat("the training loss became %s at epoch %d, step %d; try a smaller "
                              "learning rate",
                              std::isnan(loss.loss) ? "NaN" : "infinite", epoch + 1, steps_ + 1));
          break;
        }
        ACTSERVE_RETURN_IF_ERROR(
            net_.Backward(*options_.backend, xb_, grad_out_, &grads_, &fprime_));
        Accumulate(loss, n);
        optimizer.BeginStep();
        const T lr = static_cast<T>(lr_), l2 = static_cast<T>(spec_.optimizer.l2);
        auto& layers = net_.layers();
        for (size_t l = 0; l < layers.size(); ++l) {
          auto& layer = layers[l];
          optimizer.Update(3 * l, Span(layer.w), ConstSpan(grads_.w[l]), lr, l2);
          optimizer.Update(3 * l + 1, Span(layer.b), ConstSpan(grads_.b[l]), lr, T(0));
          if (layer.learnable >= 0) {
            optimizer.Update(3 * l + 2, Span(layer.param), ConstSpan(grads_.param[l]), lr, T(0));
          }
        }
        ++steps_;
        if (spec_.report_every_steps > 0 && steps_ % spec_.report_every_steps == 0 &&
            s + 1 < steps_per_epoch) {
          Report(epoch, /*epoch_end=*/false);
        }
      }
      if (result.outcome != Outcome::kCompleted) break;
      result.epochs = epoch + 1;
      ACTSERVE_ASSIGN_OR_RETURN(double monitored, Report(epoch, /*epoch_end=*/true));
      if (spec_.patience > 0) {
        if (monitored < best - spec_.min_delta) {
          best = monitored;
          waited = 0;
          best_weights = net_.Weights();
        } else if (++waited >= spec_.patience) {
          result.outcome = Outcome::kEarlyStopped;
        }
      }
    }
    if (result.outcome == Outcome::kEarlyStopped && !best_weights.empty()) {
      ACTSERVE_ASSIGN_OR_RETURN(net_, Network<T>::Create(spec_, best_weights));
    }
    result.steps = steps_;
    result.weights = net_.Weights();
    result.has_accuracy = has_accuracy_;
    result.has_validation = has_validation_;
    if (result.outcome != Outcome::kFailed) {
      absl::StatusOr<typename Network<T>::LossValue> tr = Evaluate(x_, y_);
      if (tr.ok()) {
        result.train_loss = tr->loss;
        result.train_accuracy = Accuracy(*tr);
        if (has_validation_) {
          absl::StatusOr<typename Network<T>::LossValue> va = Evaluate(vx_, vy_);
          if (va.ok()) {
            result.validation_loss = va->loss;
            result.validation_accuracy = Accuracy(*va);
            result.evaluated = true;
          }
        } else {
          result.evaluated = true;
        }
      } else if (!absl::IsCancelled(tr.status())) {
        return tr.status();
      }
    }
    return result;
  }

 private:
  static absl::Span<T> Span(auto& m) { return absl::Span<T>(m.data(), m.size()); }
  static absl::Span<const T> ConstSpan(const auto& m) {
    return absl::Span<const T>(m.data(), m.size());
  }

  // Fisher-Yates with Philox draws: the same order for the same seed on every machine.
  static void Shuffle(std::vector<int64_t>& order, uint64_t seed) {
    for (int64_t i = static_cast<int64_t>(order.size()) - 1; i > 0; --i) {
      double u =
          math::UniformSample(seed, 2 * i) + math::UniformSample(seed, 2 * i + 1) / 16777216.0;
      int64_t j = std::min<int64_t>(i, static_cast<int64_t>(u * static_cast<double>(i + 1)));
      std::swap(order[i], order[j]);
    }
  }

  absl::Status CheckStop() const {
    if (options_.stop_requested && options_.stop_requested()) {
      return absl::CancelledError("the job was cancelled");
    }
    if (absl::Now() - start_ > options_.max_wall_time) {
      return absl::DeadlineExceededError(
          absl::StrFormat("the job ran past its wall-time limit of %s",
                          absl::FormatDuration(options_.max_wall_time)));
    }
    return absl::OkStatus();
  }

  double Accuracy(const typename Network<T>::LossValue& v) const {
    return v.predicted == 0 ? 0.0 : static_cast<double>(v.correct) / v.predicted;
  }

  void ResetPeriod() {
    period_ = PeriodStats();
    period_.layers.resize(net_.layers().size());
    for (size_t l = 0; l < net_.layers().size(); ++l) {
      period_.layers[l].Reset(net_.layers()[l].units);
    }
  }

  void Accumulate(const typename Network<T>::LossValue& loss, int64_t rows) {
    period_.loss_sum += loss.loss * rows;
    period_.rows += rows;
    period_.correct += loss.correct;
    period_.predicted += loss.predicted;
    const auto& layers = net_.layers();
    for (size_t l = 0; l < layers.size(); ++l) {
      LayerStats& st = period_.layers[l];
      const Matrix<T>& fp = fprime_[l];
      if (fp.size() > 0) {
        for (int64_t r = 0; r < fp.rows(); ++r) {
          for (int64_t c = 0; c < fp.cols(); ++c) {
            T d = fp(r, c);
            st.alive[c] |= d != T(0);
            st.saturated += std::abs(d) < T(1e-3);
          }
        }
        st.derivatives += fp.size();
      }
      const Matrix<T>& a = layers[l].a;
      st.sum += a.template cast<double>().sum();
      st.sum_sq += a.template cast<double>().squaredNorm();
      st.values += a.size();
      st.gradient_norm_sum += static_cast<double>(grads_.w[l].norm());
      ++st.steps;
    }
  }

  // Sends the period's progress (with the validation metrics at an epoch's end) and starts a new
  // period. Returns the loss early stopping monitors.
  absl::StatusOr<double> Report(int64_t epoch, bool epoch_end) {
    Progress p;
    p.epoch = epoch + 1;
    p.step = steps_;
    p.epoch_end = epoch_end;
    p.learning_rate = lr_;
    p.train_loss = period_.rows ? period_.loss_sum / period_.rows : 0;
    p.has_accuracy = has_accuracy_;
    p.train_accuracy =
        period_.predicted ? static_cast<double>(period_.correct) / period_.predicted : 0;
    double monitored = p.train_loss;
    if (epoch_end && has_validation_) {
      ACTSERVE_ASSIGN_OR_RETURN(typename Network<T>::LossValue v, Evaluate(vx_, vy_));
      p.has_validation = true;
      p.validation_loss = v.loss;
      p.validation_accuracy = Accuracy(v);
      monitored = v.loss;
    }
    const auto& layers = net_.layers();
    for (size_t l = 0; l < layers.size(); ++l) {
      const LayerStats& st = period_.layers[l];
      LayerDiagnostics d;
      d.has_derivative_stats = st.derivatives > 0;
      if (d.has_derivative_stats) {
        int64_t dead = std::count(st.alive.begin(), st.alive.end(), 0);
        d.dead_fraction = static_cast<double>(dead) / st.alive.size();
        d.saturated_fraction = static_cast<double>(st.saturated) / st.derivatives;
      }
      if (st.values > 0) {
        d.activation_mean = st.sum / st.values;
        d.activation_std =
            std::sqrt(std::max(0.0, st.sum_sq / st.values - d.activation_mean * d.activation_mean));
      }
      d.weight_norm = static_cast<double>(layers[l].w.norm());
      d.gradient_norm = st.steps ? st.gradient_norm_sum / st.steps : 0;
      p.layers.push_back(d);
    }
    p.elapsed_seconds = absl::ToDoubleSeconds(absl::Now() - start_);
    if (options_.on_progress) options_.on_progress(p);
    ResetPeriod();
    return monitored;
  }

  // The loss of the current weights on a whole set, in inference mode.
  absl::StatusOr<typename Network<T>::LossValue> Evaluate(const Matrix<T>& x, const Matrix<T>& y) {
    typename Network<T>::LossValue total;
    double loss_sum = 0;
    for (int64_t begin = 0; begin < x.rows(); begin += kEvalRows) {
      if (options_.stop_requested && options_.stop_requested()) {
        return absl::CancelledError("the job was cancelled");
      }
      const int64_t n = std::min(kEvalRows, x.rows() - begin);
      xb_ = x.middleRows(begin, n);
      yb_ = y.middleRows(begin, n);
      ACTSERVE_RETURN_IF_ERROR(net_.Forward(*options_.backend, xb_, /*training=*/false, 0));
      typename Network<T>::LossValue v = net_.ComputeLoss(spec_.loss, yb_, nullptr);
      loss_sum += v.loss * n;
      total.correct += v.correct;
      total.predicted += v.predicted;
    }
    total.loss = loss_sum / std::max<int64_t>(1, x.rows());
    return total;
  }

  const TrainSpec& spec_;
  const TrainOptions& options_;
  const absl::Time start_;
  Network<T> net_;
  Matrix<T> x_, y_, vx_, vy_, xb_, yb_, grad_out_;
  typename Network<T>::Gradients grads_;
  std::vector<Matrix<T>> fprime_;
  PeriodStats period_;
  bool has_validation_ = false, has_accuracy_ = false;
  double lr_ = 0;
  int64_t steps_ = 0;
};

template <typename T>
absl::StatusOr<std::vector<double>> PredictAs(const TrainSpec& spec,
                                              const std::vector<LayerWeights>& weights,
                                              const Dataset& data, Backend& backend) {
  ACTSERVE_ASSIGN_OR_RETURN(Network<T> net, Network<T>::Create(spec, weights));
  const Matrix<T> x = ToMatrix<T>(data.x, data.rows, data.features);
  const int64_t outputs = net.layers().back().outputs;
  std::vector<double> out(data.rows * outputs);
  Matrix<T> chunk;
  for (int64_t begin = 0; begin < data.rows; begin += kEvalRows) {
    const int64_t n = std::min(kEvalRows, data.rows - begin);
    chunk = x.middleRows(begin, n);
    ACTSERVE_RETURN_IF_ERROR(net.Forward(backend, chunk, /*training=*/false, 0));
    const Matrix<T>& y = net.output();
    std::copy(y.data(), y.data() + y.size(), out.begin() + begin * outputs);
  }
  return out;
}

}  // namespace

absl::StatusOr<TrainResult> Train(const TrainSpec& spec, Dataset train, Dataset validation,
                                  const TrainOptions& options) {
  if (spec.dtype == DType::kFloat64) {
    return Run<double>(spec, options).Go(std::move(train), std::move(validation));
  }
  return Run<float>(spec, options).Go(std::move(train), std::move(validation));
}

absl::StatusOr<std::vector<double>> Predict(const TrainSpec& spec,
                                            const std::vector<LayerWeights>& weights,
                                            const Dataset& x, Backend& backend) {
  if (spec.dtype == DType::kFloat64) return PredictAs<double>(spec, weights, x, backend);
  return PredictAs<float>(spec, weights, x, backend);
}

size_t EstimateJobBytes(const TrainSpec& spec, const Dataset& train, const Dataset& validation) {
  const size_t scalar = spec.dtype == DType::kFloat64 ? 8 : 4;
  size_t bytes = train.bytes() + validation.bytes();
  // The data again in the training dtype, and per parameter: weights, gradients, two optimizer
  // moments and a copy for early stopping.
  bytes += (train.x.size() + train.y.size() + validation.x.size() + validation.y.size()) * scalar;
  bytes += static_cast<size_t>(ParameterCount(spec)) * (4 * scalar + sizeof(double));
  // Activations of one batch: z, a, f' and the backward deltas per layer.
  for (const LayerSpec& layer : spec.layers) {
    bytes +=
        static_cast<size_t>(std::max<int64_t>(spec.batch_size, 4096)) * layer.units * 4 * scalar;
  }
  return bytes;
}

}  // namespace actserve::train
