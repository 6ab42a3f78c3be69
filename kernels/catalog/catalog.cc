#include "kernels/catalog/catalog.h"

#include <string_view>

namespace actserve {
namespace {

constexpr ActivationInfo kInfos[] = {
#define ACTSERVE_INFO_(Type) fn::Type::kInfo,
    ACTSERVE_ACTIVATIONS(ACTSERVE_INFO_)
#undef ACTSERVE_INFO_
};
static_assert(sizeof(kInfos) / sizeof(kInfos[0]) == kNumActivations);

}  // namespace

absl::Span<const ActivationInfo> AllActivations() { return kInfos; }

std::optional<ActivationId> FindActivation(std::string_view name) {
  // A few dozen entries: a linear scan is cheaper than building and guarding a map.
  for (int i = 0; i < kNumActivations; ++i) {
    const ActivationInfo& info = kInfos[i];
    if (name == info.name) return static_cast<ActivationId>(i);
    for (const char* alias : info.aliases) {
      if (alias != nullptr && name == alias) return static_cast<ActivationId>(i);
    }
  }
  return std::nullopt;
}

}  // namespace actserve
