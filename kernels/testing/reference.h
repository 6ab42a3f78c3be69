// Independent reference implementations in long double, written from the formulas each catalog
// entry states (kInfo.formula and .derivative, the docs table in kernels/README.md), not from the
// kernels' definitions, for accuracy tests and tools.
//
// Each reference evaluates f and f' at an exact input with the catalog's default parameters
// overridden by `p` (indexed like ActivationInfo::params) and the element's noise sample.
// Where the plain formula cancels or overflows even in long double, a mathematically identical
// form is used, and +-inf gives the limit.
#ifndef ACTSERVE_KERNELS_TESTING_REFERENCE_H_
#define ACTSERVE_KERNELS_TESTING_REFERENCE_H_

#include <string_view>
#include <vector>

namespace actserve::testing {

using Real = long double;

struct ElementwiseReference {
  Real (*f)(Real x, const Real* p, Real noise);
  Real (*df)(Real x, const Real* p, Real noise);
};

// The reference for an element-wise function by catalog name, or nullptr if there is none.
const ElementwiseReference* FindElementwiseReference(std::string_view name);

// Reference of a last-axis function on one row: y (output length) and, given dy, dx = J^T dy.
// Returns false if there is no reference for `name`.
bool ReferenceRowForward(std::string_view name, const std::vector<Real>& x, const Real* p,
                         std::vector<Real>* y);
bool ReferenceRowBackward(std::string_view name, const std::vector<Real>& x,
                          const std::vector<Real>& dy, const Real* p, std::vector<Real>* dx);

// Every name with a reference (element-wise and last-axis).
std::vector<std::string_view> ReferenceNames();

}  // namespace actserve::testing

#endif  // ACTSERVE_KERNELS_TESTING_REFERENCE_H_
