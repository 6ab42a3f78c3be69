#include "kernels/train/cpu_engine.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "kernels/train/network.h"
#include "kernels/train/optimizer.h"
#include "kernels/util/status_macros.h"

namespace actserve::train {
namespace {

template <typename T>
class CpuEngine final : public Engine {
 public:
  using Matrix = typename Network<T>::Matrix;

  CpuEngine(const TrainSpec& spec, Backend& backend) : spec_(spec), backend_(backend) {}

  absl::Status Load(const Dataset& train, const Dataset& validation) override {
    sets_[0] = {Network<T>::FromRows(train.x, train.rows, train.features),
                Network<T>::FromRows(train.y, train.rows, train.target_width)};
    sets_[1] = {Network<T>::FromRows(validation.x, validation.rows, validation.features),
                Network<T>::FromRows(validation.y, validation.rows, validation.target_width)};
    return absl::OkStatus();
  }

  absl::Status SetWeights(const std::vector<LayerWeights>& weights) override {
    ACTSERVE_ASSIGN_OR_RETURN(net_, Network<T>::Create(spec_, weights));
    if (!optimizer_) {
      std::vector<int64_t> sizes;
      for (const auto& layer : net_.layers()) {
        sizes.push_back(layer.w.size());
        sizes.push_back(layer.b.size());
        sizes.push_back(layer.param.size());
      }
      optimizer_.emplace(spec_.optimizer, sizes);
      stats_.resize(net_.layers().size());
      ResetStats();
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<LayerWeights>> Weights() override { return net_.Weights(); }

  absl::Status BeginEpoch(absl::Span<const int64_t> order) override {
    order_.assign(order.begin(), order.end());
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<LayerDiagnostics>> TakeDiagnostics() override {
    std::vector<LayerDiagnostics> out;
    const auto& layers = net_.layers();
    for (size_t l = 0; l < layers.size(); ++l) {
      out.push_back(stats_[l].Summarize(static_cast<double>(layers[l].w.norm())));
    }
    ResetStats();
    return out;
  }

  absl::StatusOr<EngineState> SaveState() override {
    EngineState state;
    optimizer_->Save(&state.optimizer_steps, &state.first_moments, &state.second_moments);
    state.stats = stats_;
    return state;
  }

  absl::Status RestoreState(const EngineState& state) override {
    bool fits = state.stats.size() == stats_.size();
    for (size_t l = 0; fits && l < stats_.size(); ++l) {
      fits = state.stats[l].alive.size() == stats_[l].alive.size();
    }
    if (!fits ||
        !optimizer_->Restore(state.optimizer_steps, state.first_moments, state.second_moments)) {
      return absl::InvalidArgumentError("the checkpoint's state does not fit this network");
    }
    stats_ = state.stats;
    return absl::OkStatus();
  }

 private:
  struct Set {
    Matrix x, y;
  };

  // ---- Engine's parts: the current batch is xb_, yb_. ----

  absl::Status GatherBatch(int64_t begin, int64_t rows) override {
    const Set& set = sets_[0];
    xb_.resize(rows, set.x.cols());
    yb_.resize(rows, set.y.cols());
    for (int64_t r = 0; r < rows; ++r) {
      xb_.row(r) = set.x.row(order_[begin + r]);
      yb_.row(r) = set.y.row(order_[begin + r]);
    }
    return absl::OkStatus();
  }

  int64_t Rows(Split split) const override { return SetOf(split).x.rows(); }

  absl::Status SliceBatch(Split split, int64_t begin, int64_t rows) override {
    xb_ = SetOf(split).x.middleRows(begin, rows);
    yb_ = SetOf(split).y.middleRows(begin, rows);
    return absl::OkStatus();
  }

  absl::Status Forward(bool training, uint64_t noise_seed) override {
    return net_.Forward(backend_, xb_, training, noise_seed);
  }

  absl::StatusOr<BatchLoss> BatchLossAndGradient() override {
    return net_.ComputeLoss(spec_.loss, yb_, &grad_out_);
  }

  absl::Status ClearLossSum() override {
    loss_sum_ = 0;
    loss_counts_ = BatchLoss();
    return absl::OkStatus();
  }

  absl::Status AddToLossSum() override {
    const BatchLoss v = net_.ComputeLoss(spec_.loss, yb_, nullptr);
    loss_sum_ += v.loss * static_cast<double>(xb_.rows());
    loss_counts_.correct += v.correct;
    loss_counts_.predicted += v.predicted;
    return absl::OkStatus();
  }

  absl::StatusOr<BatchLoss> LossSum(int64_t rows) override {
    BatchLoss total = loss_counts_;
    total.loss = loss_sum_ / static_cast<double>(std::max<int64_t>(1, rows));
    return total;
  }

  absl::Status Backward() override {
    ACTSERVE_RETURN_IF_ERROR(net_.Backward(backend_, xb_, grad_out_, &grads_, &fprime_));
    return absl::OkStatus();
  }

  absl::Status AccumulateDiagnostics() override {
    Accumulate();
    return absl::OkStatus();
  }

  void BeginUpdate() override { optimizer_->BeginStep(); }

  absl::Status Update(size_t l, TensorKind tensor, double lr, double l2) override {
    auto& layer = net_.layers()[l];
    const T step_lr = static_cast<T>(lr), decay = static_cast<T>(l2);
    switch (tensor) {
      case TensorKind::kWeights:
        optimizer_->Update(3 * l, Span(layer.w), ConstSpan(grads_.w[l]), step_lr, decay);
        break;
      case TensorKind::kBias:
        optimizer_->Update(3 * l + 1, Span(layer.b), ConstSpan(grads_.b[l]), step_lr, decay);
        break;
      case TensorKind::kParam:
        optimizer_->Update(3 * l + 2, Span(layer.param), ConstSpan(grads_.param[l]), step_lr,
                           decay);
        break;
    }
    return absl::OkStatus();
  }

  size_t LayerCount() const override { return net_.layers().size(); }
  bool Learnable(size_t l) const override { return net_.layers()[l].learnable >= 0; }
  bool Frozen(size_t l) const override { return net_.layers()[l].frozen; }
  double l2() const override { return spec_.optimizer.l2; }

  const Set& SetOf(Split split) const { return sets_[split == Split::kTrain ? 0 : 1]; }

  static absl::Span<T> Span(auto& m) { return absl::Span<T>(m.data(), m.size()); }
  static absl::Span<const T> ConstSpan(const auto& m) {
    return absl::Span<const T>(m.data(), m.size());
  }

  void ResetStats() {
    for (size_t l = 0; l < stats_.size(); ++l) stats_[l].Reset(net_.layers()[l].units);
  }

  // Adds the last step's values to the period's sums.
  void Accumulate() {
    const auto& layers = net_.layers();
    for (size_t l = 0; l < layers.size(); ++l) {
      LayerStats& st = stats_[l];
      const Matrix& fp = fprime_[l];
      if (fp.size() > 0) {
        for (int64_t r = 0; r < fp.rows(); ++r) {
          for (int64_t c = 0; c < fp.cols(); ++c) {
            const T d = fp(r, c);
            st.alive[c] |= d != T(0);
            st.saturated += IsSaturated(d);
          }
        }
        st.derivatives += fp.size();
      }
      const Matrix& a = layers[l].a;
      st.sum += a.template cast<double>().sum();
      st.sum_sq += a.template cast<double>().squaredNorm();
      st.values += a.size();
      st.gradient_norm_sum += static_cast<double>(grads_.w[l].norm());
      ++st.steps;
    }
  }

  const TrainSpec& spec_;
  Backend& backend_;
  Set sets_[2];  // training, validation
  std::vector<int64_t> order_;
  Network<T> net_;
  std::optional<Optimizer<T>> optimizer_;
  Matrix xb_, yb_, grad_out_;
  typename Network<T>::Gradients grads_;
  std::vector<Matrix> fprime_;
  std::vector<LayerStats> stats_;
  double loss_sum_ = 0;    // Evaluate's: sum of chunk mean losses times chunk rows
  BatchLoss loss_counts_;  // Evaluate's correct and predicted counts
};

}  // namespace

absl::StatusOr<std::unique_ptr<Engine>> NewCpuEngine(const TrainSpec& spec, Backend& backend) {
  if (spec.dtype == DType::kFloat64) return std::make_unique<CpuEngine<double>>(spec, backend);
  return std::make_unique<CpuEngine<float>>(spec, backend);
}

}  // namespace actserve::train
