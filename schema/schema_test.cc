#include "schema/schema.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>

namespace simplead::schema {
namespace {

using ldap::Attribute;
using ldap::Dn;
using ldap::Entry;
using ldap::Rdn;

std::shared_ptr<const Schema> Real() {
  static const std::shared_ptr<const Schema> schema = [] {
    auto s = Schema::LoadDirectory(SIMPLEAD_SCHEMA_DIR);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : nullptr;
  }();
  return schema;
}

Dn MakeDn(std::vector<std::pair<std::string, std::string>> rdns) {
  std::vector<Rdn> out;
  for (auto& [t, v] : rdns) out.push_back(Rdn{ldap::Ava{t, v}});
  return Dn(std::move(out));
}

const AttributeType& Attr(std::string_view name) {
  const AttributeType* a = Real()->FindAttribute(name);
  EXPECT_NE(a, nullptr) << name;
  return *a;
}

std::string Norm(std::string_view attr, std::string_view value) {
  auto r = Real()->NormalizeEquality(Attr(attr), value);
  EXPECT_TRUE(r.ok()) << attr << " " << value << ": " << r.status().ToString();
  return r.ok() ? *r : "<error>";
}

ResultCode NormCode(std::string_view attr, std::string_view value) {
  return Real()->NormalizeEquality(Attr(attr), value).status().code();
}

Entry Person() {
  return Entry(MakeDn({{"cn", "John Smith"}, {"dc", "example"}, {"dc", "com"}}),
               {{"objectClass", {"top", "person", "organizationalPerson", "inetOrgPerson"}},
                {"cn", {"John Smith"}},
                {"sn", {"Smith"}},
                {"mail", {"john@example.com"}}});
}

ResultCode Validate(const Entry& e) {
  Status s = Real()->ValidateEntry(e);
  return s.code();
}

// --- Loading the real files ------------------------------------------------

TEST(SchemaLoadTest, LoadsTheShippedFiles) { ASSERT_NE(Real(), nullptr); }

TEST(SchemaLoadTest, FindsAttributesByAnyNameOrOidCaseInsensitively) {
  const AttributeType* cn = Real()->FindAttribute("commonName");
  ASSERT_NE(cn, nullptr);
  EXPECT_EQ(cn->name(), "cn");
  EXPECT_EQ(Real()->FindAttribute("2.5.4.3"), cn);
  EXPECT_EQ(Real()->FindAttribute("CN"), cn);
  EXPECT_EQ(Real()->FindAttribute("samaccountname")->name(), "sAMAccountName");
  EXPECT_EQ(Real()->FindAttribute("nosuchattr"), nullptr);
  // Names longer than a word, folded a word at a time, in any spelling.
  const AttributeType* upn = Real()->FindAttribute("userPrincipalName");
  ASSERT_NE(upn, nullptr);
  EXPECT_EQ(Real()->FindAttribute("USERPRINCIPALNAME"), upn);
  EXPECT_EQ(Real()->FindAttribute("userprincipalNAME"), upn);
  EXPECT_EQ(Real()->FindAttribute("userPrincipalNam"), nullptr);
  EXPECT_EQ(Real()->FindAttribute("userPrincipalNamee"), nullptr);
  // '\r' | 0x20 is '-': the same hash as a real name, but not equal to it.
  ASSERT_NE(Real()->FindAttribute("msDS-PSOAppliesTo"), nullptr);
  EXPECT_EQ(Real()->FindAttribute("msDS\rPSOAppliesTo"), nullptr);
}

TEST(SchemaLoadTest, CanonicalNameKeepsOptions) {
  EXPECT_EQ(Real()->CanonicalAttributeName("commonName;lang-en"), "cn;lang-en");
  EXPECT_EQ(Real()->CanonicalAttributeName("2.5.4.4"), "sn");
  EXPECT_EQ(Real()->CanonicalAttributeName("unknownAttr"), "unknownAttr");
}

TEST(SchemaLoadTest, SubtypesInheritRulesAndSyntaxFromSup) {
  const AttributeType& cn = Attr("cn");
  EXPECT_EQ(cn.superior, "name");
  ASSERT_NE(cn.equality_rule, nullptr);
  EXPECT_EQ(cn.equality_rule->kind, MatchingKind::kCaseIgnore);
  ASSERT_NE(cn.substring_rule, nullptr);
  EXPECT_EQ(cn.syntax, "1.3.6.1.4.1.1466.115.121.1.15");
  EXPECT_EQ(Attr("member").equality_rule->kind, MatchingKind::kDistinguishedName);
  EXPECT_TRUE(Real()->IsSubtypeOf(cn, Attr("name")));
  EXPECT_FALSE(Real()->IsSubtypeOf(Attr("name"), cn));
}

TEST(SchemaLoadTest, AdAndRfcShareMemberAndDistinguishedName) {
  EXPECT_EQ(Attr("member").oid, "2.5.4.31");
  const ObjectClass* group = Real()->FindObjectClass("group");
  ASSERT_NE(group, nullptr);
  EXPECT_NE(std::find(group->may.begin(), group->may.end(), "member"), group->may.end());
  EXPECT_TRUE(Attr("memberOf").IsOperational());
  EXPECT_TRUE(Attr("memberOf").no_user_modification);
  EXPECT_TRUE(Attr("objectGUID").single_value);
  EXPECT_EQ(Attr("objectSid").equality_rule->kind, MatchingKind::kOctetString);
}

TEST(SchemaLoadTest, SyntaxLengthIsParsed) {
  EXPECT_EQ(Attr("uid").syntax, "1.3.6.1.4.1.1466.115.121.1.15");
  EXPECT_EQ(Attr("uid").syntax_length, 256u);
}

TEST(SchemaLoadTest, SubschemaListsAllFourKinds) {
  std::set<std::string> types;
  for (const Attribute& a : Real()->SubschemaAttributes()) {
    if (!a.values.empty()) types.insert(a.type);
  }
  for (const char* t : {"objectClass", "cn", "ldapSyntaxes", "matchingRules", "attributeTypes", "objectClasses"}) {
    EXPECT_TRUE(types.count(t)) << t;
  }
  bool found = false;
  for (const Attribute& a : Real()->SubschemaAttributes()) {
    if (a.type != "matchingRules") continue;
    for (const auto& v : a.values) found |= v.find("'caseIgnoreMatch'") != std::string::npos;
  }
  EXPECT_TRUE(found);
}

TEST(SchemaLoadTest, SubschemaEntryValidates) {
  Entry e(MakeDn({{"cn", "Subschema"}}), Real()->SubschemaAttributes());
  // subentry requires subtreeSpecification.
  e.AddValue("subtreeSpecification", "{}");
  EXPECT_EQ(Validate(e), ResultCode::kSuccess) << Real()->ValidateEntry(e).ToString();
}

// --- Parser ------------------------------------------------------------------

TEST(SchemaParseTest, ParsesMultiLineDefinitionsCommentsAndExtensions) {
  auto s = Schema::LoadText({R"(
# a comment
AttributeType ( 1.1.1 NAME ( 'fooAttr' 'fooAlias' )
    DESC 'its'
    EQUALITY caseIgnoreMatch
# comment inside
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{32} SINGLE-VALUE X-ORIGIN 'test' )
attributetype ( 1.1.2 NAME 'opAttr' EQUALITY integerMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 NO-USER-MODIFICATION USAGE dSAOperation OBSOLETE )
objectclass ( 1.1.3 NAME 'topish' ABSTRACT MUST fooAttr )
OBJECTCLASS ( 1.1.4 NAME 'thing' SUP topish AUXILIARY MAY ( opAttr $ fooAlias ) X-ORIGIN ( 'a' 'b' ) )
)"});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const AttributeType* foo = (*s)->FindAttribute("fooalias");
  ASSERT_NE(foo, nullptr);
  EXPECT_EQ(foo->name(), "fooAttr");
  EXPECT_TRUE(foo->single_value);
  EXPECT_EQ(foo->syntax_length, 32u);
  const AttributeType* op = (*s)->FindAttribute("opAttr");
  EXPECT_EQ(op->usage, AttributeUsage::kDsaOperation);
  EXPECT_TRUE(op->no_user_modification);
  EXPECT_TRUE(op->obsolete);
  const ObjectClass* thing = (*s)->FindObjectClass("THING");
  ASSERT_NE(thing, nullptr);
  EXPECT_EQ(thing->kind, ObjectClassKind::kAuxiliary);
  EXPECT_EQ(thing->superiors, std::vector<std::string>{"topish"});
  EXPECT_EQ(thing->may, (std::vector<std::string>{"opAttr", "fooAttr"}));
  EXPECT_EQ((*s)->FindObjectClass("topish")->kind, ObjectClassKind::kAbstract);
}

TEST(SchemaParseTest, ParsesQuotedEscapes) {
  auto s = Schema::LoadText({"attributetype ( 1.1.1 NAME 'a' DESC 'x\\27y\\5Cz' SYNTAX 1.2.3 )"});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->FindAttribute("a")->description, "x'y\\z");
}

TEST(SchemaParseTest, UnknownSupIsAnErrorNamingFileAndLine) {
  auto s = Schema::LoadText({"\n\nattributetype ( 1.1.1 NAME 'a' SUP nosuch )"});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("text0:3:"), std::string::npos) << s.status().message();
  EXPECT_NE(s.status().message().find("nosuch"), std::string::npos);
}

TEST(SchemaParseTest, UnknownMustAttributeIsAnError) {
  auto s = Schema::LoadText({"objectclass ( 1.1.1 NAME 'a' SUP top MUST missingAttr )",
                             "objectclass ( 2.5.6.0 NAME 'top' ABSTRACT )"});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("text0:1:"), std::string::npos) << s.status().message();
  EXPECT_NE(s.status().message().find("missingAttr"), std::string::npos);
}

