// Password helpers of the directory: AD's unicodePwd encoding and the
// acceptability check applied to every new password.
#pragma once

#include <string>
#include <string_view>

#include "lib/base/secure_bytes.h"
#include "lib/base/status.h"

namespace simplead::backend {

// unicodePwd carries the password in double quotes, UTF-16LE. Returns the
// UTF-8 password, or kConstraintViolation for anything else (AD's answer).
Result<SecureBytes> DecodeUnicodePwd(std::string_view value);
// The inverse, for tools and tests.
std::string EncodeUnicodePwd(std::string_view utf8_password);

// The floor every new password meets regardless of policy: not empty, not
// absurdly long (the KDF would be a denial of service), no NUL.
Status CheckPasswordAcceptable(std::string_view password);

}  // namespace simplead::backend
