#include "server/backend/sid.h"

#include <openssl/rand.h>

#include <cstdlib>
#include <cstring>

#include "lib/kms/crypto.h"

namespace simplead::backend {

std::string Sid::ToBinary() const {
  std::string out;
  out.push_back(static_cast<char>(revision));
  out.push_back(static_cast<char>(sub_authorities.size()));
  for (int shift = 40; shift >= 0; shift -= 8) out.push_back(static_cast<char>((authority >> shift) & 0xff));
  for (uint32_t sub : sub_authorities) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((sub >> (8 * i)) & 0xff));  // little-endian
  }
  return out;
}

std::string Sid::ToString() const {
  std::string out = "S-" + std::to_string(revision) + "-" + std::to_string(authority);
  for (uint32_t sub : sub_authorities) out += "-" + std::to_string(sub);
  return out;
}

Sid Sid::WithRid(uint32_t rid) const {
  Sid sid = *this;
  sid.sub_authorities.push_back(rid);
  return sid;
}

Result<Sid> Sid::FromBinary(std::string_view bytes) {
  if (bytes.size() < 8) return Error(ResultCode::kInvalidAttributeSyntax, "SID too short");
  Sid sid;
  sid.revision = static_cast<uint8_t>(bytes[0]);
  size_t count = static_cast<uint8_t>(bytes[1]);
  if (sid.revision != 1 || count > 15 || bytes.size() != 8 + 4 * count) {
    return Error(ResultCode::kInvalidAttributeSyntax, "malformed SID");
  }
  sid.authority = 0;
  for (int i = 2; i < 8; ++i) sid.authority = (sid.authority << 8) | static_cast<uint8_t>(bytes[i]);
  for (size_t i = 0; i < count; ++i) {
    uint32_t sub = 0;
    for (int b = 3; b >= 0; --b) sub = (sub << 8) | static_cast<uint8_t>(bytes[8 + 4 * i + b]);
    sid.sub_authorities.push_back(sub);
  }
  return sid;
}

Result<Sid> Sid::Parse(std::string_view text) {
  if (text.size() < 4 || (text[0] != 'S' && text[0] != 's') || text[1] != '-') {
    return Error(ResultCode::kInvalidAttributeSyntax, "SID must start with S-");
  }
  std::vector<uint64_t> parts;
  size_t pos = 2;
  while (pos <= text.size()) {
    size_t end = text.find('-', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view part = text.substr(pos, end - pos);
    if (part.empty() || part.size() > 15) return Error(ResultCode::kInvalidAttributeSyntax, "malformed SID");
    uint64_t value = 0;
    for (char c : part) {
      if (c < '0' || c > '9') return Error(ResultCode::kInvalidAttributeSyntax, "malformed SID");
      value = value * 10 + static_cast<uint64_t>(c - '0');
    }
    parts.push_back(value);
    pos = end + 1;
  }
  if (parts.size() < 2 || parts.size() > 17 || parts[0] != 1) {
    return Error(ResultCode::kInvalidAttributeSyntax, "malformed SID");
  }
  Sid sid;
  sid.revision = 1;
  sid.authority = parts[1];
  for (size_t i = 2; i < parts.size(); ++i) {
    if (parts[i] > 0xffffffffULL) return Error(ResultCode::kInvalidAttributeSyntax, "SID sub-authority too large");
    sid.sub_authorities.push_back(static_cast<uint32_t>(parts[i]));
  }
  return sid;
}

Sid Sid::NewDomainSid() {
  uint32_t random[3];
  RAND_bytes(reinterpret_cast<unsigned char*>(random), sizeof random);
  Sid sid;
  sid.sub_authorities = {21, random[0] & 0x7fffffff, random[1] & 0x7fffffff, random[2] & 0x7fffffff};
  return sid;
}

namespace {

std::string MarkVersion4(std::string guid) {
  guid[6] = static_cast<char>((guid[6] & 0x0f) | 0x40);  // version 4
  guid[8] = static_cast<char>((guid[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return guid;
}

}  // namespace

std::string NewGuid() {
  std::string guid(16, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(guid.data()), 16) != 1) std::abort();  // no safe way on
  return MarkVersion4(std::move(guid));
}

std::string NewGuid(RandomPool& random) { return MarkVersion4(random.String(16)); }

std::string GuidToString(std::string_view guid) {
  if (guid.size() != 16) return "";
  // The KMS's UUID formatter (not snprintf, whose 16 conversions were 1 % of
  // an import: this runs once per added entry, for entryUUID).
  kms::UuidBytes bytes;
  std::memcpy(bytes.data(), guid.data(), bytes.size());
  return kms::FormatUuid(bytes);
}

}  // namespace simplead::backend
