#include "lib/ldap/ldif.h"

#include <gtest/gtest.h>

#include <sstream>

namespace simplead::ldap {
namespace {

std::vector<LdifRecord> ReadAll(const std::string& text) {
  std::istringstream in(text);
  LdifReader reader(in);
  std::vector<LdifRecord> records;
  for (int guard = 0; guard < 1000; ++guard) {
    auto next = reader.Next();
    EXPECT_TRUE(next.ok()) << next.status().ToString();
    if (!next.ok() || !next->has_value()) break;
    records.push_back(**next);
  }
  return records;
}

Status FirstError(const std::string& text) {
  std::istringstream in(text);
  LdifReader reader(in);
  for (int guard = 0; guard < 1000; ++guard) {
    auto next = reader.Next();
    if (!next.ok()) return next.status();
    if (!next->has_value()) break;
  }
  return Status::Ok();
}

TEST(LdifTest, ReadsContentRecordsWithVersionAndComments) {
  auto records = ReadAll(
      "version: 1\n"
      "# a comment\n"
      "#  folded\n"
      "  comment\n"
      "dn: cn=Alice,dc=x\n"
      "objectClass: top\n"
      "objectClass: person\n"
      "# inside\n"
      "cn: Alice\n"
      "\n"
      "\n"
      "dn: cn=Bob,dc=x\n"
      "cn: Bob\n");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].kind, LdifRecord::Kind::kContent);
  EXPECT_EQ(records[0].dn, "cn=Alice,dc=x");
  EXPECT_EQ(records[0].line, 5u);
  ASSERT_EQ(records[0].attributes.size(), 2u);
  EXPECT_EQ(records[0].attributes[0].values, (std::vector<std::string>{"top", "person"}));
  EXPECT_EQ(records[1].dn, "cn=Bob,dc=x");
  EXPECT_EQ(records[1].line, 12u);
}

TEST(LdifTest, UnfoldsContinuationLines) {
  auto records = ReadAll("dn: cn=a,\n dc=x\ndescription: hello\n  world\n");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].dn, "cn=a,dc=x");
  EXPECT_EQ(records[0].attributes[0].values[0], "hello world");
}

TEST(LdifTest, AcceptsCrLfLineEndings) {
  auto records = ReadAll("dn: cn=a\r\ncn: a\r\n\r\n");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].attributes[0].values[0], "a");
}

TEST(LdifTest, DecodesBase64Values) {
  auto records = ReadAll("dn:: Y249w6lsw6hu\nphoto:: AAH/\n");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].dn, "cn=\xc3\xa9l\xc3\xa8n");
  EXPECT_EQ(records[0].attributes[0].values[0], std::string("\0\x01\xff", 3));
}

TEST(LdifTest, RejectsInvalidBase64) {
  EXPECT_EQ(FirstError("dn: cn=a\nphoto:: A$==\n").code(), ResultCode::kProtocolError);
}

TEST(LdifTest, RefusesUrlValues) {
  Status st = FirstError("dn: cn=a\nphoto:< file:///etc/passwd\n");
  EXPECT_EQ(st.code(), ResultCode::kUnwillingToPerform);
  EXPECT_NE(st.message().find("line 2"), std::string::npos);
}

