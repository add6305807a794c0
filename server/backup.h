// Backups of a data dir: a RocksDB checkpoint of the store plus the KMS key
// metadata (keys wrapped under the root key). The root key itself is never
// in a backup, by design: a stolen backup opens no secret. Restoring needs
// the root key file of the original data dir (or the same HSM token).
#pragma once

#include <string>

#include "lib/base/status.h"
#include "server/backend/directory.h"

namespace simplead::server {

// `target` must not exist; it gets db/ and kms/.
Status WriteBackup(backend::Directory& directory, const std::string& data_dir, const std::string& target);
// Into a new data dir. `root_key_file`: the original <data-dir>/kms/root.key
// (file key store); empty when the root key lives elsewhere (passphrase, HSM).
Status RestoreBackup(const std::string& backup, const std::string& data_dir, const std::string& root_key_file);

}  // namespace simplead::server
