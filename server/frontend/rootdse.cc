// The root DSE (RFC 4512 §5.1) and the subschema entry: what this server
// implements, listed exactly.
#include "lib/base/clock.h"
#include "lib/ldap/dn.h"
#include "server/frontend/frontend.h"

namespace simplead::frontend {

ldap::Entry Frontend::RootDse() const {
  FrontendOptions options;
  {
    std::lock_guard lock(options_mu_);
    options = options_;
  }
  const auto& dir = directory_.options();
  std::vector<std::string> controls{ldap::oid::kPagedResults,  ldap::oid::kServerSortRequest,
                                    ldap::oid::kAssertion,     ldap::oid::kPreRead,
                                    ldap::oid::kPostRead,      ldap::oid::kManageDsaIt,
                                    ldap::oid::kSubtreeDelete, ldap::oid::kPermissiveModify};
  std::vector<std::string> extensions{ldap::oid::kWhoAmI, ldap::oid::kPasswordModify};
  if (options.tls_available) extensions.push_back(ldap::oid::kStartTls);
  std::vector<ldap::Attribute> attrs{
      {"objectClass", {"top"}},
      {"namingContexts", {dir.suffix}},
      {"subschemaSubentry", {"cn=Subschema"}},
      {"supportedLDAPVersion", {"3"}},
      {"supportedControl", controls},
      {"supportedExtension", extensions},
      // All operational attributes with "+" (RFC 3673), increment (RFC 4525).
      {"supportedFeatures", {"1.3.6.1.4.1.4203.1.5.1", "1.3.6.1.1.14"}},
      {"vendorName", {"SimpleAD"}},
      {"vendorVersion", {options.vendor_version}},
      {"currentTime", {GeneralizedTime(std::chrono::system_clock::now())}},
  };
  std::string csn = directory_.context_csn();
  if (!csn.empty()) attrs.push_back({"contextCSN", {csn}});
  if (dir.ad_mode) {
    attrs.push_back({"defaultNamingContext", {dir.suffix}});
    attrs.push_back({"rootDomainNamingContext", {dir.suffix}});
    attrs.push_back({"dnsHostName", {"localhost." + dir.domain_fqdn}});
    attrs.push_back({"ldapServiceName", {dir.domain_fqdn + ":localhost$@" + ldap::ToLower(dir.domain_fqdn)}});
    attrs.push_back({"domainFunctionality", {"7"}});
  }
  return ldap::Entry(ldap::Dn(), std::move(attrs));
}

ldap::Entry Frontend::Subschema() const {
  std::vector<ldap::Attribute> attrs{{"objectClass", {"top", "subentry", "subschema", "extensibleObject"}},
                                     {"cn", {"Subschema"}}};
  for (auto& a : directory_.schema().SubschemaAttributes()) attrs.push_back(std::move(a));
  return ldap::Entry(*ldap::Dn::Parse("cn=Subschema"), std::move(attrs));
}

}  // namespace simplead::frontend
