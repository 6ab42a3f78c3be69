// EnumTable: one table per protobuf enum the server converts, pairing each wire value with its
// core value. The conversions both ways and the "expected A, B or C" part of every error message
// are derived from the rows, so a value is added in one place; enum_tables_test.cc walks every
// value of every enum in the API's descriptors and checks that some table handles it.
#ifndef ACTSERVE_SERVER_API_ENUM_TABLE_H_
#define ACTSERVE_SERVER_API_ENUM_TABLE_H_

#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/generated_enum_reflection.h"

namespace actserve::server {

// What every table can say about itself, for the descriptor test.
class EnumTableBase {
 public:
  virtual ~EnumTableBase() = default;
  virtual const google::protobuf::EnumDescriptor* descriptor() const = 0;
  // Whether the wire value `number` has a meaning here: a row, the default, or a value the
  // server refuses on purpose (with its message).
  virtual bool Handles(int number) const = 0;
};

template <class Wire, class Core>
class EnumTable final : public EnumTableBase {
 public:
  struct Row {
    Wire wire;
    Core core;
  };
  struct Options {
    // The core value of *_UNSPECIFIED (0) when it means a default; unset: it is refused.
    std::optional<Core> unspecified;
    // "loss" for "loss: LOSS_UNSPECIFIED is not a loss; expected ..."; empty for
    // "dtype: unknown value 9; expected ...".
    const char* noun = "";
  };

  EnumTable(std::initializer_list<Row> rows, Options options = {})
      : rows_(rows), options_(options) {}

  const google::protobuf::EnumDescriptor* descriptor() const override {
    return google::protobuf::GetEnumDescriptor<Wire>();
  }
  bool Handles(int number) const override {
    if (number == 0) return true;  // the default, or refused with a message naming it
    for (const Row& r : rows_) {
      if (static_cast<int>(r.wire) == number) return true;
    }
    return false;
  }

  // The core value of `wire`; INVALID_ARGUMENT naming `field` and the accepted values for a
  // value with no row (and for *_UNSPECIFIED without a default).
  absl::StatusOr<Core> ToCore(Wire wire, absl::string_view field) const {
    for (const Row& r : rows_) {
      if (r.wire == wire) return r.core;
    }
    if (static_cast<int>(wire) == 0 && options_.unspecified.has_value()) {
      return *options_.unspecified;
    }
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", Refusal(wire), "; expected ", Expected()));
  }

  // The wire value of `core` (the first row that has it; *_UNSPECIFIED if none).
  Wire ToWire(Core core) const {
    for (const Row& r : rows_) {
      if (r.core == core) return r.wire;
    }
    return static_cast<Wire>(0);
  }

  // The accepted wire names: "A, B or C".
  std::string Expected() const {
    std::vector<std::string> names;
    for (const Row& r : rows_) names.push_back(Name(r.wire));
    if (names.size() < 2) return absl::StrJoin(names, "");
    std::string last = std::move(names.back());
    names.pop_back();
    return absl::StrCat(absl::StrJoin(names, ", "), " or ", last);
  }

 private:
  std::string Name(Wire wire) const {
    const google::protobuf::EnumValueDescriptor* v =
        descriptor()->FindValueByNumber(static_cast<int>(wire));
    return v != nullptr ? v->name() : absl::StrCat(static_cast<int>(wire));
  }
  std::string Refusal(Wire wire) const {
    const int n = static_cast<int>(wire);
    const bool named = descriptor()->FindValueByNumber(n) != nullptr;
    if (*options_.noun == '\0') {
      return named ? absl::StrCat(Name(wire), " is not accepted")
                   : absl::StrCat("unknown value ", n);
    }
    return absl::StrCat(named ? Name(wire) : absl::StrCat("value ", n), " is not a ",
                        options_.noun);
  }

  std::vector<Row> rows_;
  Options options_;
};

}  // namespace actserve::server

#endif  // ACTSERVE_SERVER_API_ENUM_TABLE_H_
