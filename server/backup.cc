#include "server/backup.h"

#include <sys/stat.h>

#include <filesystem>

namespace simplead::server {

namespace fs = std::filesystem;

namespace {
// KMS files that belong in a backup: wrapped keys and KDF parameters, no secret.
constexpr const char* kKmsBackupFiles[] = {"kms-metadata.json", "passphrase.params"};
}  // namespace

Status WriteBackup(backend::Directory& directory, const std::string& data_dir, const std::string& target) {
  std::error_code ec;
  if (fs::exists(target, ec)) return Error(ResultCode::kEntryAlreadyExists, target + " already exists");
  fs::create_directories(target + "/kms", ec);
  if (ec) return InternalError("cannot create " + target + ": " + ec.message());
  ::chmod(target.c_str(), 0700);
  SIMPLEAD_RETURN_IF_ERROR(directory.Backup(target + "/db"));
  for (const char* name : kKmsBackupFiles) {
    std::string from = data_dir + "/kms/" + name;
    if (!fs::exists(from, ec)) continue;
    fs::copy_file(from, target + "/kms/" + name, ec);
    if (ec) return InternalError("cannot copy " + from + ": " + ec.message());
  }
  return Status::Ok();
}

Status RestoreBackup(const std::string& backup, const std::string& data_dir, const std::string& root_key_file) {
  std::error_code ec;
  if (!fs::exists(backup + "/db/CURRENT", ec)) {
    return Error(ResultCode::kOther, backup + " is not a backup made by simplead-admin backup");
  }
  if (fs::exists(data_dir + "/db", ec)) return Error(ResultCode::kEntryAlreadyExists, data_dir + " already holds a directory");
  bool file_store = !fs::exists(backup + "/kms/passphrase.params", ec);
  if (file_store && fs::exists(backup + "/kms/kms-metadata.json", ec) && root_key_file.empty()) {
    return Error(ResultCode::kOther,
                 "the backup holds no root key (by design); give --kms-root-key with the original data dir's "
                 "kms/root.key");
  }
  fs::create_directories(data_dir + "/kms", ec);
  if (ec) return InternalError("cannot create " + data_dir + ": " + ec.message());
  ::chmod(data_dir.c_str(), 0700);
  ::chmod((data_dir + "/kms").c_str(), 0700);
  fs::copy(backup + "/db", data_dir + "/db", fs::copy_options::recursive, ec);
  if (ec) return InternalError("restore failed: " + ec.message());
  for (const char* name : kKmsBackupFiles) {
    std::string from = backup + "/kms/" + name;
    if (fs::exists(from, ec)) fs::copy_file(from, data_dir + "/kms/" + name, ec);
    if (ec) return InternalError("cannot restore " + from + ": " + ec.message());
  }
  if (!root_key_file.empty()) {
    std::string to = data_dir + "/kms/root.key";
    fs::copy_file(root_key_file, to, ec);
    if (ec) return InternalError("cannot copy the root key " + root_key_file + ": " + ec.message());
    ::chmod(to.c_str(), 0600);
  }
  return Status::Ok();
}

}  // namespace simplead::server
