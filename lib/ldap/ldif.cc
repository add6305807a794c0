#include "lib/ldap/ldif.h"

#include <openssl/evp.h>

#include <algorithm>
#include <limits>
#include <utility>

namespace simplead::ldap {
namespace {

constexpr size_t kFoldColumn = 76;

std::string Base64Encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.size() % 4 != 0 || text.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return std::nullopt;
  }
  if (text.empty()) return std::string();
  size_t padding = 0;
  if (text.back() == '=') ++padding;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++padding;
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0 || static_cast<size_t>(n) < padding) return std::nullopt;
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

// RFC 2849 SAFE-STRING, and no trailing space (it would not survive readers
// that trim).
bool IsSafeString(std::string_view value) {
  if (value.empty()) return true;
  unsigned char first = static_cast<unsigned char>(value.front());
  if (first == ' ' || first == ':' || first == '<') return false;
  if (value.back() == ' ') return false;
  for (char ch : value) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == 0 || c == '\n' || c == '\r' || c > 0x7f) return false;
  }
  return true;
}

void AppendFolded(std::string& out, std::string_view line) {
  size_t limit = kFoldColumn;
  while (line.size() > limit) {
    out.append(line.substr(0, limit));
    out += "\n ";
    line.remove_prefix(limit);
    limit = kFoldColumn - 1;  // the leading space of a continuation counts
  }
  out.append(line);
  out += '\n';
}

void AppendValueLine(std::string& out, std::string_view type, std::string_view value) {
  std::string line(type);
  if (value.empty()) {
    line += ':';
  } else if (IsSafeString(value)) {
    line += ": ";
    line += value;
  } else {
    line += ":: ";
    line += Base64Encode(value);
  }
  AppendFolded(out, line);
}

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && EqualsIgnoreCase(text.substr(0, prefix.size()), prefix);
}

Status LineError(size_t line, std::string_view what) {
  return Error(ResultCode::kProtocolError, "LDIF line " + std::to_string(line) + ": " + std::string(what));
}

struct Line {
  size_t number;
  std::string text;
};

// "type" and everything after its first ':'.
Result<std::pair<std::string, std::string_view>> SplitLine(const Line& line) {
  size_t colon = line.text.find(':');
  if (colon == std::string::npos || colon == 0) return LineError(line.number, "expected 'type: value'");
  return std::make_pair(line.text.substr(0, colon), std::string_view(line.text).substr(colon + 1));
}