TEST(LdifTest, KeepOnlyDropsOtherAttributesButStillChecksThem) {
  const std::string text =
      "dn: cn=g,dc=x\nobjectClass: groupOfNames\nMember: cn=a,dc=x\nmember:: Y249YixkYz14\ncn: g\n\n"
      "dn: cn=a,dc=x\nchangetype: add\ncn: a\n";
  std::istringstream in(text);
  LdifReader reader(in);
  reader.KeepOnly({"member"});
  auto group = reader.Next();
  ASSERT_TRUE(group.ok() && group->has_value()) << group.status().ToString();
  ASSERT_EQ((*group)->attributes.size(), 1u);
  EXPECT_EQ((*group)->attributes[0].type, "Member");
  EXPECT_EQ((*group)->attributes[0].values, (std::vector<std::string>{"cn=a,dc=x", "cn=b,dc=x"}));
  // An add record whose attributes were all dropped is still a valid add.
  auto user = reader.Next();
  ASSERT_TRUE(user.ok() && user->has_value()) << user.status().ToString();
  EXPECT_EQ((*user)->kind, LdifRecord::Kind::kAdd);
  EXPECT_TRUE((*user)->attributes.empty());

  // Dropped lines fail as kept ones do, on the same line.
  for (const char* bad : {"dn: cn=a\nphoto:: A$==\n", "dn: cn=a\nphoto:< file:///etc/passwd\n", "dn: cn=a\n: x\n",
                          "dn: cn=a\nchangetype: add\n"}) {
    std::istringstream full_in(bad), kept_in(bad);
    LdifReader full(full_in), kept(kept_in);
    kept.KeepOnly({"member"});
    auto a = full.Next();
    auto b = kept.Next();
    ASSERT_FALSE(a.ok()) << bad;
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_EQ(a.status().code(), b.status().code()) << bad;
    EXPECT_EQ(a.status().message(), b.status().message()) << bad;
  }
}

TEST(LdifTest, ReadsAddAndDeleteChangeRecords) {
  auto records = ReadAll("dn: cn=a\nchangetype: add\ncn: a\n\ndn: cn=b\nchangetype: delete\n");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].kind, LdifRecord::Kind::kAdd);
  EXPECT_EQ(records[0].attributes[0].type, "cn");
  EXPECT_EQ(records[1].kind, LdifRecord::Kind::kDelete);
}

TEST(LdifTest, ReadsModifyWithSeparators) {
  auto records = ReadAll(
      "dn: cn=a\nchangetype: modify\n"
      "add: mail\nmail: a@x\nmail: b@x\n-\n"
      "delete: phone\n-\n"
      "replace: sn\nsn: Z\n-\n"
      "increment: uidNumber\nuidNumber: 1\n-\n");
  ASSERT_EQ(records.size(), 1u);
  const auto& changes = records[0].changes;
  ASSERT_EQ(changes.size(), 4u);
  EXPECT_EQ(changes[0].op, Modification::Op::kAdd);
  EXPECT_EQ(changes[0].attribute.values.size(), 2u);
  EXPECT_EQ(changes[1].op, Modification::Op::kDelete);
  EXPECT_TRUE(changes[1].attribute.values.empty());
  EXPECT_EQ(changes[2].op, Modification::Op::kReplace);
  EXPECT_EQ(changes[3].op, Modification::Op::kIncrement);
}

TEST(LdifTest, RejectsModifyValueForOtherAttribute) {
  EXPECT_EQ(FirstError("dn: cn=a\nchangetype: modify\nadd: mail\ncn: x\n-\n").code(), ResultCode::kProtocolError);
}

TEST(LdifTest, ReadsModRdnAndModDn) {
  auto records = ReadAll(
      "dn: cn=a,dc=x\nchangetype: modrdn\nnewrdn: cn=b\ndeleteoldrdn: 1\n\n"
      "dn: cn=b,dc=x\nchangetype: moddn\nnewrdn: cn=c\ndeleteoldrdn: 0\nnewsuperior: ou=y,dc=x\n");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].kind, LdifRecord::Kind::kModifyDn);
  EXPECT_EQ(records[0].modify_dn.dn, "cn=a,dc=x");
  EXPECT_EQ(records[0].modify_dn.new_rdn, "cn=b");
  EXPECT_TRUE(records[0].modify_dn.delete_old_rdn);
  EXPECT_FALSE(records[1].modify_dn.delete_old_rdn);
  EXPECT_EQ(records[1].modify_dn.new_superior, "ou=y,dc=x");
}

TEST(LdifTest, RejectsModRdnWithoutDeleteOldRdn) {
  EXPECT_EQ(FirstError("dn: cn=a\nchangetype: modrdn\nnewrdn: cn=b\n").code(), ResultCode::kProtocolError);
}

