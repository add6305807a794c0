// LDIF (RFC 2849): a streaming reader of content and change records, and a
// writer whose output reads back to the same records. Values that are not
// SAFE-STRINGs are base64-encoded; lines are folded at 76 columns.
// A reader belongs to one thread.
#pragma once

#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "lib/base/status.h"
#include "lib/ldap/message.h"

namespace simplead::ldap {

struct LdifRecord {
  enum class Kind { kContent, kAdd, kDelete, kModify, kModifyDn };
  Kind kind = Kind::kContent;
  std::string dn;
  std::vector<Attribute> attributes;     // kContent, kAdd
  std::vector<Modification> changes;     // kModify
  ModifyDnRequest modify_dn;             // kModifyDn (dn field repeated there)
  std::vector<Control> controls;
  size_t line = 0;                       // first line of the record, for errors
};

class LdifReader {
 public:
  explicit LdifReader(std::istream& in) : in_(in) {}
  // The next record, nullopt at end of input, or an error naming the line
  // (kProtocolError). "file:" URLs are not followed (kUnwillingToPerform).
  Result<std::optional<LdifRecord>> Next();
  // Content and add records then carry only attributes of these types (as
  // written, case-ignored), for a pass that needs a few: the others are
  // checked, so that errors are the same, but not copied or decoded.
  void KeepOnly(std::vector<std::string> types) { keep_only_ = std::move(types); }

 private:
  std::istream& in_;
  std::vector<std::string> keep_only_;  // empty: every attribute
  size_t line_ = 0;
  bool version_seen_ = false;
  std::optional<std::string> pending_line_;
};

// One content record ("dn: ...\nattr: value\n...\n"), blank line included.
std::string ToLdif(std::string_view dn, const std::vector<Attribute>& attributes);
std::string ToLdif(const Entry& entry);

}  // namespace simplead::ldap
