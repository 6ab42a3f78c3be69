// TLS credentials: start-up checks of the files, and real handshakes against an in-process gRPC
// server (a health service) with certificates made by openssl for the test.
#include "server/auth/tls_credentials.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/grpc/health/v1/health.grpc.pb.h"
#include "server/auth/call_loop.h"
#include "server/auth/test_pki.h"

namespace actserve::server::auth {
namespace {

using ::testing::HasSubstr;

// A health service that always answers SERVING: the rpc the handshakes are tested with.
class AlwaysServing final : public grpc::health::v1::Health::CallbackService {
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest*,
                                  grpc::health::v1::HealthCheckResponse* response) override {
    response->set_status(grpc::health::v1::HealthCheckResponse::SERVING);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

class TlsCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<TestPki>> pki = TestPki::Create();
    if (!pki.ok()) GTEST_SKIP() << "no usable openssl command: " << pki.status();
    pki_ = *std::move(pki);
    ASSERT_TRUE(pki_->Issue("server", "server-1").ok());
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
  }

  TlsFiles Files(bool mtls) const {
    return {.cert = pki_->pem("server"),
            .key = pki_->key("server"),
            .client_ca = mtls ? pki_->pem("ca") : ""};
  }

  // Starts a server with the health service on 127.0.0.1 and returns its address.
  std::string Serve(const TlsFiles& files) {
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds =
        NewTlsServerCredentials(files, absl::Seconds(1));
    EXPECT_TRUE(creds.ok()) << creds.status();
    if (!creds.ok()) return "";
    grpc::ServerBuilder builder;
    builder.RegisterService(&health_);
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", *creds, &port);
    server_ = builder.BuildAndStart();
    EXPECT_NE(port, 0);
    return absl::StrCat("127.0.0.1:", port);
  }

  // A health check over a fresh connection trusting `ca`, presenting `client` ("" for none).
  // `cn` receives the server certificate's common name.
  grpc::Status Check(const std::string& address, const std::string& ca = "ca",
                     const std::string& client = "", std::string* cn = nullptr,
                     const std::string& host_override = "") {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFileForTest(pki_->pem(ca));
    if (!client.empty()) {
      ssl.pem_cert_chain = ReadFileForTest(pki_->pem(client));
      ssl.pem_private_key = ReadFileForTest(pki_->key(client));
    }
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a new connection, a new handshake
    if (!host_override.empty()) args.SetSslTargetNameOverride(host_override);
    auto stub = grpc::health::v1::Health::NewStub(
        grpc::CreateCustomChannel(address, grpc::SslCredentials(ssl), args));
    return Call(*stub, cn);
  }

  static grpc::Status Call(grpc::health::v1::Health::Stub& stub, std::string* cn = nullptr) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = stub.Check(&context, request, &response);
    if (cn != nullptr && status.ok()) {
      auto values = context.auth_context()->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME);
      *cn = values.empty() ? "" : std::string(values.front().data(), values.front().size());
    }
    return status;
  }

  std::unique_ptr<TestPki> pki_;
  AlwaysServing health_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(TlsCredentialsTest, AcceptsAMatchingCertificateAndKey) {
  EXPECT_TRUE(CheckTlsFiles(Files(false)).ok());
  EXPECT_TRUE(CheckTlsFiles(Files(true)).ok());
  EXPECT_TRUE(CheckTlsFiles({}).ok()) << "no TLS at all is a valid configuration";
}

TEST_F(TlsCredentialsTest, RefusesBadFilesWithTheFlagAndPath) {
  ASSERT_TRUE(pki_->Issue("other", "other").ok());
  const std::string junk = pki_->dir() + "/junk.pem";
  ASSERT_TRUE(ReplaceFileForTest(junk, "not a certificate\n").ok());
  struct Case {
    TlsFiles files;
    absl::StatusCode code;
    std::string expected;
  } cases[] = {
      {{.cert = pki_->pem("server")}, absl::StatusCode::kInvalidArgument, "go together"},
      {{.key = pki_->key("server")}, absl::StatusCode::kInvalidArgument, "go together"},
      {{.client_ca = pki_->pem("ca")}, absl::StatusCode::kInvalidArgument, "needs TLS"},
      {{.cert = "/nonexistent.pem", .key = pki_->key("server")},
       absl::StatusCode::kNotFound,
       "--tls_cert=/nonexistent.pem cannot be read"},
      {{.cert = pki_->pem("server"), .key = "/nonexistent.key"},
       absl::StatusCode::kNotFound,
       "--tls_key=/nonexistent.key"},
      {{.cert = junk, .key = pki_->key("server")},
       absl::StatusCode::kInvalidArgument,
       "holds no PEM certificate"},
      {{.cert = pki_->pem("server"), .key = junk},
       absl::StatusCode::kInvalidArgument,
       "holds no unencrypted PEM private key"},
      {{.cert = pki_->pem("server"), .key = pki_->key("other")},
       absl::StatusCode::kInvalidArgument,
       "is not the key of the certificate"},
      {{.cert = pki_->pem("server"), .key = pki_->key("server"), .client_ca = junk},
       absl::StatusCode::kInvalidArgument,
       "--tls_client_ca="},
  };
  for (const Case& c : cases) {
    absl::Status s = CheckTlsFiles(c.files);
    EXPECT_EQ(s.code(), c.code) << c.expected << ": " << s;
    EXPECT_THAT(s.message(), HasSubstr(c.expected));
    EXPECT_FALSE(NewTlsServerCredentials(c.files, absl::Seconds(1)).ok()) << c.expected;
  }
}

