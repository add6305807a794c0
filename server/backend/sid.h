// Windows security identifiers: the binary form stored in objectSid and the
// "S-1-5-21-a-b-c-rid" string form. Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/random_pool.h"
#include "lib/base/status.h"

namespace simplead::backend {

struct Sid {
  uint8_t revision = 1;
  uint64_t authority = 5;  // 48-bit identifier authority
  std::vector<uint32_t> sub_authorities;

  std::string ToBinary() const;
  std::string ToString() const;
  Sid WithRid(uint32_t rid) const;
  static Result<Sid> FromBinary(std::string_view bytes);
  static Result<Sid> Parse(std::string_view text);
  // S-1-5-21-x-y-z with three random sub-authorities.
  static Sid NewDomainSid();
};

// 16 random bytes (objectGUID) and its RFC 4122 text form of entryUUID;
// from `random` when given (a writer making many).
std::string NewGuid();
std::string NewGuid(RandomPool& random);
std::string GuidToString(std::string_view guid);

}  // namespace simplead::backend
