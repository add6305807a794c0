#include "lib/ldap/codec.h"

#include <gtest/gtest.h>

#include <random>

#include "lib/ldap/controls.h"

namespace simplead::ldap {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out += static_cast<char>(b);
  return out;
}

// Definite-length BER header, for hand-built hostile PDUs.
std::string Tlv(int tag, const std::string& content) {
  std::string out(1, static_cast<char>(tag));
  size_t n = content.size();
  if (n < 0x80) {
    out += static_cast<char>(n);
  } else {
    std::string len;
    while (n > 0) {
      len.insert(len.begin(), static_cast<char>(n & 0xff));
      n >>= 8;
    }
    out += static_cast<char>(0x80 | len.size());
    out += len;
  }
  return out + content;
}

Request RoundTrip(const Request& request) {
  std::string pdu = EncodeRequest(request);
  auto length = PduLength(pdu);
  EXPECT_TRUE(length.ok() && length->has_value() && **length == pdu.size());
  auto decoded = DecodeRequest(pdu);
  EXPECT_TRUE(decoded.ok()) << decoded.status().ToString();
  return decoded.ok() ? *decoded : Request{};
}

Request SampleSearch() {
  Request request;
  request.message_id = 7;
  SearchRequest search;
  search.base = "dc=example,dc=com";
  search.scope = SearchScope::kSubtree;
  search.deref = DerefAliases::kAlways;
  search.size_limit = 100;
  search.time_limit = 30;
  search.types_only = true;
  search.filter = *ParseFilter(
      "(&(objectClass=person)(|(cn=a*b*c)(sn~=x))(!(uid>=5))(mail<=z)(cn:dn:2.5.13.5:=J)(:1.2.3:=v)(description=*))");
  search.attributes = {"cn", "mail", "1.1"};
  request.op = search;
  request.controls.push_back(Control{oid::kPagedResults, true, EncodePagedResults({50, "cookie"})});
  request.controls.push_back(Control{oid::kManageDsaIt, false, std::nullopt});
  return request;
}

TEST(CodecTest, PduLengthWaitsForCompleteHeader) {
  EXPECT_EQ(*PduLength(""), std::nullopt);
  EXPECT_EQ(*PduLength(Bytes({0x30})), std::nullopt);
  EXPECT_EQ(*PduLength(Bytes({0x30, 0x82, 0x01})), std::nullopt);
}

TEST(CodecTest, PduLengthReadsShortAndLongForms) {
  EXPECT_EQ(**PduLength(Bytes({0x30, 0x0c})), 14u);
  EXPECT_EQ(**PduLength(Bytes({0x30, 0x82, 0x01, 0x00})), 4u + 256u);
}

TEST(CodecTest, PduLengthRejectsImpossibleHeaders) {
  EXPECT_EQ(PduLength(Bytes({0x04, 0x00})).status().code(), ResultCode::kProtocolError);
  EXPECT_EQ(PduLength(Bytes({0x30, 0x80})).status().code(), ResultCode::kProtocolError);
  EXPECT_EQ(PduLength(Bytes({0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9})).status().code(), ResultCode::kProtocolError);
}

TEST(CodecTest, DecodesAnonymousBindFromLdapsearch) {
  auto request = DecodeRequest(Bytes({0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00}));
  ASSERT_TRUE(request.ok()) << request.status().ToString();
  EXPECT_EQ(request->message_id, 1);
  const auto& bind = std::get<BindRequest>(request->op);
  EXPECT_EQ(bind.version, 3);
  EXPECT_TRUE(bind.name.empty());
  EXPECT_FALSE(bind.sasl);
}

TEST(CodecTest, SimpleBindRoundTrips) {
  Request request{3, BindRequest{3, "cn=admin", false, "s3cret", "", std::nullopt}, {}};
  auto bind = std::get<BindRequest>(RoundTrip(request).op);
  EXPECT_EQ(bind.name, "cn=admin");
  EXPECT_EQ(bind.password, "s3cret");
}

