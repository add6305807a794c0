#include "lib/kms/kms_error.h"

#include <array>

namespace simplead::kms {
namespace {

struct ErrorInfo {
  KmsError error;
  std::string_view name;
  ResultCode code;
};

constexpr std::array<ErrorInfo, 16> kErrors = {{
    {KmsError::kNotFound, "NotFoundException", ResultCode::kNoSuchObject},
    {KmsError::kDisabled, "DisabledException", ResultCode::kUnavailable},
    {KmsError::kInvalidState, "KMSInvalidStateException", ResultCode::kUnavailable},
    {KmsError::kInvalidCiphertext, "InvalidCiphertextException", ResultCode::kUnwillingToPerform},
    {KmsError::kIncorrectKey, "IncorrectKeyException", ResultCode::kUnwillingToPerform},
    {KmsError::kValidation, "ValidationException", ResultCode::kConstraintViolation},
    {KmsError::kAccessDenied, "AccessDeniedException", ResultCode::kInsufficientAccessRights},
    {KmsError::kAlreadyExists, "AlreadyExistsException", ResultCode::kEntryAlreadyExists},
    {KmsError::kLimitExceeded, "LimitExceededException", ResultCode::kAdminLimitExceeded},
    {KmsError::kInvalidAliasName, "InvalidAliasNameException", ResultCode::kNamingViolation},
    {KmsError::kTag, "TagException", ResultCode::kConstraintViolation},
    {KmsError::kMalformedPolicy, "MalformedPolicyDocumentException", ResultCode::kConstraintViolation},
    {KmsError::kUnknownOperation, "UnknownOperationException", ResultCode::kProtocolError},
    {KmsError::kSerialization, "SerializationException", ResultCode::kProtocolError},
    {KmsError::kUnauthenticated, "UnrecognizedClientException", ResultCode::kInvalidCredentials},
    {KmsError::kInternal, "KMSInternalException", ResultCode::kOther},
}};

}  // namespace

std::string_view KmsErrorTypeName(KmsError e) {
  for (const auto& i : kErrors) {
    if (i.error == e) return i.name;
  }
  return "KMSInternalException";
}

Status KmsStatus(KmsError e, std::string_view message) {
  for (const auto& i : kErrors) {
    if (i.error == e) return Status(i.code, std::string(i.name) + ": " + std::string(message));
  }
  return InternalError(std::string(message));
}

std::string KmsErrorName(const Status& s) {
  if (s.ok()) return "";
  size_t colon = s.message().find(": ");
  if (colon != std::string::npos) {
    std::string_view prefix(s.message().data(), colon);
    for (const auto& i : kErrors) {
      if (i.name == prefix) return std::string(prefix);
    }
  }
  return "KMSInternalException";
}

std::string KmsErrorMessage(const Status& s) {
  std::string name = KmsErrorName(s);
  if (s.message().rfind(name + ": ", 0) == 0) return s.message().substr(name.size() + 2);
  return s.message();
}

int KmsHttpStatus(std::string_view error_name) { return error_name == "KMSInternalException" ? 500 : 400; }

}  // namespace simplead::kms