// The value after "type:": ": text", ":: base64" or ":< url" (refused).
Result<std::string> DecodeValueSpec(size_t number, std::string_view rest) {
  if (!rest.empty() && rest.front() == ':') {
    rest.remove_prefix(1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    std::optional<std::string> decoded = Base64Decode(rest);
    if (!decoded) return LineError(number, "invalid base64 value");
    return *std::move(decoded);
  }
  if (!rest.empty() && rest.front() == '<') {
    return Error(ResultCode::kUnwillingToPerform,
                 "LDIF line " + std::to_string(number) + ": URL values are not followed");
  }
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  return std::string(rest);
}

Result<std::pair<std::string, std::string>> TypeAndValue(const Line& line) {
  SIMPLEAD_ASSIGN_OR_RETURN(auto split, SplitLine(line));
  SIMPLEAD_ASSIGN_OR_RETURN(std::string value, DecodeValueSpec(line.number, split.second));
  return std::make_pair(std::move(split.first), std::move(value));
}

// "control: oid [true|false] [: value | :: base64 | :< url]"
Result<Control> ParseControl(size_t number, std::string_view rest) {
  Control control;
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  size_t end = rest.find_first_of(" :");
  control.oid = std::string(rest.substr(0, end));
  if (control.oid.empty()) return LineError(number, "control without OID");
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (StartsWithIgnoreCase(rest, "true")) {
    control.critical = true;
    rest.remove_prefix(4);
  } else if (StartsWithIgnoreCase(rest, "false")) {
    rest.remove_prefix(5);
  }
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (rest.empty()) return control;
  if (rest.front() != ':') return LineError(number, "malformed control line");
  SIMPLEAD_ASSIGN_OR_RETURN(control.value, DecodeValueSpec(number, rest.substr(1)));
  return control;
}

void AddValue(std::vector<Attribute>& attributes, std::string type, std::string value) {
  for (Attribute& attribute : attributes) {
    if (EqualsIgnoreCase(attribute.type, type)) {
      attribute.values.push_back(std::move(value));
      return;
    }
  }
  attributes.push_back(Attribute{std::move(type), {std::move(value)}});
}

Status ParseAttributes(const std::vector<Line>& lines, size_t i, LdifRecord& record,
                       const std::vector<std::string>& keep_only) {
  for (; i < lines.size(); ++i) {
    if (!keep_only.empty()) {
      const std::string_view text = lines[i].text;
      const size_t colon = text.find(':');
      if (colon != std::string_view::npos && colon != 0 &&
          std::none_of(keep_only.begin(), keep_only.end(),
                       [&](const std::string& type) { return EqualsIgnoreCase(type, text.substr(0, colon)); })) {
        // Dropped, but checked as a kept line is: a filtered pass fails
        // where a full one would. Only base64 and URL values need decoding.
        const std::string_view rest = text.substr(colon + 1);
        if (!rest.empty() && (rest.front() == ':' || rest.front() == '<')) {
          SIMPLEAD_RETURN_IF_ERROR(DecodeValueSpec(lines[i].number, rest).status());
        }
        continue;
      }
    }
    SIMPLEAD_ASSIGN_OR_RETURN(auto tv, TypeAndValue(lines[i]));
    AddValue(record.attributes, std::move(tv.first), std::move(tv.second));
  }
  return Status::Ok();
}

Status ParseModify(const std::vector<Line>& lines, size_t i, LdifRecord& record) {
  while (i < lines.size()) {
    SIMPLEAD_ASSIGN_OR_RETURN(auto spec, TypeAndValue(lines[i]));
    Modification mod;
    std::string op = ToLower(spec.first);
    if (op == "add") {
      mod.op = Modification::Op::kAdd;
    } else if (op == "delete") {
      mod.op = Modification::Op::kDelete;
    } else if (op == "replace") {
      mod.op = Modification::Op::kReplace;
    } else if (op == "increment") {
      mod.op = Modification::Op::kIncrement;
    } else {
      return LineError(lines[i].number, "expected add:, delete:, replace: or increment:");
    }
    if (spec.second.empty()) return LineError(lines[i].number, "modification without attribute");
    mod.attribute.type = std::move(spec.second);
    ++i;
    for (; i < lines.size() && lines[i].text != "-"; ++i) {
      SIMPLEAD_ASSIGN_OR_RETURN(auto tv, TypeAndValue(lines[i]));
      if (!EqualsIgnoreCase(tv.first, mod.attribute.type)) {
        return LineError(lines[i].number, "attribute does not match the modification's");
      }
      mod.attribute.values.push_back(std::move(tv.second));
    }
    if (i < lines.size()) ++i;  // the "-" separator
    record.changes.push_back(std::move(mod));
  }
  return Status::Ok();
}

Status ParseModifyDn(const std::vector<Line>& lines, size_t i, LdifRecord& record) {
  record.modify_dn.dn = record.dn;
  bool have_rdn = false, have_delete = false;
  for (; i < lines.size(); ++i) {
    SIMPLEAD_ASSIGN_OR_RETURN(auto tv, TypeAndValue(lines[i]));
    std::string type = ToLower(tv.first);
    if (type == "newrdn" && !have_rdn) {
      record.modify_dn.new_rdn = std::move(tv.second);
      have_rdn = true;
    } else if (type == "deleteoldrdn" && have_rdn && !have_delete) {
      if (tv.second != "0" && tv.second != "1") return LineError(lines[i].number, "deleteoldrdn must be 0 or 1");
      record.modify_dn.delete_old_rdn = tv.second == "1";
      have_delete = true;
    } else if (type == "newsuperior" && have_delete && !record.modify_dn.new_superior) {
      record.modify_dn.new_superior = std::move(tv.second);
    } else {
      return LineError(lines[i].number, "unexpected line in modrdn record");
    }
  }
  if (!have_rdn || !have_delete) {
    return LineError(lines.front().number, "modrdn record needs newrdn and deleteoldrdn");
  }
  return Status::Ok();
}

}  // namespace

// Lines: a physical line is read once; the one after a logical line (read to
// detect folding) waits in pending_line_, and it is always the line numbered
// line_.
namespace {
bool ReadPhysical(std::istream& in, size_t& line_counter, std::optional<std::string>& pending, std::string& out,
                  size_t& number) {
  if (pending) {
    out = std::move(*pending);
    pending.reset();
    number = line_counter;
    return true;
  }
  if (!std::getline(in, out)) return false;
  ++line_counter;
  if (!out.empty() && out.back() == '\r') out.pop_back();
  number = line_counter;
  return true;
}

bool ReadLogical(std::istream& in, size_t& line_counter, std::optional<std::string>& pending, Line& line) {
  while (true) {
    if (!ReadPhysical(in, line_counter, pending, line.text, line.number)) return false;
    if (!line.text.empty()) {
      std::string next;
      size_t next_number = 0;
      while (ReadPhysical(in, line_counter, pending, next, next_number)) {
        if (!next.empty() && next.front() == ' ') {
          line.text.append(next, 1, std::string::npos);
        } else {
          pending = std::move(next);
          break;
        }
      }
    }
    if (!line.text.empty() && line.text.front() == '#') continue;  // comment, folded or not
    return true;
  }
}
}  // namespace

