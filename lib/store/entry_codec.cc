#include "lib/store/entry_codec.h"

#include "lib/store/keys.h"

namespace simplead::store {
namespace {

Status Corrupt(std::string_view what, std::string_view why) {
  return InternalError("corrupt " + std::string(what) + " record: " + std::string(why));
}

}  // namespace

std::string EncodeEntry(const ldap::Entry& entry) {
  std::string out;
  out.push_back(static_cast<char>(kEntryFormatV1));
  keys::PutLengthPrefixed(&out, entry.dn().ToString());
  keys::PutVarint64(&out, entry.attributes().size());
  for (const ldap::Attribute& attr : entry.attributes()) {
    keys::PutLengthPrefixed(&out, attr.type);
    keys::PutVarint64(&out, attr.values.size());
    for (const std::string& v : attr.values) keys::PutLengthPrefixed(&out, v);
  }
  return out;
}

Result<ldap::Entry> DecodeEntry(std::string_view data) {
  if (data.empty()) return Corrupt("entry", "empty");
  if (static_cast<uint8_t>(data[0]) != kEntryFormatV1) {
    return Corrupt("entry", "unknown format byte " + std::to_string(static_cast<uint8_t>(data[0])));
  }
  data.remove_prefix(1);
  std::string_view dn_text;
  if (!keys::GetLengthPrefixed(&data, &dn_text)) return Corrupt("entry", "truncated DN");
  auto dn = ldap::Dn::Parse(dn_text);
  if (!dn.ok()) return Corrupt("entry", "bad DN: " + dn.status().message());
  uint64_t attr_count = 0;
  // Every attribute takes at least two bytes, so a count above that is corrupt
  // (and must not drive a huge reserve()).
  if (!keys::GetVarint64(&data, &attr_count) || attr_count > data.size() / 2) {
    return Corrupt("entry", "bad attribute count");
  }
  std::vector<ldap::Attribute> attrs;
  attrs.reserve(attr_count);
  for (uint64_t i = 0; i < attr_count; ++i) {
    std::string_view type;
    uint64_t value_count = 0;
    if (!keys::GetLengthPrefixed(&data, &type)) return Corrupt("entry", "truncated attribute type");
    if (!keys::GetVarint64(&data, &value_count) || value_count > data.size()) {
      return Corrupt("entry", "bad value count");
    }
    // Built in place: each type and value is allocated once, at its size.
    ldap::Attribute& attr = attrs.emplace_back();
    attr.type.assign(type);
    attr.values.reserve(value_count);
    for (uint64_t j = 0; j < value_count; ++j) {
      std::string_view value;
      if (!keys::GetLengthPrefixed(&data, &value)) return Corrupt("entry", "truncated value");
      attr.values.emplace_back(value);
    }
  }
  if (!data.empty()) return Corrupt("entry", "trailing bytes");
  return ldap::Entry(std::move(*dn), std::move(attrs));
}

std::string EncodeEntryRecord(EntryId parent, const ldap::Entry& entry) {
  std::string out;
  keys::PutFixed64BE(&out, parent);
  out += EncodeEntry(entry);
  return out;
}

Result<StoredEntry> DecodeEntryRecord(EntryId id, std::string_view data) {
  StoredEntry stored;
  stored.id = id;
  if (!keys::GetFixed64BE(&data, &stored.parent)) return Corrupt("entry", "truncated parent id");
  SIMPLEAD_ASSIGN_OR_RETURN(stored.entry, DecodeEntry(data));
  // DecodeEntry checked the format byte and the DN's length prefix.
  std::string_view dn_text;
  data.remove_prefix(1);
  if (keys::GetLengthPrefixed(&data, &dn_text)) stored.dn_text.assign(dn_text);
  return stored;
}

std::string EncodeChangeRecord(const ChangeRecord& change) {
  std::string out;
  out.push_back(static_cast<char>(kChangeFormatV1));
  keys::PutLengthPrefixed(&out, change.csn);
  keys::PutLengthPrefixed(&out, change.type);
  keys::PutLengthPrefixed(&out, change.dn);
  keys::PutLengthPrefixed(&out, change.entry_uuid);
  keys::PutLengthPrefixed(&out, change.ldif);
  return out;
}

Result<ChangeRecord> DecodeChangeRecord(std::string_view data) {
  if (data.empty()) return Corrupt("changelog", "empty");
  if (static_cast<uint8_t>(data[0]) != kChangeFormatV1) {
    return Corrupt("changelog", "unknown format byte " + std::to_string(static_cast<uint8_t>(data[0])));
  }
  data.remove_prefix(1);
  ChangeRecord change;
  for (std::string* field : {&change.csn, &change.type, &change.dn, &change.entry_uuid, &change.ldif}) {
    std::string_view v;
    if (!keys::GetLengthPrefixed(&data, &v)) return Corrupt("changelog", "truncated field");
    *field = std::string(v);
  }
  if (!data.empty()) return Corrupt("changelog", "trailing bytes");
  return change;
}

}  // namespace simplead::store
