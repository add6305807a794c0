#include "lib/ldap/dn.h"

#include <gtest/gtest.h>
#include <lber.h>
#include <ldap.h>

#include <optional>
#include <utility>
#include <vector>

namespace simplead::ldap {
namespace {

// libldap's own parse of `text` as (type, value) pairs per RDN, without the
// fast path Dn::Parse takes for plain DNs; nullopt when libldap rejects it.
// (Hex-string values stay encoded: the callers compare only inputs without them.)
std::optional<std::vector<std::vector<std::pair<std::string, std::string>>>> LibldapParse(std::string text) {
  berval bv{text.size(), text.data()};
  LDAPDN raw = nullptr;
  if (ldap_bv2dn(&bv, &raw, LDAP_DN_FORMAT_LDAP) != LDAP_SUCCESS) {
    if (raw) ldap_dnfree(raw);
    return std::nullopt;
  }
  std::vector<std::vector<std::pair<std::string, std::string>>> out;
  for (int r = 0; raw && raw[r]; ++r) {
    out.emplace_back();
    for (int a = 0; raw[r][a]; ++a) {
      const LDAPAVA* ava = raw[r][a];
      out.back().emplace_back(std::string(ava->la_attr.bv_val, ava->la_attr.bv_len),
                              std::string(ava->la_value.bv_val ? ava->la_value.bv_val : "", ava->la_value.bv_len));
    }
  }
  if (raw) ldap_dnfree(raw);
  return out;
}

std::vector<std::vector<std::pair<std::string, std::string>>> Pairs(const Dn& dn) {
  std::vector<std::vector<std::pair<std::string, std::string>>> out;
  for (const Rdn& rdn : dn.rdns()) {
    out.emplace_back();
    for (const Ava& ava : rdn) out.back().emplace_back(ava.type, ava.value);
  }
  return out;
}

Dn MustParse(std::string_view text) {
  auto dn = Dn::Parse(text);
  EXPECT_TRUE(dn.ok()) << text << ": " << dn.status().ToString();
  return dn.ok() ? *dn : Dn();
}

TEST(DnTest, ParsesSimpleDn) {
  Dn dn = MustParse("cn=Alice,ou=People,dc=example,dc=com");
  ASSERT_EQ(dn.size(), 4u);
  EXPECT_EQ(dn.rdn()[0].type, "cn");
  EXPECT_EQ(dn.rdn()[0].value, "Alice");
  EXPECT_EQ(dn.rdns()[3][0].value, "com");
}

TEST(DnTest, EmptyStringIsRootDn) {
  Dn dn = MustParse("");
  EXPECT_TRUE(dn.empty());
  EXPECT_EQ(dn.ToString(), "");
}

TEST(DnTest, UnescapesSpecialCharacters) {
  Dn dn = MustParse(R"(cn=a\,b\+c\"d\\e\<f\>g\;h\=i\#j,dc=x)");
  EXPECT_EQ(dn.rdn()[0].value, R"(a,b+c"d\e<f>g;h=i#j)");
}

TEST(DnTest, UnescapesHexPairs) {
  Dn dn = MustParse(R"(cn=a\2Cb\c3\a9,dc=x)");
  EXPECT_EQ(dn.rdn()[0].value, "a,b\xc3\xa9");
  EXPECT_EQ(dn.size(), 2u);
}

TEST(DnTest, EscapedTrailingSpaceIsKept) {
  Dn dn = MustParse(R"(cn=a\ ,dc=x)");
  EXPECT_EQ(dn.rdn()[0].value, "a ");
}

TEST(DnTest, LeadingEscapedHashIsValueNotHexString) {
  Dn dn = MustParse(R"(cn=\#1,dc=x)");
  EXPECT_EQ(dn.rdn()[0].value, "#1");
}

TEST(DnTest, HexStringValueDecodesBerContent) {
  Dn dn = MustParse("cn=#04024869,dc=x");
  EXPECT_EQ(dn.rdn()[0].value, "Hi");
}

TEST(DnTest, RejectsInvalidHexString) {
  EXPECT_EQ(Dn::Parse("cn=#zz,dc=x").status().code(), ResultCode::kInvalidDnSyntax);
  EXPECT_EQ(Dn::Parse("cn=#0405,dc=x").status().code(), ResultCode::kInvalidDnSyntax);
}

TEST(DnTest, ParsesMultiValuedRdnInOrder) {
  Dn dn = MustParse("cn=a+sn=b,dc=x");
  ASSERT_EQ(dn.rdn().size(), 2u);
  EXPECT_EQ(dn.rdn()[0].type, "cn");
  EXPECT_EQ(dn.rdn()[1].type, "sn");
}

TEST(DnTest, ToleratesSpacesAndSemicolon) {
  Dn dn = MustParse(" cn = Alice ; dc=example , dc=com ");
  ASSERT_EQ(dn.size(), 3u);
  EXPECT_EQ(dn.rdn()[0].value, "Alice");
  EXPECT_EQ(dn.ToString(), "cn=Alice,dc=example,dc=com");
}

TEST(DnTest, RejectsMalformedDns) {
  for (const char* bad : {"cn=a,,dc=b", "cn=a,", "cn", "=a", "cn=a\\q", "c n=a", "cn=a<b"}) {
    EXPECT_EQ(Dn::Parse(bad).status().code(), ResultCode::kInvalidDnSyntax) << bad;
  }
}

TEST(DnTest, RejectsEmbeddedNul) {
  EXPECT_FALSE(Dn::Parse(std::string_view("cn=a\0b", 6)).ok());
}

TEST(DnTest, ToStringEscapesAndRoundTrips) {
  Dn dn({{{"cn", " a,b+c\"d\\e<f>;g= "}}, {{"dc", "#x"}}});
  std::string text = dn.ToString();
  EXPECT_EQ(text, R"(cn=\ a\,b\+c\"d\\e\<f\>\;g\=\ ,dc=\#x)");
  Dn back = MustParse(text);
  EXPECT_EQ(back.rdns()[0][0].value, dn.rdns()[0][0].value);
  EXPECT_EQ(back.rdns()[1][0].value, "#x");
}

TEST(DnTest, ToStringKeepsCaseAsGiven) {
  EXPECT_EQ(MustParse("CN=Alice,DC=Example").ToString(), "CN=Alice,DC=Example");
}

TEST(DnTest, NormalizedFoldsCaseAndSpaces) {
  EXPECT_EQ(MustParse("CN=  Alice   Smith ,DC=Example , dc=COM").Normalized(), "cn=alice smith,dc=example,dc=com");
}

TEST(DnTest, NormalizedSortsMultiValuedRdn) {
  EXPECT_EQ(MustParse("sn=B+cn=A,dc=x").Normalized(), MustParse("CN=a+SN=b,DC=X").Normalized());
  EXPECT_EQ(MustParse("sn=B+cn=A,dc=x").Normalized(), "cn=a+sn=b,dc=x");
}

TEST(DnTest, EqualityUsesNormalizedForm) {
  EXPECT_EQ(MustParse("cn=Alice,dc=x"), MustParse("CN=alice, DC=X"));
  EXPECT_FALSE(MustParse("cn=Alice,dc=x") == MustParse("cn=Bob,dc=x"));
}

TEST(DnTest, EscapedAndHexFormsAreEqual) {
  EXPECT_EQ(MustParse(R"(cn=a\,b,dc=x)"), MustParse(R"(cn=a\2cb,dc=x)"));
}

TEST(DnTest, ParentDropsFirstRdn) {
  EXPECT_EQ(MustParse("cn=a,ou=b,dc=c").Parent().ToString(), "ou=b,dc=c");
  EXPECT_TRUE(MustParse("dc=c").Parent().empty());
  EXPECT_TRUE(Dn().Parent().empty());
}

TEST(DnTest, ChildPrependsRdn) {
  EXPECT_EQ(MustParse("dc=c").Child({{"cn", "x,y"}}).ToString(), R"(cn=x\,y,dc=c)");
}

TEST(DnTest, WithRdnReplacesFirstRdn) {
  EXPECT_EQ(MustParse("cn=a,dc=c").WithRdn({{"cn", "b"}}).ToString(), "cn=b,dc=c");
}

TEST(DnTest, RebaseMovesSubtree) {
  Dn dn = MustParse("cn=a,ou=old,dc=c");
  EXPECT_EQ(dn.Rebase(MustParse("ou=old,dc=c"), MustParse("ou=new,dc=d")).ToString(), "cn=a,ou=new,dc=d");
}

TEST(DnTest, IsDescendantOfIsStrict) {
  Dn base = MustParse("dc=example,dc=com");
  EXPECT_TRUE(MustParse("cn=a,DC=Example,dc=com").IsDescendantOf(base));
  EXPECT_FALSE(base.IsDescendantOf(base));
  EXPECT_TRUE(base.IsDescendantOrSelf(base));
  EXPECT_FALSE(MustParse("cn=a,dc=other,dc=com").IsDescendantOf(base));
  EXPECT_TRUE(base.IsDescendantOf(Dn()));
}

TEST(DnTest, NormalizeDnParsesAndNormalizes) {
  EXPECT_EQ(*NormalizeDn("CN=Bob , DC=X"), "cn=bob,dc=x");
  EXPECT_EQ(NormalizeDn("bogus").status().code(), ResultCode::kInvalidDnSyntax);
}

TEST(DnTest, EscapeDnValueEscapesNulAsHex) {
  EXPECT_EQ(EscapeDnValue(std::string_view("a\0b", 3)), "a\\00b");
}

TEST(DnTest, NormalizeCaseIgnoreTrimsAndFolds) {
  EXPECT_EQ(NormalizeCaseIgnore("  Foo   BAR  "), "foo bar");
  EXPECT_EQ(NormalizeCaseIgnore("   "), "");
}

TEST(DnTest, ParseAgreesWithLibldapOnTrickyDns) {
  // Plain DNs (the fast path) and near-misses that must fall back to libldap.
  const std::vector<std::string> inputs = {
      "uid=user1,ou=people,dc=example,dc=com",
      "CN=Alice Smith,OU=Sales Team,DC=Example,DC=com",
      "cn=a#b,dc=x",
      "cn=#04024869,dc=x",
      "cn=\\#hash,dc=x",
      "cn=a\\,b,dc=x",
      "cn=a\\2Cb,dc=x",
      "cn=a+sn=b,dc=x",
      "sn=b+cn=a,dc=x",
      "cn=a\\+b,dc=x",
      "cn= a,dc=x",
      "cn=a ,dc=x",
      "cn=a\\ ,dc=x",
      "cn=a , dc=x",
      "cn = a,dc=x",
      " cn=a,dc=x",
      "cn=a,dc=x ",
      "cn=a;dc=x",
      "cn=a,,dc=x",
      "cn=a,dc=x,",
      ",cn=a",
      "cn=,dc=x",
      "=a,dc=x",
      "cn,dc=x",
      "cn=a=b,dc=x",
      "cn=\"quoted\",dc=x",
      "cn=a<b>,dc=x",
      "2.5.4.3=a,dc=x",
      "OID.2.5.4.3=a,dc=x",
      "c-n=a,dc=x",
      "1cn=a,dc=x",
      "cn_x=a,dc=x",
      "cn=J\xc3\xbcrgen M\xc3\xbcller,dc=x",
      "cn=\xe6\x97\xa5\xe6\x9c\xac,dc=x",
      "cn=\xf0\x9f\x98\x80,dc=x",
      "cn=\xc3,dc=x",
      "cn=\xc0\xaf,dc=x",
      "cn=\xed\xa0\x80,dc=x",
      "cn=\xff,dc=x",
      "cn=tab\there,dc=x",
      "cn=del\x7f,dc=x",
      "cn=a  b,dc=x",
      "cn=a\\20,dc=x",
      "cn=*,dc=x",
      "cn=(x)!&|~,dc=x",
      "cn=a/b.c_d'e,dc=x",
      "x",
      "dc=com",
      "CN=Mixed  Case   Spaces,DC=X",
      "cn=J\xc3\x9cRGEN,dc=x",
      "uid=USER1,OU=People,DC=Example,DC=Com",
  };
  for (const std::string& text : inputs) {
    auto ours = Dn::Parse(text);
    auto theirs = LibldapParse(text);
    ASSERT_EQ(ours.ok(), theirs.has_value()) << text;
    // NormalizeDn's own fast path must give what the parsed DN gives.
    auto normalized = NormalizeDn(text);
    ASSERT_EQ(normalized.ok(), ours.ok()) << text;
    if (ours.ok()) {
      EXPECT_EQ(*normalized, ours->Normalized()) << text;
    }
    if (!ours.ok() || text.find('#') == 3) continue;  // hex-string values: theirs stays encoded
    EXPECT_EQ(Pairs(*ours), *theirs) << text;
  }
}

TEST(DnTest, ToStringThenParseRoundTripsTrickyValues) {
  const std::vector<std::string> values = {"plain", " lead", "trail ", "#hash", "a,b", "a+b", "a=b", "a\\b",
                                           "q\"q", "<>;", "J\xc3\xbcrgen", "mid#dle", "tab\tx", "  "};
  for (const std::string& v : values) {
    Dn dn({Rdn{Ava{"cn", v}}, Rdn{Ava{"dc", "x"}}});
    auto back = Dn::Parse(dn.ToString());
    ASSERT_TRUE(back.ok()) << dn.ToString();
    EXPECT_EQ(Pairs(*back), Pairs(dn)) << dn.ToString();
  }
}

TEST(DnTest, NormalizedOfMultiValuedRdnMatchesSingleAvaRules) {
  EXPECT_EQ(MustParse("CN=A  B,DC=X").Normalized(), "cn=a b,dc=x");
  EXPECT_EQ(MustParse("SN=b+CN=a,DC=X").Normalized(), "cn=a+sn=b,dc=x");
  EXPECT_TRUE(MustParse("cn=A,dc=X").IsDescendantOf(MustParse("DC=x")));
  EXPECT_FALSE(MustParse("cn=A,dc=Y").IsDescendantOf(MustParse("dc=x")));
}

}  // namespace
}  // namespace simplead::ldap
