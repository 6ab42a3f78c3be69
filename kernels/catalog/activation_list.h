// THE LIST: the one place that enumerates the activation functions. Everything that needs every
// activation (the id enum, name lookup, backend dispatch tables, the listing RPC, metric labels,
// tests, docs) expands ACTSERVE_ACTIVATIONS. Adding an activation = its definition in a
// functions_*.h header plus one line here.
//
// X(Type) names the definition struct in namespace actserve::fn; its kInfo holds the metadata.
#ifndef ACTSERVE_KERNELS_CATALOG_ACTIVATION_LIST_H_
#define ACTSERVE_KERNELS_CATALOG_ACTIVATION_LIST_H_

#include "kernels/catalog/functions_gated.h"
#include "kernels/catalog/functions_other.h"
#include "kernels/catalog/functions_rectifiers.h"
#include "kernels/catalog/functions_rows.h"
#include "kernels/catalog/functions_squashing.h"

// clang-format off
#define ACTSERVE_ACTIVATIONS(X) \
  /* the survey and the common activation tables */                               \
  X(Identity) X(BinaryStep) X(Logistic) X(HyperbolicTangent) X(Arctan) X(Softsign)                \
  X(Relu) X(LeakyRelu) X(Prelu) X(Rrelu) X(NoisyRelu) X(Relu6) X(Elu) X(Selu)       \
  X(Trelu) X(Softplus) X(ReluSoftplus) X(ReluSoftsign) X(Swish) X(Silu) X(Xwish)    \
  X(Gelu) X(GeluTanh) X(BentIdentity) X(Sinusoid) X(Sinc) X(Gaussian)               \
  X(HardSigmoid) X(HardTanh) X(LecunTanh) X(SymmetricalSigmoid)                     \
  X(ComplementaryLogLog) X(Absolute) X(Maxout) X(Softmax)                           \
  /* PyTorch, oneDNN, cuDNN, JAX */                                               \
  X(Celu) X(Mish) X(Hardswish) X(LogSigmoid) X(Tanhshrink) X(Hardshrink)            \
  X(Softshrink) X(Threshold) X(LogSoftmax) X(Softmin) X(Glu) X(Squareplus)
// clang-format on

#endif  // ACTSERVE_KERNELS_CATALOG_ACTIVATION_LIST_H_
