// What an activation definition is made of. Each element-wise catalog entry is one struct:
//
//   struct Name : Elementwise {
//     static constexpr ActivationInfo kInfo = {...};  // metadata (catalog/activation_info.h)
//     template <class V> static V Forward(const V& x, const Args<V>& a);     // f(x)
//     template <class V> static V Derivative(const V& x, const Args<V>& a);  // f'(x)
//     // df/dp, only for a function with a learnable parameter p:
//     template <class V> static V ParamDerivative(const V& x, const Args<V>& a);
//     // f' as a function of y = f(x), only with kInfo.backward_from_output:
//     template <class V> static V DerivativeFromOutput(const V& y, const Args<V>& a);
//   };
//
// V is a scalar or a SIMD vector (math/primitives.h). Definitions need not handle NaN inputs:
// the kernels propagate a NaN x to y, dx and parameter gradients themselves. They must give the
// mathematical limit at +-inf. Functions over the last axis (kLastAxis) define row functions
// instead; see functions_rows.h.
#ifndef ACTSERVE_KERNELS_CATALOG_DEFINITION_H_
#define ACTSERVE_KERNELS_CATALOG_DEFINITION_H_

#include <cstdint>

#include "kernels/catalog/activation_info.h"
#include "kernels/math/primitives.h"

namespace actserve {

// The arguments of one evaluation besides x: parameter values (at most one learnable
// parameter per function, see kInfo) and the element's noise sample for stochastic functions.
template <class V>
struct Args {
  V p[kMaxParams];
  V noise;
};

struct Elementwise {
  // Only functions with a learnable parameter override this; the kernels never call it otherwise.
  template <class V>
  ACTSERVE_HD static V ParamDerivative(const V&, const Args<V>&) {
    return V(0);
  }
};

}  // namespace actserve

#endif  // ACTSERVE_KERNELS_CATALOG_DEFINITION_H_