TEST(CodecTest, SaslBindRoundTrips) {
  Request request{3, BindRequest{3, "", true, "", "GSS-SPNEGO", std::string("\x60\x00tok", 5)}, {}};
  auto bind = std::get<BindRequest>(RoundTrip(request).op);
  EXPECT_TRUE(bind.sasl);
  EXPECT_EQ(bind.sasl_mechanism, "GSS-SPNEGO");
  EXPECT_EQ(bind.sasl_credentials, std::string("\x60\x00tok", 5));
}

TEST(CodecTest, SearchRequestRoundTrips) {
  Request original = SampleSearch();
  Request decoded = RoundTrip(original);
  EXPECT_EQ(decoded.message_id, 7);
  const auto& a = std::get<SearchRequest>(original.op);
  const auto& b = std::get<SearchRequest>(decoded.op);
  EXPECT_EQ(b.base, a.base);
  EXPECT_EQ(b.scope, SearchScope::kSubtree);
  EXPECT_EQ(b.deref, DerefAliases::kAlways);
  EXPECT_EQ(b.size_limit, 100);
  EXPECT_EQ(b.time_limit, 30);
  EXPECT_TRUE(b.types_only);
  EXPECT_EQ(FilterToString(b.filter), FilterToString(a.filter));
  EXPECT_EQ(b.attributes, a.attributes);
  ASSERT_EQ(decoded.controls.size(), 2u);
  EXPECT_EQ(decoded.controls[0].oid, oid::kPagedResults);
  EXPECT_TRUE(decoded.controls[0].critical);
  EXPECT_EQ(decoded.controls[0].value, original.controls[0].value);
  EXPECT_FALSE(decoded.controls[1].critical);
  EXPECT_FALSE(decoded.controls[1].value.has_value());
}

TEST(CodecTest, SearchScopeChildrenIsAccepted) {
  Request request = SampleSearch();
  std::get<SearchRequest>(request.op).scope = SearchScope::kChildren;
  EXPECT_EQ(std::get<SearchRequest>(RoundTrip(request).op).scope, SearchScope::kChildren);
}

TEST(CodecTest, AddRequestRoundTrips) {
  Request request{4, AddRequest{"cn=x,dc=y", {{"objectClass", {"top", "person"}}, {"cn", {"x"}}}}, {}};
  auto add = std::get<AddRequest>(RoundTrip(request).op);
  EXPECT_EQ(add.dn, "cn=x,dc=y");
  ASSERT_EQ(add.attributes.size(), 2u);
  EXPECT_EQ(add.attributes[0].values, (std::vector<std::string>{"top", "person"}));
}

TEST(CodecTest, AddRequestRejectsAttributeWithoutValues) {
  Request request{4, AddRequest{"cn=x,dc=y", {{"cn", {}}}}, {}};
  EXPECT_EQ(DecodeRequest(EncodeRequest(request)).status().code(), ResultCode::kProtocolError);
}

TEST(CodecTest, ModifyRequestRoundTrips) {
  ModifyRequest modify{"cn=x", {{Modification::Op::kAdd, {"mail", {"a@b"}}},
                                {Modification::Op::kDelete, {"phone", {}}},
                                {Modification::Op::kIncrement, {"uidNumber", {"1"}}}}};
  auto decoded = std::get<ModifyRequest>(RoundTrip(Request{5, modify, {}}).op);
  ASSERT_EQ(decoded.changes.size(), 3u);
  EXPECT_EQ(decoded.changes[0].op, Modification::Op::kAdd);
  EXPECT_TRUE(decoded.changes[1].attribute.values.empty());
  EXPECT_EQ(decoded.changes[2].op, Modification::Op::kIncrement);
}

TEST(CodecTest, DeleteRequestRoundTrips) {
  EXPECT_EQ(std::get<DeleteRequest>(RoundTrip(Request{6, DeleteRequest{"cn=gone"}, {}}).op).dn, "cn=gone");
}

