// Pkcs11KeyStore: the root key lives in a PKCS#11 token (CKA_SENSITIVE,
// non-extractable) and every wrap/unwrap is a CKM_AES_GCM C_Encrypt/C_Decrypt
// inside the token.
#include <dlfcn.h>
#include <p11-kit-1/p11-kit/pkcs11.h>

#include <cstring>
#include <vector>

#include "lib/kms/crypto.h"
#include "lib/kms/key_store.h"

namespace simplead::kms {

struct Pkcs11KeyStore::Impl {
  void* module = nullptr;
  CK_FUNCTION_LIST_PTR fn = nullptr;
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
  std::mutex mu;  // one session: PKCS#11 sessions are not for concurrent use

  ~Impl() {
    // No C_Logout: login state is shared by all of the process's sessions
    // and ends by itself when the last one closes.
    if (fn != nullptr && session != CK_INVALID_HANDLE) fn->C_CloseSession(session);
    // The module stays loaded and initialised: another store in this process
    // may share it, and PKCS#11 has one C_Initialize per process.
  }
};

namespace {

Status P11Error(const char* what, CK_RV rv) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "PKCS#11 %s failed: CKR 0x%lx", what, static_cast<unsigned long>(rv));
  return InternalError(buf);
}

std::string Padded(std::string_view label) {
  std::string s(label.substr(0, 32));
  s.resize(32, ' ');
  return s;
}

}  // namespace

Pkcs11KeyStore::Pkcs11KeyStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pkcs11KeyStore::~Pkcs11KeyStore() = default;

Result<std::unique_ptr<Pkcs11KeyStore>> Pkcs11KeyStore::Open(const Pkcs11Options& o) {
  auto impl = std::make_unique<Impl>();
  impl->module = ::dlopen(o.module_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (impl->module == nullptr) return InternalError("cannot load PKCS#11 module " + o.module_path);
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(impl->module, "C_GetFunctionList"));
  if (get_list == nullptr) return InternalError(o.module_path + " is not a PKCS#11 module");
  CK_RV rv = get_list(&impl->fn);
  if (rv != CKR_OK) return P11Error("C_GetFunctionList", rv);
  CK_FUNCTION_LIST_PTR f = impl->fn;

  CK_C_INITIALIZE_ARGS init_args{};
  init_args.flags = CKF_OS_LOCKING_OK;
  rv = f->C_Initialize(&init_args);
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) return P11Error("C_Initialize", rv);

  CK_ULONG count = 0;
  rv = f->C_GetSlotList(CK_TRUE, nullptr, &count);
  if (rv != CKR_OK) return P11Error("C_GetSlotList", rv);
  std::vector<CK_SLOT_ID> slots(count);
  rv = f->C_GetSlotList(CK_TRUE, slots.data(), &count);
  if (rv != CKR_OK) return P11Error("C_GetSlotList", rv);
  std::string want = Padded(o.token_label);
  CK_SLOT_ID slot = 0;
  bool found = false;
  for (CK_ULONG i = 0; i < count && !found; ++i) {
    CK_TOKEN_INFO info{};
    if (f->C_GetTokenInfo(slots[i], &info) != CKR_OK) continue;
    if (std::memcmp(info.label, want.data(), 32) == 0) {
      slot = slots[i];
      found = true;
    }
  }
  if (!found) return Error(ResultCode::kNoSuchObject, "no PKCS#11 token labelled '" + o.token_label + "'");

  rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &impl->session);
  if (rv != CKR_OK) return P11Error("C_OpenSession", rv);
  SecureBytes pin = o.pin;
  rv = f->C_Login(impl->session, CKU_USER, pin.data(), pin.size());
  if (rv == CKR_PIN_INCORRECT) return Error(ResultCode::kInvalidCredentials, "wrong PKCS#11 token PIN");
  if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) return P11Error("C_Login", rv);

  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_KEY_TYPE type = CKK_AES;
  std::string label = o.key_label;
  CK_ATTRIBUTE find[] = {{CKA_CLASS, &cls, sizeof cls},
                         {CKA_KEY_TYPE, &type, sizeof type},
                         {CKA_LABEL, label.data(), label.size()}};
  rv = f->C_FindObjectsInit(impl->session, find, 3);
  if (rv != CKR_OK) return P11Error("C_FindObjectsInit", rv);
  CK_ULONG n = 0;
  rv = f->C_FindObjects(impl->session, &impl->key, 1, &n);
  f->C_FindObjectsFinal(impl->session);
  if (rv != CKR_OK) return P11Error("C_FindObjects", rv);
  if (n == 0) {
    if (!o.create_key_if_missing) {
      return Error(ResultCode::kNoSuchObject, "no root key labelled '" + o.key_label + "' in the token");
    }
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ULONG len = 32;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls},        {CKA_KEY_TYPE, &type, sizeof type},
                           {CKA_LABEL, label.data(), label.size()}, {CKA_VALUE_LEN, &len, sizeof len},
                           {CKA_TOKEN, &yes, sizeof yes},        {CKA_PRIVATE, &yes, sizeof yes},
                           {CKA_SENSITIVE, &yes, sizeof yes},    {CKA_EXTRACTABLE, &no, sizeof no},
                           {CKA_ENCRYPT, &yes, sizeof yes},      {CKA_DECRYPT, &yes, sizeof yes}};
    CK_MECHANISM gen{CKM_AES_KEY_GEN, nullptr, 0};
    rv = f->C_GenerateKey(impl->session, &gen, tmpl, sizeof tmpl / sizeof tmpl[0], &impl->key);
    if (rv != CKR_OK) return P11Error("C_GenerateKey", rv);
  }
  return std::unique_ptr<Pkcs11KeyStore>(new Pkcs11KeyStore(std::move(impl)));
}

