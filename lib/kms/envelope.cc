#include "lib/kms/envelope.h"

#include <cstring>

namespace simplead::kms {

void AppendU32(std::string& out, uint32_t v) {
  const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                         static_cast<char>(v)};
  out.append(bytes, sizeof bytes);
}

uint32_t ReadU32(std::string_view in) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(in[i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

std::string CanonicalContext(const EncryptionContext& context) {
  size_t size = 4;
  for (const auto& [k, v] : context) size += 8 + k.size() + v.size();
  std::string out;
  out.reserve(size);  // built on every bind (the verifier's context)
  AppendU32(out, static_cast<uint32_t>(context.size()));
  for (const auto& [k, v] : context) {
    AppendU32(out, static_cast<uint32_t>(k.size()));
    out += k;
    AppendU32(out, static_cast<uint32_t>(v.size()));
    out += v;
  }
  return out;
}

Result<BlobHeader> ParseBlobHeader(std::string_view blob) {
  if (blob.size() < kBlobHeaderSize + kGcmTagSize) {
    return Error(ResultCode::kInvalidAttributeSyntax, "ciphertext blob is truncated");
  }
  BlobHeader h;
  h.format_version = static_cast<uint8_t>(blob[0]);
  if (h.format_version != kBlobFormatVersion) {
    return Error(ResultCode::kInvalidAttributeSyntax, "unknown ciphertext blob format version");
  }
  std::memcpy(h.key_id.data(), blob.data() + 1, 16);
  h.key_version = ReadU32(blob.substr(17, 4));
  h.nonce = std::string(blob.substr(21, kGcmNonceSize));
  return h;
}

Result<std::string> SealBlob(const SecureBytes& key, const UuidBytes& key_id, uint32_t key_version,
                             std::string_view plaintext, const EncryptionContext& context) {
  SIMPLEAD_ASSIGN_OR_RETURN(std::string nonce, RandomString(kGcmNonceSize));
  std::string blob;
  blob.push_back(static_cast<char>(kBlobFormatVersion));
  blob.append(reinterpret_cast<const char*>(key_id.data()), key_id.size());
  AppendU32(blob, key_version);
  blob += nonce;
  std::string aad = blob + CanonicalContext(context);
  SIMPLEAD_ASSIGN_OR_RETURN(std::string sealed, AesGcmSeal(key, nonce, plaintext, aad));
  return blob + sealed;
}

Result<SecureBytes> OpenBlob(const SecureBytes& key, std::string_view blob, const EncryptionContext& context) {
  SIMPLEAD_ASSIGN_OR_RETURN(BlobHeader h, ParseBlobHeader(blob));
  std::string aad = std::string(blob.substr(0, kBlobHeaderSize)) + CanonicalContext(context);
  return AesGcmOpen(key, h.nonce, blob.substr(kBlobHeaderSize), aad);
}

}  // namespace simplead::kms
