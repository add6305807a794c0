#include "lib/store/keys.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace simplead::store::keys {
namespace {

std::string Escaped(std::string_view s) {
  std::string out;
  PutEscaped(&out, s);
  return out;
}

TEST(KeysTest, Fixed64RoundTrips) {
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{255}, uint64_t{256}, ~uint64_t{0}}) {
    std::string s;
    PutFixed64BE(&s, v);
    std::string_view in = s;
    uint64_t out = 0;
    ASSERT_TRUE(GetFixed64BE(&in, &out));
    EXPECT_EQ(out, v);
    EXPECT_TRUE(in.empty());
  }
}

TEST(KeysTest, BigEndianIdsSortNumerically) {
  std::vector<uint64_t> ids = {1, 2, 255, 256, 65535, 65536, uint64_t{1} << 40, ~uint64_t{0}};
  for (size_t i = 0; i + 1 < ids.size(); ++i) EXPECT_LT(EntryKey(ids[i]), EntryKey(ids[i + 1])) << ids[i];
}

TEST(KeysTest, VarintRoundTripsAndRejectsTruncation) {
  for (uint64_t v : {uint64_t{0}, uint64_t{127}, uint64_t{128}, uint64_t{300}, ~uint64_t{0}}) {
    std::string s;
    PutVarint64(&s, v);
    std::string_view in = s;
    uint64_t out = 0;
    ASSERT_TRUE(GetVarint64(&in, &out));
    EXPECT_EQ(out, v);
    std::string_view cut = std::string_view(s).substr(0, s.size() - 1);
    EXPECT_FALSE(GetVarint64(&cut, &out));
  }
}

TEST(KeysTest, VarintRejectsOverlongEncoding) {
  std::string s(11, '\x80');
  std::string_view in = s;
  uint64_t out = 0;
  EXPECT_FALSE(GetVarint64(&in, &out));
}

TEST(KeysTest, LengthPrefixedRejectsLengthBeyondInput) {
  std::string s;
  PutVarint64(&s, 10);
  s += "abc";
  std::string_view in = s, out;
  EXPECT_FALSE(GetLengthPrefixed(&in, &out));
}

TEST(KeysTest, EscapedStringRoundTrips) {
  for (std::string_view v : {std::string_view(""), std::string_view("abc"), std::string_view("a\0b", 3),
                             std::string_view("\0\0", 2), std::string_view("\xFF\x01", 2)}) {
    std::string enc = Escaped(v);
    std::string_view in = enc;
    std::string out;
    ASSERT_TRUE(GetEscaped(&in, &out));
    EXPECT_EQ(out, v);
    EXPECT_TRUE(in.empty());
  }
}

TEST(KeysTest, EscapedStringsSortLikeRawBytes) {
  std::vector<std::string> raw = {"",
                                  std::string("\0", 1),
                                  std::string("\0\x01", 2),
                                  std::string("\x01", 1),
                                  "a",
                                  std::string("a\0", 2),
                                  "ab",
                                  "abc",
                                  "abd",
                                  "b",
                                  "\xFF",
                                  "\xFF\xFF"};
  std::sort(raw.begin(), raw.end());
  for (size_t i = 0; i + 1 < raw.size(); ++i) {
    EXPECT_LT(Escaped(raw[i]), Escaped(raw[i + 1])) << i;
  }
}

TEST(KeysTest, OpenEscapedPrefixMatchesExactlyTheRawPrefixes) {
  std::string open;
  PutEscapedOpen(&open, "ab");
  EXPECT_EQ(Escaped("abc").rfind(open, 0), 0u);
  EXPECT_EQ(Escaped("ab").rfind(open, 0), 0u);
  EXPECT_NE(Escaped("a").rfind(open, 0), 0u);
  EXPECT_NE(Escaped("b").rfind(open, 0), 0u);
  // The exact key of "ab" is not a prefix of the key of "abc".
  EXPECT_NE(Escaped("abc").rfind(Escaped("ab"), 0), 0u);
}

