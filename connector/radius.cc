#include "connector/radius.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <array>
#include <cstring>

namespace simplead::connector::radius {

namespace {

std::string Md5(std::initializer_list<std::string_view> parts) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_md5(), nullptr);
  for (auto p : parts) EVP_DigestUpdate(ctx, p.data(), p.size());
  EVP_DigestFinal_ex(ctx, digest, &len);
  EVP_MD_CTX_free(ctx);
  std::string out(reinterpret_cast<char*>(digest), len);
  OPENSSL_cleanse(digest, sizeof(digest));
  return out;
}

std::string HmacMd5(const SecureBytes& key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_md5(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac, &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

std::string_view AsView(const Authenticator& a) { return {reinterpret_cast<const char*>(a.data()), a.size()}; }

}  // namespace

Result<std::string> HidePassword(std::string_view password, const SecureBytes& secret, const Authenticator& auth) {
  if (password.empty() || password.size() > 128) {
    return Error(ResultCode::kConstraintViolation, "a RADIUS password must be 1 to 128 bytes");
  }
  SecureBytes padded(((password.size() + 15) / 16) * 16);
  std::memcpy(padded.data(), password.data(), password.size());
  std::string out(padded.size(), '\0');
  std::string previous(AsView(auth));
  for (size_t block = 0; block < padded.size(); block += 16) {
    std::string b = Md5({secret.view(), previous});
    for (size_t i = 0; i < 16; ++i) out[block + i] = static_cast<char>(padded.data()[block + i] ^ static_cast<uint8_t>(b[i]));
    OPENSSL_cleanse(b.data(), b.size());
    previous = out.substr(block, 16);
  }
  return out;
}

std::string EncodeAccessRequest(uint8_t id, const Authenticator& auth, const std::vector<Attribute>& attributes,
                                const SecureBytes& secret, bool message_authenticator) {
  std::string packet;
  packet.push_back(static_cast<char>(kAccessRequest));
  packet.push_back(static_cast<char>(id));
  packet.append(2, '\0');  // length, filled below
  packet.append(AsView(auth));
  for (const auto& a : attributes) {
    packet.push_back(static_cast<char>(a.type));
    packet.push_back(static_cast<char>(a.value.size() + 2));
    packet.append(a.value);
  }
  size_t ma_offset = 0;
  if (message_authenticator) {
    packet.push_back(static_cast<char>(kMessageAuthenticator));
    packet.push_back(18);
    ma_offset = packet.size();
    packet.append(16, '\0');
  }
  packet[2] = static_cast<char>(packet.size() >> 8);
  packet[3] = static_cast<char>(packet.size() & 0xff);
  if (message_authenticator) {
    // RFC 3579 §3.2: HMAC-MD5 over the packet with the field zeroed.
    std::string mac = HmacMd5(secret, packet);
    packet.replace(ma_offset, 16, mac);
  }
  return packet;
}

Result<uint8_t> VerifyResponse(std::string_view reply, uint8_t id, const Authenticator& request_auth,
                               const SecureBytes& secret) {
  if (reply.size() < 20) return Error(ResultCode::kProtocolError, "RADIUS reply shorter than its header");
  size_t length = (static_cast<uint8_t>(reply[2]) << 8) | static_cast<uint8_t>(reply[3]);
  if (length < 20 || length > reply.size() || length > 4096) {
    return Error(ResultCode::kProtocolError, "RADIUS reply length field is wrong");
  }
  reply = reply.substr(0, length);
  if (static_cast<uint8_t>(reply[1]) != id) return Error(ResultCode::kProtocolError, "RADIUS reply for another request");
  std::string expected =
      Md5({reply.substr(0, 4), AsView(request_auth), reply.substr(20), secret.view()});
  if (CRYPTO_memcmp(expected.data(), reply.data() + 4, 16) != 0) {
    return Error(ResultCode::kProtocolError, "RADIUS Response Authenticator does not verify (wrong shared secret?)");
  }
  // Walk the attributes; check a Message-Authenticator when there is one.
  size_t pos = 20;
  while (pos < reply.size()) {
    if (pos + 2 > reply.size()) return Error(ResultCode::kProtocolError, "truncated RADIUS attribute");
    uint8_t type = static_cast<uint8_t>(reply[pos]);
    uint8_t len = static_cast<uint8_t>(reply[pos + 1]);
    if (len < 2 || pos + len > reply.size()) return Error(ResultCode::kProtocolError, "bad RADIUS attribute length");
    if (type == kMessageAuthenticator) {
      if (len != 18) return Error(ResultCode::kProtocolError, "bad Message-Authenticator length");
      std::string copy(reply);
      copy.replace(4, 16, AsView(request_auth));
      copy.replace(pos + 2, 16, std::string(16, '\0'));
      std::string mac = HmacMd5(secret, copy);
      if (CRYPTO_memcmp(mac.data(), reply.data() + pos + 2, 16) != 0) {
        return Error(ResultCode::kProtocolError, "RADIUS Message-Authenticator does not verify");
      }
    }
    pos += len;
  }
  return static_cast<uint8_t>(reply[0]);
}

Verdict RadiusClient::Authenticate(std::string_view user, const SecureBytes& code, std::string* detail) const {
  namespace asio = boost::asio;
  using asio::ip::udp;
  asio::io_context io;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(options_.host, ec);
  udp::endpoint endpoint;
  if (ec) {
    udp::resolver resolver(io);
    auto results = resolver.resolve(udp::v4(), options_.host, std::to_string(options_.port), ec);
    if (ec || results.empty()) {
      *detail = "cannot resolve " + options_.host;
      return Verdict::kNoAnswer;
    }
    endpoint = *results.begin();
  } else {
    endpoint = udp::endpoint(address, options_.port);
  }
  udp::socket socket(io);
  socket.open(endpoint.protocol(), ec);
  if (ec) {
    *detail = "socket: " + ec.message();
    return Verdict::kNoAnswer;
  }
  socket.connect(endpoint, ec);  // only replies from the server's address reach us
  Authenticator auth{};
  uint8_t id = 0;
  if (RAND_bytes(auth.data(), static_cast<int>(auth.size())) != 1 || RAND_bytes(&id, 1) != 1) {
    *detail = "no randomness";
    return Verdict::kNoAnswer;
  }
  auto hidden = HidePassword(code.view(), options_.secret, auth);
  if (!hidden.ok()) {
    *detail = hidden.status().message();
    return Verdict::kReject;
  }
  std::vector<Attribute> attributes{{kUserName, std::string(user)},
                                    {kUserPassword, *hidden},
                                    {kNasIdentifier, options_.nas_identifier}};
  // One packet for every attempt: a retransmission keeps id and authenticator.
  std::string packet = EncodeAccessRequest(id, auth, attributes, options_.secret, /*message_authenticator=*/true);
  *detail = "no answer from " + options_.host + ":" + std::to_string(options_.port);
  for (int attempt = 0; attempt <= options_.retries; ++attempt) {
    socket.send(asio::buffer(packet), 0, ec);
    if (ec) {
      *detail = "send: " + ec.message();
      continue;
    }
    auto deadline = std::chrono::steady_clock::now() + options_.timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      std::array<char, 4096> buffer{};
      size_t received = 0;
      boost::system::error_code rec = asio::error::would_block;
      socket.async_receive(asio::buffer(buffer), [&](boost::system::error_code e, size_t n) {
        rec = e;
        received = n;
      });
      io.restart();
      io.run_until(deadline);
      if (rec == asio::error::would_block) {  // timed out
        socket.cancel();
        io.restart();
        io.run();
        break;
      }
      if (rec) {
        *detail = "receive: " + rec.message();  // e.g. ICMP port unreachable
        break;
      }
      auto verified = VerifyResponse(std::string_view(buffer.data(), received), id, auth, options_.secret);
      if (!verified.ok()) {
        *detail = verified.status().message();
        continue;  // not our answer or forged: keep waiting
      }
      switch (*verified) {
        case kAccessAccept:
          *detail = "accepted";
          return Verdict::kAccept;
        case kAccessReject:
          *detail = "rejected";
          return Verdict::kReject;
        case kAccessChallenge:
          *detail = "challenge (not supported)";
          return Verdict::kReject;
        default:
          *detail = "unexpected RADIUS code " + std::to_string(*verified);
          return Verdict::kReject;
      }
    }
  }
  return Verdict::kNoAnswer;
}

}  // namespace simplead::connector::radius