TEST(SchemaParseTest, UnknownSupObjectClassIsAnError) {
  auto s = Schema::LoadText({"objectclass ( 1.1.1 NAME 'a' SUP nothing )"});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("nothing"), std::string::npos);
}

TEST(SchemaParseTest, DuplicateOidIsAnError) {
  auto s = Schema::LoadText({"attributetype ( 1.1.1 NAME 'a' SYNTAX 1.2.3 )",
                             "attributetype ( 1.1.1 NAME 'b' SYNTAX 1.2.3 )"});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("text1:1:"), std::string::npos) << s.status().message();
  EXPECT_NE(s.status().message().find("text0:1:"), std::string::npos) << s.status().message();
}

TEST(SchemaParseTest, DuplicateNameIsAnError) {
  auto s = Schema::LoadText({"attributetype ( 1.1.1 NAME 'a' SYNTAX 1.2.3 )\n"
                             "attributetype ( 1.1.2 NAME 'A' SYNTAX 1.2.3 )"});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("text0:2:"), std::string::npos) << s.status().message();
}

TEST(SchemaParseTest, UnknownMatchingRuleIsAnError) {
  auto s = Schema::LoadText({"attributetype ( 1.1.1 NAME 'a' EQUALITY fuzzyMatch SYNTAX 1.2.3 )"});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("fuzzyMatch"), std::string::npos);
}

