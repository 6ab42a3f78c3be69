#include "kernels/train/trainer.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_format.h"
#include "kernels/math/philox.h"
#include "kernels/train/cpu_engine.h"
#include "kernels/train/network.h"
#include "kernels/train/optimizer.h"
#include "kernels/util/status_macros.h"

namespace actserve::train {
namespace {

// Seed streams derived from the job's seed (DeriveSeed), one per use.
constexpr uint64_t kShuffleStream = 2, kSplitStream = 3, kNoiseStream = 4;

// The training loop over an Engine: epochs, batch order, reports, stopping, early stopping.
class Run {
 public:
  Run(const TrainSpec& spec, const TrainOptions& options)
      : spec_(spec), options_(options), start_(absl::Now()) {}

  absl::StatusOr<TrainResult> Go(Dataset train, Dataset validation) {
    if (spec_.validation_fraction > 0) {
      SplitOff(train, spec_.validation_fraction, DeriveSeed(spec_.seed, kSplitStream), &validation);
    }
    ACTSERVE_ASSIGN_OR_RETURN(
        engine_, options_.engine ? options_.engine(spec_) : NewCpuEngine(spec_, *options_.backend));
    ACTSERVE_RETURN_IF_ERROR(engine_->Load(train, validation));
    const int64_t rows = train.rows, batch = spec_.batch_size;
    has_validation_ = !validation.empty();
    train = Dataset();
    validation = Dataset();
    ACTSERVE_RETURN_IF_ERROR(engine_->SetWeights(Network<double>::InitialWeights(spec_)));
    has_accuracy_ = spec_.loss != Loss::kMeanSquaredError;

    const int64_t steps_per_epoch = (rows + batch - 1) / batch;
    std::vector<int64_t> order(rows);
    TrainResult result;
    if (options_.resume_from != nullptr) {
      ACTSERVE_RETURN_IF_ERROR(Resume(*options_.resume_from, steps_per_epoch));
      result.epochs = steps_ / steps_per_epoch;
    }

    for (int64_t epoch = steps_ / steps_per_epoch;
         epoch < spec_.epochs && result.outcome == Outcome::kCompleted; ++epoch) {
      lr_ = LearningRate(spec_.optimizer, epoch, spec_.epochs);
      std::iota(order.begin(), order.end(), 0);
      if (spec_.shuffle) Shuffle(order, DeriveSeed(DeriveSeed(spec_.seed, kShuffleStream), epoch));
      ACTSERVE_RETURN_IF_ERROR(engine_->BeginEpoch(order));
      for (int64_t s = steps_ - epoch * steps_per_epoch; s < steps_per_epoch; ++s) {
        if (absl::Status stop = CheckStop(); !stop.ok()) {
          // Stopped from outside (a server suspending its jobs): the run can resume from here.
          if (absl::IsCancelled(stop)) ACTSERVE_RETURN_IF_ERROR(MaybeCheckpoint());
          result.outcome = absl::IsCancelled(stop) ? Outcome::kCancelled : Outcome::kFailed;
          result.failure = stop;
          break;
        }
        const int64_t begin = s * batch, n = std::min(batch, rows - begin);
        ACTSERVE_ASSIGN_OR_RETURN(
            BatchLoss loss,
            engine_->Step(begin, n, lr_, DeriveSeed(DeriveSeed(spec_.seed, kNoiseStream), steps_)));
        if (!std::isfinite(loss.loss)) {
          result.outcome = Outcome::kFailed;
          result.failure = absl::FailedPreconditionError(
              absl::StrFormat("the training loss became %s at epoch %d, step %d; try a smaller "
                              "learning rate",
                              std::isnan(loss.loss) ? "NaN" : "infinite", epoch + 1, steps_ + 1));
          break;
        }
        period_.loss_sum += loss.loss * static_cast<double>(n);
        period_.rows += n;
        period_.correct += loss.correct;
        period_.predicted += loss.predicted;
        ++steps_;
        if (spec_.report_every_steps > 0 && steps_ % spec_.report_every_steps == 0 &&
            s + 1 < steps_per_epoch) {
          ACTSERVE_RETURN_IF_ERROR(Report(epoch, /*epoch_end=*/false).status());
        }
        if (s + 1 < steps_per_epoch) ACTSERVE_RETURN_IF_ERROR(MaybeCheckpoint());
      }
      if (result.outcome != Outcome::kCompleted) break;
      result.epochs = epoch + 1;
      ACTSERVE_ASSIGN_OR_RETURN(double monitored, Report(epoch, /*epoch_end=*/true));
      if (spec_.patience > 0) {
        if (monitored < best_ - spec_.min_delta) {
          best_ = monitored;
          waited_ = 0;
          ACTSERVE_ASSIGN_OR_RETURN(best_weights_, engine_->Weights());
        } else if (++waited_ >= spec_.patience) {
          result.outcome = Outcome::kEarlyStopped;
        }
      }
      if (result.outcome == Outcome::kCompleted && epoch + 1 < spec_.epochs) {
        ACTSERVE_RETURN_IF_ERROR(MaybeCheckpoint());
      }
    }
    if (result.outcome == Outcome::kEarlyStopped && !best_weights_.empty()) {
      ACTSERVE_RETURN_IF_ERROR(engine_->SetWeights(best_weights_));
    }
    result.steps = steps_;
    ACTSERVE_ASSIGN_OR_RETURN(result.weights, engine_->Weights());
    result.has_accuracy = has_accuracy_;
    result.has_validation = has_validation_;
    if (result.outcome == Outcome::kCancelled) {
      LastMetrics(result);  // a cancelled job is not evaluated again
    } else if (result.outcome != Outcome::kFailed) {
      absl::StatusOr<BatchLoss> tr = engine_->Evaluate(Split::kTrain, options_.stop_requested);
      if (tr.ok()) {
        result.train_loss = tr->loss;
        result.train_accuracy = Accuracy(*tr);
        if (has_validation_) {
          absl::StatusOr<BatchLoss> va =
              engine_->Evaluate(Split::kValidation, options_.stop_requested);
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
  // Takes the checkpoint's state; the next step is its step + 1.
  absl::Status Resume(const TrainCheckpoint& c, int64_t steps_per_epoch) {
    if (c.step < 0 || c.step > spec_.epochs * steps_per_epoch) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "the checkpoint is at step %d; this job has %d", c.step, spec_.epochs * steps_per_epoch));
    }
    ACTSERVE_RETURN_IF_ERROR(ValidateWeights(spec_, c.weights, "checkpoint.weights"));
    if (!c.best_weights.empty()) {
      ACTSERVE_RETURN_IF_ERROR(ValidateWeights(spec_, c.best_weights, "checkpoint.best_weights"));
    }
    ACTSERVE_RETURN_IF_ERROR(engine_->SetWeights(c.weights));
    ACTSERVE_RETURN_IF_ERROR(engine_->RestoreState(c.engine));
    steps_ = c.step;
    start_ = absl::Now() - absl::Seconds(c.elapsed_seconds);
    period_ = {c.period_loss_sum, c.period_rows, c.period_correct, c.period_predicted};
    best_ = c.best;
    waited_ = c.waited;
    best_weights_ = c.best_weights;
    last_train_ = {c.last_train_loss, c.last_train_accuracy, c.last_train_measured};
    last_validation_ = {c.last_validation_loss, c.last_validation_accuracy,
                        c.last_validation_measured};
    return absl::OkStatus();
  }

  // Hands a checkpoint to on_checkpoint when checkpoint_due says so (never again once the
  // engine has said it cannot save its state).
  absl::Status MaybeCheckpoint() {
    if (!options_.on_checkpoint || !options_.checkpoint_due || !can_checkpoint_ ||
        !options_.checkpoint_due(steps_)) {
      return absl::OkStatus();
    }
    absl::StatusOr<EngineState> state = engine_->SaveState();
    if (absl::IsUnimplemented(state.status())) {
      can_checkpoint_ = false;
      return absl::OkStatus();
    }
    ACTSERVE_RETURN_IF_ERROR(state.status());
    TrainCheckpoint c;
    c.step = steps_;
    c.elapsed_seconds = absl::ToDoubleSeconds(absl::Now() - start_);
    ACTSERVE_ASSIGN_OR_RETURN(c.weights, engine_->Weights());
    c.engine = *std::move(state);
    c.period_loss_sum = period_.loss_sum;
    c.period_rows = period_.rows;
    c.period_correct = period_.correct;
    c.period_predicted = period_.predicted;
    c.best = best_;
    c.waited = waited_;
    c.best_weights = best_weights_;
    c.last_train_loss = last_train_.loss;
    c.last_train_accuracy = last_train_.accuracy;
    c.last_train_measured = last_train_.measured;
    c.last_validation_loss = last_validation_.loss;
    c.last_validation_accuracy = last_validation_.accuracy;
    c.last_validation_measured = last_validation_.measured;
    options_.on_checkpoint(c);
    return absl::OkStatus();
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

  static double Accuracy(const BatchLoss& v) {
    return v.predicted == 0 ? 0.0 : static_cast<double>(v.correct) / v.predicted;
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
      ACTSERVE_ASSIGN_OR_RETURN(BatchLoss v,
                                engine_->Evaluate(Split::kValidation, options_.stop_requested));
      p.has_validation = true;
      p.validation_loss = v.loss;
      p.validation_accuracy = Accuracy(v);
      monitored = v.loss;
    }
    ACTSERVE_ASSIGN_OR_RETURN(p.layers, engine_->TakeDiagnostics());
    last_train_ = {p.train_loss, p.train_accuracy, period_.rows > 0};
    if (p.has_validation) last_validation_ = {p.validation_loss, p.validation_accuracy, true};
    p.elapsed_seconds = absl::ToDoubleSeconds(absl::Now() - start_);
    if (options_.on_progress) options_.on_progress(p);
    period_ = PeriodStats();
    return monitored;
  }

  // The metrics a cancelled job reports: the training loss and accuracy of the batches since
  // the last report (or of the last report's period when none ran since), the validation metrics
  // of the last epoch's end. What was never measured is left out (has_validation false), never
  // reported as 0.
  void LastMetrics(TrainResult& result) const {
    if (period_.rows > 0) {
      result.train_loss = period_.loss_sum / period_.rows;
      result.train_accuracy =
          period_.predicted ? static_cast<double>(period_.correct) / period_.predicted : 0;
    } else if (last_train_.measured) {
      result.train_loss = last_train_.loss;
      result.train_accuracy = last_train_.accuracy;
    }
    result.has_validation = last_validation_.measured;
    result.validation_loss = last_validation_.loss;
    result.validation_accuracy = last_validation_.accuracy;
  }

  struct Measured {
    double loss = 0, accuracy = 0;
    bool measured = false;
  };

  // The training loss of a reporting period, over its batches.
  struct PeriodStats {
    double loss_sum = 0;
    int64_t rows = 0, correct = 0, predicted = 0;
  };

  const TrainSpec& spec_;
  const TrainOptions& options_;
  absl::Time start_;  // elapsed time counts from here (earlier when resumed)
  std::unique_ptr<Engine> engine_;
  // Early stopping: the best monitored loss, epochs without improvement, the best weights.
  double best_ = INFINITY;
  int64_t waited_ = 0;
  std::vector<LayerWeights> best_weights_;
  bool can_checkpoint_ = true;
  PeriodStats period_;
  Measured last_train_, last_validation_;  // of the last report
  bool has_validation_ = false, has_accuracy_ = false;
  double lr_ = 0;
  int64_t steps_ = 0;
};

template <typename T>
absl::StatusOr<std::vector<double>> PredictAs(const TrainSpec& spec,
                                              const std::vector<LayerWeights>& weights,
                                              const Dataset& data, Backend& backend) {
  ACTSERVE_ASSIGN_OR_RETURN(Network<T> net, Network<T>::Create(spec, weights));
  const auto x = Network<T>::FromRows(data.x, data.rows, data.features);
  const int64_t outputs = net.layers().back().outputs;
  std::vector<double> out(data.rows * outputs);
  typename Network<T>::Matrix chunk;
  for (int64_t begin = 0; begin < data.rows; begin += kEvalRows) {
    const int64_t n = std::min(kEvalRows, data.rows - begin);
    chunk = x.middleRows(begin, n);
    ACTSERVE_RETURN_IF_ERROR(net.Forward(backend, chunk, /*training=*/false, 0));
    const auto& y = net.output();
    std::copy(y.data(), y.data() + y.size(), out.begin() + begin * outputs);
  }
  return out;
}

}  // namespace

absl::StatusOr<TrainResult> Train(const TrainSpec& spec, Dataset train, Dataset validation,
                                  const TrainOptions& options) {
  return Run(spec, options).Go(std::move(train), std::move(validation));
}

absl::StatusOr<std::vector<double>> Predict(const TrainSpec& spec,
                                            const std::vector<LayerWeights>& weights,
                                            const Dataset& x, Backend& backend) {
  if (spec.dtype == DType::kFloat64) return PredictAs<double>(spec, weights, x, backend);
  return PredictAs<float>(spec, weights, x, backend);
}

DataShape ShapeOf(const Dataset& data) { return {data.rows, data.features, data.target_width}; }

size_t EstimateJobBytes(const TrainSpec& spec, const DataShape& train,
                        const DataShape& validation) {
  // Counted from what Train allocates (TrainerTest.EstimateBoundsWhatTrainingAllocates checks
  // the bound), with room to spare: the server charges this to its memory budget before a job
  // is queued, so an estimate below the truth lets jobs exceed the budget.
  const size_t scalar = spec.dtype == DType::kFloat64 ? 8 : 4;
  const size_t elements =
      static_cast<size_t>(train.rows * (train.features + train.target_width) +
                          validation.rows * (validation.features + validation.target_width));
  const size_t rows = static_cast<size_t>(train.rows + validation.rows);
  // The data in double, copies while the validation split is made, the engine's copy in the
  // training dtype, and the shuffled row order (the trainer's and the engine's), with room.
  size_t bytes = 3 * elements * sizeof(double) + elements * scalar + 4 * rows * sizeof(int64_t);
  // Per parameter: weights, gradients, two optimizer moments in the training dtype; the weights
  // in double as they are read out, kept for early stopping and returned.
  bytes += static_cast<size_t>(ParameterCount(spec)) * (4 * scalar + 3 * sizeof(double));
  // Per layer, for a batch (or an evaluation chunk): z, a, f', the backward deltas, the input
  // gradient, the ones of f' and the backend's scratch.
  const size_t batch_rows = static_cast<size_t>(std::max<int64_t>(spec.batch_size, kEvalRows));
  for (const LayerSpec& layer : spec.layers) {
    bytes += batch_rows * static_cast<size_t>(layer.units) * 8 * scalar;
  }
  // The current batch's features and targets.
  bytes += batch_rows * static_cast<size_t>(spec.inputs + 64) * scalar;
  return bytes;
}

}  // namespace actserve::train
