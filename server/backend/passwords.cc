#include "server/backend/passwords.h"

namespace simplead::backend {

Result<SecureBytes> DecodeUnicodePwd(std::string_view value) {
  auto bad = [] {
    return Status(ResultCode::kConstraintViolation,
                  "unicodePwd must be the password in double quotes, encoded as UTF-16LE");
  };
  if (value.size() < 4 || value.size() % 2 != 0) return bad();
  SecureBytes out;
  std::string utf8;
  std::vector<uint32_t> units;
  for (size_t i = 0; i < value.size(); i += 2) {
    units.push_back(static_cast<uint8_t>(value[i]) | (static_cast<uint32_t>(static_cast<uint8_t>(value[i + 1])) << 8));
  }
  if (units.front() != '"' || units.back() != '"') return bad();
  for (size_t i = 1; i + 1 < units.size(); ++i) {
    uint32_t cp = units[i];
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (i + 2 >= units.size() || units[i + 1] < 0xDC00 || units[i + 1] > 0xDFFF) return bad();
      cp = 0x10000 + ((cp - 0xD800) << 10) + (units[i + 1] - 0xDC00);
      ++i;
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
      return bad();
    }
    if (cp < 0x80) {
      utf8.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      utf8.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      utf8.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      utf8.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      utf8.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      utf8.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      utf8.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      utf8.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      utf8.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      utf8.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  out = SecureBytes(utf8);
  WipeString(utf8);
  return out;
}

std::string EncodeUnicodePwd(std::string_view utf8_password) {
  std::string quoted = "\"" + std::string(utf8_password) + "\"";
  std::string out;
  for (size_t i = 0; i < quoted.size();) {
    uint32_t cp = static_cast<uint8_t>(quoted[i]);
    size_t len = 1;
    if (cp >= 0xF0 && i + 3 < quoted.size() + 0) {
      cp = ((cp & 0x07) << 18) | ((quoted[i + 1] & 0x3F) << 12) | ((quoted[i + 2] & 0x3F) << 6) | (quoted[i + 3] & 0x3F);
      len = 4;
    } else if (cp >= 0xE0 && i + 2 < quoted.size()) {
      cp = ((cp & 0x0F) << 12) | ((quoted[i + 1] & 0x3F) << 6) | (quoted[i + 2] & 0x3F);
      len = 3;
    } else if (cp >= 0xC0 && i + 1 < quoted.size()) {
      cp = ((cp & 0x1F) << 6) | (quoted[i + 1] & 0x3F);
      len = 2;
    }
    i += len;
    auto put = [&](uint32_t unit) {
      out.push_back(static_cast<char>(unit & 0xff));
      out.push_back(static_cast<char>((unit >> 8) & 0xff));
    };
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put(0xD800 + (cp >> 10));
      put(0xDC00 + (cp & 0x3FF));
    } else {
      put(cp);
    }
  }
  return out;
}

Status CheckPasswordAcceptable(std::string_view password) {
  if (password.empty()) return Error(ResultCode::kConstraintViolation, "the password must not be empty");
  if (password.size() > 256) {
    return Error(ResultCode::kConstraintViolation, "the password is longer than 256 bytes");
  }
  if (password.find('\0') != std::string_view::npos) {
    return Error(ResultCode::kConstraintViolation, "the password contains a NUL character");
  }
  return Status::Ok();
}

}  // namespace simplead::backend
