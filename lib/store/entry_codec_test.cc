#include "lib/store/entry_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace simplead::store {
namespace {

ldap::Entry SampleEntry() {
  auto dn = ldap::Dn::Parse("cn=Jane Doe+uid=jdoe,ou=People,dc=example,dc=com");
  EXPECT_TRUE(dn.ok());
  return ldap::Entry(*dn, {{"objectClass", {"top", "person", "inetOrgPerson"}},
                           {"cn", {"Jane Doe"}},
                           {"jpegPhoto", {std::string("\0\x01\xFF\x80", 4)}},
                           {"description", {}}});
}

void ExpectSameEntry(const ldap::Entry& a, const ldap::Entry& b) {
  EXPECT_EQ(a.dn().ToString(), b.dn().ToString());
  ASSERT_EQ(a.attributes().size(), b.attributes().size());
  for (size_t i = 0; i < a.attributes().size(); ++i) {
    EXPECT_EQ(a.attributes()[i].type, b.attributes()[i].type);
    EXPECT_EQ(a.attributes()[i].values, b.attributes()[i].values);
  }
}

TEST(EntryCodecTest, EntryRoundTrips) {
  ldap::Entry entry = SampleEntry();
  auto decoded = DecodeEntry(EncodeEntry(entry));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ExpectSameEntry(entry, *decoded);
}

TEST(EntryCodecTest, EntryWithEscapedDnRoundTrips) {
  auto dn = ldap::Dn::Parse("cn=Smith\\, John\\+x,dc=example,dc=com");
  ASSERT_TRUE(dn.ok());
  ldap::Entry entry(*dn, {{"cn", {"Smith, John+x"}}});
  auto decoded = DecodeEntry(EncodeEntry(entry));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->dn().Normalized(), dn->Normalized());
}

TEST(EntryCodecTest, DnAvasRoundTripExactly) {
  // Plain RDNs decode on the fast path, the others through libldap: both
  // must give back the same types and raw values.
  const std::vector<std::string> values = {"plain", "Jürgen", " lead", "trail ", "#hash", "a,b+c=d", "x\\y"};
  for (const std::string& v : values) {
    ldap::Dn dn({ldap::Rdn{ldap::Ava{"cn", v}}, ldap::Rdn{ldap::Ava{"OU", "People"}, ldap::Ava{"l", "x"}},
                 ldap::Rdn{ldap::Ava{"dc", "com"}}});
    auto decoded = DecodeEntry(EncodeEntry(ldap::Entry(dn, {})));
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    const auto& rdns = decoded->dn().rdns();
    ASSERT_EQ(rdns.size(), dn.rdns().size()) << v;
    for (size_t r = 0; r < rdns.size(); ++r) {
      ASSERT_EQ(rdns[r].size(), dn.rdns()[r].size()) << v;
      for (size_t a = 0; a < rdns[r].size(); ++a) {
        EXPECT_EQ(rdns[r][a].type, dn.rdns()[r][a].type) << v;
        EXPECT_EQ(rdns[r][a].value, dn.rdns()[r][a].value) << v;
      }
    }
  }
}

TEST(EntryCodecTest, ARecordKeepsItsDnTextWhichIsTheDecodedDnSerialised) {
  // A bind's principal takes dn_text for entry.dn().ToString(): they must
  // be the same string for every DN, escapes and multi-valued RDNs included.
  const std::vector<std::string> values = {"plain", "Jürgen", " lead", "trail ", "#hash", "a,b+c=d", "x\\y", "q\"r<s>;"};
  for (const std::string& v : values) {
    ldap::Dn dn({ldap::Rdn{ldap::Ava{"cn", v}}, ldap::Rdn{ldap::Ava{"OU", "People"}, ldap::Ava{"l", "x"}},
                 ldap::Rdn{ldap::Ava{"dc", "com"}}});
    auto stored = DecodeEntryRecord(7, EncodeEntryRecord(3, ldap::Entry(dn, {{"cn", {v}}})));
    ASSERT_TRUE(stored.ok()) << stored.status().ToString();
    EXPECT_EQ(stored->dn_text, dn.ToString()) << v;
    EXPECT_EQ(stored->dn_text, stored->entry.dn().ToString()) << v;
  }
}

TEST(EntryCodecTest, EntryRecordCarriesParent) {
  auto decoded = DecodeEntryRecord(7, EncodeEntryRecord(3, SampleEntry()));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->id, 7u);
  EXPECT_EQ(decoded->parent, 3u);
  ExpectSameEntry(SampleEntry(), decoded->entry);
}

TEST(EntryCodecTest, EveryTruncationIsRejected) {
  std::string data = EncodeEntry(SampleEntry());
  for (size_t n = 0; n < data.size(); ++n) {
    auto decoded = DecodeEntry(std::string_view(data).substr(0, n));
    EXPECT_FALSE(decoded.ok()) << "accepted a prefix of length " << n;
  }
}

TEST(EntryCodecTest, UnknownFormatByteIsRejected) {
  std::string data = EncodeEntry(SampleEntry());
  data[0] = '\x7F';
  auto decoded = DecodeEntry(data);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("format"), std::string::npos);
}

TEST(EntryCodecTest, TrailingBytesAreRejected) { EXPECT_FALSE(DecodeEntry(EncodeEntry(SampleEntry()) + "x").ok()); }

TEST(EntryCodecTest, HugeCountsAreRejectedWithoutAllocating) {
  std::string data(1, '\x01');
  data += '\0';                                                    // empty DN
  data += std::string("\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x7F", 9);  // absurd attribute count
  EXPECT_FALSE(DecodeEntry(data).ok());
}

TEST(EntryCodecTest, CorruptedBytesNeverCrash) {
  std::string data = EncodeEntry(SampleEntry());
  // Flip every byte to a few values; decoding must either fail or succeed, not crash.
  for (size_t i = 0; i < data.size(); ++i) {
    for (char c : {'\0', '\x01', '\x7F', '\x80', '\xFF'}) {
      std::string copy = data;
      copy[i] = c;
      (void)DecodeEntry(copy);
    }
  }
  SUCCEED();
}

TEST(EntryCodecTest, ChangeRecordRoundTrips) {
  ChangeRecord change{"20240101120000.000000Z#000000#000#000000", "modify", "cn=x,dc=example,dc=com",
                      "0b1c5b2e-0000-4000-8000-000000000001", "dn: cn=x\nchangetype: modify\n"};
  auto decoded = DecodeChangeRecord(EncodeChangeRecord(change));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->csn, change.csn);
  EXPECT_EQ(decoded->type, change.type);
  EXPECT_EQ(decoded->dn, change.dn);
  EXPECT_EQ(decoded->entry_uuid, change.entry_uuid);
  EXPECT_EQ(decoded->ldif, change.ldif);
}

TEST(EntryCodecTest, TruncatedChangeRecordIsRejected) {
  std::string data = EncodeChangeRecord({"csn", "add", "dn", "uuid", "ldif"});
  for (size_t n = 0; n < data.size(); ++n) EXPECT_FALSE(DecodeChangeRecord(data.substr(0, n)).ok()) << n;
}

}  // namespace
}  // namespace simplead::store
