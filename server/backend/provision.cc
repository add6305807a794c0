// Creating a directory: the suffix and, in AD mode, the domain skeleton with
// its well-known principals, as `simplead-admin init` and the first start do.
#include "lib/ldap/dn.h"
#include "server/backend/directory.h"
#include "server/backend/meta_keys.h"

namespace simplead::backend {

namespace {

ldap::AddRequest Entry(std::string dn, std::vector<ldap::Attribute> attributes) {
  return ldap::AddRequest{std::move(dn), std::move(attributes)};
}

}  // namespace

Status Directory::Provision(const ProvisionOptions& provision) {
  if (IsProvisioned()) return Status(ResultCode::kEntryAlreadyExists, "the directory is already provisioned");
  if (provision.admin_password.empty()) {
    return Error(ResultCode::kConstraintViolation, "an administrator password is required");
  }
  Principal internal = Principal::Internal();
  const std::string suffix = suffix_.ToString();
  {
    auto txn = store_->BeginWrite();
    txn.PutMeta(meta::kSuffix, suffix);
    txn.PutMeta(meta::kMode, options_.ad_mode ? "ad" : "plain");
    if (options_.ad_mode) {
      txn.PutMeta(meta::kDomain, options_.domain_fqdn);
      txn.PutMeta(meta::kNetbios, options_.netbios);
    }
    directory_id_ = GuidToString(NewGuid());
    txn.PutMeta(meta::kDirectoryId, directory_id_);
    if (options_.ad_mode) {
      domain_sid_ = Sid::NewDomainSid();
      txn.PutMeta(meta::kDomainSid, domain_sid_->ToBinary());
      txn.PutMeta(meta::kNextRid, "1100");
    }
    SIMPLEAD_RETURN_IF_ERROR(txn.Commit());
  }
  auto add = [&](ldap::AddRequest request) { return Add(internal, std::move(request), {}, nullptr); };
  if (!options_.ad_mode) {
    const auto& rdn = suffix_.rdn().front();
    std::vector<ldap::Attribute> attrs{{"objectClass", {"top", "dcObject", "organization"}}, {"o", {rdn.value}}};
    if (!ldap::EqualsIgnoreCase(rdn.type, "dc")) {
      attrs = {{"objectClass", {"top", "organization"}}, {"o", {rdn.value}}};
    }
    SIMPLEAD_RETURN_IF_ERROR(add(Entry(suffix, attrs)));
    std::string admin_dn = provision.admin_dn.empty() ? "cn=admin," + suffix : provision.admin_dn;
    SIMPLEAD_ASSIGN_OR_RETURN(auto admin, ldap::Dn::Parse(admin_dn));
    SIMPLEAD_RETURN_IF_ERROR(add(Entry(admin_dn, {{"objectClass", {"top", "organizationalRole", "simpleSecurityObject"}},
                                                 {"cn", {admin.rdn().front().value}},
                                                 {"description", {"Directory administrator"}},
                                                 {"userPassword", {provision.admin_password}}})));
    auto txn = store_->BeginWrite();
    txn.PutMeta(meta::kAdminDn, DnKey(admin));
    SIMPLEAD_RETURN_IF_ERROR(txn.Commit());
    std::lock_guard lock(admin_mu_);
    admin_key_ = DnKey(admin);
    return Status::Ok();
  }

  const std::string dc = suffix_.rdn().front().value;
  const std::string upn_suffix = "@" + options_.domain_fqdn;
  SIMPLEAD_RETURN_IF_ERROR(add(Entry(
      suffix, {{"objectClass", {"top", "domain", "domainDNS"}},
               {"dc", {dc}},
               {"objectSid", {domain_sid_->ToBinary()}},
               {"minPwdLength", {"8"}},
               {"pwdProperties", {"1"}},
               {"pwdHistoryLength", {"24"}},
               {"maxPwdAge", {"-36288000000000"}},  // 42 days, in negative 100 ns ticks as AD stores it
               {"minPwdAge", {"-864000000000"}},    // 1 day
               {"lockoutThreshold", {"10"}},
               {"lockoutDuration", {"-18000000000"}},           // 30 minutes
               {"lockOutObservationWindow", {"-18000000000"}},  // 30 minutes
               {"description", {"SimpleAD domain " + options_.domain_fqdn}}})));
  auto container = [&](const std::string& cn, const std::string& description) {
    return add(Entry("CN=" + cn + "," + suffix,
                     {{"objectClass", {"top", "container"}}, {"cn", {cn}}, {"description", {description}}}));
  };
  SIMPLEAD_RETURN_IF_ERROR(container("Users", "Default container for upgraded user accounts"));
  SIMPLEAD_RETURN_IF_ERROR(container("Computers", "Default container for upgraded computer accounts"));
  SIMPLEAD_RETURN_IF_ERROR(container("System", "Builtin system settings"));
  SIMPLEAD_RETURN_IF_ERROR(container("ForeignSecurityPrincipals", "Default container for security identifiers (SIDs) associated with objects from external, trusted domains"));
  SIMPLEAD_RETURN_IF_ERROR(add(Entry("OU=Domain Controllers," + suffix,
                                     {{"objectClass", {"top", "organizationalUnit"}},
                                      {"ou", {"Domain Controllers"}},
                                      {"description", {"Default container for domain controllers"}}})));
  auto sid = [&](uint32_t rid) { return domain_sid_->WithRid(rid).ToBinary(); };
  const std::string users = "CN=Users," + suffix;
  SIMPLEAD_RETURN_IF_ERROR(add(Entry("CN=Administrator," + users,
                                     {{"objectClass", {"top", "person", "organizationalPerson", "user"}},
                                      {"cn", {"Administrator"}},
                                      {"sAMAccountName", {"Administrator"}},
                                      {"userPrincipalName", {"Administrator" + upn_suffix}},
                                      {"description", {"Built-in account for administering the domain"}},
                                      {"objectSid", {sid(500)}},
                                      {"userAccountControl", {"66048"}},  // normal account, password never expires
                                      {"userPassword", {provision.admin_password}}})));
  SIMPLEAD_RETURN_IF_ERROR(add(Entry("CN=Guest," + users,
                                     {{"objectClass", {"top", "person", "organizationalPerson", "user"}},
                                      {"cn", {"Guest"}},
                                      {"sAMAccountName", {"Guest"}},
                                      {"description", {"Built-in account for guest access to the domain"}},
                                      {"objectSid", {sid(501)}},
                                      {"userAccountControl", {"66082"}}})));  // disabled
  auto group = [&](const std::string& cn, uint32_t rid, const std::string& description,
                   std::vector<std::string> members) {
    std::vector<ldap::Attribute> attrs{{"objectClass", {"top", "group"}},
                                       {"cn", {cn}},
                                       {"sAMAccountName", {cn}},
                                       {"description", {description}},
                                       {"objectSid", {sid(rid)}},
                                       {"groupType", {"-2147483646"}}};
    if (!members.empty()) attrs.push_back({"member", std::move(members)});
    return add(Entry("CN=" + cn + "," + users, std::move(attrs)));
  };
  SIMPLEAD_RETURN_IF_ERROR(group("Domain Admins", 512, "Designated administrators of the domain",
                                 {"CN=Administrator," + users}));
  SIMPLEAD_RETURN_IF_ERROR(group("Domain Users", 513, "All domain users", {}));
  SIMPLEAD_RETURN_IF_ERROR(group("Domain Guests", 514, "All domain guests", {"CN=Guest," + users}));
  SIMPLEAD_RETURN_IF_ERROR(group("Domain Computers", 515, "All workstations and servers joined to the domain", {}));
  SIMPLEAD_RETURN_IF_ERROR(group("Domain Controllers", 516, "All domain controllers in the domain", {}));
  // Ours, not AD's: members read the directory and never write (access rules, docs/security.md).
  SIMPLEAD_RETURN_IF_ERROR(add(Entry("CN=Service Accounts," + users,
                                     {{"objectClass", {"top", "group"}},
                                      {"cn", {"Service Accounts"}},
                                      {"sAMAccountName", {"Service Accounts"}},
                                      {"description", {"Read-only service accounts: members read the directory "
                                                       "and never write to it"}},
                                      {"groupType", {"-2147483646"}}})));
  return Status::Ok();
}

}  // namespace simplead::backend
