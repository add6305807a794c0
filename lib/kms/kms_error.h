// AWS KMS error names carried inside a Status. A KMS Status has an LDAP
// result code (so the directory can put it on the wire: DisabledException and
// KMSInvalidStateException map to unavailable, 52) and a message of the form
// "<ErrorName>: <text>". KmsErrorName() reads the name back; statuses from
// elsewhere read as KMSInternalException. Thread-safe (pure functions).
#pragma once

#include <string>
#include <string_view>

#include "lib/base/status.h"

namespace simplead::kms {

enum class KmsError {
  kNotFound,           // NotFoundException
  kDisabled,           // DisabledException
  kInvalidState,       // KMSInvalidStateException
  kInvalidCiphertext,  // InvalidCiphertextException
  kIncorrectKey,       // IncorrectKeyException
  kValidation,         // ValidationException
  kAccessDenied,       // AccessDeniedException
  kAlreadyExists,      // AlreadyExistsException
  kLimitExceeded,      // LimitExceededException
  kInvalidAliasName,   // InvalidAliasNameException
  kTag,                // TagException
  kMalformedPolicy,    // MalformedPolicyDocumentException
  kUnknownOperation,   // UnknownOperationException
  kSerialization,      // SerializationException (body is not the JSON we expect)
  kUnauthenticated,    // UnrecognizedClientException (bad credentials)
  kInternal,           // KMSInternalException
};

std::string_view KmsErrorTypeName(KmsError e);
Status KmsStatus(KmsError e, std::string_view message);
// The AWS error name of a failed Status ("KMSInternalException" if unnamed).
std::string KmsErrorName(const Status& s);
// The message without its "<ErrorName>: " prefix.
std::string KmsErrorMessage(const Status& s);
// 400 for client errors, 500 for KMSInternalException.
int KmsHttpStatus(std::string_view error_name);

}  // namespace simplead::kms
