// TestPki: a throw-away certificate authority for tests, made with the `openssl` command in a
// fresh temporary directory (no private key is ever checked in). Test-only.
#ifndef ACTSERVE_SERVER_AUTH_TEST_PKI_H_
#define ACTSERVE_SERVER_AUTH_TEST_PKI_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace actserve::server::auth {

class TestPki {
 public:
  // A new directory under /tmp with the CA "ca" (ca.pem, ca.key). FAILED_PRECONDITION with
  // openssl's output if openssl fails.
  static absl::StatusOr<std::unique_ptr<TestPki>> Create();
  // Removes the directory.
  ~TestPki();

  // Another CA `name` (name.pem, name.key) in the same directory.
  absl::Status MakeCa(const std::string& name);
  // name.pem and name.key: an EC P-256 certificate for common name `cn` (and the SANs
  // DNS:localhost and IP:127.0.0.1) signed by the CA `ca`, or self-signed if `ca` is empty,
  // valid from now for `days`.
  absl::Status Issue(const std::string& name, const std::string& cn, const std::string& ca = "ca",
                     int days = 2);

  // name.pem and name.key as Issue makes them, signed by "ca", but valid only from `start` to
  // `end` (openssl's YYYYMMDDHHMMSSZ): a certificate not yet valid, or expired. (Issue with
  // negative `days` also makes an expired one.)
  absl::Status IssueBetween(const std::string& name, const std::string& cn,
                            const std::string& start, const std::string& end);

  // Replaces name.key, then name.pem, each atomically, with a new certificate for `cn` signed by
  // "ca" (as a certificate rotation does).
  absl::Status Rotate(const std::string& name, const std::string& cn);

  const std::string& dir() const { return dir_; }
  std::string pem(const std::string& name) const { return dir_ + "/" + name + ".pem"; }
  std::string key(const std::string& name) const { return dir_ + "/" + name + ".key"; }

 private:
  explicit TestPki(std::string dir) : dir_(std::move(dir)) {}
  absl::Status Run(const std::string& command);
  std::string dir_;
};

// The contents of `path` ("" if it cannot be read).
std::string ReadFileForTest(const std::string& path);
// Writes `text` to `path` atomically (a temporary file, then rename).
absl::Status ReplaceFileForTest(const std::string& path, const std::string& text);

}  // namespace actserve::server::auth

#endif  // ACTSERVE_SERVER_AUTH_TEST_PKI_H_
