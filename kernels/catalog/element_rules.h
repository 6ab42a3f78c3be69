// The rules every backend applies around a definition (definition.h), written once for the CPU
// kernels (V = a SIMD vector, cpu/cpu_backend.cc) and the CUDA kernels (V = T, one element per
// thread, cuda/cuda_kernels.cu):
//
// - which channel an element belongs to, and which value of a parameter it sees;
// - the noise argument of stochastic functions, in training and inference mode;
// - NaN in gives NaN out, in y, dx and the parameter gradient (definitions need not care);
// - a parameter gradient term that overflows T on finite inputs is recomputed in double.
//
// A backend that evaluates definitions in any other way is a second copy of these rules.
#ifndef ACTSERVE_KERNELS_CATALOG_ELEMENT_RULES_H_
#define ACTSERVE_KERNELS_CATALOG_ELEMENT_RULES_H_

#include <cstdint>

#include "kernels/catalog/definition.h"
#include "kernels/math/philox.h"

namespace actserve {

// ---- Parameters ----

// The channel of element i of a tensor whose channels (axis 1) repeat every `inner` elements.
ACTSERVE_HD int64_t ChannelOf(int64_t i, int64_t inner, int64_t channels) {
  return (i / inner) % channels;
}

// A parameter's value in `channel`, from its `count` values: one value serves every channel,
// otherwise there is one per channel.
ACTSERVE_HD double ChannelValue(const double* values, int64_t count, int64_t channel) {
  return count == 1 ? values[0] : values[channel];
}

// ---- Noise ----

// Where an element's noise argument comes from in a call.
enum class NoiseDraw {
  kConstant,        // no draw: every element gets ConstantNoise(kind)
  kUniform,         // U[0,1) by (seed, element index): math::UniformBlock
  kStandardNormal,  // N(0,1) by (seed, element index): math::NormalBlock
};

// rrelu draws its slopes only in training; outside training it uses the mean slope.
ACTSERVE_HD constexpr NoiseDraw DrawFor(Noise kind, bool training) {
  if (kind == Noise::kStandardNormal) return NoiseDraw::kStandardNormal;
  if (kind == Noise::kUniformWhenTraining && training) return NoiseDraw::kUniform;
  return NoiseDraw::kConstant;
}

// The noise argument where nothing is drawn: the mean of U[0,1) for kUniformWhenTraining (rrelu's
// slope lower + noise * (upper - lower) is then (lower + upper) / 2), 0 otherwise.
ACTSERVE_HD constexpr double ConstantNoise(Noise kind) {
  return kind == Noise::kUniformWhenTraining ? 0.5 : 0.0;
}

// Whether backward needs the draw. Additive noise (kStandardNormal: noisy_relu's x + sigma n)
// leaves the derivative unchanged, and only a learnable scale would need it; rrelu's random slope
// is multiplicative. element_rules_test checks this against every catalog definition.
ACTSERVE_HD constexpr bool BackwardUsesNoise(const ActivationInfo& info) {
  return info.noise == Noise::kUniformWhenTraining ||
         (info.noise != Noise::kNone && LearnableParam(info) >= 0);
}

// Samples 4 * block .. 4 * block + 3 of a draw that is not kConstant.
ACTSERVE_HD void NoiseBlock(NoiseDraw draw, uint64_t seed, uint64_t block, double out[4]) {
  if (draw == NoiseDraw::kStandardNormal) {
    math::NormalBlock(seed, block, out);
  } else {
    math::UniformBlock(seed, block, out);
  }
}

// Element i's noise argument in a call with `seed` and mode `training`.
ACTSERVE_HD double NoiseSample(Noise kind, bool training, uint64_t seed, uint64_t i) {
  const NoiseDraw draw = DrawFor(kind, training);
  if (draw == NoiseDraw::kConstant) return ConstantNoise(kind);
  double block[4];
  NoiseBlock(draw, seed, i / 4, block);
  return block[i % 4];
}

// ---- NaN ----

// y = f(x) of an element-wise definition, NaN where x is NaN.
template <class Fn, class V>
ACTSERVE_HD V ElementForward(const V& x, const Args<V>& a) {
  using math::IsNan, math::Select;  // and cpu::Select by argument-dependent lookup
  return Select(IsNan(x), x, Fn::Forward(x, a));
}

// dx = dy * f'(x), NaN where x is NaN.
template <class Fn, class V>
ACTSERVE_HD V ElementBackward(const V& x, const V& dy, const Args<V>& a) {
  using math::IsNan, math::Select;  // and cpu::Select by argument-dependent lookup
  return Select(IsNan(x), x, dy * Fn::Derivative(x, a));
}

// dx from the forward's output y (Fn::kInfo.backward_from_output), NaN where y is.
template <class Fn, class V>
ACTSERVE_HD V ElementBackwardFromOutput(const V& y, const V& dy, const Args<V>& a) {
  using math::IsNan, math::Select;  // and cpu::Select by argument-dependent lookup
  return Select(IsNan(y), y, dy * Fn::DerivativeFromOutput(y, a));
}

// One element's term dy * df/dp of the learnable parameter's gradient, NaN where x is NaN.
template <class Fn, class V>
ACTSERVE_HD V ElementParamGradient(const V& x, const V& dy, const Args<V>& a) {
  using math::IsNan, math::Select;  // and cpu::Select by argument-dependent lookup
  return Select(IsNan(x), x, dy * Fn::ParamDerivative(x, a));
}

// One element's term of the learnable parameter's gradient, for the sums in double: computed in
// T, and again in double where T overflowed on finite x and dy (swish's fp32 df/db is x^2/4 at
// b = 0, past FLT_MAX for |x| > 3.7e19 while the sum fits a double easily). Scalars only.
template <class Fn, class T>
ACTSERVE_HD double ParamGradientTerm(T x, T dy, const Args<T>& a) {
  const T g = ElementParamGradient<Fn>(x, dy, a);
  if (!math::IsInf(g) || math::IsInf(x) || math::IsInf(dy)) return static_cast<double>(g);
  Args<double> wide;
  for (int k = 0; k < kMaxParams; ++k) wide.p[k] = static_cast<double>(a.p[k]);
  wide.noise = static_cast<double>(a.noise);
  return ElementParamGradient<Fn>(static_cast<double>(x), static_cast<double>(dy), wide);
}

// After a row function's backward: dx is NaN wherever the row's x is (n entries).
template <class T>
ACTSERVE_HD void PropagateRowNans(const T* x, int64_t n, T* dx) {
  for (int64_t j = 0; j < n; ++j) {
    if (math::IsNan(x[j])) dx[j] = x[j];
  }
}

// One row's backward as a call asks for it: from x, or with `from_output` from the forward's
// output in x's place (only where Fn::kInfo.backward_from_output). in has n entries, dy the
// output row's; scratch holds n values (unused from the output). NaN where `in` is.
template <class Fn, class V, class T>
ACTSERVE_HD void RowBackwardOf(bool from_output, const T* in, const T* dy, int64_t n,
                               const double* params, T* scratch, T* dx) {
  bool done = false;
  if constexpr (Fn::kInfo.backward_from_output) {
    if (from_output) {
      Fn::template BackwardFromOutput<V>(in, dy, n, params, dx);
      done = true;
    }
  }
  if (!done) Fn::template Backward<V>(in, dy, n, params, scratch, dx);
  PropagateRowNans(in, n, dx);
}

}  // namespace actserve

#endif  // ACTSERVE_KERNELS_CATALOG_ELEMENT_RULES_H_
