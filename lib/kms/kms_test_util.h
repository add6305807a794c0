// Test helpers for lib/kms: temporary directories, a KMS over each kind of
// key store (file, passphrase, SoftHSM2 through PKCS#11) with a FakeClock
// and an audit trail, and the SoftHSM2 token set-up. Tests only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "lib/base/clock.h"
#include "lib/kms/kms.h"

namespace simplead::kms::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

enum class StoreKind { kFile, kPassphrase, kPkcs11 };
std::string StoreKindName(StoreKind kind);

// True once a SoftHSM2 token "simplead-test" (PIN 1234) exists for this
// process (created in a temporary token directory, SOFTHSM2_CONF set);
// false if softhsm2-util is not installed.
bool EnsureSoftHsmToken();

// A fresh key store of `kind` in `dir`; PKCS#11 stores get a root key with
// a unique label.
Result<std::unique_ptr<KeyStore>> MakeKeyStore(StoreKind kind, const std::string& dir);

struct KmsHarness {
  TempDir dir;
  FakeClock clock;
  std::unique_ptr<AuditTrail> audit;
  std::unique_ptr<Kms> kms;
  Caller admin;  // creates the keys
  Caller other;  // in no key policy
  std::string audit_path() const { return dir.path() + "/audit.log"; }
  // Lines of the audit trail, parsed.
  std::vector<nlohmann::json> AuditLines() const;
};

Result<std::unique_ptr<KmsHarness>> MakeHarness(StoreKind kind, KmsOptions options = {});

std::string VectorsDir();

}  // namespace simplead::kms::testing
