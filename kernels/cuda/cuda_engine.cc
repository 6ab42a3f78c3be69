#include "kernels/cuda/cuda_engine.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "kernels/cuda/cublas_library.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/device_call.h"
#include "kernels/cuda/device_memory.h"
#include "kernels/cuda/train_kernels.h"
#include "kernels/train/network.h"
#include "kernels/train/optimizer.h"
#include "kernels/util/status_macros.h"

namespace actserve {
namespace {

using cuda::CudaStatus;
using cuda::DeviceBuffer;
using cuda::Reduction;
using train::BatchLoss;
using train::LayerWeights;

// A cuBLAS error as a status: failed allocations are RESOURCE_EXHAUSTED, the rest INTERNAL.
absl::Status CublasStatus(const cuda::CublasLibrary& lib, cublasStatus_t s, const char* what) {
  if (s == CUBLAS_STATUS_SUCCESS) return absl::OkStatus();
  std::string message =
      absl::StrFormat("cuBLAS %s: %s (%s)", what, lib.status_string(s), lib.status_name(s));
  if (s == CUBLAS_STATUS_ALLOC_FAILED) return absl::ResourceExhaustedError(message);
  return absl::InternalError(message);
}

// C = op(A) op(B) + beta C and y = A x, in cuBLAS's column-major terms, for float and double. A
// row-major matrix of r x c values is the column-major c x r matrix, its transpose.
cublasStatus_t Gemm(const cuda::CublasLibrary& lib, cublasHandle_t h, cublasOperation_t ta,
                    cublasOperation_t tb, int m, int n, int k, const float* a, int lda,
                    const float* b, int ldb, float beta, float* c, int ldc) {
  const float one = 1;
  return lib.sgemm(h, ta, tb, m, n, k, &one, a, lda, b, ldb, &beta, c, ldc);
}
cublasStatus_t Gemm(const cuda::CublasLibrary& lib, cublasHandle_t h, cublasOperation_t ta,
                    cublasOperation_t tb, int m, int n, int k, const double* a, int lda,
                    const double* b, int ldb, double beta, double* c, int ldc) {
  const double one = 1;
  return lib.dgemm(h, ta, tb, m, n, k, &one, a, lda, b, ldb, &beta, c, ldc);
}
cublasStatus_t Gemv(const cuda::CublasLibrary& lib, cublasHandle_t h, int m, int n, const float* a,
                    int lda, const float* x, float* y) {
  const float one = 1, zero = 0;
  return lib.sgemv(h, CUBLAS_OP_N, m, n, &one, a, lda, x, 1, &zero, y, 1);
}
cublasStatus_t Gemv(const cuda::CublasLibrary& lib, cublasHandle_t h, int m, int n, const double* a,
                    int lda, const double* x, double* y) {
  const double one = 1, zero = 0;
  return lib.dgemv(h, CUBLAS_OP_N, m, n, &one, a, lda, x, 1, &zero, y, 1);
}

// The stream and cuBLAS handle of one engine. Declared first in the engine so that it is
// destroyed last, after every buffer has been freed on its stream.
struct Context {
  const cuda::CublasLibrary* lib = nullptr;
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;

  Context() = default;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context() {
    if (blas != nullptr) lib->destroy(blas);
    if (stream != nullptr) {
      cudaStreamSynchronize(stream);
      cudaStreamDestroy(stream);
    }
  }
};

template <class T>
class CudaEngine final : public train::Engine {
 public:
  CudaEngine(const train::TrainSpec& spec, int device) : spec_(spec), device_(device) {}

  // Frees the buffers on the engine's device. An engine whose Init found no such device has
  // nothing there; its failed select must not stay as the thread's last error, which the next
  // launch on this thread (another engine's) would report as its own (found on an H200: a job
  // after a missing-device one failed with "invalid device ordinal").
  ~CudaEngine() override {
    if (cudaSetDevice(device_) != cudaSuccess) cudaGetLastError();
  }

