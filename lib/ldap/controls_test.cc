#include "lib/ldap/controls.h"

#include <gtest/gtest.h>

#include "lib/ldap/codec.h"

namespace simplead::ldap {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out += static_cast<char>(b);
  return out;
}

TEST(ControlsTest, PagedResultsRoundTrips) {
  auto paged = DecodePagedResults(EncodePagedResults({500, std::string("\0c", 2)}));
  ASSERT_TRUE(paged.ok()) << paged.status().ToString();
  EXPECT_EQ(paged->size, 500);
  EXPECT_EQ(paged->cookie, std::string("\0c", 2));
}

TEST(ControlsTest, PagedResultsDecodesKnownBytes) {
  auto paged = DecodePagedResults(Bytes({0x30, 0x05, 0x02, 0x01, 0x0a, 0x04, 0x00}));
  ASSERT_TRUE(paged.ok());
  EXPECT_EQ(paged->size, 10);
  EXPECT_TRUE(paged->cookie.empty());
}

TEST(ControlsTest, PagedResultsRejectsMalformedValue) {
  EXPECT_EQ(DecodePagedResults("").status().code(), ResultCode::kProtocolError);
  EXPECT_EQ(DecodePagedResults(Bytes({0x30, 0x03, 0x02, 0x01, 0x0a})).status().code(), ResultCode::kProtocolError);
  EXPECT_EQ(DecodePagedResults(Bytes({0x30, 0x05, 0x02, 0x01, 0x0a, 0x04, 0x05})).status().code(),
            ResultCode::kProtocolError);
  EXPECT_EQ(DecodePagedResults(EncodePagedResults({1, ""}) + "x").status().code(), ResultCode::kProtocolError);
}

TEST(ControlsTest, SortRequestRoundTrips) {
  auto keys = DecodeSortRequest(EncodeSortRequest({{"cn", "", false}, {"sn", "2.5.13.3", true}}));
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].attribute, "cn");
  EXPECT_FALSE((*keys)[0].reverse);
  EXPECT_EQ((*keys)[1].ordering_rule, "2.5.13.3");
  EXPECT_TRUE((*keys)[1].reverse);
}

TEST(ControlsTest, SortRequestRejectsEmptyKeyList) {
  EXPECT_EQ(DecodeSortRequest(Bytes({0x30, 0x00})).status().code(), ResultCode::kProtocolError);
}

TEST(ControlsTest, SortResponseEncodesExpectedBytes) {
  EXPECT_EQ(EncodeSortResponse(ResultCode::kSuccess), Bytes({0x30, 0x03, 0x0a, 0x01, 0x00}));
  EXPECT_EQ(EncodeSortResponse(ResultCode::kNoSuchAttribute, "cn"),
            Bytes({0x30, 0x07, 0x0a, 0x01, 0x10, 0x80, 0x02, 'c', 'n'}));
}

TEST(ControlsTest, AssertionFilterRoundTrips) {
  Filter filter = *ParseFilter("(&(cn=a*)(!(sn=b))(x:dn:1.2:=y))");
  auto decoded = DecodeAssertion(EncodeFilter(filter));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(FilterToString(*decoded), FilterToString(filter));
}

TEST(ControlsTest, AssertionRespectsDepthLimit) {
  Filter filter = *ParseFilter("(!(!(!(a=b))))");
  EXPECT_EQ(DecodeAssertion(EncodeFilter(filter), 3).status().code(), ResultCode::kAdminLimitExceeded);
}

TEST(ControlsTest, ReadEntryRequestRoundTrips) {
  auto attributes = DecodeReadEntryRequest(EncodeReadEntryRequest({"cn", "entryUUID"}));
  ASSERT_TRUE(attributes.ok());
  EXPECT_EQ(*attributes, (std::vector<std::string>{"cn", "entryUUID"}));
}

TEST(ControlsTest, ReadEntryResponseIsSearchResultEntry) {
  std::string value = EncodeReadEntryResponse("cn=a,dc=x", {{"cn", {"a"}}});
  // Wrap it as a protocolOp to read it back with the response decoder.
  std::string content = Bytes({0x02, 0x01, 0x01}) + value;
  std::string pdu = Bytes({0x30, static_cast<int>(content.size())}) + content;
  auto response = DecodeResponse(pdu);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->tag, ResponseTag::kSearchEntry);
  EXPECT_EQ(response->dn, "cn=a,dc=x");
  EXPECT_EQ(response->attributes[0].values[0], "a");
}

TEST(ControlsTest, PasswordModifyRequestRoundTrips) {
  PasswordModifyRequest request{std::string("u:alice"), std::nullopt, std::string("n3w")};
  auto decoded = DecodePasswordModifyRequest(EncodePasswordModifyRequest(request));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->user_identity, "u:alice");
  EXPECT_FALSE(decoded->old_password.has_value());
  EXPECT_EQ(decoded->new_password, "n3w");
}

TEST(ControlsTest, PasswordModifyAcceptsEmptyValue) {
  auto decoded = DecodePasswordModifyRequest("");
  ASSERT_TRUE(decoded.ok());
  EXPECT_FALSE(decoded->user_identity.has_value());
}

TEST(ControlsTest, PasswordModifyRejectsOutOfOrderFields) {
  std::string value = Bytes({0x30, 0x06, 0x82, 0x01, 'n', 0x80, 0x01, 'u'});
  EXPECT_EQ(DecodePasswordModifyRequest(value).status().code(), ResultCode::kProtocolError);
}

TEST(ControlsTest, PasswordModifyResponseEncodesGeneratedPassword) {
  EXPECT_EQ(EncodePasswordModifyResponse(std::string("pw")), Bytes({0x30, 0x04, 0x80, 0x02, 'p', 'w'}));
  EXPECT_EQ(EncodePasswordModifyResponse(std::nullopt), Bytes({0x30, 0x00}));
}

TEST(ControlsTest, PasswordPolicyWarningRoundTrips) {
  PasswordPolicyResponse response;
  response.time_before_expiration = 3600;
  auto decoded = DecodePasswordPolicyResponse(EncodePasswordPolicyResponse(response));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->time_before_expiration, 3600);
  EXPECT_FALSE(decoded->error.has_value());
}

TEST(ControlsTest, PasswordPolicyErrorEncodesExpectedBytes) {
  PasswordPolicyResponse response;
  response.error = 1;  // accountLocked
  EXPECT_EQ(EncodePasswordPolicyResponse(response), Bytes({0x30, 0x03, 0x81, 0x01, 0x01}));
  PasswordPolicyResponse grace;
  grace.grace_authns_remaining = 2;
  grace.error = 0;
  auto decoded = DecodePasswordPolicyResponse(EncodePasswordPolicyResponse(grace));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->grace_authns_remaining, 2);
  EXPECT_EQ(decoded->error, 0);
}

TEST(ControlsTest, CancelRequestDecodes) {
  EXPECT_EQ(*DecodeCancelRequest(Bytes({0x30, 0x03, 0x02, 0x01, 0x07})), 7);
  EXPECT_EQ(DecodeCancelRequest(Bytes({0x30, 0x00})).status().code(), ResultCode::kProtocolError);
}

}  // namespace
}  // namespace simplead::ldap
