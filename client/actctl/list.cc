// actctl list: the catalog of activation functions.
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/actctl/command.h"
#include "client/actctl/common.h"
#include "client/lib/activation_client.h"

ABSL_FLAG(bool, json, false, "Print the response in protobuf's JSON mapping instead of a table.");

namespace actserve::client {

int RunList(const std::vector<std::string>&) {
  auto list = ActivationClient::Connect(ServerOptions())->ListActivations(CallTimeout());
  if (!list.ok()) return Fail(list.status());
  if (absl::GetFlag(FLAGS_json)) {
    v1::ListActivationsResponse response;
    response.mutable_activations()->Assign(list->begin(), list->end());
    std::printf("%s\n", ToJson(response).c_str());
    return 0;
  }
  std::printf("%-22s %-40s %-28s %s\n", "NAME", "f(x)", "PARAMETERS", "RANGE");
  for (const v1::ActivationInfo& a : *list) {
    std::vector<std::string> params;
    for (const v1::ParamInfo& p : a.params()) {
      params.push_back(
          absl::StrCat(p.name(), "=", FormatNumber(p.default_value()), p.learnable() ? "*" : ""));
    }
    std::string name = a.name();
    if (a.aliases_size() > 0) name += " (" + absl::StrJoin(a.aliases(), ",") + ")";
    std::printf("%-22s %-40s %-28s %s\n", name.c_str(), a.formula().substr(0, 40).c_str(),
                absl::StrJoin(params, " ").c_str(), a.output_range().c_str());
  }
  std::printf("(* learnable)\n");
  return 0;
}

}  // namespace actserve::client