  // Creates the stream, the cuBLAS handle and every buffer whose size the spec alone decides.
  absl::Status Init() {
    ACTSERVE_RETURN_IF_ERROR(cuda::UseDevice(device_));
    ACTSERVE_ASSIGN_OR_RETURN(ctx_.lib, cuda::LoadCublas());
    ACTSERVE_RETURN_IF_ERROR(CudaStatus(
        cudaStreamCreateWithFlags(&ctx_.stream, cudaStreamNonBlocking), "creating a stream"));
    ACTSERVE_RETURN_IF_ERROR(Blas(ctx_.lib->create(&ctx_.blas), "creating a handle"));
    ACTSERVE_RETURN_IF_ERROR(Blas(ctx_.lib->set_stream(ctx_.blas, ctx_.stream), "setStream"));
    // No TF32 for fp32 products: a job's fp32 means fp32, as on the CPU.
    ACTSERVE_RETURN_IF_ERROR(
        Blas(ctx_.lib->set_math_mode(ctx_.blas, CUBLAS_DEFAULT_MATH), "setMathMode"));
    ACTSERVE_ASSIGN_OR_RETURN(std::vector<train::LayerPlan> plans, train::PlanLayers(spec_));
    moments_ = train::Optimizer<T>::MomentsPerElement(spec_.optimizer.kind);
    for (train::LayerPlan& plan : plans) {
      ACTSERVE_RETURN_IF_ERROR(CheckDimension(plan.inputs, "a layer's inputs"));
      ACTSERVE_RETURN_IF_ERROR(CheckDimension(plan.units, "a layer's units"));
      Layer& layer = layers_.emplace_back();
      layer.param = LearnableParam(*plan.call.info);
      layer.elementwise = plan.call.info->layout == Layout::kElementwise;
      layer.plan = std::move(plan);
      ACTSERVE_RETURN_IF_ERROR(AllocateTensor(layer.w, layer.plan.units * layer.plan.inputs));
      ACTSERVE_RETURN_IF_ERROR(AllocateTensor(layer.b, layer.plan.units));
      ACTSERVE_RETURN_IF_ERROR(layer.sums.Allocate(kSums, ctx_.stream));
      ACTSERVE_RETURN_IF_ERROR(layer.alive.Allocate(layer.plan.units, ctx_.stream));
    }
    ACTSERVE_RETURN_IF_ERROR(partials_.Allocate(cuda::kReducePartials, ctx_.stream));
    ACTSERVE_RETURN_IF_ERROR(loss_sums_.Allocate(2, ctx_.stream));
    ACTSERVE_RETURN_IF_ERROR(norms_.Allocate(layers_.size(), ctx_.stream));
    ACTSERVE_RETURN_IF_ERROR(ResetDiagnostics());
    return Sync("creating the engine");
  }

