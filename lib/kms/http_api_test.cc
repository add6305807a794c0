// Starts the HTTP API on 127.0.0.1 port 0 and talks to it with raw sockets
// and with the `kms` CLI.
#include "lib/kms/http_api.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "lib/kms/kms_cli.h"
#include "lib/kms/kms_test_util.h"

namespace simplead::kms {
namespace {

using nlohmann::json;

// One HTTP/1.1 exchange over a plain socket (Connection: close); the raw
// response text, or "" on failure. Bounded by a 10 s receive timeout.
std::string Exchange(uint16_t port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "";
  }
  ::send(fd, request.data(), request.size(), 0);
  std::string out;
  char buf[4096];
  for (int i = 0; i < 1000; ++i) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

std::string Request(const std::string& target, const std::string& body, const std::string& auth) {
  return "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: " +
         target + "\r\nAuthorization: Basic " + auth + "\r\nConnection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto h = testing::MakeHarness(testing::StoreKind::kFile);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    h_ = std::move(*h);
    Caller admin = h_->admin;
    auto auth = BasicAuthenticator([admin](std::string_view user, const SecureBytes& pw) -> Result<Caller> {
      if (user == "admin" && pw.view() == "s3cret") return admin;
      return Error(ResultCode::kInvalidCredentials, "bad");
    });
    auto api = HttpApi::Start(io_, *h_->kms, auth, {});
    ASSERT_TRUE(api.ok()) << api.status().ToString();
    api_ = std::move(*api);
    port_ = api_->local_endpoint().port();
    work_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (api_) api_->Stop();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::unique_ptr<testing::KmsHarness> h_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::unique_ptr<HttpApi> api_;
  std::thread thread_;
  uint16_t port_ = 0;
};

TEST_F(HttpApiTest, CreateKeyOverHttp) {
  std::string res = Exchange(port_, Request("TrentService.CreateKey", R"({"Description":"via http"})",
                                            Base64Encode("admin:s3cret")));
  ASSERT_NE(res.find("HTTP/1.1 200"), std::string::npos) << res;
  json body = json::parse(res.substr(res.find("\r\n\r\n") + 4));
  EXPECT_EQ(body["KeyMetadata"]["Description"], "via http");
  EXPECT_NE(res.find("application/x-amz-json-1.1"), std::string::npos);
}

TEST_F(HttpApiTest, BadCredentialsAreRefusedAndAudited) {
  std::string res = Exchange(port_, Request("TrentService.ListKeys", "{}", Base64Encode("admin:wrong")));
  ASSERT_NE(res.find("HTTP/1.1 400"), std::string::npos) << res;
  EXPECT_NE(res.find("UnrecognizedClientException"), std::string::npos);
  EXPECT_EQ(h_->AuditLines().back()["errorCode"], "UnrecognizedClientException");
}

TEST_F(HttpApiTest, CliSpeaksTheApi) {
  std::string pwfile = h_->dir.path() + "/pw";
  std::ofstream(pwfile) << "s3cret\n";
  std::string endpoint = "http://127.0.0.1:" + std::to_string(port_);
  std::vector<std::string> args = {"kms", "CreateKey", "--description", "cli", "--endpoint", endpoint,
                                   "--user", "admin", "--password-file", pwfile};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  EXPECT_EQ(RunKmsCli(static_cast<int>(argv.size()), argv.data()), 0);
  args = {"kms", "DescribeKey", "--key-id", "alias/none", "--endpoint", endpoint,
          "--user", "admin", "--password-file", pwfile};
  argv.clear();
  for (auto& a : args) argv.push_back(a.data());
  EXPECT_EQ(RunKmsCli(static_cast<int>(argv.size()), argv.data()), 1);
}

TEST(AuditCliTest, VerifyReportsIntactAndTampered) {
  auto h = testing::MakeHarness(testing::StoreKind::kFile);
  ASSERT_TRUE((*h)->kms->CreateKey((*h)->admin, {}).ok());
  std::string path = (*h)->audit_path();
  std::vector<std::string> args = {"audit", "verify", path};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  EXPECT_EQ(RunAuditCli(3, argv.data()), 0);
  std::ofstream(path, std::ios::app) << "{\"forged\":true}\n";
  EXPECT_EQ(RunAuditCli(3, argv.data()), 1);
}

}  // namespace
}  // namespace simplead::kms