Result<std::string> Pkcs11KeyStore::Wrap(const SecureBytes& material, std::string_view aad) {
  SIMPLEAD_ASSIGN_OR_RETURN(std::string nonce, RandomString(kGcmNonceSize));
  std::string aad_copy(aad);
  CK_GCM_PARAMS params{};
  params.pIv = reinterpret_cast<CK_BYTE_PTR>(nonce.data());
  params.ulIvLen = nonce.size();
  params.ulIvBits = nonce.size() * 8;
  params.pAAD = reinterpret_cast<CK_BYTE_PTR>(aad_copy.data());
  params.ulAADLen = aad_copy.size();
  params.ulTagBits = kGcmTagSize * 8;
  CK_MECHANISM mech{CKM_AES_GCM, &params, sizeof params};
  std::lock_guard lock(impl_->mu);
  CK_FUNCTION_LIST_PTR f = impl_->fn;
  CK_RV rv = f->C_EncryptInit(impl_->session, &mech, impl_->key);
  if (rv != CKR_OK) return P11Error("C_EncryptInit", rv);
  SecureBytes in = material;
  std::string out(material.size() + kGcmTagSize, '\0');
  CK_ULONG out_len = out.size();
  rv = f->C_Encrypt(impl_->session, in.data(), in.size(), reinterpret_cast<CK_BYTE_PTR>(out.data()), &out_len);
  if (rv != CKR_OK) return P11Error("C_Encrypt", rv);
  out.resize(out_len);
  return nonce + out;
}

Result<SecureBytes> Pkcs11KeyStore::Unwrap(std::string_view wrapped, std::string_view aad) {
  if (wrapped.size() < kGcmNonceSize + kGcmTagSize) return InternalError("wrapped key is truncated");
  std::string nonce(wrapped.substr(0, kGcmNonceSize));
  std::string ct(wrapped.substr(kGcmNonceSize));
  std::string aad_copy(aad);
  CK_GCM_PARAMS params{};
  params.pIv = reinterpret_cast<CK_BYTE_PTR>(nonce.data());
  params.ulIvLen = nonce.size();
  params.ulIvBits = nonce.size() * 8;
  params.pAAD = reinterpret_cast<CK_BYTE_PTR>(aad_copy.data());
  params.ulAADLen = aad_copy.size();
  params.ulTagBits = kGcmTagSize * 8;
  CK_MECHANISM mech{CKM_AES_GCM, &params, sizeof params};
  std::lock_guard lock(impl_->mu);
  CK_FUNCTION_LIST_PTR f = impl_->fn;
  CK_RV rv = f->C_DecryptInit(impl_->session, &mech, impl_->key);
  if (rv != CKR_OK) return P11Error("C_DecryptInit", rv);
  SecureBytes out(ct.size());
  CK_ULONG out_len = out.size();
  rv = f->C_Decrypt(impl_->session, reinterpret_cast<CK_BYTE_PTR>(ct.data()), ct.size(), out.data(), &out_len);
  if (rv != CKR_OK) return InternalError("wrapped key does not verify under the token's root key");
  out.resize(out_len);
  return out;
}

}  // namespace simplead::kms