  absl::Status Load(const train::Dataset& train, const train::Dataset& validation) override {
    ACTSERVE_RETURN_IF_ERROR(SetDevice());
    const train::Dataset* sets[2] = {&train, &validation};
    for (int i = 0; i < 2; ++i) {
      Set& set = sets_[i];
      set.rows = sets[i]->rows;
      set.features = sets[i]->features;
      set.target_width = sets[i]->target_width;
      ACTSERVE_RETURN_IF_ERROR(Upload(sets[i]->x, set.x));
      ACTSERVE_RETURN_IF_ERROR(Upload(sets[i]->y, set.y));
    }
    // Rows of the batch buffers: a training batch or an evaluation chunk.
    const int64_t capacity = std::max<int64_t>(
        spec_.batch_size, std::min(train::kEvalRows, std::max(train.rows, validation.rows)));
    ACTSERVE_RETURN_IF_ERROR(CheckDimension(capacity, "the rows of a batch"));
    ACTSERVE_RETURN_IF_ERROR(order_.Allocate(train.rows, ctx_.stream));
    ACTSERVE_RETURN_IF_ERROR(xb_.Allocate(capacity * train.features, ctx_.stream));
    ACTSERVE_RETURN_IF_ERROR(yb_.Allocate(capacity * train.target_width, ctx_.stream));
    int64_t widest = 1;
    for (size_t l = 0; l < layers_.size(); ++l) {
      Layer& layer = layers_[l];
      const int64_t units = layer.plan.units;
      widest = std::max(widest, units);
      ACTSERVE_RETURN_IF_ERROR(layer.z.Allocate(capacity * units, ctx_.stream));
      ACTSERVE_RETURN_IF_ERROR(layer.a.Allocate(capacity * layer.plan.outputs, ctx_.stream));
      ACTSERVE_RETURN_IF_ERROR(layer.dz.Allocate(capacity * units, ctx_.stream));
      if (l > 0) {
        ACTSERVE_RETURN_IF_ERROR(layer.d_input.Allocate(capacity * layer.plan.inputs, ctx_.stream));
      }
      ACTSERVE_RETURN_IF_ERROR(layer.elementwise
                                   ? layer.fp.Allocate(capacity * units, ctx_.stream)
                                   : layer.scratch.Allocate(capacity * units, ctx_.stream));
    }
    // Ones: the dy that gives f' by a backward pass, and the vector that sums dz's columns.
    ACTSERVE_RETURN_IF_ERROR(ones_.Allocate(capacity * widest, ctx_.stream));
    ACTSERVE_RETURN_IF_ERROR(
        Cuda(cuda::LaunchFill<T>(ones_.get(), capacity * widest, T(1), ctx_.stream), "fill"));
    ACTSERVE_RETURN_IF_ERROR(grad_out_.Allocate(capacity * outputs(), ctx_.stream));
    ACTSERVE_RETURN_IF_ERROR(row_loss_.Allocate(capacity, ctx_.stream));
    ACTSERVE_RETURN_IF_ERROR(row_correct_.Allocate(capacity, ctx_.stream));
    return Sync("loading the data");
  }

  absl::Status SetWeights(const std::vector<LayerWeights>& weights) override {
    ACTSERVE_RETURN_IF_ERROR(SetDevice());
    for (size_t l = 0; l < layers_.size(); ++l) {
      Layer& layer = layers_[l];
      const LayerWeights& lw = weights[l];
      ACTSERVE_RETURN_IF_ERROR(Write(lw.weights, layer.w.value));
      ACTSERVE_RETURN_IF_ERROR(Write(lw.bias, layer.b.value));
      if (layer.param < 0) continue;
      // A frozen parameter keeps the call's values, as on the CPU.
      ActivationCall& call = layer.plan.call;
      std::vector<double> values = layer.plan.learnable >= 0
                                       ? train::ParamValues(call, layer.param, lw)
                                       : call.params[layer.param];
      if (layer.p.size != static_cast<int64_t>(values.size())) {
        ACTSERVE_RETURN_IF_ERROR(AllocateTensor(layer.p, values.size()));
        ACTSERVE_RETURN_IF_ERROR(layer.p_double.Allocate(values.size(), ctx_.stream));
        ACTSERVE_RETURN_IF_ERROR(layer.p_grad_double.Allocate(values.size(), ctx_.stream));
      }
      ACTSERVE_RETURN_IF_ERROR(Write(values, layer.p.value));
      call.params[layer.param] = std::move(values);  // sizes decide call.per_channel()
    }
    return Sync("setting the weights");
  }

  absl::StatusOr<std::vector<LayerWeights>> Weights() override {
    ACTSERVE_RETURN_IF_ERROR(SetDevice());
    std::vector<std::array<std::vector<T>, 3>> host(layers_.size());
    for (size_t l = 0; l < layers_.size(); ++l) {
      Layer& layer = layers_[l];
      Tensor* tensors[3] = {&layer.w, &layer.b, layer.plan.learnable >= 0 ? &layer.p : nullptr};
      for (int t = 0; t < 3; ++t) {
        if (tensors[t] == nullptr) continue;
        host[l][t].resize(tensors[t]->size);
        ACTSERVE_RETURN_IF_ERROR(
            tensors[t]->value.CopyOut(absl::MakeSpan(host[l][t]), ctx_.stream));
      }
    }
    ACTSERVE_RETURN_IF_ERROR(Sync("reading the weights"));
    std::vector<LayerWeights> out(layers_.size());
    for (size_t l = 0; l < layers_.size(); ++l) {
      out[l].weights.assign(host[l][0].begin(), host[l][0].end());
      out[l].bias.assign(host[l][1].begin(), host[l][1].end());
      out[l].activation_param.assign(host[l][2].begin(), host[l][2].end());
    }
    return out;
  }