TEST(SchemaParseTest, SyntaxErrorsNameTheLine) {
  for (const char* text : {"attributetype ( 1.1.1 NAME 'a' SYNTAX 1.2.3 BOGUS )",
                           "attributetype ( 1.1.1 NAME 'a SYNTAX 1.2.3 )",
                           "attributetype ( 1.1.1 NAME 'a' SYNTAX 1.2.3",
                           "attributetype 1.1.1",
                           "objectclassy ( 1.1.1 )",
                           "attributetype ( notanoid NAME 'a' SYNTAX 1.2.3 )"}) {
    auto s = Schema::LoadText({std::string("\n") + text});
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_EQ(s.status().code(), ResultCode::kOther);
    EXPECT_NE(s.status().message().find("text0:2:"), std::string::npos) << text << " -> " << s.status().message();
  }
}

TEST(SchemaParseTest, DirectoryErrorsNameTheFile) {
  auto s = Schema::LoadDirectory("/nonexistent/dir");
  EXPECT_FALSE(s.ok());
}

// --- Normalisation -----------------------------------------------------------

TEST(NormalizeTest, CaseIgnoreFoldsCaseTrimsAndCollapsesSpaces) {
  EXPECT_EQ(Norm("cn", "  John   SMITH "), "john smith");
}

TEST(NormalizeTest, CaseExactOnlyTrimsAndCollapses) { EXPECT_EQ(Norm("labeledURI", " http://X  Y "), "http://X Y"); }

TEST(NormalizeTest, IntegerIsCanonicalDecimal) {
  EXPECT_EQ(Norm("uidNumber", "0042"), "42");
  EXPECT_EQ(Norm("uidNumber", "-007"), "-7");
  EXPECT_EQ(Norm("uidNumber", "-0"), "0");
  EXPECT_EQ(NormCode("uidNumber", "12a"), ResultCode::kInvalidAttributeSyntax);
  EXPECT_EQ(NormCode("uidNumber", ""), ResultCode::kInvalidAttributeSyntax);
}

TEST(NormalizeTest, DnUsesDnNormalisation) {
  EXPECT_EQ(Norm("member", "CN=John Smith,DC=Example,DC=com"), Norm("member", "cn=john smith,dc=example,dc=com"));
  EXPECT_EQ(NormCode("member", "not a dn"), ResultCode::kInvalidAttributeSyntax);
}

TEST(NormalizeTest, OctetStringKeepsBytes) { EXPECT_EQ(Norm("objectGUID", std::string("A\0b ", 4)), std::string("A\0b ", 4)); }

TEST(NormalizeTest, GeneralizedTimeIsCanonicalUtc) {
  EXPECT_EQ(Norm("createTimestamp", "20240102030405Z"), "20240102030405Z");
  EXPECT_EQ(Norm("createTimestamp", "20240102030405.500Z"), "20240102030405.5Z");
  EXPECT_EQ(Norm("createTimestamp", "20240102030405,25Z"), "20240102030405.25Z");
  EXPECT_EQ(Norm("createTimestamp", "20240102053405+0230"), "20240102030405Z");
  EXPECT_EQ(Norm("createTimestamp", "20240101230000-0100"), "20240102000000Z");
  EXPECT_EQ(Norm("createTimestamp", "2024010203Z"), "20240102030000Z");
  EXPECT_EQ(Norm("createTimestamp", "2024010203.5Z"), "20240102033000Z");
  EXPECT_EQ(NormCode("createTimestamp", "20241302030405Z"), ResultCode::kInvalidAttributeSyntax);
  EXPECT_EQ(NormCode("createTimestamp", "20240230000000Z"), ResultCode::kInvalidAttributeSyntax);
  EXPECT_EQ(NormCode("createTimestamp", "yesterday"), ResultCode::kInvalidAttributeSyntax);
}

TEST(NormalizeTest, NumericStringDropsSpaces) { EXPECT_EQ(Norm("x121Address", " 12 34 5 "), "12345"); }

TEST(NormalizeTest, TelephoneNumberDropsSpacesAndHyphensAndFoldsCase) {
  EXPECT_EQ(Norm("telephoneNumber", "+1 555-123 4567 Ext"), "+15551234567ext");
}