Result<std::optional<LdifRecord>> LdifReader::Next() {
  Line line;
  do {
    if (!ReadLogical(in_, line_, pending_line_, line)) return std::optional<LdifRecord>();
  } while (line.text.empty());

  if (!version_seen_) {
    version_seen_ = true;
    if (StartsWithIgnoreCase(line.text, "version:")) {
      SIMPLEAD_ASSIGN_OR_RETURN(auto tv, TypeAndValue(line));
      if (tv.second != "1") return LineError(line.number, "unsupported LDIF version");
      do {
        if (!ReadLogical(in_, line_, pending_line_, line)) return std::optional<LdifRecord>();
      } while (line.text.empty());
    }
  }

  std::vector<Line> lines{line};
  while (ReadLogical(in_, line_, pending_line_, line) && !line.text.empty()) lines.push_back(line);

  LdifRecord record;
  record.line = lines.front().number;
  SIMPLEAD_ASSIGN_OR_RETURN(auto dn, TypeAndValue(lines.front()));
  if (!EqualsIgnoreCase(dn.first, "dn")) return LineError(lines.front().number, "record does not start with dn:");
  record.dn = std::move(dn.second);

  size_t i = 1;
  for (; i < lines.size(); ++i) {
    SIMPLEAD_ASSIGN_OR_RETURN(auto split, SplitLine(lines[i]));
    if (!EqualsIgnoreCase(split.first, "control")) break;
    SIMPLEAD_ASSIGN_OR_RETURN(Control control, ParseControl(lines[i].number, split.second));
    record.controls.push_back(std::move(control));
  }
  bool change_record = false;
  if (i < lines.size()) {
    SIMPLEAD_ASSIGN_OR_RETURN(auto tv, TypeAndValue(lines[i]));
    if (EqualsIgnoreCase(tv.first, "changetype")) {
      change_record = true;
      std::string type = ToLower(tv.second);
      if (type == "add") {
        record.kind = LdifRecord::Kind::kAdd;
      } else if (type == "delete") {
        record.kind = LdifRecord::Kind::kDelete;
      } else if (type == "modify") {
        record.kind = LdifRecord::Kind::kModify;
      } else if (type == "modrdn" || type == "moddn") {
        record.kind = LdifRecord::Kind::kModifyDn;
      } else {
        return LineError(lines[i].number, "unknown changetype '" + tv.second + "'");
      }
      ++i;
    }
  }
  if (!record.controls.empty() && !change_record) {
    return LineError(record.line, "controls are only allowed in change records");
  }
  switch (record.kind) {
    case LdifRecord::Kind::kContent:
    case LdifRecord::Kind::kAdd:
      // Before parsing: a filtered record may keep no attribute at all.
      if (record.kind == LdifRecord::Kind::kAdd && i == lines.size()) {
        return LineError(record.line, "add record without attributes");
      }
      SIMPLEAD_RETURN_IF_ERROR(ParseAttributes(lines, i, record, keep_only_));
      break;
    case LdifRecord::Kind::kDelete:
      if (i != lines.size()) return LineError(lines[i].number, "unexpected line in delete record");
      break;
    case LdifRecord::Kind::kModify:
      SIMPLEAD_RETURN_IF_ERROR(ParseModify(lines, i, record));
      break;
    case LdifRecord::Kind::kModifyDn:
      SIMPLEAD_RETURN_IF_ERROR(ParseModifyDn(lines, i, record));
      break;
  }
  return std::optional<LdifRecord>(std::move(record));
}

std::string ToLdif(std::string_view dn, const std::vector<Attribute>& attributes) {
  std::string out;
  AppendValueLine(out, "dn", dn);
  for (const Attribute& attribute : attributes) {
    for (const std::string& value : attribute.values) AppendValueLine(out, attribute.type, value);
  }
  out += '\n';
  return out;
}

std::string ToLdif(const Entry& entry) { return ToLdif(entry.dn().ToString(), entry.attributes()); }

}  // namespace simplead::ldap