  absl::Status BeginEpoch(absl::Span<const int64_t> order) override {
    ACTSERVE_RETURN_IF_ERROR(SetDevice());
    return order_.Write(order, ctx_.stream);
  }

  absl::StatusOr<std::vector<train::LayerDiagnostics>> TakeDiagnostics() override {
    ACTSERVE_RETURN_IF_ERROR(SetDevice());
    const cudaStream_t s = ctx_.stream;
    ACTSERVE_RETURN_IF_ERROR(norms_.Zero(s));
    std::vector<std::array<double, kSums>> sums(layers_.size());
    std::vector<std::vector<uint8_t>> alive(layers_.size());
    std::vector<double> norms(layers_.size());
    for (size_t l = 0; l < layers_.size(); ++l) {
      Layer& layer = layers_[l];
      ACTSERVE_RETURN_IF_ERROR(
          Reduce(Reduction::kNorm, layer.w.value.get(), layer.w.size, norms_.get() + l));
      ACTSERVE_RETURN_IF_ERROR(layer.sums.CopyOut(absl::MakeSpan(sums[l]), s));
      alive[l].resize(layer.plan.units);
      ACTSERVE_RETURN_IF_ERROR(layer.alive.CopyOut(absl::MakeSpan(alive[l]), s));
    }
    ACTSERVE_RETURN_IF_ERROR(norms_.CopyOut(absl::MakeSpan(norms), s));
    ACTSERVE_RETURN_IF_ERROR(Sync("reading the diagnostics"));
    std::vector<train::LayerDiagnostics> out;
    for (size_t l = 0; l < layers_.size(); ++l) {
      const Layer& layer = layers_[l];
      train::LayerStats st;
      st.alive = std::move(alive[l]);
      st.saturated = static_cast<int64_t>(sums[l][kSaturated]);
      st.derivatives = layer.derivatives;
      st.sum = sums[l][kSum];
      st.sum_sq = sums[l][kSumSq];
      st.values = layer.values;
      st.gradient_norm_sum = sums[l][kGradientNorms];
      st.steps = layer.steps;
      out.push_back(st.Summarize(norms[l]));
    }
    ACTSERVE_RETURN_IF_ERROR(ResetDiagnostics());
    return out;
  }

 private:
  // A trained tensor: its values, gradient and the optimizer's moments.
  struct Tensor {
    int64_t size = 0;
    DeviceBuffer<T> value, grad, m, v;
  };

  // Each layer's diagnostic sums on the device, in this order.
  enum { kSaturated, kSum, kSumSq, kGradientNorms, kSums };

  struct Layer {
    train::LayerPlan plan;
    int param = -1;  // the activation's learnable parameter, trained or frozen, or -1
    bool elementwise = true;
    Tensor w, b, p;  // p: the learnable parameter's values (one, or one per unit)
    DeviceBuffer<double> p_double, p_grad_double;  // as the activation kernels take them
    DeviceBuffer<T> z, a, dz, d_input, fp, scratch;
    cuda::DeviceCall call;  // the last forward pass's, which the backward pass repeats
    DeviceBuffer<uint8_t> alive;
    DeviceBuffer<double> sums;
    int64_t derivatives = 0, values = 0, steps = 0;  // the period's counts
  };

  struct Set {
    int64_t rows = 0, features = 0, target_width = 0;
    DeviceBuffer<T> x, y;
  };

  // A launch's error as a status (the message is only built for an error: launches are hot).
  static absl::Status Cuda(cudaError_t e, const char* what) {
    if (e == cudaSuccess) return absl::OkStatus();
    return CudaStatus(e, absl::StrFormat("launching %s", what).c_str());
  }
  absl::Status Blas(cublasStatus_t s, const char* what) const {
    return CublasStatus(*ctx_.lib, s, what);
  }
  static absl::Status CheckDimension(int64_t n, const char* what) {
    if (n <= INT_MAX) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrFormat("%s (%d) exceed what cuBLAS takes (%d)", what, n, INT_MAX));
  }

