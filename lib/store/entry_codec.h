// entry_codec: the compact binary value formats of the entries and changelog
// column families. Each value opens with a format byte so that a later
// version can read old records. Decoders validate every length against the
// input and return an error (kOther, "corrupt ...") on truncated, oversized or
// otherwise malformed input; they never crash or over-allocate.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "lib/base/status.h"
#include "lib/ldap/entry.h"
#include "lib/store/store.h"

namespace simplead::store {

inline constexpr uint8_t kEntryFormatV1 = 0x01;
inline constexpr uint8_t kChangeFormatV1 = 0x01;

// format byte, DN (length-prefixed RFC 4514 string), varint attribute count,
// then per attribute: length-prefixed type, varint value count, length-prefixed values.
std::string EncodeEntry(const ldap::Entry& entry);
Result<ldap::Entry> DecodeEntry(std::string_view data);

// entries CF value: parent id (8 bytes big-endian) followed by EncodeEntry.
std::string EncodeEntryRecord(EntryId parent, const ldap::Entry& entry);
Result<StoredEntry> DecodeEntryRecord(EntryId id, std::string_view data);

// format byte, then length-prefixed csn, type, dn, entry_uuid, ldif.
std::string EncodeChangeRecord(const ChangeRecord& change);
Result<ChangeRecord> DecodeChangeRecord(std::string_view data);

}  // namespace simplead::store
