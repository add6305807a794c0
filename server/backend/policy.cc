#include "server/backend/policy.h"

#include <algorithm>
#include <cctype>

namespace simplead::backend {

namespace {

long long IntOf(const ldap::Entry& e, std::string_view attr, long long fallback) {
  const std::string* v = e.First(attr);
  if (!v) return fallback;
  try {
    return std::stoll(*v);
  } catch (const std::exception&) {
    return fallback;
  }
}

// AD intervals: negative counts of 100 ns ("-18000000000" = 30 minutes);
// the most negative value means "never".
std::chrono::seconds Interval(const ldap::Entry& e, std::string_view attr, std::chrono::seconds fallback) {
  const std::string* v = e.First(attr);
  if (!v) return fallback;
  long long ticks = 0;
  try {
    ticks = std::stoll(*v);
  } catch (const std::exception&) {
    return fallback;
  }
  if (ticks == INT64_MIN) return std::chrono::seconds(0);
  if (ticks < 0) ticks = -ticks;
  return std::chrono::seconds(ticks / 10'000'000LL);
}

}  // namespace

PasswordPolicy DomainPolicy(const ldap::Entry& domain, const PasswordPolicy& defaults) {
  PasswordPolicy p = defaults;
  p.min_length = static_cast<size_t>(std::max(0LL, IntOf(domain, "minPwdLength", static_cast<long long>(p.min_length))));
  p.complexity = (IntOf(domain, "pwdProperties", p.complexity ? 1 : 0) & 1) != 0;
  p.history_length =
      static_cast<size_t>(std::max(0LL, IntOf(domain, "pwdHistoryLength", static_cast<long long>(p.history_length))));
  p.max_age = Interval(domain, "maxPwdAge", p.max_age);
  p.min_age = Interval(domain, "minPwdAge", p.min_age);
  p.lockout_threshold = static_cast<size_t>(
      std::max(0LL, IntOf(domain, "lockoutThreshold", static_cast<long long>(p.lockout_threshold))));
  p.lockout_duration = Interval(domain, "lockoutDuration", p.lockout_duration);
  p.observation_window = Interval(domain, "lockOutObservationWindow", p.observation_window);
  p.source = domain.dn().ToString();
  return p;
}

PasswordPolicy SettingsObjectPolicy(const ldap::Entry& pso) {
  PasswordPolicy p;
  p.min_length = static_cast<size_t>(std::max(0LL, IntOf(pso, "msDS-MinimumPasswordLength", 0)));
  const std::string* complexity = pso.First("msDS-PasswordComplexityEnabled");
  p.complexity = complexity && ldap::ToLower(*complexity) == "true";
  p.history_length = static_cast<size_t>(std::max(0LL, IntOf(pso, "msDS-PasswordHistoryLength", 0)));
  p.max_age = Interval(pso, "msDS-MaximumPasswordAge", std::chrono::seconds(0));
  p.min_age = Interval(pso, "msDS-MinimumPasswordAge", std::chrono::seconds(0));
  p.lockout_threshold = static_cast<size_t>(std::max(0LL, IntOf(pso, "msDS-LockoutThreshold", 0)));
  p.lockout_duration = Interval(pso, "msDS-LockoutDuration", std::chrono::seconds(30 * 60));
  p.observation_window = Interval(pso, "msDS-LockoutObservationWindow", std::chrono::seconds(30 * 60));
  p.source = pso.dn().ToString();
  return p;
}

Status CheckPasswordQuality(const PasswordPolicy& policy, std::string_view password,
                            const std::vector<std::string>& account_names) {
  // Length counts characters, not bytes.
  size_t chars = 0;
  for (unsigned char c : password) chars += (c & 0xC0) != 0x80;
  if (chars < policy.min_length) {
    return Error(ResultCode::kConstraintViolation, std::string(kPasswordTooShort) + ": at least " +
                                                       std::to_string(policy.min_length) + " characters (policy " +
                                                       policy.source + ")");
  }
  if (!policy.complexity) return Status::Ok();
  int upper = 0, lower = 0, digit = 0, other = 0;
  for (unsigned char c : password) {
    if (std::isupper(c)) upper = 1;
    else if (std::islower(c)) lower = 1;
    else if (std::isdigit(c)) digit = 1;
    else other = 1;  // symbols and non-ASCII letters
  }
  if (upper + lower + digit + other < 3) {
    return Error(ResultCode::kConstraintViolation,
                 std::string(kPasswordNotComplex) + ": use three of upper case, lower case, digits and symbols "
                 "(policy " + policy.source + ")");
  }
  std::string lower_password = ldap::ToLower(password);
  for (const auto& name : account_names) {
    if (name.size() >= 3 && lower_password.find(ldap::ToLower(name)) != std::string::npos) {
      return Error(ResultCode::kConstraintViolation,
                   std::string(kPasswordNotComplex) + ": it contains the account name (policy " + policy.source + ")");
    }
  }
  return Status::Ok();
}

std::optional<int> PasswordPolicyErrorOf(const Status& status) {
  const std::string& m = status.message();
  auto starts = [&](std::string_view prefix) { return m.rfind(prefix, 0) == 0; };
  if (status.code() == ResultCode::kInvalidCredentials) {
    // AD's bind diagnostics ("... data 775, v4563").
    if (m.find("data 775") != std::string::npos) return 1;
    if (m.find("data 532") != std::string::npos) return 0;
    if (m.find("data 773") != std::string::npos) return 2;
    return std::nullopt;
  }
  if (starts(kPasswordTooShort)) return 6;
  if (starts(kPasswordNotComplex)) return 5;
  if (starts(kPasswordTooYoung)) return 7;
  if (starts(kPasswordInHistory)) return 8;
  if (m.find("requires the old password") != std::string::npos ||
      m.find("requires deleting the old one") != std::string::npos) {
    return 4;
  }
  return std::nullopt;
}

}  // namespace simplead::backend