  // ---- Engine's parts. The current batch is batch_; the first part of Step (GatherBatch) and
  // of Evaluate (ClearLossSum) selects the engine's device for the calling thread. ----

  absl::Status GatherBatch(int64_t begin, int64_t rows) override {
    ACTSERVE_RETURN_IF_ERROR(SetDevice());
    const Set& set = sets_[0];
    const cudaStream_t s = ctx_.stream;
    ACTSERVE_RETURN_IF_ERROR(
        Cuda(cuda::LaunchGatherRows<T>(set.x.get(), set.features, order_.get() + begin, rows,
                                       xb_.get(), s),
             "gathering the batch"));
    ACTSERVE_RETURN_IF_ERROR(
        Cuda(cuda::LaunchGatherRows<T>(set.y.get(), set.target_width, order_.get() + begin, rows,
                                       yb_.get(), s),
             "gathering the batch"));
    batch_ = {xb_.get(), yb_.get(), set.target_width, rows};
    return absl::OkStatus();
  }

  int64_t Rows(train::Split split) const override { return SetOf(split).rows; }

  absl::Status SliceBatch(train::Split split, int64_t begin, int64_t rows) override {
    const Set& set = SetOf(split);
    batch_ = {set.x.get() + begin * set.features, set.y.get() + begin * set.target_width,
              set.target_width, rows};
    return absl::OkStatus();
  }

  absl::Status Forward(bool training, uint64_t noise_seed) override {
    return ForwardRows(batch_.x, batch_.rows, training, noise_seed);
  }

  absl::StatusOr<BatchLoss> BatchLossAndGradient() override {
    ACTSERVE_RETURN_IF_ERROR(loss_sums_.Zero(ctx_.stream));
    ACTSERVE_RETURN_IF_ERROR(Loss(batch_.y, batch_.target_width, batch_.rows, grad_out_.get()));
    return ReadLoss(batch_.rows);
  }

  absl::Status ClearLossSum() override {
    ACTSERVE_RETURN_IF_ERROR(SetDevice());
    return loss_sums_.Zero(ctx_.stream);
  }

  absl::Status AddToLossSum() override {
    return Loss(batch_.y, batch_.target_width, batch_.rows, nullptr);
  }

  absl::StatusOr<BatchLoss> LossSum(int64_t rows) override { return ReadLoss(rows); }

  absl::Status Backward() override { return BackwardRows(batch_.x, batch_.rows); }

  absl::Status AccumulateDiagnostics() override { return AccumulateDiagnostics(batch_.rows); }

  void BeginUpdate() override { optimizer_.BeginStep(); }

  absl::Status Update(size_t l, TensorKind tensor, double lr, double l2) override {
    const train::UpdateRule<T> rule = optimizer_.Rule(static_cast<T>(lr), static_cast<T>(l2));
    Layer& layer = layers_[l];
    switch (tensor) {
      case TensorKind::kWeights:
        return UpdateTensor(rule, layer.w);
      case TensorKind::kBias:
        return UpdateTensor(rule, layer.b);
      case TensorKind::kParam:
        return UpdateTensor(rule, layer.p);
    }
    return absl::InternalError("unknown tensor");
  }

  size_t LayerCount() const override { return layers_.size(); }
  bool Learnable(size_t l) const override { return layers_[l].plan.learnable >= 0; }
  bool Frozen(size_t l) const override { return layers_[l].plan.frozen; }
  double l2() const override { return spec_.optimizer.l2; }

  const Set& SetOf(train::Split split) const {
    return sets_[split == train::Split::kTrain ? 0 : 1];
  }

  absl::Status SetDevice() const {
    return CudaStatus(cudaSetDevice(device_), "selecting the device");
  }
  absl::Status Sync(const char* what) const {
    return CudaStatus(cudaStreamSynchronize(ctx_.stream), what);
  }
  int64_t outputs() const { return layers_.back().plan.outputs; }

