#include "client/actload/workload.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace actserve::actload {
namespace {

grpc::ByteBuffer ToByteBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

void FillTensor(int64_t n, v1::DType dtype, std::mt19937_64& rng, v1::Tensor* t) {
  std::normal_distribution<double> normal(0, 2);
  t->add_shape(n);
  t->set_dtype(dtype);
  if (dtype == v1::DTYPE_FLOAT64) {
    t->mutable_double_data()->Reserve(n);
    for (int64_t i = 0; i < n; ++i) t->add_double_data(normal(rng));
  } else {
    t->mutable_float_data()->Reserve(n);
    for (int64_t i = 0; i < n; ++i) t->add_float_data(static_cast<float>(normal(rng)));
  }
}

}  // namespace

double UniformAt(uint64_t seed, uint64_t index) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ull * (index + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

absl::StatusOr<MixEntry> ParseMixLine(const std::string& line) {
  std::vector<std::string> fields = absl::StrSplit(line, ' ', absl::SkipWhitespace());
  if (fields.empty()) return absl::InvalidArgumentError("mix: empty entry");
  MixEntry e;
  if (fields[0] == "forward") {
    e.kind = CallKind::kForward;
  } else if (fields[0] == "backward") {
    e.kind = CallKind::kBackward;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("mix: unknown call kind '", fields[0], "' (forward or backward)"));
  }
  for (size_t i = 1; i < fields.size(); ++i) {
    std::pair<std::string, std::string> kv = absl::StrSplit(fields[i], absl::MaxSplits('=', 1));
    const std::string& v = kv.second;
    if (kv.first == "weight") {
      if (!absl::SimpleAtod(v, &e.weight) || !(e.weight > 0)) {
        return absl::InvalidArgumentError(absl::StrCat("mix: weight '", v, "' is not > 0"));
      }
    } else if (kv.first == "activation") {
      e.activations = absl::StrSplit(v, ',', absl::SkipEmpty());
      if (e.activations.empty()) return absl::InvalidArgumentError("mix: activation is empty");
    } else if (kv.first == "elements") {
      e.sizes.clear();
      for (absl::string_view s : absl::StrSplit(v, ',', absl::SkipEmpty())) {
        std::pair<absl::string_view, absl::string_view> nw = absl::StrSplit(s, ':');
        int64_t n;
        double w = 1;
        if (!absl::SimpleAtoi(nw.first, &n) || n < 0 ||
            (!nw.second.empty() && (!absl::SimpleAtod(nw.second, &w) || !(w > 0)))) {
          return absl::InvalidArgumentError(
              absl::StrCat("mix: elements '", s, "' is not N or N:WEIGHT"));
        }
        e.sizes.emplace_back(n, w);
      }
      if (e.sizes.empty()) return absl::InvalidArgumentError("mix: elements is empty");
    } else if (kv.first == "dtype") {
      if (v == "float32") {
        e.dtype = v1::DTYPE_FLOAT32;
      } else if (v == "float64") {
        e.dtype = v1::DTYPE_FLOAT64;
      } else {
        return absl::InvalidArgumentError(absl::StrCat("mix: dtype '", v, "' (float32|float64)"));
      }
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("mix: unknown key '", kv.first, "' (weight, activation, elements, dtype)"));
    }
  }
  return e;
}

absl::StatusOr<std::vector<MixEntry>> ReadMixFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("mix file ", path, " cannot be read"));
  std::vector<MixEntry> mix;
  std::string line;
  while (std::getline(in, line)) {
    line = std::string(absl::StripAsciiWhitespace(line.substr(0, line.find('#'))));
    if (line.empty()) continue;
    auto e = ParseMixLine(line);
    if (!e.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", e.status().message()));
    mix.push_back(*std::move(e));
  }
  if (mix.empty()) return absl::InvalidArgumentError(absl::StrCat("mix file ", path, " is empty"));
  return mix;
}

absl::StatusOr<std::unique_ptr<Workload>> Workload::FromMix(std::vector<MixEntry> mix,
                                                            uint64_t seed) {
  auto w = std::make_unique<Workload>();
  w->seed_ = seed;
  std::mt19937_64 rng(seed);
  double total = 0;
  std::vector<double> weights;
  for (const MixEntry& e : mix) {
    double size_total = 0;
    for (const auto& s : e.sizes) size_total += s.second;
    for (const std::string& activation : e.activations) {
      for (const auto& [elements, size_weight] : e.sizes) {
        PreparedRequest r;
        r.kind = e.kind;
        r.elements = elements;
        const char* dtype = e.dtype == v1::DTYPE_FLOAT64 ? "float64" : "float32";
        if (e.kind == CallKind::kForward) {
          v1::ForwardRequest* f = r.evaluate.mutable_forward();
          f->set_activation(activation);
          FillTensor(elements, e.dtype, rng, f->mutable_x());
          r.method = "/actserve.v1.ActivationService/Forward";
          r.serialized = ToByteBuffer(f->SerializeAsString());
          r.label = absl::StrCat("forward ", activation, " ", elements, " ", dtype);
        } else {
          v1::BackwardRequest* b = r.evaluate.mutable_backward();
          b->set_activation(activation);
          FillTensor(elements, e.dtype, rng, b->mutable_x());
          FillTensor(elements, e.dtype, rng, b->mutable_dy());
          r.method = "/actserve.v1.ActivationService/Backward";
          r.serialized = ToByteBuffer(b->SerializeAsString());
          r.label = absl::StrCat("backward ", activation, " ", elements, " ", dtype);
        }
        w->requests_.push_back(std::move(r));
        const double p = e.weight / e.activations.size() * size_weight / size_total;
        weights.push_back(p);
        total += p;
      }
    }
  }
  if (w->requests_.empty()) return absl::InvalidArgumentError("the mix has no entries");
  double acc = 0;
  for (double p : weights) w->cumulative_.push_back(acc += p / total);
  w->cumulative_.back() = 1;
  return w;
}

std::unique_ptr<Workload> Workload::Echo(int64_t floats, uint64_t seed) {
  auto w = std::make_unique<Workload>();
  w->seed_ = seed;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  // benchecho.Tensor: field 1, packed floats (tag 0x0a, varint length, little-endian floats).
  std::string bytes(1, '\x0a');
  uint64_t len = static_cast<uint64_t>(floats) * sizeof(float);
  do {
    bytes.push_back(static_cast<char>((len & 0x7f) | (len > 0x7f ? 0x80 : 0)));
    len >>= 7;
  } while (len);
  for (int64_t i = 0; i < floats; ++i) {
    const float v = normal(rng);
    char b[sizeof v];
    std::memcpy(b, &v, sizeof v);
    bytes.append(b, sizeof v);
  }
  PreparedRequest r;
  r.kind = CallKind::kForward;
  r.method = "/benchecho.EchoService/Echo";
  r.serialized = ToByteBuffer(bytes);
  r.elements = floats;
  r.label = absl::StrCat("echo ", floats);
  w->requests_.push_back(std::move(r));
  w->cumulative_ = {1};
  return w;
}

const PreparedRequest& Workload::PickRequest(uint64_t index) const {
  if (requests_.size() == 1) return requests_[0];
  const double u = UniformAt(seed_, index);
  const size_t i =
      std::upper_bound(cumulative_.begin(), cumulative_.end(), u) - cumulative_.begin();
  return requests_[std::min(i, requests_.size() - 1)];
}

}  // namespace actserve::actload