TEST_F(TlsCredentialsTest, ServesTlsToClientsThatTrustItsCa) {
  const std::string address = Serve(Files(false));
  std::string cn;
  grpc::Status ok = Check(address, "ca", "", &cn);
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(cn, "server-1");

  ASSERT_TRUE(pki_->MakeCa("ca2").ok());
  EXPECT_EQ(Check(address, "ca2").error_code(), grpc::StatusCode::UNAVAILABLE)
      << "a server certificate from a CA the client does not trust";
  EXPECT_EQ(Check(address, "ca", "", nullptr, "wrong.example").error_code(),
            grpc::StatusCode::UNAVAILABLE)
      << "a certificate for another host name";
  auto plain = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  EXPECT_EQ(Call(*plain).error_code(), grpc::StatusCode::UNAVAILABLE) << "plaintext is refused";
}

TEST_F(TlsCredentialsTest, SelfSignedServerCertificateIsNotTrusted) {
  ASSERT_TRUE(pki_->Issue("server", "self", "").ok());
  const std::string address = Serve(Files(false));
  EXPECT_EQ(Check(address, "ca").error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsCredentialsTest, MutualTlsAdmitsOnlyClientsWithACertificateFromItsCa) {
  ASSERT_TRUE(pki_->Issue("alice", "alice").ok());
  ASSERT_TRUE(pki_->MakeCa("rogue-ca").ok());
  ASSERT_TRUE(pki_->Issue("mallory", "mallory", "rogue-ca").ok());
  ASSERT_TRUE(pki_->Issue("selfie", "selfie", "").ok());
  const std::string address = Serve(Files(true));
  grpc::Status alice = Check(address, "ca", "alice");
  EXPECT_TRUE(alice.ok()) << alice.error_message();
  EXPECT_FALSE(Check(address, "ca", "").ok()) << "no client certificate";
  EXPECT_FALSE(Check(address, "ca", "mallory").ok()) << "a certificate from another CA";
  EXPECT_FALSE(Check(address, "ca", "selfie").ok()) << "a self-signed certificate";
}

TEST_F(TlsCredentialsTest, CertificatesOutsideTheirValidityAreRefusedAndNamed) {
  // The server's own certificate, expired or not yet valid: it starts, warns, and clients refuse.
  ASSERT_TRUE(pki_->Issue("server", "localhost", "ca", -1).ok());
  EXPECT_THAT(CertificateValidityWarning(Files(false)), HasSubstr("the certificate expired on"));
  std::string address = Serve(Files(false));
  EXPECT_EQ(Check(address, "ca").error_code(), grpc::StatusCode::UNAVAILABLE) << "expired";
  ASSERT_TRUE(pki_->IssueBetween("server", "localhost", "20400101000000Z", "20410101000000Z").ok());
  EXPECT_THAT(CertificateValidityWarning(Files(false)), HasSubstr("is not valid before"));
  address = Serve(Files(false));
  EXPECT_EQ(Check(address, "ca").error_code(), grpc::StatusCode::UNAVAILABLE) << "not yet valid";

  // Clients' certificates under mTLS.
  ASSERT_TRUE(pki_->Issue("server", "localhost").ok());
  EXPECT_EQ(CertificateValidityWarning(Files(true)), "");
  ASSERT_TRUE(pki_->Issue("old", "old", "ca", -1).ok());
  ASSERT_TRUE(pki_->IssueBetween("early", "early", "20400101000000Z", "20410101000000Z").ok());
  ASSERT_TRUE(pki_->Issue("alice", "alice").ok());
  address = Serve(Files(true));
  EXPECT_TRUE(Check(address, "ca", "alice").ok());
  EXPECT_FALSE(Check(address, "ca", "old").ok()) << "an expired client certificate";
  EXPECT_FALSE(Check(address, "ca", "early").ok()) << "a client certificate not yet valid";
  EXPECT_TRUE(Check(address, "ca", "alice").ok()) << "the server keeps serving";
}

// The certificate is rotated on disk while a client keeps calling: new connections get the new
// certificate within a few seconds, and no call fails.
TEST_F(TlsCredentialsTest, RotatedCertificateIsServedWithoutRestartOrFailedCalls) {
  const std::string address = Serve(Files(false));
  grpc::SslCredentialsOptions ssl{.pem_root_certs = ReadFileForTest(pki_->pem("ca"))};
  auto stub =
      grpc::health::v1::Health::NewStub(grpc::CreateChannel(address, grpc::SslCredentials(ssl)));
  CallLoop load([&] { return Call(*stub).ok(); });
  ASSERT_TRUE(pki_->Rotate("server", "server-2").ok());
  std::string cn;
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (cn != "server-2" && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(200));
    Check(address, "ca", "", &cn).IgnoreError();
  }
  const CallLoop::Counts counts = load.Stop();
  EXPECT_EQ(cn, "server-2") << "the rotated certificate was not served within 15 s";
  EXPECT_GT(counts.calls, 0);
  EXPECT_EQ(counts.failures, 0) << "of " << counts.calls << " calls during the rotation";
}

}  // namespace
}  // namespace actserve::server::auth