  absl::Status AllocateTensor(Tensor& t, int64_t n) {
    t.size = n;
    ACTSERVE_RETURN_IF_ERROR(t.value.Allocate(n, ctx_.stream));
    ACTSERVE_RETURN_IF_ERROR(t.grad.Allocate(n, ctx_.stream));
    ACTSERVE_RETURN_IF_ERROR(t.m.Allocate(moments_ >= 1 ? n : 0, ctx_.stream));
    ACTSERVE_RETURN_IF_ERROR(t.v.Allocate(moments_ >= 2 ? n : 0, ctx_.stream));
    ACTSERVE_RETURN_IF_ERROR(t.m.Zero(ctx_.stream));
    return t.v.Zero(ctx_.stream);
  }

  // `values` in T into `out` (allocated to fit); `Write`: into its existing room. Both copies are
  // staged before they return, so the temporary may go.
  absl::Status Upload(const std::vector<double>& values, DeviceBuffer<T>& out) {
    const std::vector<T> host(values.begin(), values.end());
    return out.CopyIn(host, ctx_.stream);
  }
  absl::Status Write(const std::vector<double>& values, DeviceBuffer<T>& out) {
    const std::vector<T> host(values.begin(), values.end());
    return out.Write(host, ctx_.stream);
  }

  template <class U>
  absl::Status Reduce(Reduction kind, const U* v, int64_t n, double* out) {
    return Cuda(cuda::LaunchAccumulate<U>(kind, v, n, partials_.get(), out, ctx_.stream),
                "a reduction");
  }

  absl::Status UpdateTensor(const train::UpdateRule<T>& rule, Tensor& t) {
    return Cuda(cuda::LaunchUpdate<T>(rule, t.value.get(), t.grad.get(), t.m.get(), t.v.get(),
                                      t.size, ctx_.stream),
                "the optimizer's update");
  }

  // Every layer's z = in W^T + b and a = f(z) for `rows` rows of `x`.
  absl::Status ForwardRows(const T* x, int64_t rows, bool training, uint64_t seed) {
    const cudaStream_t s = ctx_.stream;
    const T* in = x;
    for (size_t l = 0; l < layers_.size(); ++l) {
      Layer& layer = layers_[l];
      const int units = static_cast<int>(layer.plan.units);
      const int inputs = static_cast<int>(layer.plan.inputs);
      ACTSERVE_RETURN_IF_ERROR(
          Cuda(cuda::LaunchBroadcastRows<T>(layer.b.value.get(), rows, units, layer.z.get(), s),
               "the bias rows"));
      // z^T (units x rows) += W (W^T stored) x in^T.
      ACTSERVE_RETURN_IF_ERROR(
          Blas(Gemm(*ctx_.lib, ctx_.blas, CUBLAS_OP_T, CUBLAS_OP_N, units, static_cast<int>(rows),
                    inputs, layer.w.value.get(), inputs, in, inputs, T(1), layer.z.get(), units),
               "x W^T"));
      ActivationCall& call = layer.plan.call;
      train::SetBatchRows(call, rows);
      call.training = training;
      call.seed = train::DeriveSeed(seed, l);
      layer.call = cuda::MakeDeviceCall(call);
      if (layer.param >= 0) {
        ACTSERVE_RETURN_IF_ERROR(
            Cuda(cuda::LaunchConvert<T, double>(layer.p.value.get(), layer.p.size,
                                                layer.p_double.get(), s),
                 "a conversion"));
        layer.call.channel_params = layer.p_double.get();
      }
      ACTSERVE_RETURN_IF_ERROR(
          Cuda(cuda::LaunchForward<T>(layer.call, layer.z.get(), layer.a.get(), s),
               "the activation's forward kernel"));
      in = layer.a.get();
    }
    return absl::OkStatus();
  }

