#include "lib/store/keys.h"

#include <charconv>

namespace simplead::store::keys {

void PutFixed64BE(std::string* out, uint64_t v) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xFF);
    v >>= 8;
  }
  out->append(buf, sizeof buf);
}

bool GetFixed64BE(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  uint64_t r = 0;
  for (int i = 0; i < 8; ++i) r = (r << 8) | static_cast<uint8_t>((*in)[i]);
  in->remove_prefix(8);
  *v = r;
  return true;
}

void PutVarint64(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint64(std::string_view* in, uint64_t* v) {
  uint64_t r = 0;
  for (size_t i = 0; i < 10 && i < in->size(); ++i) {
    uint8_t b = static_cast<uint8_t>((*in)[i]);
    if (i == 9 && b > 1) return false;  // would overflow 64 bits
    r |= static_cast<uint64_t>(b & 0x7F) << (7 * i);
    if ((b & 0x80) == 0) {
      in->remove_prefix(i + 1);
      *v = r;
      return true;
    }
  }
  return false;
}

void PutLengthPrefixed(std::string* out, std::string_view s) {
  PutVarint64(out, s.size());
  out->append(s);
}

bool GetLengthPrefixed(std::string_view* in, std::string_view* s) {
  uint64_t len = 0;
  if (!GetVarint64(in, &len) || len > in->size()) return false;
  *s = in->substr(0, len);
  in->remove_prefix(len);
  return true;
}

void PutEscapedOpen(std::string* out, std::string_view s) {
  for (char c : s) {
    out->push_back(c);
    if (c == '\0') out->push_back('\xFF');
  }
}

void PutEscaped(std::string* out, std::string_view s) {
  PutEscapedOpen(out, s);
  out->push_back('\0');
  out->push_back('\x01');
}

bool GetEscaped(std::string_view* in, std::string* s) {
  s->clear();
  for (size_t i = 0; i < in->size(); ++i) {
    char c = (*in)[i];
    if (c != '\0') {
      s->push_back(c);
      continue;
    }
    if (i + 1 >= in->size()) return false;
    char next = (*in)[i + 1];
    if (next == '\xFF') {
      s->push_back('\0');
      ++i;
    } else if (next == '\x01') {
      in->remove_prefix(i + 2);
      return true;
    } else {
      return false;
    }
  }
  return false;  // no terminator
}

std::string EntryKey(EntryId id) {
  std::string k;
  PutFixed64BE(&k, id);
  return k;
}

std::optional<EntryId> ParseEntryKey(std::string_view key) {
  uint64_t id = 0;
  if (key.size() != 8 || !GetFixed64BE(&key, &id)) return std::nullopt;
  return id;
}

std::string ChildKey(EntryId parent, EntryId child) {
  std::string k;
  PutFixed64BE(&k, parent);
  PutFixed64BE(&k, child);
  return k;
}

std::string ChildrenPrefix(EntryId parent) { return EntryKey(parent); }

std::optional<EntryId> ParseChildKey(std::string_view key, EntryId parent) {
  uint64_t p = 0, c = 0;
  if (key.size() != 16 || !GetFixed64BE(&key, &p) || p != parent || !GetFixed64BE(&key, &c)) return std::nullopt;
  return c;
}

std::string IndexAttributePrefix(IndexKind kind, std::string_view attribute) {
  std::string k;
  k.push_back(static_cast<char>(kind));
  PutLengthPrefixed(&k, attribute);
  return k;
}

std::string IndexKey(IndexKind kind, std::string_view attribute, std::string_view key, uint64_t chunk) {
  std::string k;
  AppendIndexKey(&k, kind, attribute, key, chunk);
  return k;
}

void AppendIndexKey(std::string* out, IndexKind kind, std::string_view attribute, std::string_view key,
                    uint64_t chunk) {
  out->push_back(static_cast<char>(kind));
  PutLengthPrefixed(out, attribute);
  PutEscaped(out, key);
  PutFixed64BE(out, chunk);
}

std::string IndexExactPrefix(IndexKind kind, std::string_view attribute, std::string_view key) {
  std::string k = IndexAttributePrefix(kind, attribute);
  PutEscaped(&k, key);
  return k;
}

std::string IndexKeyPrefix(IndexKind kind, std::string_view attribute, std::string_view key_prefix) {
  std::string k = IndexAttributePrefix(kind, attribute);
  PutEscapedOpen(&k, key_prefix);
  return k;
}

std::optional<size_t> IndexAttributePrefixLength(std::string_view key) {
  if (key.empty()) return std::nullopt;
  std::string_view rest = key.substr(1);
  std::string_view attr;
  if (!GetLengthPrefixed(&rest, &attr)) return std::nullopt;
  return key.size() - rest.size();
}

std::optional<ParsedIndexKey> ParseIndexKey(std::string_view key) {
  if (key.empty()) return std::nullopt;
  ParsedIndexKey parsed;
  parsed.kind = static_cast<IndexKind>(static_cast<uint8_t>(key[0]));
  key.remove_prefix(1);
  std::string_view attr;
  if (!GetLengthPrefixed(&key, &attr)) return std::nullopt;
  parsed.attribute = std::string(attr);
  if (!GetEscaped(&key, &parsed.key)) return std::nullopt;
  if (key.size() != 8 || !GetFixed64BE(&key, &parsed.chunk)) return std::nullopt;
  return parsed;
}

std::string PrefixSuccessor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty()) {
    auto last = static_cast<uint8_t>(s.back());
    if (last != 0xFF) {
      s.back() = static_cast<char>(last + 1);
      return s;
    }
    s.pop_back();
  }
  return s;
}

std::string EncodeCounter(uint64_t v) { return std::to_string(v); }

std::optional<uint64_t> DecodeCounter(std::string_view s) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace simplead::store::keys
