// keys: the one place that defines how the store lays out bytes on disk —
// encoding primitives (big-endian ids, varints, length-prefixed strings,
// order-preserving escaped strings) and the key of every column family.
// docs/storage-format.md describes the same layouts in prose; keep them in step.
//
// Every function here is pure and thread-safe. Decoders take a string_view
// cursor, advance it on success and return false (leaving it unspecified) on
// truncated or malformed input; they never read out of bounds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lib/store/store.h"

namespace simplead::store::keys {

// Column family names, one per keyspace.
inline constexpr const char* kEntriesCf = "entries";      // id -> parent id + encoded entry
inline constexpr const char* kDn2IdCf = "dn2id";          // normalised DN -> id
inline constexpr const char* kChildrenCf = "children";    // parent id + child id -> ""
inline constexpr const char* kIndexCf = "postings";       // kind + attr + key + chunk -> posting list
// Format 1's index CF (kind + attr + key + id -> ""): only read, converted
// into kIndexCf and dropped when a format-1 store is opened.
inline constexpr const char* kLegacyIndexCf = "index";
inline constexpr const char* kChangelogCf = "changelog";  // csn -> encoded ChangeRecord
inline constexpr const char* kMetaCf = "meta";            // string -> string

// Meta keys the store itself owns (the backend's live in other names).
inline constexpr const char* kMetaFormatVersion = "store.format_version";
inline constexpr const char* kMetaNextId = "store.next_id";
inline constexpr std::string_view kFormatVersion = "2";
inline constexpr std::string_view kFormatVersionV1 = "1";  // converted at open

// ---- Primitives -----------------------------------------------------------

// 8-byte big-endian, so that byte order is numeric order.
void PutFixed64BE(std::string* out, uint64_t v);
bool GetFixed64BE(std::string_view* in, uint64_t* v);

// LEB128 varint (at most 10 bytes for 64 bits).
void PutVarint64(std::string* out, uint64_t v);
bool GetVarint64(std::string_view* in, uint64_t* v);

// varint length + bytes.
void PutLengthPrefixed(std::string* out, std::string_view s);
bool GetLengthPrefixed(std::string_view* in, std::string_view* s);

// Order-preserving escaped string: 0x00 becomes 0x00 0xFF and the string ends
// with 0x00 0x01. Encoded strings sort like the raw strings, no encoding is a
// prefix of another's, and EscapeOpen(p) (without the terminator) is a prefix
// of Escape(s) exactly when p is a prefix of s.
void PutEscaped(std::string* out, std::string_view s);
void PutEscapedOpen(std::string* out, std::string_view s);  // no terminator
bool GetEscaped(std::string_view* in, std::string* s);

// ---- Keys -----------------------------------------------------------------

// entries and the id parts of children keys.
std::string EntryKey(EntryId id);
std::optional<EntryId> ParseEntryKey(std::string_view key);

// children: parent (8 BE) + child (8 BE). ChildrenPrefix(p) scans p's children.
std::string ChildKey(EntryId parent, EntryId child);
std::string ChildrenPrefix(EntryId parent);
std::optional<EntryId> ParseChildKey(std::string_view key, EntryId parent);

// index: kind (1 byte) + length-prefixed attribute + escaped key + chunk
// (8 BE). A chunk holds the ids whose id >> 16 equals it (posting.h), so the
// keys of one index key sort by chunk and its ids come out ascending. Format
// 1 had the same layout with the id itself in place of the chunk.
inline uint64_t ChunkOf(EntryId id) { return id >> 16; }
inline uint16_t LowOf(EntryId id) { return static_cast<uint16_t>(id & 0xFFFF); }
inline EntryId IdOf(uint64_t chunk, uint16_t low) { return (chunk << 16) | low; }
std::string IndexKey(IndexKind kind, std::string_view attribute, std::string_view key, uint64_t chunk);
// As IndexKey, appending to *out (no allocation when *out has the capacity).
void AppendIndexKey(std::string* out, IndexKind kind, std::string_view attribute, std::string_view key,
                    uint64_t chunk);
// Prefix of every index key of exactly (kind, attribute, key).
std::string IndexExactPrefix(IndexKind kind, std::string_view attribute, std::string_view key);
// Prefix of every index key of (kind, attribute) whose key starts with key_prefix.
std::string IndexKeyPrefix(IndexKind kind, std::string_view attribute, std::string_view key_prefix);
// Prefix of every index key of (kind, attribute); the RocksDB prefix extractor.
std::string IndexAttributePrefix(IndexKind kind, std::string_view attribute);
// Length of the (kind, attribute) prefix of an index key, or nullopt if malformed.
std::optional<size_t> IndexAttributePrefixLength(std::string_view key);

struct ParsedIndexKey {
  IndexKind kind;
  std::string attribute;
  std::string key;
  uint64_t chunk;  // format 1: the entry id
};
std::optional<ParsedIndexKey> ParseIndexKey(std::string_view key);

// The smallest string greater than every string with this prefix, or empty
// when none exists (prefix of all 0xFF): the iterate_upper_bound of a scan.
std::string PrefixSuccessor(std::string_view prefix);

// meta next-id value: decimal text.
std::string EncodeCounter(uint64_t v);
std::optional<uint64_t> DecodeCounter(std::string_view s);

}  // namespace simplead::store::keys