TEST(CodecTest, ModifyDnRequestRoundTrips) {
  auto moddn = std::get<ModifyDnRequest>(
      RoundTrip(Request{8, ModifyDnRequest{"cn=a,dc=x", "cn=b", false, std::string("ou=new,dc=x")}, {}}).op);
  EXPECT_EQ(moddn.new_rdn, "cn=b");
  EXPECT_FALSE(moddn.delete_old_rdn);
  EXPECT_EQ(moddn.new_superior, "ou=new,dc=x");
  auto plain = std::get<ModifyDnRequest>(RoundTrip(Request{8, ModifyDnRequest{"cn=a", "cn=b", true, {}}, {}}).op);
  EXPECT_FALSE(plain.new_superior.has_value());
}

TEST(CodecTest, CompareRequestRoundTrips) {
  auto compare = std::get<CompareRequest>(RoundTrip(Request{9, CompareRequest{"cn=a", "cn", "b"}, {}}).op);
  EXPECT_EQ(compare.attribute, "cn");
  EXPECT_EQ(compare.value, "b");
}

TEST(CodecTest, AbandonAndUnbindRoundTrip) {
  EXPECT_EQ(std::get<AbandonRequest>(RoundTrip(Request{10, AbandonRequest{7}, {}}).op).message_id, 7);
  EXPECT_TRUE(std::holds_alternative<UnbindRequest>(RoundTrip(Request{11, UnbindRequest{}, {}}).op));
}

TEST(CodecTest, ExtendedRequestRoundTrips) {
  auto ext = std::get<ExtendedRequest>(RoundTrip(Request{12, ExtendedRequest{oid::kWhoAmI, std::nullopt}, {}}).op);
  EXPECT_EQ(ext.oid, oid::kWhoAmI);
  EXPECT_FALSE(ext.value.has_value());
  auto with_value =
      std::get<ExtendedRequest>(RoundTrip(Request{12, ExtendedRequest{oid::kCancel, std::string("\x30\x03\x02\x01\x05", 5)}, {}}).op);
  EXPECT_EQ(with_value.value->size(), 5u);
}

TEST(CodecTest, DecodeRejectsTruncatedPdu) {
  std::string pdu = EncodeRequest(SampleSearch());
  for (size_t n = 0; n < pdu.size(); ++n) {
    auto r = DecodeRequest(pdu.substr(0, n));
    EXPECT_EQ(r.status().code(), ResultCode::kProtocolError) << "prefix " << n;
  }
}

TEST(CodecTest, DecodeRejectsTrailingBytes) {
  EXPECT_EQ(DecodeRequest(EncodeRequest(SampleSearch()) + "x").status().code(), ResultCode::kProtocolError);
}

TEST(CodecTest, DecodeSurvivesEveryBitFlip) {
  std::string pdu = EncodeRequest(SampleSearch());
  size_t rejected = 0;
  for (size_t bit = 0; bit < pdu.size() * 8; ++bit) {
    std::string flipped = pdu;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    auto r = DecodeRequest(flipped);
    if (!r.ok()) ++rejected;
  }
  EXPECT_GT(rejected, pdu.size());  // most flips break structure; none may crash
}

TEST(CodecTest, DecodeRejectsInnerLengthPastParent) {
  // SearchRequest base claims 0x7f bytes inside a 3-byte element.
  std::string op = Tlv(0x4a, "x");
  std::string pdu = Tlv(0x30, Bytes({0x02, 0x01, 0x01}) + Bytes({0x63, 0x03, 0x04, 0x7f, 0x00}) + op);
  EXPECT_EQ(DecodeRequest(pdu).status().code(), ResultCode::kProtocolError);
}

TEST(CodecTest, DecodeRejectsOverLongLength) {
  EXPECT_EQ(DecodeRequest(Bytes({0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02, 0x01, 0x01})).status().code(),
            ResultCode::kProtocolError);
  EXPECT_EQ(DecodeRequest(Bytes({0x30, 0x05, 0x02, 0x89, 1, 2, 3})).status().code(), ResultCode::kProtocolError);
}

TEST(CodecTest, DecodeReportsMessageIdOfUnknownOperation) {
  int32_t id = -1;
  auto r = DecodeRequest(Tlv(0x30, Bytes({0x02, 0x01, 0x2a}) + Tlv(0x7f, "")), 64, &id);
  EXPECT_EQ(r.status().code(), ResultCode::kProtocolError);
  EXPECT_EQ(id, 42);
}