TEST(NormalizeTest, BooleanIsUpperCase) {
  EXPECT_EQ(Norm("hasSubordinates", "true"), "TRUE");
  EXPECT_EQ(Norm("hasSubordinates", "FALSE"), "FALSE");
  EXPECT_EQ(NormCode("hasSubordinates", "yes"), ResultCode::kInvalidAttributeSyntax);
}

TEST(NormalizeTest, ObjectIdentifierResolvesNames) {
  EXPECT_EQ(Norm("objectClass", "InetOrgPerson"), "2.16.840.1.113730.3.2.2");
  EXPECT_EQ(Norm("objectClass", "2.5.6.6"), "2.5.6.6");
  EXPECT_EQ(Norm("objectClass", "unknownClass"), "unknownclass");
  EXPECT_EQ(Norm("structuralObjectClass", "person"), "2.5.6.6");
}

TEST(NormalizeTest, ObjectIdentifierFirstComponentTakesTheDescriptionOid) {
  EXPECT_EQ(Norm("attributeTypes", "( 2.5.4.3 NAME 'cn' SUP name )"), "2.5.4.3");
  EXPECT_EQ(Norm("attributeTypes", "cn"), "2.5.4.3");
}

TEST(NormalizeTest, UuidIsLowerCase) {
  EXPECT_EQ(Norm("entryUUID", "597AE2F6-16A6-1027-98F4-ABCDEF012345"), "597ae2f6-16a6-1027-98f4-abcdef012345");
  EXPECT_EQ(NormCode("entryUUID", "597ae2f6"), ResultCode::kInvalidAttributeSyntax);
}

TEST(NormalizeTest, NoEqualityRuleIsInappropriateMatching) {
  EXPECT_EQ(NormCode("jpegPhoto", "x"), ResultCode::kInappropriateMatching);
}

TEST(NormalizeTest, SubstringUsesSubstringRule) {
  auto r = Real()->NormalizeSubstring(Attr("cn"), " Foo  Bar ");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "foo bar");
  EXPECT_FALSE(Real()->NormalizeSubstring(Attr("uidNumber"), "1").ok());
}

TEST(CompareOrderingTest, IntegersCompareNumerically) {
  EXPECT_LT(*Real()->CompareOrdering(Attr("uidNumber"), "9", "10"), 0);
  EXPECT_GT(*Real()->CompareOrdering(Attr("uidNumber"), "-9", "-10"), 0);
  EXPECT_EQ(*Real()->CompareOrdering(Attr("uidNumber"), "010", "10"), 0);
  EXPECT_LT(*Real()->CompareOrdering(Attr("pwdLastSet"), "-1", "0"), 0);
}

TEST(CompareOrderingTest, TimesCompareAsInstants) {
  EXPECT_GT(*Real()->CompareOrdering(Attr("modifyTimestamp"), "20240101000000.5Z", "20240101000000Z"), 0);
  EXPECT_EQ(*Real()->CompareOrdering(Attr("modifyTimestamp"), "20240101010000+0100", "20240101000000Z"), 0);
  EXPECT_GT(*Real()->CompareOrdering(Attr("whenCreated"), "20250101000000Z", "20240101000000Z"), 0);
}

TEST(CompareOrderingTest, StringsUseTheOrderingRule) {
  EXPECT_LT(*Real()->CompareOrdering(Attr("dnQualifier"), "ABC", "abd"), 0);
  EXPECT_EQ(Real()->CompareOrdering(Attr("cn"), "a", "b").status().code(), ResultCode::kInappropriateMatching);
}

// --- Syntax checks -----------------------------------------------------------

ResultCode Syntax(std::string_view attr, std::string_view value) {
  return Real()->CheckSyntax(Attr(attr), value).code();
}

TEST(CheckSyntaxTest, DirectoryStringIsNonEmptyUtf8) {
  EXPECT_EQ(Syntax("description", "héllo"), ResultCode::kSuccess);
  EXPECT_EQ(Syntax("description", ""), ResultCode::kInvalidAttributeSyntax);
  EXPECT_EQ(Syntax("description", "\xff\xfe"), ResultCode::kInvalidAttributeSyntax);
}

TEST(CheckSyntaxTest, Ia5RejectsNonAscii) {
  EXPECT_EQ(Syntax("mail", "a@b.c"), ResultCode::kSuccess);
  EXPECT_EQ(Syntax("mail", "é@b.c"), ResultCode::kInvalidAttributeSyntax);
}

TEST(CheckSyntaxTest, Integer) {
  EXPECT_EQ(Syntax("uidNumber", "-12"), ResultCode::kSuccess);
  EXPECT_EQ(Syntax("uidNumber", "0"), ResultCode::kSuccess);
  EXPECT_EQ(Syntax("uidNumber", "012"), ResultCode::kInvalidAttributeSyntax);
  EXPECT_EQ(Syntax("uidNumber", "1.5"), ResultCode::kInvalidAttributeSyntax);
}

TEST(CheckSyntaxTest, Boolean) {
  EXPECT_EQ(Syntax("hasSubordinates", "TRUE"), ResultCode::kSuccess);
  EXPECT_EQ(Syntax("hasSubordinates", "maybe"), ResultCode::kInvalidAttributeSyntax);
}

