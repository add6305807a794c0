// A RADIUS client for multi-factor binds: PAP Access-Request (RFC 2865) over
// UDP, User-Password hidden with the RFC 2865 §5.2 MD5 scheme, a
// Message-Authenticator (RFC 3579 §3.2, HMAC-MD5) on every request, and the
// Response Authenticator of every answer verified before it is believed.
// Attempts and waits are bounded by the options.
//
// The packet functions are pure and thread-safe. RadiusClient::Authenticate
// BLOCKS (up to timeout x (retries + 1)): run it on a worker pool. A client
// is safe for concurrent use (each call has its own socket).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/secure_bytes.h"
#include "lib/base/status.h"

namespace simplead::connector::radius {

using Authenticator = std::array<uint8_t, 16>;

enum Code : uint8_t { kAccessRequest = 1, kAccessAccept = 2, kAccessReject = 3, kAccessChallenge = 11 };
enum AttributeType : uint8_t {
  kUserName = 1,
  kUserPassword = 2,
  kNasIpAddress = 4,
  kNasPort = 5,
  kNasIdentifier = 32,
  kMessageAuthenticator = 80,
};

struct Attribute {
  uint8_t type = 0;
  std::string value;
};

// RFC 2865 §5.2: the password padded to a multiple of 16 (at most 128
// bytes), XORed with the MD5 chain over secret + authenticator.
Result<std::string> HidePassword(std::string_view password, const SecureBytes& secret, const Authenticator& auth);

// A complete Access-Request. With `message_authenticator` the packet ends in a
// Message-Authenticator computed with `secret`. The User-Password attribute
// must already be hidden (HidePassword).
std::string EncodeAccessRequest(uint8_t id, const Authenticator& auth, const std::vector<Attribute>& attributes,
                                const SecureBytes& secret, bool message_authenticator);

// Checks a reply to the request (id, auth): length, id, Response
// Authenticator (MD5(code|id|len|request auth|attributes|secret)) and, when
// present, its Message-Authenticator. Returns the reply's code.
Result<uint8_t> VerifyResponse(std::string_view reply, uint8_t id, const Authenticator& request_auth,
                               const SecureBytes& secret);

struct ClientOptions {
  std::string host;
  uint16_t port = 1812;
  SecureBytes secret;
  std::chrono::seconds timeout{5};  // per attempt
  int retries = 2;                  // extra attempts after the first
  std::string nas_identifier = "adconnector";
};

enum class Verdict { kAccept, kReject, kNoAnswer };

class RadiusClient {
 public:
  explicit RadiusClient(ClientOptions options) : options_(std::move(options)) {}
  // Access-Request for user with the one-time code as PAP password.
  // kReject also covers an Access-Challenge (not supported) and replies
  // that fail verification are ignored (as if lost).
  Verdict Authenticate(std::string_view user, const SecureBytes& code, std::string* detail) const;

 private:
  ClientOptions options_;
};

}  // namespace simplead::connector::radius
