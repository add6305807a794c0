#include "lib/kms/crypto.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "lib/kms/kms_test_util.h"

namespace simplead::kms {
namespace {

struct Vector {
  std::map<std::string, std::string> fields;
  std::string Hex(const std::string& name) const {
    auto raw = HexDecode(fields.at(name));
    return raw.ok() ? *raw : "<bad hex>";
  }
};

std::vector<Vector> LoadVectors() {
  std::ifstream in(testing::VectorsDir() + "/aes_gcm_kat.rsp");
  std::vector<Vector> out;
  Vector current;
  std::string line;
  auto flush = [&] {
    if (!current.fields.empty()) out.push_back(current);
    current = {};
  };
  while (std::getline(in, line)) {
    if (line.empty()) {
      flush();
      continue;
    }
    if (line[0] == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = line.substr(0, eq);
    while (!key.empty() && key.back() == ' ') key.pop_back();
    std::string value = line.substr(eq + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    current.fields[key] = value;
  }
  flush();
  return out;
}

TEST(AesGcmKnownAnswerTest, SealMatchesPublishedVectors) {
  auto vectors = LoadVectors();
  ASSERT_EQ(vectors.size(), 8u) << "vectors file not found or incomplete";
  for (const auto& v : vectors) {
    SCOPED_TRACE("Count = " + v.fields.at("Count"));
    SecureBytes key(v.Hex("Key"));
    auto sealed = AesGcmSeal(key, v.Hex("IV"), v.Hex("PT"), v.Hex("AAD"));
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    EXPECT_EQ(HexEncode(*sealed), v.fields.at("CT") + v.fields.at("Tag"));
  }
}

TEST(AesGcmKnownAnswerTest, OpenRecoversPublishedPlaintexts) {
  for (const auto& v : LoadVectors()) {
    SCOPED_TRACE("Count = " + v.fields.at("Count"));
    SecureBytes key(v.Hex("Key"));
    auto opened = AesGcmOpen(key, v.Hex("IV"), v.Hex("CT") + v.Hex("Tag"), v.Hex("AAD"));
    ASSERT_TRUE(opened.ok());
    EXPECT_EQ(std::string(opened->view()), v.Hex("PT"));
  }
}

TEST(AesGcmAeadTest, RoundTripsWithFreshNonces) {
  auto aead = AesGcmAead::Create(*RandomSecureBytes(32));
  ASSERT_TRUE(aead.ok());
  auto a = (*aead)->Encrypt("secret", "aad");
  auto b = (*aead)->Encrypt("secret", "aad");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(a->size(), kGcmNonceSize + 6 + kGcmTagSize);
  auto d = (*aead)->Decrypt(*a, "aad");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->view(), "secret");
}

TEST(AesGcmAeadTest, DecryptFailsWhenAadDiffers) {
  auto aead = AesGcmAead::Create(*RandomSecureBytes(32));
  auto a = (*aead)->Encrypt("secret", "aad");
  EXPECT_FALSE((*aead)->Decrypt(*a, "aae").ok());
}

TEST(AesGcmAeadTest, RejectsBadKeySizes) { EXPECT_FALSE(AesGcmAead::Create(SecureBytes(20)).ok()); }

TEST(Base64Test, RoundTripsAllLengths) {
  std::string data;
  for (int i = 0; i < 10; ++i) {
    auto decoded = Base64Decode(Base64Encode(data));
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(*decoded, data);
    data.push_back(static_cast<char>(i * 37));
  }
}

TEST(Base64Test, RejectsGarbage) {
  EXPECT_FALSE(Base64Decode("abc").ok());
  EXPECT_FALSE(Base64Decode("ab!d").ok());
}

TEST(HkdfSha256Test, MatchesRfc5869TestCase1) {
  auto ikm = HexDecode("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
  auto salt = HexDecode("000102030405060708090a0b0c");
  auto info = HexDecode("f0f1f2f3f4f5f6f7f8f9");
  ASSERT_TRUE(ikm.ok() && salt.ok() && info.ok());
  auto okm = HkdfSha256(SecureBytes(*ikm), *salt, *info, 42);
  ASSERT_TRUE(okm.ok()) << okm.status().ToString();
  EXPECT_EQ(HexEncode(okm->view()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(CryptoKitTest, HkdfMatchesRfc5869TestCase1) {
  auto kit = CryptoKit::Create();
  ASSERT_TRUE(kit.ok()) << kit.status().ToString();
  auto okm = (*kit)->HkdfSha256(SecureBytes(*HexDecode("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b")),
                                *HexDecode("000102030405060708090a0b0c"), *HexDecode("f0f1f2f3f4f5f6f7f8f9"), 42);
  ASSERT_TRUE(okm.ok()) << okm.status().ToString();
  EXPECT_EQ(HexEncode(okm->view()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(CryptoKitTest, HkdfMatchesRfc5869TestCase3WithoutSaltOrInfo) {
  auto kit = CryptoKit::Create();
  ASSERT_TRUE(kit.ok());
  auto okm = (*kit)->HkdfSha256(SecureBytes(*HexDecode("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b")), "", "", 42);
  ASSERT_TRUE(okm.ok()) << okm.status().ToString();
  EXPECT_EQ(HexEncode(okm->view()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

// A sealed-value key derivation as the EVP_PKEY_HKDF code path (HkdfSha256)
// computed it before CryptoKit existed: the same inputs must keep giving
// the same key, or format-2 values written earlier would not open.
TEST(CryptoKitTest, HkdfMatchesRecordedSealedValueDerivation) {
  std::string ikm, salt;
  for (int i = 0; i < 32; ++i) ikm.push_back(static_cast<char>(i));
  for (int i = 0xa0; i < 0xb0; ++i) salt.push_back(static_cast<char>(i));
  std::string info("simplead sealed value v2\0", 25);
  info += *HexDecode("0000000100000005656e74727900000005616c696365");
  auto kit = CryptoKit::Create();
  ASSERT_TRUE(kit.ok());
  auto fast = (*kit)->HkdfSha256(SecureBytes(ikm), salt, info, 32);
  auto reference = HkdfSha256(SecureBytes(ikm), salt, info, 32);
  ASSERT_TRUE(fast.ok() && reference.ok());
  EXPECT_EQ(HexEncode(fast->view()), "aef0964689233172cbb393fe9836967e85be3073489548513af2df819f3fb81b");
  EXPECT_EQ(HexEncode(reference->view()), "aef0964689233172cbb393fe9836967e85be3073489548513af2df819f3fb81b");
  auto longer = (*kit)->HkdfSha256(SecureBytes(ikm), salt, info, 80);  // three expand blocks
  ASSERT_TRUE(longer.ok());
  EXPECT_EQ(longer->view(), HkdfSha256(SecureBytes(ikm), salt, info, 80)->view());
}

TEST(CryptoKitTest, HkdfRejectsBadLengths) {
  auto kit = CryptoKit::Create();
  ASSERT_TRUE(kit.ok());
  EXPECT_FALSE((*kit)->HkdfSha256(SecureBytes(32), "salt", "info", 0).ok());
  EXPECT_FALSE((*kit)->HkdfSha256(SecureBytes(32), "salt", "info", 255 * 32 + 1).ok());
}

TEST(CryptoKitTest, AesGcmInteroperatesWithTheFreeFunctions) {
  auto kit = CryptoKit::Create();
  ASSERT_TRUE(kit.ok());
  for (size_t key_size : {16u, 24u, 32u}) {
    SecureBytes key = *RandomSecureBytes(key_size);
    std::string nonce = *RandomString(kGcmNonceSize);
    auto sealed = (*kit)->AesGcmSeal(key, nonce, "plaintext", "aad");
    ASSERT_TRUE(sealed.ok()) << key_size;
    EXPECT_EQ(*sealed, *AesGcmSeal(key, nonce, "plaintext", "aad"));
    EXPECT_EQ((*kit)->AesGcmOpen(key, nonce, *sealed, "aad")->view(), "plaintext");
    EXPECT_FALSE((*kit)->AesGcmOpen(key, nonce, *sealed, "other aad").ok());
  }
  EXPECT_FALSE((*kit)->AesGcmSeal(SecureBytes(20), std::string(kGcmNonceSize, 'n'), "p", "").ok());
}

TEST(UuidTest, FormatsAndParsesVersion4) {
  std::string id = NewUuid();
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '4');
  auto bytes = ParseUuid(id);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(FormatUuid(*bytes), id);
  EXPECT_FALSE(ParseUuid("not-a-uuid").ok());
}

TEST(CryptoKitTest, Sha256MatchesFips180TestVectorsAcrossPieces) {
  auto kit = CryptoKit::Create();
  ASSERT_TRUE(kit.ok()) << kit.status().ToString();
  // FIPS 180-2, appendix B.1 and B.2; the pieces are hashed as one message.
  auto abc = (*kit)->Sha256({"a", "", "bc"});
  ASSERT_TRUE(abc.ok());
  EXPECT_EQ(HexEncode(*abc), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto two_blocks = (*kit)->Sha256({"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnop", "nopq"});
  ASSERT_TRUE(two_blocks.ok());
  EXPECT_EQ(HexEncode(*two_blocks), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(*(*kit)->Sha256({}), *(*kit)->Sha256({""}));
}

}  // namespace
}  // namespace simplead::kms
