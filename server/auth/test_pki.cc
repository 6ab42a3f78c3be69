#include "server/auth/test_pki.h"

#include <stdlib.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace actserve::server::auth {

absl::StatusOr<std::unique_ptr<TestPki>> TestPki::Create() {
  char dir[] = "/tmp/actserve-pki-XXXXXX";
  if (mkdtemp(dir) == nullptr) return absl::InternalError("mkdtemp failed");
  std::unique_ptr<TestPki> pki(new TestPki(dir));
  if (absl::Status s = pki->MakeCa("ca"); !s.ok()) return s;
  return pki;
}

TestPki::~TestPki() { std::system(absl::StrCat("rm -rf '", dir_, "'").c_str()); }

absl::Status TestPki::Run(const std::string& command) {
  const std::string log = dir_ + "/openssl.log";
  const std::string full = absl::StrCat("cd '", dir_, "' && (", command, ") >'", log, "' 2>&1");
  if (std::system(full.c_str()) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("openssl failed: ", command, "\n", ReadFileForTest(log)));
  }
  return absl::OkStatus();
}

absl::Status TestPki::MakeCa(const std::string& name) {
  return Run(absl::StrCat(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -keyout ",
      name, ".key -out ", name, ".pem -subj /CN=", name,
      " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"));
}

absl::Status TestPki::Issue(const std::string& name, const std::string& cn, const std::string& ca,
                            int days) {
  const std::string ext = name + ".ext";
  std::ofstream(dir_ + "/" + ext) << "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                  << "basicConstraints=CA:FALSE\n";
  const std::string key =
      absl::StrCat("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ",
                   name, ".key -out ", name, ".csr -subj /CN=", cn);
  const std::string sign =
      ca.empty() ? absl::StrCat("openssl x509 -req -in ", name, ".csr -signkey ", name,
                                ".key -days ", days, " -extfile ", ext, " -out ", name, ".pem")
                 : absl::StrCat("openssl x509 -req -in ", name, ".csr -CA ", ca, ".pem -CAkey ", ca,
                                ".key -CAcreateserial -days ", days, " -extfile ", ext, " -out ",
                                name, ".pem");
  return Run(absl::StrCat(key, " && ", sign));
}

absl::Status TestPki::IssueBetween(const std::string& name, const std::string& cn,
                                   const std::string& start, const std::string& end) {
  // `openssl ca` is the openssl command that sets both dates; it wants a configuration and a
  // database of its own.
  std::ofstream(dir_ + "/" + name + ".cnf")
      << "[ca]\ndefault_ca = test\n[test]\ndatabase = " << name << ".index\nnew_certs_dir = .\n"
      << "serial = " << name << ".serial\ndefault_md = sha256\npolicy = any\n"
      << "copy_extensions = copy\n[any]\ncommonName = supplied\n";
  std::ofstream(dir_ + "/" + name + ".index");
  std::ofstream(dir_ + "/" + name + ".serial") << "01\n";
  return Run(
      absl::StrCat("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ",
                   name, ".key -out ", name, ".csr -subj /CN=", cn,
                   " -addext subjectAltName=DNS:localhost,IP:127.0.0.1 && openssl ca -config ",
                   name, ".cnf -batch -notext -cert ca.pem -keyfile ca.key -in ", name,
                   ".csr -startdate ", start, " -enddate ", end, " -out ", name, ".pem"));
}

absl::Status TestPki::Rotate(const std::string& name, const std::string& cn) {
  const std::string next = name + "-next";
  if (absl::Status s = Issue(next, cn); !s.ok()) return s;
  if (absl::Status s = ReplaceFileForTest(key(name), ReadFileForTest(key(next))); !s.ok()) {
    return s;
  }
  return ReplaceFileForTest(pem(name), ReadFileForTest(pem(next)));
}

std::string ReadFileForTest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Status ReplaceFileForTest(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", tmp, " to ", path));
  }
  return absl::OkStatus();
}

}  // namespace actserve::server::auth
