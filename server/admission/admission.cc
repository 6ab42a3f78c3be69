#include "server/admission/admission.h"

namespace actserve::server {
namespace {

class AdmitAll final : public Admission {
 public:
  absl::StatusOr<std::unique_ptr<Grant>> Admit(const CallInfo&) override { return nullptr; }
};

}  // namespace

std::unique_ptr<Admission> NewAdmitAll() { return std::make_unique<AdmitAll>(); }

}  // namespace actserve::server
