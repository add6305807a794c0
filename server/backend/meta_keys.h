// Keys of the directory's records in the store's meta keyspace (documented
// in docs/storage-format.md).
#pragma once

namespace simplead::backend::meta {
inline constexpr const char* kSuffix = "suffix";
inline constexpr const char* kDomainSid = "domain_sid";
inline constexpr const char* kNextRid = "next_rid";
inline constexpr const char* kContextCsn = "context_csn";
inline constexpr const char* kAdminDn = "admin_dn";
inline constexpr const char* kMode = "mode";
inline constexpr const char* kDirectoryId = "directory_id";
inline constexpr const char* kDomain = "domain";
inline constexpr const char* kNetbios = "netbios";
}  // namespace simplead::backend::meta