TEST(CodecTest, DecodeRejectsRandomGarbage) {
  std::mt19937 rng(1234);
  for (int i = 0; i < 5000; ++i) {
    std::string junk(2 + rng() % 64, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    junk[0] = 0x30;
    junk[1] = static_cast<char>(junk.size() - 2);
    (void)DecodeRequest(junk);
    (void)DecodeResponse(junk);
  }
  SUCCEED();
}

std::string SearchWithFilter(const std::string& filter) {
  std::string op = Tlv(0x04, "") + Bytes({0x0a, 0x01, 0x02, 0x0a, 0x01, 0x00, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00,
                                          0x01, 0x01, 0x00}) +
                   filter + Tlv(0x30, "");
  return Tlv(0x30, Bytes({0x02, 0x01, 0x05}) + Tlv(0x63, op));
}

TEST(CodecTest, FilterDepthTenThousandIsRejectedWithoutStackOverflow) {
  std::string filter = Tlv(0x87, "a");
  for (int i = 0; i < 10000; ++i) filter = Tlv(0xa2, filter);
  int32_t id = 0;
  auto r = DecodeRequest(SearchWithFilter(filter), 64, &id);
  EXPECT_EQ(r.status().code(), ResultCode::kAdminLimitExceeded);
  EXPECT_EQ(id, 5);
}

TEST(CodecTest, DecodesEachFilterChoice) {
  std::string ava = Tlv(0x04, "cn") + Tlv(0x04, "v");
  std::string subs = Tlv(0x04, "cn") + Tlv(0x30, Tlv(0x80, "a") + Tlv(0x81, "b") + Tlv(0x82, "c"));
  std::string ext = Tlv(0x81, "2.5.13.5") + Tlv(0x82, "cn") + Tlv(0x83, "v") + Bytes({0x84, 0x01, 0xff});
  std::string filter = Tlv(0xa0, Tlv(0xa3, ava) + Tlv(0xa4, subs) + Tlv(0xa5, ava) + Tlv(0xa6, ava) + Tlv(0x87, "cn") +
                                     Tlv(0xa8, ava) + Tlv(0xa9, ext) + Tlv(0xa1, Tlv(0xa2, Tlv(0xa3, ava))));
  auto r = DecodeRequest(SearchWithFilter(filter));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(FilterToString(std::get<SearchRequest>(r->op).filter),
            "(&(cn=v)(cn=a*b*c)(cn>=v)(cn<=v)(cn=*)(cn~=v)(cn:dn:2.5.13.5:=v)(|(!(cn=v))))");
}

TEST(CodecTest, RejectsMalformedSubstrings) {
  std::string final_first = Tlv(0x04, "cn") + Tlv(0x30, Tlv(0x82, "c") + Tlv(0x80, "a"));
  EXPECT_EQ(DecodeRequest(SearchWithFilter(Tlv(0xa4, final_first))).status().code(), ResultCode::kProtocolError);
  std::string empty = Tlv(0x04, "cn") + Tlv(0x30, "");
  EXPECT_EQ(DecodeRequest(SearchWithFilter(Tlv(0xa4, empty))).status().code(), ResultCode::kProtocolError);
}

TEST(CodecTest, RejectsExtensibleMatchWithoutTypeOrRule) {
  EXPECT_EQ(DecodeRequest(SearchWithFilter(Tlv(0xa9, Tlv(0x83, "v")))).status().code(), ResultCode::kProtocolError);
}

TEST(CodecTest, RejectsUnknownFilterChoice) {
  EXPECT_EQ(DecodeRequest(SearchWithFilter(Tlv(0xaa, ""))).status().code(), ResultCode::kProtocolError);
}

TEST(CodecTest, ResultEncodesExpectedBytes) {
  EXPECT_EQ(EncodeResult(2, ResponseTag::kSearchDone, LdapResult{}),
            Bytes({0x30, 0x0c, 0x02, 0x01, 0x02, 0x65, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00}));
}

TEST(CodecTest, ResultWithReferralsRoundTrips) {
  LdapResult result{ResultCode::kReferral, "dc=x", "go away", {"ldap://a/", "ldap://b/"}};
  auto r = DecodeResponse(EncodeResult(3, ResponseTag::kModify, result, {Control{"1.2.3", true, "v"}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->tag, ResponseTag::kModify);
  EXPECT_EQ(r->result.code, ResultCode::kReferral);
  EXPECT_EQ(r->result.matched_dn, "dc=x");
  EXPECT_EQ(r->result.diagnostic, "go away");
  EXPECT_EQ(r->result.referrals.size(), 2u);
  ASSERT_EQ(r->controls.size(), 1u);
  EXPECT_EQ(r->controls[0].value, "v");
}

TEST(CodecTest, BindResponseCarriesSaslCredentials) {
  auto r = DecodeResponse(EncodeBindResponse(1, LdapResult{ResultCode::kSaslBindInProgress}, std::string("tok")));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tag, ResponseTag::kBind);
  EXPECT_EQ(r->result.code, ResultCode::kSaslBindInProgress);
  EXPECT_EQ(r->value, "tok");
}

TEST(CodecTest, SearchEntryRoundTrips) {
  std::vector<Attribute> attributes{{"cn", {"Alice"}}, {"jpegPhoto", {std::string("\0\xff", 2)}}};
  auto r = DecodeResponse(EncodeSearchEntry(4, "cn=Alice,dc=x", attributes));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->tag, ResponseTag::kSearchEntry);
  EXPECT_EQ(r->dn, "cn=Alice,dc=x");
  ASSERT_EQ(r->attributes.size(), 2u);
  EXPECT_EQ(r->attributes[1].values[0], std::string("\0\xff", 2));
}

TEST(CodecTest, SearchEntryTypesOnlyOmitsValues) {
  auto r = DecodeResponse(EncodeSearchEntry(4, "cn=a", {{"cn", {"a"}}}, true));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->attributes[0].values.empty());
}

