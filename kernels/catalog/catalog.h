// The activation catalog: ids, metadata and name lookup, all generated from activation_list.h.
// Everything here is immutable and thread-safe.
#ifndef ACTSERVE_KERNELS_CATALOG_CATALOG_H_
#define ACTSERVE_KERNELS_CATALOG_CATALOG_H_

#include <optional>
#include <string_view>

#include "absl/types/span.h"
#include "kernels/catalog/activation_info.h"
#include "kernels/catalog/activation_list.h"

namespace actserve {

enum class ActivationId : int {
#define ACTSERVE_ID_(Type) k##Type,
  ACTSERVE_ACTIVATIONS(ACTSERVE_ID_)
#undef ACTSERVE_ID_
};

inline constexpr int kNumActivations = 0
#define ACTSERVE_COUNT_(Type) +1
    ACTSERVE_ACTIVATIONS(ACTSERVE_COUNT_)
#undef ACTSERVE_COUNT_
    ;

// Metadata of every activation, indexed by ActivationId, in catalog order.
absl::Span<const ActivationInfo> AllActivations();

inline const ActivationInfo& Info(ActivationId id) {
  return AllActivations()[static_cast<int>(id)];
}

// Looks an activation up by its name or one of its aliases (exact, case-sensitive).
std::optional<ActivationId> FindActivation(std::string_view name);

}  // namespace actserve

#endif  // ACTSERVE_KERNELS_CATALOG_CATALOG_H_
