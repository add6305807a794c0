#include "lib/kms/envelope.h"

#include <gtest/gtest.h>

namespace simplead::kms {
namespace {

class EnvelopeTest : public ::testing::Test {
 protected:
  SecureBytes key_ = *RandomSecureBytes(32);
  UuidBytes id_ = *ParseUuid("0f8fad5b-d9cb-469f-a165-70867728950e");
  EncryptionContext ctx_{{"dept", "eng"}, {"entry", "42"}};
};

TEST(CanonicalContextTest, LengthPrefixingSeparatesKeyAndValue) {
  EXPECT_NE(CanonicalContext({{"ab", "c"}}), CanonicalContext({{"a", "bc"}}));
}

TEST(CanonicalContextTest, InsertionOrderDoesNotMatter) {
  EncryptionContext a;
  a["z"] = "1";
  a["a"] = "2";
  EncryptionContext b;
  b["a"] = "2";
  b["z"] = "1";
  EXPECT_EQ(CanonicalContext(a), CanonicalContext(b));
}

TEST(CanonicalContextTest, ValuesAreCaseSensitive) {
  EXPECT_NE(CanonicalContext({{"dept", "Eng"}}), CanonicalContext({{"dept", "eng"}}));
}

TEST(CanonicalContextTest, LayoutIsCountThenSortedLengthPrefixedPairs) {
  std::string want("\x00\x00\x00\x02"
                   "\x00\x00\x00\x01" "a" "\x00\x00\x00\x01" "1"
                   "\x00\x00\x00\x01" "b" "\x00\x00\x00\x00",
                   4 + 10 + 9);
  EXPECT_EQ(CanonicalContext({{"b", ""}, {"a", "1"}}), want);
  EXPECT_EQ(CanonicalContext({}), std::string("\x00\x00\x00\x00", 4));
}

TEST_F(EnvelopeTest, HeaderNamesKeyAndVersion) {
  auto blob = SealBlob(key_, id_, 7, "hello", ctx_);
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(blob->size(), kBlobHeaderSize + 5 + kGcmTagSize);
  auto h = ParseBlobHeader(*blob);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->format_version, 1);
  EXPECT_EQ(h->key_id, id_);
  EXPECT_EQ(h->key_version, 7u);
  EXPECT_EQ((*blob)[20], '\x07');  // big-endian version at bytes 17..20
}

TEST_F(EnvelopeTest, RoundTrips) {
  auto blob = SealBlob(key_, id_, 1, "hello", ctx_);
  auto pt = OpenBlob(key_, *blob, ctx_);
  ASSERT_TRUE(pt.ok());
  EXPECT_EQ(pt->view(), "hello");
}

TEST_F(EnvelopeTest, DecryptFailsWhenContextDiffers) {
  auto blob = SealBlob(key_, id_, 1, "hello", {{"ab", "c"}});
  EXPECT_FALSE(OpenBlob(key_, *blob, {{"a", "bc"}}).ok());
  auto blob2 = SealBlob(key_, id_, 1, "hello", {{"dept", "eng"}});
  EXPECT_FALSE(OpenBlob(key_, *blob2, {{"dept", "Eng"}}).ok());
  EXPECT_FALSE(OpenBlob(key_, *blob2, {}).ok());
}

TEST_F(EnvelopeTest, EveryTruncationFails) {
  auto blob = SealBlob(key_, id_, 1, "hello", ctx_);
  for (size_t n = 0; n < blob->size(); ++n) {
    EXPECT_FALSE(OpenBlob(key_, blob->substr(0, n), ctx_).ok()) << "length " << n;
  }
}

TEST_F(EnvelopeTest, EveryBitFlipFails) {
  auto blob = SealBlob(key_, id_, 1, "hello", ctx_);
  for (size_t i = 0; i < blob->size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = *blob;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      ASSERT_FALSE(OpenBlob(key_, bad, ctx_).ok()) << "byte " << i << " bit " << bit;
    }
  }
}

TEST_F(EnvelopeTest, UnknownFormatVersionIsRejected) {
  auto blob = SealBlob(key_, id_, 1, "hello", ctx_);
  std::string bad = *blob;
  bad[0] = 2;
  EXPECT_FALSE(ParseBlobHeader(bad).ok());
}

}  // namespace
}  // namespace simplead::kms