  // Adds the losses of the last Forward's `rows` rows against `targets` to loss_sums_, and writes
  // dLoss/d(output) into `grad` when not null.
  absl::Status Loss(const T* targets, int64_t target_width, int64_t rows, T* grad) {
    const cudaStream_t s = ctx_.stream;
    ACTSERVE_RETURN_IF_ERROR(
        Cuda(cuda::LaunchLoss<T>(DeviceLoss(), layers_.back().a.get(), targets, rows, outputs(),
                                 target_width, grad, row_loss_.get(), row_correct_.get(), s),
             "the loss"));
    ACTSERVE_RETURN_IF_ERROR(Reduce(Reduction::kSum, row_loss_.get(), rows, loss_sums_.get()));
    return Reduce(Reduction::kSum, row_correct_.get(), rows, loss_sums_.get() + 1);
  }

  cuda::LossKind DeviceLoss() const {
    switch (spec_.loss) {
      case train::Loss::kSoftmaxCrossEntropy:
        return cuda::LossKind::kSoftmaxCrossEntropy;
      case train::Loss::kSigmoidCrossEntropy:
        return cuda::LossKind::kSigmoidCrossEntropy;
      default:
        return cuda::LossKind::kSquaredError;
    }
  }

  // loss_sums_ over `rows` rows as a BatchLoss, as Network::ComputeLoss defines it.
  absl::StatusOr<BatchLoss> ReadLoss(int64_t rows) {
    std::array<double, 2> sums;
    ACTSERVE_RETURN_IF_ERROR(loss_sums_.CopyOut(absl::MakeSpan(sums), ctx_.stream));
    ACTSERVE_RETURN_IF_ERROR(Sync("computing the loss"));
    BatchLoss loss;
    const bool per_row = spec_.loss == train::Loss::kSoftmaxCrossEntropy;
    const int64_t count = per_row ? rows : rows * outputs();
    loss.loss = sums[0] / static_cast<double>(std::max<int64_t>(1, count));
    if (spec_.loss != train::Loss::kMeanSquaredError) {
      loss.correct = static_cast<int64_t>(sums[1]);
      loss.predicted = count;
    }
    return loss;
  }

  // Backpropagates grad_out_ through the last Forward on `x`: every tensor's gradient, and each
  // elementwise layer's f'(z) into fp.
  absl::Status BackwardRows(const T* x, int64_t rows) {
    const cudaStream_t s = ctx_.stream;
    const int n = static_cast<int>(rows);
    const T* delta = grad_out_.get();  // dLoss/d(a) of the current layer
    for (size_t i = layers_.size(); i-- > 0;) {
      Layer& layer = layers_[i];
      const int units = static_cast<int>(layer.plan.units);
      const int inputs = static_cast<int>(layer.plan.inputs);
      double* param_grads = nullptr;
      if (layer.plan.learnable >= 0) {
        ACTSERVE_RETURN_IF_ERROR(layer.p_grad_double.Zero(s));
        param_grads = layer.p_grad_double.get();
      }
      ACTSERVE_RETURN_IF_ERROR(
          Cuda(cuda::LaunchBackward<T>(layer.call, layer.z.get(), delta, layer.dz.get(),
                                       param_grads, layer.scratch.get(), s),
               "the activation's backward kernel"));
      if (param_grads != nullptr) {
        ACTSERVE_RETURN_IF_ERROR(
            Cuda(cuda::LaunchConvert<double, T>(param_grads, layer.p.size, layer.p.grad.get(), s),
                 "a conversion"));
      }
      if (layer.elementwise) {
        ACTSERVE_RETURN_IF_ERROR(
            Cuda(cuda::LaunchBackward<T>(layer.call, layer.z.get(), ones_.get(), layer.fp.get(),
                                         nullptr, nullptr, s),
                 "the activation's derivative"));
      }
      const T* in = i == 0 ? x : layers_[i - 1].a.get();
      // dW^T (inputs x units) = in^T x dz.
      ACTSERVE_RETURN_IF_ERROR(
          Blas(Gemm(*ctx_.lib, ctx_.blas, CUBLAS_OP_N, CUBLAS_OP_T, inputs, units, n, in, inputs,
                    layer.dz.get(), units, T(0), layer.w.grad.get(), inputs),
               "dz^T x"));
      // db = dz's column sums = dz^T (stored as units x rows) x ones.
      ACTSERVE_RETURN_IF_ERROR(Blas(Gemv(*ctx_.lib, ctx_.blas, units, n, layer.dz.get(), units,
                                         ones_.get(), layer.b.grad.get()),
                                    "sum of dz"));
      if (i > 0) {
        // d_input^T (inputs x rows) = W^T (W stored) x dz^T.
        ACTSERVE_RETURN_IF_ERROR(Blas(Gemm(*ctx_.lib, ctx_.blas, CUBLAS_OP_N, CUBLAS_OP_N, inputs,
                                           n, units, layer.w.value.get(), inputs, layer.dz.get(),
                                           units, T(0), layer.d_input.get(), inputs),
                                      "dz W"));
        delta = layer.d_input.get();
      }
    }
    return absl::OkStatus();
  }

