// Values of the request/response controls and extended operations SimpleAD
// implements, encoded and decoded with liblber. Each Decode* returns
// kProtocolError on a malformed value. Stateless and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/status.h"
#include "lib/ldap/entry.h"
#include "lib/ldap/filter.h"

namespace simplead::ldap {

namespace oid {
inline constexpr const char* kPagedResults = "1.2.840.113556.1.4.319";
inline constexpr const char* kServerSortRequest = "1.2.840.113556.1.4.473";
inline constexpr const char* kServerSortResponse = "1.2.840.113556.1.4.474";
inline constexpr const char* kAssertion = "1.3.6.1.1.12";
inline constexpr const char* kPreRead = "1.3.6.1.1.13.1";
inline constexpr const char* kPostRead = "1.3.6.1.1.13.2";
inline constexpr const char* kManageDsaIt = "2.16.840.1.113730.3.4.2";
inline constexpr const char* kSubtreeDelete = "1.2.840.113556.1.4.805";
inline constexpr const char* kPermissiveModify = "1.2.840.113556.1.4.1413";
inline constexpr const char* kPasswordPolicy = "1.3.6.1.4.1.42.2.27.8.5.1";
inline constexpr const char* kWhoAmI = "1.3.6.1.4.1.4203.1.11.3";
inline constexpr const char* kPasswordModify = "1.3.6.1.4.1.4203.1.11.1";
inline constexpr const char* kStartTls = "1.3.6.1.4.1.1466.20037";
inline constexpr const char* kCancel = "1.3.6.1.1.8";
inline constexpr const char* kNoticeOfDisconnection = "1.3.6.1.4.1.1466.20036";
inline constexpr const char* kMatchingRuleInChain = "1.2.840.113556.1.4.1941";
inline constexpr const char* kMatchingRuleBitAnd = "1.2.840.113556.1.4.803";
inline constexpr const char* kMatchingRuleBitOr = "1.2.840.113556.1.4.804";
}  // namespace oid

// RFC 2696 realSearchControlValue: SEQUENCE { size INTEGER, cookie OCTET STRING }.
struct PagedResults {
  int32_t size = 0;
  std::string cookie;
};
Result<PagedResults> DecodePagedResults(std::string_view value);
std::string EncodePagedResults(const PagedResults& paged);

// RFC 2891 server-side sort.
struct SortKey {
  std::string attribute;
  std::string ordering_rule;  // may be empty
  bool reverse = false;
};
Result<std::vector<SortKey>> DecodeSortRequest(std::string_view value);
std::string EncodeSortRequest(const std::vector<SortKey>& keys);
// sortResult ::= SEQUENCE { sortResult ENUMERATED, attributeType [0] OPTIONAL }
std::string EncodeSortResponse(ResultCode code, std::string_view attribute = {});

// RFC 4528: the value is a BER Filter.
Result<Filter> DecodeAssertion(std::string_view value, int max_depth = 64);
std::string EncodeFilter(const Filter& filter);

// RFC 4527 pre/post-read: request is an AttributeSelection, response a SearchResultEntry.
Result<std::vector<std::string>> DecodeReadEntryRequest(std::string_view value);
std::string EncodeReadEntryRequest(const std::vector<std::string>& attributes);
std::string EncodeReadEntryResponse(std::string_view dn, const std::vector<Attribute>& attributes);

// RFC 3062 Password Modify extended operation.
struct PasswordModifyRequest {
  std::optional<std::string> user_identity;
  std::optional<std::string> old_password;
  std::optional<std::string> new_password;
};
Result<PasswordModifyRequest> DecodePasswordModifyRequest(std::string_view value);  // empty value allowed
std::string EncodePasswordModifyRequest(const PasswordModifyRequest& request);
std::string EncodePasswordModifyResponse(const std::optional<std::string>& generated_password);

// draft-behera-ldap-password-policy response control value.
struct PasswordPolicyResponse {
  std::optional<int> time_before_expiration;  // warning
  std::optional<int> grace_authns_remaining;  // warning
  // error: 0 passwordExpired, 1 accountLocked, 2 changeAfterReset, 3 passwordModNotAllowed,
  // 4 mustSupplyOldPassword, 5 insufficientPasswordQuality, 6 passwordTooShort,
  // 7 passwordTooYoung, 8 passwordInHistory
  std::optional<int> error;
};
std::string EncodePasswordPolicyResponse(const PasswordPolicyResponse& response);
Result<PasswordPolicyResponse> DecodePasswordPolicyResponse(std::string_view value);

// RFC 3909 Cancel: SEQUENCE { cancelID MessageID }.
Result<int32_t> DecodeCancelRequest(std::string_view value);

}  // namespace simplead::ldap
