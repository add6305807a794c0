// The JSON 1.1 mapping of the KMS (AWS's TrentService protocol): request
// and response documents with AWS's field names (KeyId, CiphertextBlob and
// Plaintext in base64, EncryptionContext, KeyMetadata{...}, dates as epoch
// seconds) and errors as {"__type": "<ErrorName>", "message": "..."}.
// Requests that never reach an operation (bad JSON, unknown operation) are
// audited too. Thread-safe as the Kms is.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/kms/kms.h"

namespace simplead::kms {

struct JsonResponse {
  int http_status = 200;
  std::string body;        // JSON
  std::string error_type;  // empty on success
};

// `operation` is the part after "TrentService." ("Encrypt").
JsonResponse HandleKmsJson(Kms& kms, const Caller& caller, std::string_view operation, std::string_view body);

// An error document for failures outside the Kms (e.g. authentication).
JsonResponse KmsJsonError(const Status& error);

// Every operation HandleKmsJson understands, in AWS's spelling.
const std::vector<std::string>& KmsOperationNames();

}  // namespace simplead::kms