TEST(LdifTest, ReadsControlLines) {
  auto records = ReadAll(
      "dn: ou=a,dc=x\ncontrol: 1.2.840.113556.1.4.805 true\ncontrol: 1.2.3 false: val\n"
      "control: 1.2.4:: AAE=\nchangetype: delete\n");
  ASSERT_EQ(records.size(), 1u);
  const auto& controls = records[0].controls;
  ASSERT_EQ(controls.size(), 3u);
  EXPECT_EQ(controls[0].oid, "1.2.840.113556.1.4.805");
  EXPECT_TRUE(controls[0].critical);
  EXPECT_FALSE(controls[0].value.has_value());
  EXPECT_FALSE(controls[1].critical);
  EXPECT_EQ(controls[1].value, "val");
  EXPECT_EQ(controls[2].value, std::string("\0\x01", 2));
}

TEST(LdifTest, ErrorsNameTheLine) {
  Status st = FirstError("dn: cn=a\ncn: a\n\ndn: cn=b\nchangetype: frobnicate\n");
  EXPECT_EQ(st.code(), ResultCode::kProtocolError);
  EXPECT_NE(st.message().find("line 5"), std::string::npos) << st.message();
}

TEST(LdifTest, RejectsRecordWithoutDn) {
  EXPECT_EQ(FirstError("cn: a\n").code(), ResultCode::kProtocolError);
  EXPECT_EQ(FirstError("dn: cn=a\nno colon here\n").code(), ResultCode::kProtocolError);
}

TEST(LdifTest, RejectsUnsupportedVersion) {
  EXPECT_EQ(FirstError("version: 2\ndn: cn=a\ncn: a\n").code(), ResultCode::kProtocolError);
}

TEST(LdifTest, ToLdifWritesSafeValuesAsText) {
  EXPECT_EQ(ToLdif("cn=a,dc=x", {{"cn", {"a"}}, {"objectClass", {"top", "person"}}}),
            "dn: cn=a,dc=x\ncn: a\nobjectClass: top\nobjectClass: person\n\n");
}

TEST(LdifTest, ToLdifBase64EncodesUnsafeValues) {
  std::string out = ToLdif("cn=a", {{"x", {" lead", ":colon", "<lt", "trail ", std::string("n\0l", 3), "cr\r",
                                           "lf\n", "caf\xc3\xa9"}}});
  EXPECT_EQ(out.find("x: "), std::string::npos) << out;
  EXPECT_NE(out.find("x:: IGxlYWQ="), std::string::npos) << out;
}

TEST(LdifTest, ToLdifFoldsAt76Columns) {
  std::string out = ToLdif("cn=a", {{"description", {std::string(200, 'x')}}});
  std::istringstream lines(out);
  std::string line;
  int count = 0;
  while (std::getline(lines, line) && count < 100) {
    EXPECT_LE(line.size(), 76u);
    ++count;
  }
  EXPECT_GT(count, 4);
}

TEST(LdifTest, RoundTripsBinaryAndLongValuesInOrder) {
  std::string binary;
  for (int i = 0; i < 256; ++i) binary += static_cast<char>(i);
  std::vector<Attribute> attributes{{"zeta", {"last-first"}},
                                    {"jpegPhoto", {binary}},
                                    {"description", {std::string(300, 'd'), " spaced ", ""}},
                                    {"cn", {"caf\xc3\xa9", ":x", "<y"}}};
  std::string dn = " cn=caf\xc3\xa9,dc=x";
  auto records = ReadAll(ToLdif(dn, attributes) + ToLdif("cn=b", {{"cn", {"b"}}}));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].dn, dn);
  ASSERT_EQ(records[0].attributes.size(), attributes.size());
  for (size_t i = 0; i < attributes.size(); ++i) {
    EXPECT_EQ(records[0].attributes[i].type, attributes[i].type);
    EXPECT_EQ(records[0].attributes[i].values, attributes[i].values);
  }
  EXPECT_EQ(records[1].dn, "cn=b");
}

TEST(LdifTest, ToLdifOfEntryUsesDnString) {
  Entry entry(*Dn::Parse("cn=a,dc=x"), {{"cn", {"a"}}});
  EXPECT_EQ(ToLdif(entry), "dn: cn=a,dc=x\ncn: a\n\n");
}

}  // namespace
}  // namespace simplead::ldap
