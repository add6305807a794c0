// Vectors: RFC 2865 §7.1 (User "nemo", password "arctangent", shared secret
// "xyzzy5461", Request Authenticator 0f403f94...f4227a).
#include "connector/radius.h"

#include <gtest/gtest.h>

namespace simplead::connector::radius {
namespace {

std::string Unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

Authenticator RequestAuth() {
  std::string raw = Unhex("0f403f9473978057bd83d5cb98f4227a");
  Authenticator a{};
  std::copy(raw.begin(), raw.end(), a.begin());
  return a;
}

const SecureBytes& Secret() {
  static const SecureBytes secret(std::string_view("xyzzy5461"));
  return secret;
}

TEST(RadiusTest, HidesPasswordAsRfc2865Example) {
  auto hidden = HidePassword("arctangent", Secret(), RequestAuth());
  ASSERT_TRUE(hidden.ok());
  EXPECT_EQ(*hidden, Unhex("0dbe708d93d413ce3196e43f782a0aee"));
}

TEST(RadiusTest, EncodesAccessRequestAsRfc2865Example) {
  std::vector<Attribute> attributes{{kUserName, "nemo"},
                                    {kUserPassword, *HidePassword("arctangent", Secret(), RequestAuth())},
                                    {kNasIpAddress, Unhex("c0a80110")},
                                    {kNasPort, Unhex("00000003")}};
  std::string packet = EncodeAccessRequest(0, RequestAuth(), attributes, Secret(), false);
  EXPECT_EQ(packet, Unhex("010000380f403f9473978057bd83d5cb98f4227a01066e656d6f02120dbe708d93d413ce3196e43f782a0aee"
                          "0406c0a8011005060000000"
                          "3"));
}

TEST(RadiusTest, VerifiesRfc2865AccessAccept) {
  std::string accept = Unhex("0200002686fe220e7624ba2a1005f6bf9b55e0b20606000000010f06000000000e06c0a80103");
  auto code = VerifyResponse(accept, 0, RequestAuth(), Secret());
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  EXPECT_EQ(*code, kAccessAccept);
}

TEST(RadiusTest, RejectsReplyWithWrongSecret) {
  std::string accept = Unhex("0200002686fe220e7624ba2a1005f6bf9b55e0b20606000000010f06000000000e06c0a80103");
  EXPECT_FALSE(VerifyResponse(accept, 0, RequestAuth(), SecureBytes(std::string_view("wrong"))).ok());
}

TEST(RadiusTest, RejectsReplyForAnotherId) {
  std::string accept = Unhex("0200002686fe220e7624ba2a1005f6bf9b55e0b20606000000010f06000000000e06c0a80103");
  EXPECT_FALSE(VerifyResponse(accept, 1, RequestAuth(), Secret()).ok());
}

TEST(RadiusTest, LongPasswordsChainBlocks) {
  auto hidden = HidePassword(std::string(17, 'x'), Secret(), RequestAuth());
  ASSERT_TRUE(hidden.ok());
  EXPECT_EQ(hidden->size(), 32u);
  EXPECT_FALSE(HidePassword(std::string(129, 'x'), Secret(), RequestAuth()).ok());
}

TEST(RadiusTest, MessageAuthenticatorIsLastAndKeyed) {
  std::vector<Attribute> attributes{{kUserName, "nemo"}};
  std::string a = EncodeAccessRequest(7, RequestAuth(), attributes, Secret(), true);
  std::string b = EncodeAccessRequest(7, RequestAuth(), attributes, SecureBytes(std::string_view("other")), true);
  ASSERT_EQ(a.size(), 20u + 6u + 18u);
  EXPECT_EQ(static_cast<uint8_t>(a[26]), kMessageAuthenticator);
  EXPECT_NE(a.substr(28), b.substr(28));
}

TEST(RadiusTest, NoServerMeansNoAnswerWithinTheBound) {
  ClientOptions o;
  o.host = "127.0.0.1";
  o.port = 9;  // discard: nothing answers
  o.secret = Secret();
  o.timeout = std::chrono::seconds(1);
  o.retries = 0;
  RadiusClient client(o);
  std::string detail;
  auto start = std::chrono::steady_clock::now();
  Verdict v = client.Authenticate("nemo", SecureBytes(std::string_view("123456")), &detail);
  EXPECT_EQ(v, Verdict::kNoAnswer);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

}  // namespace
}  // namespace simplead::connector::radius
