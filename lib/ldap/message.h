// LDAPv3 protocol messages (RFC 4511 §4) as plain structs. The codec
// (codec.h) turns BER into these and responses into BER; nothing here does
// I/O. Thread-compatible value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "lib/base/result_code.h"
#include "lib/ldap/entry.h"
#include "lib/ldap/filter.h"

namespace simplead::ldap {

struct Control {
  std::string oid;
  bool critical = false;
  std::optional<std::string> value;  // BER-encoded control value, if any
};

// An LDAPResult (RFC 4511 §4.1.9).
struct LdapResult {
  ResultCode code = ResultCode::kSuccess;
  std::string matched_dn;
  std::string diagnostic;
  std::vector<std::string> referrals;
};

struct BindRequest {
  int version = 3;
  std::string name;
  bool sasl = false;
  std::string password;          // simple; wipe after use
  std::string sasl_mechanism;    // sasl
  std::optional<std::string> sasl_credentials;
};
struct UnbindRequest {};

enum class SearchScope { kBase = 0, kOneLevel = 1, kSubtree = 2, kChildren = 3 };
enum class DerefAliases { kNever = 0, kInSearching = 1, kFindingBase = 2, kAlways = 3 };

struct SearchRequest {
  std::string base;
  SearchScope scope = SearchScope::kBase;
  DerefAliases deref = DerefAliases::kNever;
  int32_t size_limit = 0;
  int32_t time_limit = 0;
  bool types_only = false;
  Filter filter;
  std::vector<std::string> attributes;
};

struct AddRequest {
  std::string dn;
  std::vector<Attribute> attributes;
};

struct DeleteRequest {
  std::string dn;
};

struct Modification {
  enum class Op { kAdd = 0, kDelete = 1, kReplace = 2, kIncrement = 3 };
  Op op = Op::kReplace;
  Attribute attribute;
};

struct ModifyRequest {
  std::string dn;
  std::vector<Modification> changes;
};

struct ModifyDnRequest {
  std::string dn;
  std::string new_rdn;
  bool delete_old_rdn = true;
  std::optional<std::string> new_superior;
};

struct CompareRequest {
  std::string dn;
  std::string attribute;
  std::string value;
};

struct AbandonRequest {
  int32_t message_id = 0;
};

struct ExtendedRequest {
  std::string oid;
  std::optional<std::string> value;
};

using RequestOp = std::variant<BindRequest, UnbindRequest, SearchRequest, AddRequest, DeleteRequest, ModifyRequest,
                               ModifyDnRequest, CompareRequest, AbandonRequest, ExtendedRequest>;

struct Request {
  int32_t message_id = 0;
  RequestOp op;
  std::vector<Control> controls;
};

// Short operation name for logs: "BIND", "SEARCH", ...
const char* OperationName(const RequestOp& op);

}  // namespace simplead::ldap
