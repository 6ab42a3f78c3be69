// The command-line clients' credentials against the real server: `actctl token new` makes a
// token and a tokens-file line the server accepts; actctl and actload connect with --tls, --ca,
// --cert, --key and --token_file (or ACTSERVE_TOKEN) to a server with TLS, mTLS and tokens; and
// what is missing or mismatched is named in the error ("pass --token_file", "pass --tls", ...).
#include <signal.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/auth/test_pki.h"
#include "tests/server_process.h"

namespace actserve::testing {
namespace {

using ::actserve::server::auth::ReplaceFileForTest;
using ::actserve::server::auth::TestPki;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr char kServer[] = ACTSERVE_BINARY;
constexpr char kActctl[] = ACTCTL_BINARY;
constexpr char kActload[] = ACTLOAD_BINARY;

class ClientCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<TestPki>> pki = TestPki::Create();
    if (!pki.ok()) GTEST_SKIP() << "no usable openssl command: " << pki.status();
    pki_ = *std::move(pki);
    ASSERT_TRUE(pki_->Issue("server", "localhost").ok());
    ASSERT_TRUE(pki_->Issue("client", "alice").ok());
    // The token and its line, from actctl itself.
    auto [rc, out] =
        RunCommand(absl::StrCat(kActctl, " token new --tenant=alice --roles=compute,train"));
    ASSERT_EQ(rc, 0) << out;
    std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
    ASSERT_EQ(lines.size(), 2u) << out;
    token_ = lines[0];
    ASSERT_TRUE(ReplaceFileForTest(pki_->dir() + "/tokens", lines[1] + "\n").ok());
    ASSERT_TRUE(ReplaceFileForTest(pki_->dir() + "/token", token_ + "\n").ok());
    auto server = ServerProcess::Start(
        kServer,
        {"--tls_cert=" + pki_->pem("server"), "--tls_key=" + pki_->key("server"),
         "--tls_client_ca=" + pki_->pem("ca"), "--tokens_file=" + pki_->dir() + "/tokens"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    // 127.0.0.1, which the certificate names (an IP SAN): no name resolution is needed.
    target_ = server_->address();
  }

  std::string Tls(bool with_cert = true) const {
    return absl::StrCat(
        " --ca=", pki_->pem("ca"),
        with_cert ? absl::StrCat(" --cert=", pki_->pem("client"), " --key=", pki_->key("client"))
                  : "");
  }
  std::string TokenFile() const { return " --token_file=" + pki_->dir() + "/token"; }

  std::pair<int, std::string> Actctl(const std::string& args, const std::string& env = "") {
    return RunCommand(absl::StrCat("env -u ACTSERVE_TOKEN ", env, " ", kActctl,
                                   " --server=", target_, " --timeout=10 ", args, " 2>&1"));
  }

  std::unique_ptr<TestPki> pki_;
  std::unique_ptr<ServerProcess> server_;
  std::string token_, target_;
};

TEST_F(ClientCredentialsTest, TokenNewMakesARandomTokenAndItsLine) {
  EXPECT_THAT(token_, MatchesRegex("act_[A-Za-z0-9_-]{43}"));
  auto [rc, out] = RunCommand(absl::StrCat(kActctl, " token new --tenant=bob --roles=admin"));
  ASSERT_EQ(rc, 0) << out;
  EXPECT_THAT(out, ::testing::Not(HasSubstr(token_))) << "each token is new";
  EXPECT_THAT(out, MatchesRegex("act_[A-Za-z0-9_-]{43}\nsha256:[0-9a-f]{64} bob admin\n(.|\n)*"));
  for (const char* bad : {"--tenant='two words' --roles=compute", "--tenant=a/b --roles=compute",
                          "--roles=compute", "--tenant=a --roles=root", "--tenant=a --roles="}) {
    auto [bad_rc, bad_out] = RunCommand(absl::StrCat(kActctl, " token new ", bad, " 2>&1"));
    EXPECT_EQ(bad_rc, 2) << bad << ": " << bad_out;
  }
  std::tie(rc, out) = RunCommand(absl::StrCat(kActctl, " token old --tenant=a 2>&1"));
  EXPECT_EQ(rc, 2) << out;
}

TEST_F(ClientCredentialsTest, ActctlConnectsWithTlsCertificateAndToken) {
  auto [rc, out] = Actctl("list" + Tls() + TokenFile());
  EXPECT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("relu"));
  std::tie(rc, out) = Actctl("forward relu -1 2" + Tls(), "ACTSERVE_TOKEN=" + token_);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "x,y\n-1,0\n2,2\n");
}

TEST_F(ClientCredentialsTest, WhatIsMissingIsNamed) {
  struct Case {
    std::string args, env, expected;
    int rc;
  } cases[] = {
      {"list" + Tls(), "", "the server requires a token", 1},
      {"list" + Tls(), "", "set ACTSERVE_TOKEN", 1},
      {"list" + Tls(), "ACTSERVE_TOKEN=act_wrong", "did not accept the token", 1},
      {"list" + TokenFile(), "", "if the server uses TLS, pass --tls", 1},
      {"list --tls" + TokenFile(), "", "not trusted: pass --ca", 1},
      {"list" + Tls(false) + TokenFile(), "", "may require a client certificate", 1},
      {"list --cert=" + pki_->pem("client") + TokenFile(), "", "--cert and --key go together", 2},
      {"list --ca=/nonexistent.pem" + TokenFile(), "", "--ca=/nonexistent.pem: cannot read it", 2},
      {"list --ca=" + pki_->dir() + "/token" + TokenFile(), "", "not a PEM file", 2},
      {"list" + Tls() + " --token_file=/nonexistent", "", "--token_file=/nonexistent", 2},
      {"list" + Tls(), "ACTSERVE_TOKEN='a b'", "ACTSERVE_TOKEN holds a character", 2},
  };
  for (const Case& c : cases) {
    auto [rc, out] = Actctl(c.args, c.env);
    EXPECT_EQ(rc, c.rc) << c.args << "\n" << out;
    EXPECT_THAT(out, HasSubstr(c.expected)) << c.args;
  }
}

TEST_F(ClientCredentialsTest, ActloadRunsOverMutualTlsWithAToken) {
  auto [rc, out] = RunCommand(absl::StrCat("env -u ACTSERVE_TOKEN ", kActload,
                                           " --server=", target_, Tls(), TokenFile(),
                                           " --requests=200 --warmup=0s --concurrency=2"
                                           " --max_error_rate=0 --progress=none 2>&1"));
  EXPECT_EQ(rc, 0) << out;
  EXPECT_THAT(out, ::testing::Not(HasSubstr("UNAUTHENTICATED")));
  // --max_error_rate judges after 100 calls.
  std::tie(rc, out) =
      RunCommand(absl::StrCat("env -u ACTSERVE_TOKEN ", kActload, " --server=", target_, Tls(),
                              " --requests=200 --warmup=0s --concurrency=2"
                              " --max_error_rate=0 --progress=none 2>&1"));
  EXPECT_EQ(rc, 3) << "every call is refused without a token\n" << out;
  EXPECT_THAT(out, HasSubstr("UNAUTHENTICATED"));
}

}  // namespace
}  // namespace actserve::testing
