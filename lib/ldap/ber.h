// Internal to lib/ldap: thin RAII wrappers over liblber for reading and
// writing BER, and the Filter <-> BER mapping shared by the codec and the
// assertion control. Not part of the public interface.
//
// A Reader is bounded to exactly one element's content: every constructed
// element is read through a child Reader over its own content bytes, so an
// inner length can never reach past its parent. liblber looks one byte past
// what it reads, so the bytes given to a Reader must be followed by one
// readable byte (a std::string's terminator or the rest of a parent buffer).
// Thread-compatible.
#pragma once

#include <lber.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "lib/base/status.h"
#include "lib/ldap/filter.h"

namespace simplead::ldap::ber {

inline constexpr ber_tag_t kBoolean = 0x01;
inline constexpr ber_tag_t kInteger = 0x02;
inline constexpr ber_tag_t kOctetString = 0x04;
inline constexpr ber_tag_t kNull = 0x05;
inline constexpr ber_tag_t kEnumerated = 0x0a;
inline constexpr ber_tag_t kSequence = 0x30;
inline constexpr ber_tag_t kSet = 0x31;

// Context-specific tags: primitive [n] and constructed [n].
constexpr ber_tag_t Ctx(unsigned n) { return 0x80 | n; }
constexpr ber_tag_t CtxCons(unsigned n) { return 0xa0 | n; }
// Application tags: primitive and constructed.
constexpr ber_tag_t App(unsigned n) { return 0x40 | n; }
constexpr ber_tag_t AppCons(unsigned n) { return 0x60 | n; }

struct BerFreeNoBuf {
  void operator()(BerElement* ber) const { ber_free(ber, 0); }
};
struct BerFreeWithBuf {
  void operator()(BerElement* ber) const { ber_free(ber, 1); }
};

class Reader {
 public:
  static Result<Reader> Open(std::string_view data);

  bool AtEnd() const;
  // Tag of the next element, nullopt at the end or if its header is malformed.
  std::optional<ber_tag_t> PeekTag() const;

  // Each reads the next element, which must carry `tag`; `what` names it in
  // the kProtocolError diagnostic.
  Result<std::string_view> Take(ber_tag_t tag, std::string_view what);
  Result<std::string> String(ber_tag_t tag, std::string_view what);
  Result<int32_t> Int(ber_tag_t tag, std::string_view what);
  Result<bool> Bool(ber_tag_t tag, std::string_view what);
  Result<Reader> Enter(ber_tag_t tag, std::string_view what);
  // Fails unless every byte was consumed.
  Status ExpectEnd(std::string_view what) const;

 private:
  Reader(std::string_view data, std::unique_ptr<BerElement, BerFreeNoBuf> ber)
      : data_(data), ber_(std::move(ber)) {}
  std::string_view data_;
  std::unique_ptr<BerElement, BerFreeNoBuf> ber_;
};

class Writer {
 public:
  Writer();
  void BeginSequence(ber_tag_t tag = kSequence);
  void EndSequence();
  void BeginSet(ber_tag_t tag = kSet);
  void EndSet();
  void String(std::string_view value, ber_tag_t tag = kOctetString);
  void Int(int32_t value, ber_tag_t tag = kInteger);
  void Enum(int32_t value, ber_tag_t tag = kEnumerated);
  void Bool(bool value, ber_tag_t tag = kBoolean);
  void Null(ber_tag_t tag = kNull);
  // The encoded bytes; the writer is spent afterwards.
  std::string Finish();

 private:
  std::unique_ptr<BerElement, BerFreeWithBuf> ber_;
};

Status Malformed(std::string_view what);

// Filter (RFC 4511 §4.5.1). ReadFilter reads one Filter element; nesting past
// max_depth is kAdminLimitExceeded, checked before descending.
void WriteFilter(Writer& writer, const Filter& filter);
Result<Filter> ReadFilter(Reader& reader, int max_depth);

}  // namespace simplead::ldap::ber
