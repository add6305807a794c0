// Callers and key policies. A key policy is a JSON document in the shape of
// AWS's: {"Version": "2012-10-17", "Statement": [{"Effect": "Allow"|"Deny",
// "Principal": {"AWS": "<arn>"|["<arn>",...]} | "*", "Action": "kms:Encrypt"|
// ["kms:*", "kms:Describe*", ...], "Resource": "*"}]}. A principal matches
// by ARN or principal id; "*" matches any authenticated caller; an action
// pattern may end with '*'. An explicit Deny wins over any Allow; no matching
// Allow means AccessDeniedException. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/base/status.h"

namespace simplead::kms {

// Who is calling: authenticated by the HTTP layer (or the in-process
// directory), used for authorization and written to the audit trail.
struct Caller {
  std::string type = "SimpleADUser";  // "AWSService" only for the server itself
  std::string principal_id;           // e.g. the entry's objectGUID
  std::string arn;                    // e.g. arn:simplead:iam::<domain>:user/<name>
  std::string user_name;
  std::string source_ip;
  std::string user_agent;

  bool is_service() const { return type == "AWSService"; }
};

// Fails (plain kConstraintViolation) if the document is not a policy.
Status ValidateKeyPolicy(std::string_view policy_json);
// True if the policy allows `action` ("kms:Encrypt") to the caller.
bool KeyPolicyAllows(std::string_view policy_json, const Caller& caller, std::string_view action);
// The default: everything for the key's creator, the listed admins and the
// server itself.
std::string DefaultKeyPolicy(const Caller& creator, const std::vector<std::string>& admin_arns,
                             const std::string& service_arn);

}  // namespace simplead::kms