TEST(CheckSyntaxTest, DistinguishedName) {
  EXPECT_EQ(Syntax("member", "cn=a,dc=b"), ResultCode::kSuccess);
  EXPECT_EQ(Syntax("member", "garbage"), ResultCode::kInvalidAttributeSyntax);
  EXPECT_EQ(Syntax("uniqueMember", "cn=a,dc=b#'0101'B"), ResultCode::kSuccess);
}

TEST(CheckSyntaxTest, GeneralizedTime) {
  EXPECT_EQ(Syntax("whenCreated", "20240101000000.0Z"), ResultCode::kSuccess);
  EXPECT_EQ(Syntax("whenCreated", "2024"), ResultCode::kInvalidAttributeSyntax);
}

TEST(CheckSyntaxTest, NumericTelephonePrintableCountry) {
  EXPECT_EQ(Syntax("x121Address", "12 34"), ResultCode::kSuccess);
  EXPECT_EQ(Syntax("x121Address", "12a"), ResultCode::kInvalidAttributeSyntax);
  EXPECT_EQ(Syntax("telephoneNumber", "+1 555 1234"), ResultCode::kSuccess);
  EXPECT_EQ(Syntax("telephoneNumber", "555#1234"), ResultCode::kInvalidAttributeSyntax);
  EXPECT_EQ(Syntax("serialNumber", "AB-12"), ResultCode::kSuccess);
  EXPECT_EQ(Syntax("serialNumber", "AB_12"), ResultCode::kInvalidAttributeSyntax);
  EXPECT_EQ(Syntax("c", "DE"), ResultCode::kSuccess);
  EXPECT_EQ(Syntax("c", "DEU"), ResultCode::kInvalidAttributeSyntax);
}

TEST(CheckSyntaxTest, OidUuidBitStringPostalOctet) {
  EXPECT_EQ(Syntax("supportedControl", "1.2.840.113556.1.4.319"), ResultCode::kSuccess);
  EXPECT_EQ(Syntax("supportedControl", "1..2"), ResultCode::kInvalidAttributeSyntax);
  EXPECT_EQ(Syntax("objectClass", "person"), ResultCode::kSuccess);
  EXPECT_EQ(Syntax("entryUUID", "597ae2f6-16a6-1027-98f4-abcdef012345"), ResultCode::kSuccess);
  EXPECT_EQ(Syntax("entryUUID", "597ae2f6-16a6-1027-98f4-abcdef01234"), ResultCode::kInvalidAttributeSyntax);
  EXPECT_EQ(Syntax("x500UniqueIdentifier", "'0101'B"), ResultCode::kSuccess);
  EXPECT_EQ(Syntax("x500UniqueIdentifier", "'0102'B"), ResultCode::kInvalidAttributeSyntax);
  EXPECT_EQ(Syntax("postalAddress", "1 Main St$Springfield"), ResultCode::kSuccess);
  EXPECT_EQ(Syntax("objectSid", std::string("\x01\x05\0\0", 4)), ResultCode::kSuccess);
}

TEST(CheckSyntaxTest, DiagnosticNamesAttributeAndSyntax) {
  Status s = Real()->CheckSyntax(Attr("uidNumber"), "abc");
  EXPECT_NE(s.message().find("uidNumber"), std::string::npos);
  EXPECT_NE(s.message().find("INTEGER"), std::string::npos);
}

// --- Object classes ----------------------------------------------------------

TEST(ObjectClassTest, ExpandIncludesSuperclasses) {
  auto classes = Real()->ExpandObjectClasses({"inetOrgPerson"});
  std::set<std::string> set(classes.begin(), classes.end());
  EXPECT_EQ(set, (std::set<std::string>{"inetOrgPerson", "organizationalPerson", "person", "top"}));
}

TEST(ObjectClassTest, StructuralIsTheMostSpecific) {
  EXPECT_EQ(Real()->StructuralObjectClass({"top", "person", "organizationalPerson", "user", "posixAccount"}), "user");
  EXPECT_EQ(Real()->StructuralObjectClass({"posixAccount"}), "");
}

// --- ValidateEntry -----------------------------------------------------------

TEST(ValidateEntryTest, AcceptsInetOrgPerson) {
  EXPECT_EQ(Validate(Person()), ResultCode::kSuccess) << Real()->ValidateEntry(Person()).ToString();
}

TEST(ValidateEntryTest, AcceptsAdUserWithPosixAttributes) {
  Entry e(MakeDn({{"CN", "jdoe"}, {"CN", "Users"}, {"DC", "ad"}, {"DC", "example"}}),
          {{"objectClass", {"top", "person", "organizationalPerson", "user"}},
           {"cn", {"jdoe"}},
           {"sAMAccountName", {"jdoe"}},
           {"userPrincipalName", {"jdoe@AD.EXAMPLE"}},
           {"userAccountControl", {"512"}},
           {"objectSid", {std::string("\x01\x05\0\0\0\0\0\x05", 8)}},
           {"objectGUID", {std::string(16, '\x7f')}},
           {"whenCreated", {"20240101000000.0Z"}},
           {"memberOf", {"CN=Domain Users,CN=Users,DC=ad,DC=example"}},
           {"distinguishedName", {"CN=jdoe,CN=Users,DC=ad,DC=example"}},
           {"name", {"jdoe"}},
           {"uidNumber", {"10001"}},
           {"gidNumber", {"10000"}},
           {"loginShell", {"/bin/bash"}},
           {"mail", {"jdoe@example.com"}}});
  EXPECT_EQ(Validate(e), ResultCode::kSuccess) << Real()->ValidateEntry(e).ToString();
}