  // Adds the last step to each layer's diagnostic sums (as CpuEngine's Accumulate does).
  absl::Status AccumulateDiagnostics(int64_t rows) {
    for (Layer& layer : layers_) {
      const int64_t z_size = rows * layer.plan.units, a_size = rows * layer.plan.outputs;
      if (layer.elementwise) {
        ACTSERVE_RETURN_IF_ERROR(
            Cuda(cuda::LaunchMarkAlive<T>(layer.fp.get(), rows, layer.plan.units, layer.alive.get(),
                                          ctx_.stream),
                 "marking live units"));
        ACTSERVE_RETURN_IF_ERROR(Reduce(Reduction::kSaturatedCount, layer.fp.get(), z_size,
                                        layer.sums.get() + kSaturated));
        layer.derivatives += z_size;
      }
      ACTSERVE_RETURN_IF_ERROR(
          Reduce(Reduction::kSum, layer.a.get(), a_size, layer.sums.get() + kSum));
      ACTSERVE_RETURN_IF_ERROR(
          Reduce(Reduction::kSumOfSquares, layer.a.get(), a_size, layer.sums.get() + kSumSq));
      layer.values += a_size;
      ACTSERVE_RETURN_IF_ERROR(Reduce(Reduction::kNorm, layer.w.grad.get(), layer.w.size,
                                      layer.sums.get() + kGradientNorms));
      ++layer.steps;
    }
    return absl::OkStatus();
  }

  absl::Status ResetDiagnostics() {
    for (Layer& layer : layers_) {
      ACTSERVE_RETURN_IF_ERROR(layer.sums.Zero(ctx_.stream));
      ACTSERVE_RETURN_IF_ERROR(layer.alive.Zero(ctx_.stream));
      layer.derivatives = layer.values = layer.steps = 0;
    }
    return absl::OkStatus();
  }

  Context ctx_;  // first: destroyed last
  const train::TrainSpec& spec_;
  const int device_;
  int moments_ = 0;
  train::Optimizer<T> optimizer_{spec_.optimizer, {}};  // step count and rules; moments in Tensor
  std::vector<Layer> layers_;
  Set sets_[2];  // training, validation
  DeviceBuffer<int64_t> order_;
  DeviceBuffer<T> xb_, yb_, ones_, grad_out_;
  // The current batch: rows of inputs and targets on the device (in xb_, yb_ or a set).
  struct Batch {
    const T* x = nullptr;
    const T* y = nullptr;
    int64_t target_width = 0, rows = 0;
  } batch_;
  DeviceBuffer<double> row_loss_, row_correct_, loss_sums_, partials_, norms_;
};

template <class T>
absl::StatusOr<std::unique_ptr<train::Engine>> MakeEngine(const train::TrainSpec& spec,
                                                          int device) {
  auto engine = std::make_unique<CudaEngine<T>>(spec, device);
  ACTSERVE_RETURN_IF_ERROR(engine->Init());
  return engine;
}

}  // namespace

absl::StatusOr<std::unique_ptr<train::Engine>> NewCudaEngine(const train::TrainSpec& spec,
                                                             const CudaBackendOptions& options) {
  if (spec.dtype == train::DType::kFloat64) return MakeEngine<double>(spec, options.device);
  return MakeEngine<float>(spec, options.device);
}

}  // namespace actserve
