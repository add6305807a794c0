// BER codec for LDAPv3 PDUs, built on liblber. Decoding is strict: anything
// that is not a well-formed LDAPMessage is a kProtocolError whose diagnostic
// says what was wrong. Encoders return the complete PDU bytes. Stateless and
// thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/status.h"
#include "lib/ldap/message.h"

namespace simplead::ldap {

// Framing: given the bytes received so far, the total length of the first
// BER element (tag + length + content) once its header is complete, or
// nullopt while more bytes are needed. A header that can never be valid
// (not a SEQUENCE, indefinite or over-long length) is a kProtocolError.
Result<std::optional<size_t>> PduLength(std::string_view buffered);

// Decodes one complete LDAPMessage. max_filter_depth bounds filter nesting
// (kAdminLimitExceeded past it, so the caller can answer rather than drop).
// A well-framed PDU with a known message id but an undecodable operation
// reports the id through *message_id_out when it is not null.
Result<Request> DecodeRequest(std::string_view pdu, int max_filter_depth = 64, int32_t* message_id_out = nullptr);

// Response protocol-op tags (APPLICATION n).
enum class ResponseTag : int {
  kBind = 1,
  kSearchEntry = 4,
  kSearchDone = 5,
  kModify = 7,
  kAdd = 9,
  kDelete = 11,
  kModifyDn = 13,
  kCompare = 15,
  kSearchReference = 19,
  kExtended = 24,
  kIntermediate = 25,
};

// LDAPResult-shaped responses (modify, add, delete, modDN, compare, searchDone).
std::string EncodeResult(int32_t message_id, ResponseTag tag, const LdapResult& result,
                         const std::vector<Control>& controls = {});
std::string EncodeBindResponse(int32_t message_id, const LdapResult& result,
                               const std::optional<std::string>& server_sasl_creds = std::nullopt,
                               const std::vector<Control>& controls = {});
std::string EncodeSearchEntry(int32_t message_id, std::string_view dn, const std::vector<Attribute>& attributes,
                              bool types_only = false, const std::vector<Control>& controls = {});
// The same for attributes held elsewhere (a search result that points into a
// cached entry rather than copying it).
std::string EncodeSearchEntry(int32_t message_id, std::string_view dn, const std::vector<const Attribute*>& attributes,
                              bool types_only = false, const std::vector<Control>& controls = {});
std::string EncodeSearchReference(int32_t message_id, const std::vector<std::string>& uris);
std::string EncodeExtendedResponse(int32_t message_id, const LdapResult& result,
                                   const std::optional<std::string>& oid = std::nullopt,
                                   const std::optional<std::string>& value = std::nullopt,
                                   const std::vector<Control>& controls = {});
// IntermediateResponse (RFC 4511 §4.13): responseName [0], responseValue [1].
std::string EncodeIntermediateResponse(int32_t message_id, const std::optional<std::string>& oid,
                                       const std::optional<std::string>& value,
                                       const std::vector<Control>& controls = {});
// Unsolicited notice of disconnection (RFC 4511 §4.4.1): message id 0,
// responseName 1.3.6.1.4.1.1466.20036.
std::string EncodeNoticeOfDisconnection(ResultCode code, std::string_view diagnostic);

// Client side (used by tests, the connector and the benchmark tool).
std::string EncodeRequest(const Request& request);
struct Response {
  int32_t message_id = 0;
  ResponseTag tag = ResponseTag::kBind;
  LdapResult result;                      // not for search entries/references
  std::string dn;                         // kSearchEntry
  std::vector<Attribute> attributes;      // kSearchEntry
  std::vector<std::string> uris;          // kSearchReference
  std::optional<std::string> name;        // kExtended/kIntermediate responseName
  std::optional<std::string> value;       // kExtended/kIntermediate value, bind serverSaslCreds
  std::vector<Control> controls;
};
Result<Response> DecodeResponse(std::string_view pdu);

}  // namespace simplead::ldap