TEST(KeysTest, GetEscapedRejectsMissingTerminatorAndBadEscape) {
  std::string out;
  std::string_view no_term = "abc";
  EXPECT_FALSE(GetEscaped(&no_term, &out));
  std::string bad("a\0\x05", 3);
  std::string_view in = bad;
  EXPECT_FALSE(GetEscaped(&in, &out));
  std::string dangling("a\0", 2);
  in = dangling;
  EXPECT_FALSE(GetEscaped(&in, &out));
}

TEST(KeysTest, IndexKeyRoundTrips) {
  std::string key = IndexKey(IndexKind::kEquality, "cn", std::string("x\0y", 3), 42);
  auto parsed = ParseIndexKey(key);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->kind, IndexKind::kEquality);
  EXPECT_EQ(parsed->attribute, "cn");
  EXPECT_EQ(parsed->key, std::string("x\0y", 3));
  EXPECT_EQ(parsed->chunk, 42u);
  EXPECT_EQ(IndexAttributePrefixLength(key), IndexAttributePrefix(IndexKind::kEquality, "cn").size());
}

TEST(KeysTest, IndexKeysOfOneValueSortByChunkAndBeforeLongerValues) {
  EXPECT_LT(IndexKey(IndexKind::kEquality, "cn", "ab", 2), IndexKey(IndexKind::kEquality, "cn", "ab", 10));
  EXPECT_LT(IndexKey(IndexKind::kEquality, "cn", "ab", ~uint64_t{0}), IndexKey(IndexKind::kEquality, "cn", "abc", 1));
  EXPECT_EQ(IndexKey(IndexKind::kEquality, "cn", "ab", 7).rfind(IndexExactPrefix(IndexKind::kEquality, "cn", "ab"), 0),
            0u);
  EXPECT_NE(IndexKey(IndexKind::kEquality, "cn", "abc", 7).rfind(IndexExactPrefix(IndexKind::kEquality, "cn", "ab"), 0),
            0u);
}

TEST(KeysTest, ChunkAndLowSplitAndRejoinAnId) {
  const EntryId id = (EntryId{5} << 16) | 0xBEEF;
  EXPECT_EQ(ChunkOf(id), 5u);
  EXPECT_EQ(LowOf(id), 0xBEEF);
  EXPECT_EQ(IdOf(ChunkOf(id), LowOf(id)), id);
  EXPECT_EQ(ChunkOf(65535), 0u);
  EXPECT_EQ(ChunkOf(65536), 1u);
}

TEST(KeysTest, IndexAttributesDoNotShareKeys) {
  // "c" + "nx" must not collide with "cn" + "x": the attribute is length-prefixed.
  EXPECT_NE(IndexKey(IndexKind::kEquality, "c", "nx", 1), IndexKey(IndexKind::kEquality, "cn", "x", 1));
  EXPECT_NE(IndexKey(IndexKind::kEquality, "cn", "x", 1).rfind(IndexAttributePrefix(IndexKind::kEquality, "c"), 0), 0u);
}

TEST(KeysTest, ChildKeyRoundTrips) {
  std::string key = ChildKey(5, 9);
  EXPECT_EQ(key.rfind(ChildrenPrefix(5), 0), 0u);
  EXPECT_EQ(ParseChildKey(key, 5), 9u);
  EXPECT_FALSE(ParseChildKey(key, 6));
}

TEST(KeysTest, PrefixSuccessorIsTheExclusiveUpperBound) {
  EXPECT_EQ(PrefixSuccessor("ab"), "ac");
  EXPECT_EQ(PrefixSuccessor("a\xFF"), "b");
  EXPECT_EQ(PrefixSuccessor("\xFF\xFF"), "");
  EXPECT_LT(std::string("ab\xFF\xFF\xFF"), PrefixSuccessor("ab"));
}

TEST(KeysTest, CounterRoundTripsAndRejectsGarbage) {
  EXPECT_EQ(DecodeCounter(EncodeCounter(12345)), 12345u);
  EXPECT_FALSE(DecodeCounter(""));
  EXPECT_FALSE(DecodeCounter("12x"));
  EXPECT_FALSE(DecodeCounter("-1"));
}

}  // namespace
}  // namespace simplead::store::keys