TEST(ValidateEntryTest, AcceptsAdUserWithPosixAccountAuxClass) {
  Entry e(MakeDn({{"cn", "jdoe"}, {"dc", "ad"}}),
          {{"objectClass", {"top", "person", "organizationalPerson", "user", "posixAccount", "shadowAccount"}},
           {"cn", {"jdoe"}},
           {"uid", {"jdoe"}},
           {"uidNumber", {"10001"}},
           {"gidNumber", {"10000"}},
           {"homeDirectory", {"/home/jdoe"}},
           {"shadowLastChange", {"19000"}}});
  EXPECT_EQ(Validate(e), ResultCode::kSuccess) << Real()->ValidateEntry(e).ToString();
}

TEST(ValidateEntryTest, AcceptsComputerWithoutSurname) {
  Entry e(MakeDn({{"cn", "ws1"}, {"dc", "ad"}}),
          {{"objectClass", {"top", "person", "organizationalPerson", "user", "computer"}},
           {"cn", {"ws1"}},
           {"sAMAccountName", {"WS1$"}},
           {"dNSHostName", {"ws1.ad.example"}},
           {"servicePrincipalName", {"HOST/ws1", "HOST/ws1.ad.example"}}});
  EXPECT_EQ(Validate(e), ResultCode::kSuccess) << Real()->ValidateEntry(e).ToString();
}

TEST(ValidateEntryTest, AcceptsAdGroupWithPosixGroup) {
  Entry e(MakeDn({{"cn", "staff"}, {"dc", "ad"}}), {{"objectClass", {"top", "group", "posixGroup"}},
                                                    {"cn", {"staff"}},
                                                    {"groupType", {"-2147483646"}},
                                                    {"member", {"cn=jdoe,dc=ad"}},
                                                    {"gidNumber", {"10000"}},
                                                    {"memberUid", {"jdoe"}}});
  EXPECT_EQ(Validate(e), ResultCode::kSuccess) << Real()->ValidateEntry(e).ToString();
}

TEST(ValidateEntryTest, AcceptsPasswordSettingsObject) {
  Entry e(MakeDn({{"cn", "pso1"}, {"cn", "Password Settings Container"}, {"dc", "ad"}}),
          {{"objectClass", {"top", "msDS-PasswordSettings"}},
           {"cn", {"pso1"}},
           {"msDS-PasswordSettingsPrecedence", {"10"}},
           {"msDS-MinimumPasswordLength", {"12"}},
           {"msDS-PasswordHistoryLength", {"24"}},
           {"msDS-PasswordComplexityEnabled", {"TRUE"}},
           {"msDS-PasswordReversibleEncryptionEnabled", {"FALSE"}},
           {"msDS-MaximumPasswordAge", {"-36288000000000"}},
           {"msDS-MinimumPasswordAge", {"-864000000000"}},
           {"msDS-LockoutThreshold", {"5"}},
           {"msDS-LockoutDuration", {"-18000000000"}},
           {"msDS-LockoutObservationWindow", {"-18000000000"}},
           {"msDS-PSOAppliesTo", {"cn=staff,dc=ad"}}});
  EXPECT_EQ(Validate(e), ResultCode::kSuccess) << Real()->ValidateEntry(e).ToString();
}

TEST(ValidateEntryTest, MissingObjectClassIsObjectClassViolation) {
  Entry e = Person();
  e.Remove("objectClass");
  EXPECT_EQ(Validate(e), ResultCode::kObjectClassViolation);
}

TEST(ValidateEntryTest, UnknownObjectClassIsInvalidSyntax) {
  Entry e = Person();
  e.AddValue("objectClass", "noSuchClass");
  Status s = Real()->ValidateEntry(e);
  EXPECT_EQ(s.code(), ResultCode::kInvalidAttributeSyntax);
  EXPECT_NE(s.message().find("noSuchClass"), std::string::npos);
}

TEST(ValidateEntryTest, NoStructuralClassIsObjectClassViolation) {
  Entry e(MakeDn({{"uid", "x"}}), {{"objectClass", {"top", "uidObject"}}, {"uid", {"x"}}});
  EXPECT_EQ(Validate(e), ResultCode::kObjectClassViolation);
}

TEST(ValidateEntryTest, TwoStructuralChainsAreObjectClassViolation) {
  Entry e = Person();
  e.AddValue("objectClass", "organizationalUnit");
  e.AddValue("ou", "x");
  Status s = Real()->ValidateEntry(e);
  EXPECT_EQ(s.code(), ResultCode::kObjectClassViolation);
  EXPECT_NE(s.message().find("organizationalUnit"), std::string::npos) << s.message();
}

TEST(ValidateEntryTest, DisallowedAttributeIsObjectClassViolation) {
  Entry e = Person();
  e.AddValue("uidNumber", "5");
  Status s = Real()->ValidateEntry(e);
  EXPECT_EQ(s.code(), ResultCode::kObjectClassViolation);
  EXPECT_NE(s.message().find("uidNumber"), std::string::npos);
}

