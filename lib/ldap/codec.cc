#include "lib/ldap/codec.h"

#include <limits>
#include <type_traits>
#include <utility>

#include "lib/ldap/ber.h"
#include "lib/ldap/controls.h"

namespace simplead::ldap {

using ber::App;
using ber::AppCons;
using ber::Ctx;
using ber::CtxCons;
using ber::Malformed;
using ber::Reader;
using ber::Writer;

namespace {

constexpr ber_tag_t kBindRequestTag = AppCons(0);
constexpr ber_tag_t kUnbindRequestTag = App(2);
constexpr ber_tag_t kSearchRequestTag = AppCons(3);
constexpr ber_tag_t kModifyRequestTag = AppCons(6);
constexpr ber_tag_t kAddRequestTag = AppCons(8);
constexpr ber_tag_t kDelRequestTag = App(10);
constexpr ber_tag_t kModifyDnRequestTag = AppCons(12);
constexpr ber_tag_t kCompareRequestTag = AppCons(14);
constexpr ber_tag_t kAbandonRequestTag = App(16);
constexpr ber_tag_t kExtendedRequestTag = AppCons(23);
constexpr ber_tag_t kControlsTag = CtxCons(0);
constexpr ber_tag_t kReferralTag = CtxCons(3);
constexpr size_t kMaxLengthOctets = 4;  // PDUs are below 4 GiB by construction

// ---- Shared pieces ---------------------------------------------------------

Result<std::vector<Control>> ReadControls(Reader& message) {
  std::vector<Control> controls;
  if (message.AtEnd()) return controls;
  SIMPLEAD_ASSIGN_OR_RETURN(Reader list, message.Enter(kControlsTag, "controls"));
  while (!list.AtEnd()) {
    SIMPLEAD_ASSIGN_OR_RETURN(Reader item, list.Enter(ber::kSequence, "control"));
    Control control;
    SIMPLEAD_ASSIGN_OR_RETURN(control.oid, item.String(ber::kOctetString, "controlType"));
    if (control.oid.empty()) return Malformed("empty controlType");
    if (item.PeekTag() == ber::kBoolean) {
      SIMPLEAD_ASSIGN_OR_RETURN(control.critical, item.Bool(ber::kBoolean, "criticality"));
    }
    if (item.PeekTag() == ber::kOctetString) {
      SIMPLEAD_ASSIGN_OR_RETURN(control.value, item.String(ber::kOctetString, "controlValue"));
    }
    SIMPLEAD_RETURN_IF_ERROR(item.ExpectEnd("control"));
    controls.push_back(std::move(control));
  }
  return controls;
}

void WriteControls(Writer& w, const std::vector<Control>& controls) {
  if (controls.empty()) return;
  w.BeginSequence(kControlsTag);
  for (const Control& control : controls) {
    w.BeginSequence();
    w.String(control.oid);
    if (control.critical) w.Bool(true);
    if (control.value) w.String(*control.value);
    w.EndSequence();
  }
  w.EndSequence();
}

// PartialAttribute ::= SEQUENCE { type, vals SET OF value }
Result<Attribute> ReadAttribute(Reader& list, bool require_values) {
  SIMPLEAD_ASSIGN_OR_RETURN(Reader item, list.Enter(ber::kSequence, "attribute"));
  Attribute attribute;
  SIMPLEAD_ASSIGN_OR_RETURN(attribute.type, item.String(ber::kOctetString, "attribute type"));
  if (attribute.type.empty()) return Malformed("empty attribute type");
  SIMPLEAD_ASSIGN_OR_RETURN(Reader values, item.Enter(ber::kSet, "attribute values"));
  while (!values.AtEnd()) {
    SIMPLEAD_ASSIGN_OR_RETURN(std::string value, values.String(ber::kOctetString, "attribute value"));
    attribute.values.push_back(std::move(value));
  }
  SIMPLEAD_RETURN_IF_ERROR(item.ExpectEnd("attribute"));
  if (require_values && attribute.values.empty()) return Malformed("attribute without values");
  return attribute;
}

void WriteAttribute(Writer& w, const Attribute& attribute, bool types_only = false) {
  w.BeginSequence();
  w.String(attribute.type);
  w.BeginSet();
  if (!types_only) {
    for (const std::string& value : attribute.values) w.String(value);
  }
  w.EndSet();
  w.EndSequence();
}

Result<std::string> ReadLdapString(Reader& r, std::string_view what) {
  return r.String(ber::kOctetString, what);
}

// ---- Requests --------------------------------------------------------------

Result<RequestOp> ReadBind(Reader& op) {
  BindRequest bind;
  SIMPLEAD_ASSIGN_OR_RETURN(bind.version, op.Int(ber::kInteger, "bind version"));
  if (bind.version < 1 || bind.version > 127) return Malformed("bind version out of range");
  SIMPLEAD_ASSIGN_OR_RETURN(bind.name, ReadLdapString(op, "bind name"));
  std::optional<ber_tag_t> tag = op.PeekTag();
  if (tag == Ctx(0)) {
    SIMPLEAD_ASSIGN_OR_RETURN(bind.password, op.String(Ctx(0), "simple password"));
  } else if (tag == CtxCons(3)) {
    bind.sasl = true;
    SIMPLEAD_ASSIGN_OR_RETURN(Reader sasl, op.Enter(CtxCons(3), "sasl credentials"));
    SIMPLEAD_ASSIGN_OR_RETURN(bind.sasl_mechanism, ReadLdapString(sasl, "sasl mechanism"));
    if (!sasl.AtEnd()) {
      SIMPLEAD_ASSIGN_OR_RETURN(bind.sasl_credentials, sasl.String(ber::kOctetString, "sasl credentials"));
    }
    SIMPLEAD_RETURN_IF_ERROR(sasl.ExpectEnd("sasl credentials"));
  } else {
    return Malformed("unknown bind authentication choice");
  }
  SIMPLEAD_RETURN_IF_ERROR(op.ExpectEnd("bind request"));
  return RequestOp(std::move(bind));
}

Result<RequestOp> ReadSearch(Reader& op, int max_filter_depth) {
  SearchRequest search;
  SIMPLEAD_ASSIGN_OR_RETURN(search.base, ReadLdapString(op, "search base"));
  SIMPLEAD_ASSIGN_OR_RETURN(int32_t scope, op.Int(ber::kEnumerated, "search scope"));
  if (scope < 0 || scope > 3) return Malformed("search scope out of range");
  search.scope = static_cast<SearchScope>(scope);
  SIMPLEAD_ASSIGN_OR_RETURN(int32_t deref, op.Int(ber::kEnumerated, "derefAliases"));
  if (deref < 0 || deref > 3) return Malformed("derefAliases out of range");
  search.deref = static_cast<DerefAliases>(deref);
  SIMPLEAD_ASSIGN_OR_RETURN(search.size_limit, op.Int(ber::kInteger, "sizeLimit"));
  SIMPLEAD_ASSIGN_OR_RETURN(search.time_limit, op.Int(ber::kInteger, "timeLimit"));
  if (search.size_limit < 0 || search.time_limit < 0) return Malformed("negative search limit");
  SIMPLEAD_ASSIGN_OR_RETURN(search.types_only, op.Bool(ber::kBoolean, "typesOnly"));
  SIMPLEAD_ASSIGN_OR_RETURN(search.filter, ber::ReadFilter(op, max_filter_depth));
  SIMPLEAD_ASSIGN_OR_RETURN(Reader attributes, op.Enter(ber::kSequence, "attribute selection"));
  while (!attributes.AtEnd()) {
    SIMPLEAD_ASSIGN_OR_RETURN(std::string attribute, ReadLdapString(attributes, "attribute selector"));
    search.attributes.push_back(std::move(attribute));
  }
  SIMPLEAD_RETURN_IF_ERROR(op.ExpectEnd("search request"));
  return RequestOp(std::move(search));
}

Result<RequestOp> ReadModify(Reader& op) {
  ModifyRequest modify;
  SIMPLEAD_ASSIGN_OR_RETURN(modify.dn, ReadLdapString(op, "modify object"));
  SIMPLEAD_ASSIGN_OR_RETURN(Reader changes, op.Enter(ber::kSequence, "modify changes"));
  while (!changes.AtEnd()) {
    SIMPLEAD_ASSIGN_OR_RETURN(Reader change, changes.Enter(ber::kSequence, "change"));
    Modification mod;
    SIMPLEAD_ASSIGN_OR_RETURN(int32_t operation, change.Int(ber::kEnumerated, "modify operation"));
    if (operation < 0 || operation > 3) return Malformed("modify operation out of range");
    mod.op = static_cast<Modification::Op>(operation);
    SIMPLEAD_ASSIGN_OR_RETURN(mod.attribute, ReadAttribute(change, false));
    SIMPLEAD_RETURN_IF_ERROR(change.ExpectEnd("change"));
    modify.changes.push_back(std::move(mod));
  }
  SIMPLEAD_RETURN_IF_ERROR(op.ExpectEnd("modify request"));
  return RequestOp(std::move(modify));
}

Result<RequestOp> ReadAdd(Reader& op) {
  AddRequest add;
  SIMPLEAD_ASSIGN_OR_RETURN(add.dn, ReadLdapString(op, "add entry"));
  SIMPLEAD_ASSIGN_OR_RETURN(Reader attributes, op.Enter(ber::kSequence, "add attributes"));
  while (!attributes.AtEnd()) {
    SIMPLEAD_ASSIGN_OR_RETURN(Attribute attribute, ReadAttribute(attributes, true));
    add.attributes.push_back(std::move(attribute));
  }
  SIMPLEAD_RETURN_IF_ERROR(op.ExpectEnd("add request"));
  return RequestOp(std::move(add));
}

Result<RequestOp> ReadModifyDn(Reader& op) {
  ModifyDnRequest moddn;
  SIMPLEAD_ASSIGN_OR_RETURN(moddn.dn, ReadLdapString(op, "modDN entry"));
  SIMPLEAD_ASSIGN_OR_RETURN(moddn.new_rdn, ReadLdapString(op, "newrdn"));
  SIMPLEAD_ASSIGN_OR_RETURN(moddn.delete_old_rdn, op.Bool(ber::kBoolean, "deleteoldrdn"));
  if (!op.AtEnd()) {
    SIMPLEAD_ASSIGN_OR_RETURN(moddn.new_superior, op.String(Ctx(0), "newSuperior"));
  }
  SIMPLEAD_RETURN_IF_ERROR(op.ExpectEnd("modDN request"));
  return RequestOp(std::move(moddn));
}

Result<RequestOp> ReadCompare(Reader& op) {
  CompareRequest compare;
  SIMPLEAD_ASSIGN_OR_RETURN(compare.dn, ReadLdapString(op, "compare entry"));
  SIMPLEAD_ASSIGN_OR_RETURN(Reader ava, op.Enter(ber::kSequence, "compare assertion"));
  SIMPLEAD_ASSIGN_OR_RETURN(compare.attribute, ReadLdapString(ava, "compare attribute"));
  SIMPLEAD_ASSIGN_OR_RETURN(compare.value, ava.String(ber::kOctetString, "compare value"));
  SIMPLEAD_RETURN_IF_ERROR(ava.ExpectEnd("compare assertion"));
  SIMPLEAD_RETURN_IF_ERROR(op.ExpectEnd("compare request"));
  if (compare.attribute.empty()) return Malformed("empty compare attribute");
  return RequestOp(std::move(compare));
}

Result<RequestOp> ReadExtended(Reader& op) {
  ExtendedRequest extended;
  SIMPLEAD_ASSIGN_OR_RETURN(extended.oid, op.String(Ctx(0), "requestName"));
  if (!op.AtEnd()) {
    SIMPLEAD_ASSIGN_OR_RETURN(extended.value, op.String(Ctx(1), "requestValue"));
  }
  SIMPLEAD_RETURN_IF_ERROR(op.ExpectEnd("extended request"));
  return RequestOp(std::move(extended));
}

Result<RequestOp> ReadRequestOp(Reader& message, int max_filter_depth) {
  std::optional<ber_tag_t> tag = message.PeekTag();
  if (!tag) return Malformed(message.AtEnd() ? "missing protocolOp" : "truncated protocolOp");
  switch (*tag) {
    case kBindRequestTag: {
      SIMPLEAD_ASSIGN_OR_RETURN(Reader op, message.Enter(*tag, "bind request"));
      return ReadBind(op);
    }
    case kUnbindRequestTag: {
      SIMPLEAD_ASSIGN_OR_RETURN(std::string_view content, message.Take(*tag, "unbind request"));
      if (!content.empty()) return Malformed("unbind request is not NULL");
      return RequestOp(UnbindRequest{});
    }
    case kSearchRequestTag: {
      SIMPLEAD_ASSIGN_OR_RETURN(Reader op, message.Enter(*tag, "search request"));
      return ReadSearch(op, max_filter_depth);
    }
    case kModifyRequestTag: {
      SIMPLEAD_ASSIGN_OR_RETURN(Reader op, message.Enter(*tag, "modify request"));
      return ReadModify(op);
    }
    case kAddRequestTag: {
      SIMPLEAD_ASSIGN_OR_RETURN(Reader op, message.Enter(*tag, "add request"));
      return ReadAdd(op);
    }
    case kDelRequestTag: {
      SIMPLEAD_ASSIGN_OR_RETURN(std::string dn, message.String(*tag, "delete request"));
      return RequestOp(DeleteRequest{std::move(dn)});
    }
    case kModifyDnRequestTag: {
      SIMPLEAD_ASSIGN_OR_RETURN(Reader op, message.Enter(*tag, "modDN request"));
      return ReadModifyDn(op);
    }
    case kCompareRequestTag: {
      SIMPLEAD_ASSIGN_OR_RETURN(Reader op, message.Enter(*tag, "compare request"));
      return ReadCompare(op);
    }
    case kAbandonRequestTag: {
      SIMPLEAD_ASSIGN_OR_RETURN(int32_t id, message.Int(*tag, "abandon request"));
      if (id < 0) return Malformed("negative abandon message id");
      return RequestOp(AbandonRequest{id});
    }
    case kExtendedRequestTag: {
      SIMPLEAD_ASSIGN_OR_RETURN(Reader op, message.Enter(*tag, "extended request"));
      return ReadExtended(op);
    }
    default:
      return Malformed("unknown or unsupported protocolOp");
  }
}

// Opens the LDAPMessage envelope and reads the message id.
struct Envelope {
  Reader message;
  int32_t message_id;
};

Result<Envelope> OpenEnvelope(const std::string& buffer) {
  SIMPLEAD_ASSIGN_OR_RETURN(Reader top, Reader::Open(buffer));
  SIMPLEAD_ASSIGN_OR_RETURN(Reader message, top.Enter(ber::kSequence, "LDAPMessage"));
  SIMPLEAD_RETURN_IF_ERROR(top.ExpectEnd("PDU"));
  SIMPLEAD_ASSIGN_OR_RETURN(int32_t id, message.Int(ber::kInteger, "messageID"));
  if (id < 0) return Malformed("negative messageID");
  return Envelope{std::move(message), id};
}

// ---- Responses -------------------------------------------------------------

void WriteResultFields(Writer& w, const LdapResult& result) {
  w.Enum(static_cast<int32_t>(result.code));
  w.String(result.matched_dn);
  w.String(result.diagnostic);
  if (!result.referrals.empty()) {
    w.BeginSequence(kReferralTag);
    for (const std::string& uri : result.referrals) w.String(uri);
    w.EndSequence();
  }
}

Result<LdapResult> ReadResultFields(Reader& op) {
  LdapResult result;
  SIMPLEAD_ASSIGN_OR_RETURN(int32_t code, op.Int(ber::kEnumerated, "resultCode"));
  if (code < 0) return Malformed("negative resultCode");
  result.code = static_cast<ResultCode>(code);
  SIMPLEAD_ASSIGN_OR_RETURN(result.matched_dn, ReadLdapString(op, "matchedDN"));
  SIMPLEAD_ASSIGN_OR_RETURN(result.diagnostic, ReadLdapString(op, "diagnosticMessage"));
  if (op.PeekTag() == kReferralTag) {
    SIMPLEAD_ASSIGN_OR_RETURN(Reader referrals, op.Enter(kReferralTag, "referral"));
    while (!referrals.AtEnd()) {
      SIMPLEAD_ASSIGN_OR_RETURN(std::string uri, ReadLdapString(referrals, "referral URI"));
      result.referrals.push_back(std::move(uri));
    }
  }
  return result;
}

// Wraps an encoded protocolOp into an LDAPMessage.
template <typename Body>
std::string EncodeMessage(int32_t message_id, const std::vector<Control>& controls, Body&& body) {
  Writer w;
  w.BeginSequence();
  w.Int(message_id);
  body(w);
  WriteControls(w, controls);
  w.EndSequence();
  return w.Finish();
}

}  // namespace

// ---- Framing ---------------------------------------------------------------

Result<std::optional<size_t>> PduLength(std::string_view buffered) {
  if (buffered.empty()) return std::optional<size_t>();
  if (static_cast<unsigned char>(buffered[0]) != ber::kSequence) {
    return Error(ResultCode::kProtocolError, "PDU does not start with a SEQUENCE");
  }
  if (buffered.size() < 2) return std::optional<size_t>();
  unsigned char first = static_cast<unsigned char>(buffered[1]);
  if (first < 0x80) return std::optional<size_t>(2 + first);
  if (first == 0x80) return Error(ResultCode::kProtocolError, "indefinite length is not allowed");
  size_t octets = first & 0x7f;
  if (octets > kMaxLengthOctets) return Error(ResultCode::kProtocolError, "PDU length field is too long");
  if (buffered.size() < 2 + octets) return std::optional<size_t>();
  size_t length = 0;
  for (size_t i = 0; i < octets; ++i) length = (length << 8) | static_cast<unsigned char>(buffered[2 + i]);
  return std::optional<size_t>(2 + octets + length);
}

// ---- Requests --------------------------------------------------------------

Result<Request> DecodeRequest(std::string_view pdu, int max_filter_depth, int32_t* message_id_out) {
  const std::string buffer(pdu);  // NUL-terminated: liblber peeks one byte ahead
  SIMPLEAD_ASSIGN_OR_RETURN(Envelope envelope, OpenEnvelope(buffer));
  if (message_id_out) *message_id_out = envelope.message_id;
  Request request;
  request.message_id = envelope.message_id;
  SIMPLEAD_ASSIGN_OR_RETURN(request.op, ReadRequestOp(envelope.message, max_filter_depth));
  SIMPLEAD_ASSIGN_OR_RETURN(request.controls, ReadControls(envelope.message));
  SIMPLEAD_RETURN_IF_ERROR(envelope.message.ExpectEnd("LDAPMessage"));
  return request;
}

std::string EncodeRequest(const Request& request) {
  return EncodeMessage(request.message_id, request.controls, [&](Writer& w) {
    std::visit(
        [&](const auto& op) {
          using T = std::decay_t<decltype(op)>;
          if constexpr (std::is_same_v<T, BindRequest>) {
            w.BeginSequence(kBindRequestTag);
            w.Int(op.version);
            w.String(op.name);
            if (op.sasl) {
              w.BeginSequence(CtxCons(3));
              w.String(op.sasl_mechanism);
              if (op.sasl_credentials) w.String(*op.sasl_credentials);
              w.EndSequence();
            } else {
              w.String(op.password, Ctx(0));
            }
            w.EndSequence();
          } else if constexpr (std::is_same_v<T, UnbindRequest>) {
            w.Null(kUnbindRequestTag);
          } else if constexpr (std::is_same_v<T, SearchRequest>) {
            w.BeginSequence(kSearchRequestTag);
            w.String(op.base);
            w.Enum(static_cast<int32_t>(op.scope));
            w.Enum(static_cast<int32_t>(op.deref));
            w.Int(op.size_limit);
            w.Int(op.time_limit);
            w.Bool(op.types_only);
            ber::WriteFilter(w, op.filter);
            w.BeginSequence();
            for (const std::string& attribute : op.attributes) w.String(attribute);
            w.EndSequence();
            w.EndSequence();
          } else if constexpr (std::is_same_v<T, AddRequest>) {
            w.BeginSequence(kAddRequestTag);
            w.String(op.dn);
            w.BeginSequence();
            for (const Attribute& attribute : op.attributes) WriteAttribute(w, attribute);
            w.EndSequence();
            w.EndSequence();
          } else if constexpr (std::is_same_v<T, DeleteRequest>) {
            w.String(op.dn, kDelRequestTag);
          } else if constexpr (std::is_same_v<T, ModifyRequest>) {
            w.BeginSequence(kModifyRequestTag);
            w.String(op.dn);
            w.BeginSequence();
            for (const Modification& mod : op.changes) {
              w.BeginSequence();
              w.Enum(static_cast<int32_t>(mod.op));
              WriteAttribute(w, mod.attribute);
              w.EndSequence();
            }
            w.EndSequence();
            w.EndSequence();
          } else if constexpr (std::is_same_v<T, ModifyDnRequest>) {
            w.BeginSequence(kModifyDnRequestTag);
            w.String(op.dn);
            w.String(op.new_rdn);
            w.Bool(op.delete_old_rdn);
            if (op.new_superior) w.String(*op.new_superior, Ctx(0));
            w.EndSequence();
          } else if constexpr (std::is_same_v<T, CompareRequest>) {
            w.BeginSequence(kCompareRequestTag);
            w.String(op.dn);
            w.BeginSequence();
            w.String(op.attribute);
            w.String(op.value);
            w.EndSequence();
            w.EndSequence();
          } else if constexpr (std::is_same_v<T, AbandonRequest>) {
            w.Int(op.message_id, kAbandonRequestTag);
          } else if constexpr (std::is_same_v<T, ExtendedRequest>) {
            w.BeginSequence(kExtendedRequestTag);
            w.String(op.oid, Ctx(0));
            if (op.value) w.String(*op.value, Ctx(1));
            w.EndSequence();
          }
        },
        request.op);
  });
}

// ---- Responses -------------------------------------------------------------

std::string EncodeResult(int32_t message_id, ResponseTag tag, const LdapResult& result,
                         const std::vector<Control>& controls) {
  return EncodeMessage(message_id, controls, [&](Writer& w) {
    w.BeginSequence(AppCons(static_cast<unsigned>(tag)));
    WriteResultFields(w, result);
    w.EndSequence();
  });
}

std::string EncodeBindResponse(int32_t message_id, const LdapResult& result,
                               const std::optional<std::string>& server_sasl_creds,
                               const std::vector<Control>& controls) {
  return EncodeMessage(message_id, controls, [&](Writer& w) {
    w.BeginSequence(AppCons(static_cast<unsigned>(ResponseTag::kBind)));
    WriteResultFields(w, result);
    if (server_sasl_creds) w.String(*server_sasl_creds, Ctx(7));
    w.EndSequence();
  });
}

std::string EncodeSearchEntry(int32_t message_id, std::string_view dn, const std::vector<Attribute>& attributes,
                              bool types_only, const std::vector<Control>& controls) {
  std::vector<const Attribute*> pointers;
  pointers.reserve(attributes.size());
  for (const Attribute& attribute : attributes) pointers.push_back(&attribute);
  return EncodeSearchEntry(message_id, dn, pointers, types_only, controls);
}

std::string EncodeSearchEntry(int32_t message_id, std::string_view dn, const std::vector<const Attribute*>& attributes,
                              bool types_only, const std::vector<Control>& controls) {
  return EncodeMessage(message_id, controls, [&](Writer& w) {
    w.BeginSequence(AppCons(static_cast<unsigned>(ResponseTag::kSearchEntry)));
    w.String(dn);
    w.BeginSequence();
    for (const Attribute* attribute : attributes) WriteAttribute(w, *attribute, types_only);
    w.EndSequence();
    w.EndSequence();
  });
}

std::string EncodeSearchReference(int32_t message_id, const std::vector<std::string>& uris) {
  return EncodeMessage(message_id, {}, [&](Writer& w) {
    w.BeginSequence(AppCons(static_cast<unsigned>(ResponseTag::kSearchReference)));
    for (const std::string& uri : uris) w.String(uri);
    w.EndSequence();
  });
}

std::string EncodeExtendedResponse(int32_t message_id, const LdapResult& result, const std::optional<std::string>& oid,
                                   const std::optional<std::string>& value, const std::vector<Control>& controls) {
  return EncodeMessage(message_id, controls, [&](Writer& w) {
    w.BeginSequence(AppCons(static_cast<unsigned>(ResponseTag::kExtended)));
    WriteResultFields(w, result);
    if (oid) w.String(*oid, Ctx(10));
    if (value) w.String(*value, Ctx(11));
    w.EndSequence();
  });
}

std::string EncodeIntermediateResponse(int32_t message_id, const std::optional<std::string>& oid,
                                       const std::optional<std::string>& value,
                                       const std::vector<Control>& controls) {
  return EncodeMessage(message_id, controls, [&](Writer& w) {
    w.BeginSequence(AppCons(static_cast<unsigned>(ResponseTag::kIntermediate)));
    if (oid) w.String(*oid, Ctx(0));
    if (value) w.String(*value, Ctx(1));
    w.EndSequence();
  });
}

std::string EncodeNoticeOfDisconnection(ResultCode code, std::string_view diagnostic) {
  LdapResult result;
  result.code = code;
  result.diagnostic = std::string(diagnostic);
  return EncodeExtendedResponse(0, result, std::string(oid::kNoticeOfDisconnection));
}

Result<Response> DecodeResponse(std::string_view pdu) {
  const std::string buffer(pdu);
  SIMPLEAD_ASSIGN_OR_RETURN(Envelope envelope, OpenEnvelope(buffer));
  Reader& message = envelope.message;
  Response response;
  response.message_id = envelope.message_id;
  std::optional<ber_tag_t> tag = message.PeekTag();
  if (!tag) return Malformed("missing protocolOp");
  const ber_tag_t op_tag = *tag;
  if ((op_tag & 0xe0) != 0x60) return Malformed("protocolOp is not a constructed APPLICATION element");
  const unsigned number = static_cast<unsigned>(op_tag & 0x1f);
  response.tag = static_cast<ResponseTag>(number);
  SIMPLEAD_ASSIGN_OR_RETURN(Reader op, message.Enter(op_tag, "protocolOp"));
  switch (response.tag) {
    case ResponseTag::kBind: {
      SIMPLEAD_ASSIGN_OR_RETURN(response.result, ReadResultFields(op));
      if (op.PeekTag() == Ctx(7)) {
        SIMPLEAD_ASSIGN_OR_RETURN(response.value, op.String(Ctx(7), "serverSaslCreds"));
      }
      break;
    }
    case ResponseTag::kSearchDone:
    case ResponseTag::kModify:
    case ResponseTag::kAdd:
    case ResponseTag::kDelete:
    case ResponseTag::kModifyDn:
    case ResponseTag::kCompare: {
      SIMPLEAD_ASSIGN_OR_RETURN(response.result, ReadResultFields(op));
      break;
    }
    case ResponseTag::kSearchEntry: {
      SIMPLEAD_ASSIGN_OR_RETURN(response.dn, ReadLdapString(op, "objectName"));
      SIMPLEAD_ASSIGN_OR_RETURN(Reader attributes, op.Enter(ber::kSequence, "entry attributes"));
      while (!attributes.AtEnd()) {
        SIMPLEAD_ASSIGN_OR_RETURN(Attribute attribute, ReadAttribute(attributes, false));
        response.attributes.push_back(std::move(attribute));
      }
      break;
    }
    case ResponseTag::kSearchReference: {
      while (!op.AtEnd()) {
        SIMPLEAD_ASSIGN_OR_RETURN(std::string uri, ReadLdapString(op, "reference URI"));
        response.uris.push_back(std::move(uri));
      }
      break;
    }
    case ResponseTag::kExtended: {
      SIMPLEAD_ASSIGN_OR_RETURN(response.result, ReadResultFields(op));
      if (op.PeekTag() == Ctx(10)) {
        SIMPLEAD_ASSIGN_OR_RETURN(response.name, op.String(Ctx(10), "responseName"));
      }
      if (op.PeekTag() == Ctx(11)) {
        SIMPLEAD_ASSIGN_OR_RETURN(response.value, op.String(Ctx(11), "responseValue"));
      }
      break;
    }
    case ResponseTag::kIntermediate: {
      if (op.PeekTag() == Ctx(0)) {
        SIMPLEAD_ASSIGN_OR_RETURN(response.name, op.String(Ctx(0), "responseName"));
      }
      if (op.PeekTag() == Ctx(1)) {
        SIMPLEAD_ASSIGN_OR_RETURN(response.value, op.String(Ctx(1), "responseValue"));
      }
      break;
    }
    default:
      return Malformed("unknown response protocolOp");
  }
  SIMPLEAD_RETURN_IF_ERROR(op.ExpectEnd("protocolOp"));
  SIMPLEAD_ASSIGN_OR_RETURN(response.controls, ReadControls(message));
  SIMPLEAD_RETURN_IF_ERROR(message.ExpectEnd("LDAPMessage"));
  return response;
}

}  // namespace simplead::ldap
