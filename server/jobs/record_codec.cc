#include "server/jobs/record_codec.h"

#include <zlib.h>

#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace actserve::server {
namespace {

constexpr char kMagic[4] = {'A', 'S', 'R', '1'};

uint32_t Crc(absl::string_view bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes lengths as uInt: feed large records in pieces.
  while (!bytes.empty()) {
    const size_t n = std::min<size_t>(bytes.size(), 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(n));
    bytes.remove_prefix(n);
  }
  return static_cast<uint32_t>(crc);
}

void AppendU64(std::string& out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out.append(b, 8);
}

uint64_t LoadU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

int64_t TimeToInt(absl::Time t) {
  return t == absl::InfinitePast() ? std::numeric_limits<int64_t>::min() : absl::ToUnixNanos(t);
}

absl::Time IntToTime(int64_t v) {
  return v == std::numeric_limits<int64_t>::min() ? absl::InfinitePast() : absl::FromUnixNanos(v);
}

constexpr int64_t kLastStatusCode = 16;  // absl::StatusCode::kUnauthenticated

}  // namespace

void RecordWriter::operator()(int64_t v) { AppendU64(bytes_, static_cast<uint64_t>(v)); }

void RecordWriter::operator()(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  AppendU64(bytes_, bits);
}

void RecordWriter::operator()(absl::string_view v) {
  (*this)(static_cast<int64_t>(v.size()));
  bytes_.append(v.data(), v.size());
}

void RecordWriter::operator()(const std::vector<double>& v) {
  (*this)(static_cast<int64_t>(v.size()));
  for (double x : v) (*this)(x);
}

void RecordWriter::operator()(const std::vector<uint8_t>& v) {
  (*this)(absl::string_view(reinterpret_cast<const char*>(v.data()), v.size()));
}

void RecordWriter::operator()(const absl::Status& v) {
  (*this)(static_cast<int64_t>(v.code()));
  (*this)(v.message());
}

void RecordWriter::operator()(absl::Time v) { (*this)(TimeToInt(v)); }

std::string RecordWriter::Seal() const {
  std::string out(kMagic, sizeof(kMagic));
  out += bytes_;
  const uint32_t crc = Crc(out);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(crc >> (8 * i)));
  return out;
}

absl::StatusOr<RecordReader> RecordReader::Open(absl::string_view sealed, absl::string_view what) {
  if (sealed.size() < sizeof(kMagic) + 4 ||
      std::memcmp(sealed.data(), kMagic, sizeof(kMagic)) != 0) {
    return absl::DataLossError(
        absl::StrFormat("%s is damaged: %d bytes, not a record", what, sealed.size()));
  }
  const absl::string_view body = sealed.substr(0, sealed.size() - 4);
  uint32_t stored = 0;
  for (int i = 0; i < 4; ++i) {
    stored |= uint32_t{static_cast<unsigned char>(sealed[sealed.size() - 4 + i])} << (8 * i);
  }
  if (Crc(body) != stored) {
    return absl::DataLossError(absl::StrFormat("%s is damaged: its checksum does not match", what));
  }
  return RecordReader(body.substr(sizeof(kMagic)), what);
}

bool RecordReader::Take(size_t n, const char** out) {
  if (failed_ || rest_.size() < n) {
    failed_ = true;
    return false;
  }
  *out = rest_.data();
  rest_.remove_prefix(n);
  return true;
}

void RecordReader::operator()(int64_t& v) {
  const char* p;
  v = Take(8, &p) ? static_cast<int64_t>(LoadU64(p)) : 0;
}

void RecordReader::operator()(double& v) {
  const char* p;
  const uint64_t bits = Take(8, &p) ? LoadU64(p) : 0;
  std::memcpy(&v, &bits, sizeof(v));
}

void RecordReader::operator()(bool& v) {
  int64_t n = 0;
  (*this)(n);
  v = n != 0;
}

int64_t RecordReader::Count() {
  int64_t n = 0;
  (*this)(n);
  if (n < 0 || static_cast<uint64_t>(n) > rest_.size()) {
    failed_ = true;
    return 0;
  }
  return n;
}

void RecordReader::operator()(std::string& v) {
  const int64_t n = Count();
  const char* p;
  v.clear();
  if (Take(static_cast<size_t>(n), &p)) v.assign(p, static_cast<size_t>(n));
}

void RecordReader::operator()(std::vector<double>& v) {
  const int64_t n = Count();
  v.clear();
  if (failed_ || static_cast<uint64_t>(n) * 8 > rest_.size()) {  // 8 bytes a value
    failed_ = true;
    return;
  }
  v.resize(static_cast<size_t>(n));
  for (double& x : v) (*this)(x);
}

void RecordReader::operator()(std::vector<uint8_t>& v) {
  std::string bytes;
  (*this)(bytes);
  v.assign(bytes.begin(), bytes.end());
}

void RecordReader::operator()(absl::Status& v) {
  int64_t code = 0;
  std::string message;
  (*this)(code);
  (*this)(message);
  if (code < 0 || code > kLastStatusCode) {
    failed_ = true;
    code = 0;
  }
  v = absl::Status(static_cast<absl::StatusCode>(code), message);
}

void RecordReader::operator()(absl::Time& v) {
  int64_t n = 0;
  (*this)(n);
  v = IntToTime(n);
}

absl::Status RecordReader::Finish() const {
  if (failed_ || !rest_.empty()) {
    return absl::DataLossError(absl::StrCat(what_, " is damaged: its contents do not parse"));
  }
  return absl::OkStatus();
}

}  // namespace actserve::server