TEST(ValidateEntryTest, ExtensibleObjectAllowsAnyUserAttribute) {
  Entry e = Person();
  e.AddValue("objectClass", "extensibleObject");
  e.AddValue("uidNumber", "5");
  EXPECT_EQ(Validate(e), ResultCode::kSuccess);
}

TEST(ValidateEntryTest, OperationalAttributesAreNotCheckedAgainstClasses) {
  Entry e = Person();
  e.AddValue("createTimestamp", "20240101000000Z");
  e.AddValue("entryUUID", "597ae2f6-16a6-1027-98f4-abcdef012345");
  EXPECT_EQ(Validate(e), ResultCode::kSuccess);
}

TEST(ValidateEntryTest, MissingRequiredAttributeIsObjectClassViolation) {
  Entry e(MakeDn({{"ou", "x"}}), {{"objectClass", {"top", "organizationalUnit", "posixGroup"}}, {"ou", {"x"}}});
  Status s = Real()->ValidateEntry(e);
  EXPECT_EQ(s.code(), ResultCode::kObjectClassViolation);
  EXPECT_NE(s.message().find("gidNumber"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("posixGroup"), std::string::npos) << s.message();
}

TEST(ValidateEntryTest, UnknownAttributeIsUndefinedAttributeType) {
  Entry e = Person();
  e.AddValue("fooBar", "x");
  Status s = Real()->ValidateEntry(e);
  EXPECT_EQ(s.code(), ResultCode::kUndefinedAttributeType);
  EXPECT_NE(s.message().find("fooBar"), std::string::npos);
}

TEST(ValidateEntryTest, BadValueIsInvalidAttributeSyntax) {
  Entry e = Person();
  e.AddValue("manager", "not a dn");
  Status s = Real()->ValidateEntry(e);
  EXPECT_EQ(s.code(), ResultCode::kInvalidAttributeSyntax);
  EXPECT_NE(s.message().find("manager"), std::string::npos);
}

TEST(ValidateEntryTest, SecondValueOfSingleValuedIsConstraintViolation) {
  Entry e = Person();
  e.AddValue("displayName", "A");
  e.AddValue("displayName", "B");
  Status s = Real()->ValidateEntry(e);
  EXPECT_EQ(s.code(), ResultCode::kConstraintViolation);
  EXPECT_NE(s.message().find("displayName"), std::string::npos);
}

TEST(ValidateEntryTest, DuplicateValueUnderEqualityRuleIsAttributeOrValueExists) {
  Entry e = Person();
  e.AddValue("description", "Hello World");
  e.AddValue("description", "hello   world");
  Status s = Real()->ValidateEntry(e);
  EXPECT_EQ(s.code(), ResultCode::kAttributeOrValueExists);
  EXPECT_NE(s.message().find("description"), std::string::npos);
}

TEST(ValidateEntryTest, AliasSpellingsOfOneAttributeAreMergedForDuplicates) {
  Entry e = Person();
  e.AddValue("commonName", "JOHN SMITH");
  EXPECT_EQ(Validate(e), ResultCode::kAttributeOrValueExists);
}

TEST(ValidateEntryTest, RdnValueMissingIsNamingViolation) {
  Entry e = Person();
  e.set_dn(MakeDn({{"cn", "Jane Doe"}, {"dc", "example"}}));
  Status s = Real()->ValidateEntry(e);
  EXPECT_EQ(s.code(), ResultCode::kNamingViolation);
  EXPECT_NE(s.message().find("cn"), std::string::npos);
}

TEST(ValidateEntryTest, RdnMatchesUnderEqualityRule) {
  Entry e = Person();
  e.set_dn(MakeDn({{"CommonName", "  JOHN smith"}, {"dc", "example"}}));
  EXPECT_EQ(Validate(e), ResultCode::kSuccess);
}

TEST(ValidateEntryTest, MultiValuedRdnNeedsEveryAva) {
  Entry e = Person();
  e.set_dn(Dn({Rdn{{"cn", "John Smith"}, {"mail", "other@example.com"}}}));
  EXPECT_EQ(Validate(e), ResultCode::kNamingViolation);
}

TEST(ValidateEntryTest, VerdictDoesNotDependOnObjectClassSpellingOrEarlierCalls) {
  Entry ok(MakeDn({{"ou", "x"}}),
           {{"objectClass", {"top", "organizationalUnit", "posixGroup"}}, {"ou", {"x"}}, {"gidNumber", {"5"}}});
  ASSERT_EQ(Validate(ok), ResultCode::kSuccess);
  Entry missing(MakeDn({{"ou", "x"}}), {{"objectClass", {"TOP", "OrganizationalUnit", "POSIXGROUP"}}, {"ou", {"x"}}});
  Status s = Real()->ValidateEntry(missing);  // same classes, now cached: gidNumber is still required
  EXPECT_EQ(s.code(), ResultCode::kObjectClassViolation);
  EXPECT_NE(s.message().find("gidNumber"), std::string::npos) << s.message();
  Entry two_chains(MakeDn({{"ou", "x"}}), {{"objectClass", {"top", "organizationalUnit", "person"}}, {"ou", {"x"}}});
  EXPECT_EQ(Validate(two_chains), ResultCode::kObjectClassViolation);
  EXPECT_EQ(Validate(two_chains), ResultCode::kObjectClassViolation);  // cached verdict
}

TEST(ValidateEntryTest, RdnMatchesSpacingAndCaseVariants) {
  Entry e = Person();
  e.set_dn(MakeDn({{"cn", "  JOHN   smith "}, {"dc", "example"}, {"dc", "com"}}));
  EXPECT_EQ(Validate(e), ResultCode::kSuccess);
}

TEST(ValidateEntryTest, DuplicatesAmongManyValuesAreFound) {
  Entry e = Person();
  std::vector<std::string> mails;
  for (int i = 0; i < 40; ++i) mails.push_back("m" + std::to_string(i) + "@example.com");
  mails.push_back("M7@Example.COM");
  e.mutable_attributes().push_back({"mail", mails});
  e.mutable_attributes().erase(e.mutable_attributes().begin() + 3);  // the original mail
  EXPECT_EQ(Validate(e), ResultCode::kAttributeOrValueExists);
}

TEST(SchemaTest, MatchesNormalizedAgreesWithNormalize) {
  const Schema& s = *Real();
  const MatchingRule* ci = s.FindMatchingRule("caseIgnoreMatch");
  const MatchingRule* ce = s.FindMatchingRule("caseExactMatch");
  const MatchingRule* in = s.FindMatchingRule("integerMatch");
  ASSERT_TRUE(ci && ce && in);
  for (std::string_view v : {"John Smith", "  john   SMITH ", "johnsmith", "john smith ", "", "  ", "j"}) {
    for (const MatchingRule* r : {ci, ce}) {
      std::string want = *s.NormalizeWithRule(*r, "john smith");
      EXPECT_EQ(s.MatchesNormalized(*r, v, want), *s.NormalizeWithRule(*r, v) == want) << v;
    }
  }
  EXPECT_TRUE(s.MatchesNormalized(*in, " 007", "7"));
  EXPECT_FALSE(s.MatchesNormalized(*in, "x", "7"));
}

TEST(SchemaTest, IsSubclassOfFollowsSupTransitively) {
  const Schema& s = *Real();
  const ObjectClass* inet = s.FindObjectClass("inetOrgPerson");
  const ObjectClass* person = s.FindObjectClass("PERSON");
  const ObjectClass* top = s.FindObjectClass("2.5.6.0");
  ASSERT_TRUE(inet && person && top);
  EXPECT_TRUE(s.IsSubclassOf(*inet, *person));
  EXPECT_TRUE(s.IsSubclassOf(*inet, *top));
  EXPECT_TRUE(s.IsSubclassOf(*person, *person));
  EXPECT_FALSE(s.IsSubclassOf(*person, *inet));
}

// --- Timing (run by hand: --gtest_also_run_disabled_tests) -----------------

Entry BenchUser(int n) {
  std::string name = "user" + std::to_string(n);
  return Entry(MakeDn({{"uid", name}, {"ou", "people"}, {"dc", "example"}, {"dc", "com"}}),
               {{"objectClass", {"top", "person", "organizationalPerson", "inetOrgPerson", "posixAccount"}},
                {"uid", {name}},
                {"cn", {name}},
                {"sn", {"Smith"}},
                {"givenName", {"John"}},
                {"displayName", {"John Smith"}},
                {"mail", {name + "@example.com"}},
                {"uidNumber", {std::to_string(10000 + n)}},
                {"gidNumber", {"10000"}},
                {"homeDirectory", {"/home/" + name}},
                {"loginShell", {"/bin/bash"}},
                {"userPassword", {"{SSHA}c2VjcmV0c2FsdHNhbHQ="}},
                {"entryUUID", {"0f8a5c7e-1f2b-4c3d-9e8f-0123456789ab"}},
                {"createTimestamp", {"20240101120000Z"}},
                {"creatorsName", {"cn=admin,dc=example,dc=com"}}});
}

TEST(SchemaTimingTest, DISABLED_ValidateEntryNanoseconds) {
  constexpr int kEntries = 256;
  constexpr int kRounds = 200;  // bounded: 51,200 validations
  std::vector<Entry> entries;
  for (int i = 0; i < kEntries; ++i) entries.push_back(BenchUser(i));
  const Schema& s = *Real();
  auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < kRounds; ++r) {
    for (const Entry& e : entries) ASSERT_TRUE(s.ValidateEntry(e).ok());
  }
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
  std::printf("ValidateEntry: %.0f ns per entry\n", static_cast<double>(ns) / (kEntries * kRounds));
  start = std::chrono::steady_clock::now();
  size_t found = 0;
  for (int r = 0; r < kRounds * 50; ++r) {
    found += s.FindAttribute("homeDirectory") != nullptr;
    found += s.FindObjectClass("inetOrgPerson") != nullptr;
  }
  ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(found, static_cast<size_t>(kRounds * 100));
  std::printf("FindAttribute+FindObjectClass: %.1f ns per pair\n", static_cast<double>(ns) / (kRounds * 50));
}

}  // namespace
}  // namespace simplead::schema
