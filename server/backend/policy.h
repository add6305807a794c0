// Password and lockout policy, AD-style: the domain policy on the domain
// object, overridden by fine-grained password settings objects
// (msDS-PasswordSettings) that apply to the user or one of its groups, the
// lowest msDS-PasswordSettingsPrecedence winning. Pure functions over
// entries; the Directory supplies them.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/status.h"
#include "lib/ldap/entry.h"

namespace simplead::backend {

struct PasswordPolicy {
  size_t min_length = 8;
  bool complexity = true;
  size_t history_length = 24;
  std::chrono::seconds max_age{42LL * 24 * 3600};  // 0: never expires
  std::chrono::seconds min_age{0};
  size_t lockout_threshold = 10;                   // 0: never lock
  std::chrono::seconds lockout_duration{30 * 60};
  std::chrono::seconds observation_window{30 * 60};
  std::string source;  // DN of the object the policy came from, for diagnostics
};

// Reads the domain-policy attributes (minPwdLength, pwdProperties, ...; AD
// stores intervals as negative 100 ns counts) from the domain object.
PasswordPolicy DomainPolicy(const ldap::Entry& domain, const PasswordPolicy& defaults);
// Reads an msDS-PasswordSettings object.
PasswordPolicy SettingsObjectPolicy(const ldap::Entry& pso);

// 19 constraintViolation with a message naming the rule that failed. The
// account names (sAMAccountName, displayName parts) must not appear in a
// complex password, as AD checks.
Status CheckPasswordQuality(const PasswordPolicy& policy, std::string_view password,
                            const std::vector<std::string>& account_names);

// How refusals begin, so that the password-policy control (below) can name
// them for clients that ask.
inline constexpr std::string_view kPasswordTooShort = "password is too short";
inline constexpr std::string_view kPasswordNotComplex = "password does not meet complexity";
inline constexpr std::string_view kPasswordTooYoung = "password is too young to change";
inline constexpr std::string_view kPasswordInHistory = "password was used before";

// draft-behera-ldap-password-policy error (0 passwordExpired, 1 accountLocked,
// 2 changeAfterReset, 4 mustSupplyOldPassword, 5 insufficientPasswordQuality,
// 6 passwordTooShort, 7 passwordTooYoung, 8 passwordInHistory) for a refusal
// of a bind or a password change; nullopt when the refusal is not a policy one.
std::optional<int> PasswordPolicyErrorOf(const Status& status);

}  // namespace simplead::backend