TEST(CodecTest, SearchReferenceRoundTrips) {
  auto r = DecodeResponse(EncodeSearchReference(4, {"ldap://h/dc=x??sub"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tag, ResponseTag::kSearchReference);
  EXPECT_EQ(r->uris, std::vector<std::string>{"ldap://h/dc=x??sub"});
}

TEST(CodecTest, ExtendedResponseCarriesNameAndValue) {
  auto r = DecodeResponse(EncodeExtendedResponse(9, LdapResult{}, std::string(oid::kWhoAmI), std::string("dn:cn=a")));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tag, ResponseTag::kExtended);
  EXPECT_EQ(r->name, oid::kWhoAmI);
  EXPECT_EQ(r->value, "dn:cn=a");
}

TEST(CodecTest, IntermediateResponseRoundTrips) {
  auto r = DecodeResponse(EncodeIntermediateResponse(9, std::string("1.2.3"), std::string("v")));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->tag, ResponseTag::kIntermediate);
  EXPECT_EQ(r->name, "1.2.3");
}

TEST(CodecTest, NoticeOfDisconnectionUsesMessageIdZero) {
  auto r = DecodeResponse(EncodeNoticeOfDisconnection(ResultCode::kUnavailable, "shutting down"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->message_id, 0);
  EXPECT_EQ(r->tag, ResponseTag::kExtended);
  EXPECT_EQ(r->result.code, ResultCode::kUnavailable);
  EXPECT_EQ(r->name, oid::kNoticeOfDisconnection);
}

TEST(CodecTest, OperationNameNamesEachOperation) {
  EXPECT_STREQ(OperationName(BindRequest{}), "BIND");
  EXPECT_STREQ(OperationName(SearchRequest{}), "SEARCH");
  EXPECT_STREQ(OperationName(ModifyDnRequest{}), "MODRDN");
  EXPECT_STREQ(OperationName(ExtendedRequest{}), "EXTENDED");
}

}  // namespace
}  // namespace simplead::ldap
