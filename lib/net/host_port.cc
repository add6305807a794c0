#include "lib/net/host_port.h"

#include <cctype>

namespace simplead::net {

Result<std::pair<std::string, uint16_t>> ParseHostPort(std::string_view text) {
  std::string quoted = "'" + std::string(text) + "'";
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return Error(ResultCode::kOther, quoted + " is not HOST:PORT");
  }
  std::string host(text.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = 0;
  for (size_t i = colon + 1; i < text.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i])) || port > 65535) {
      return Error(ResultCode::kOther, quoted + " has no valid port");
    }
    port = port * 10 + (text[i] - '0');
  }
  if (port > 65535) return Error(ResultCode::kOther, "port out of range in " + quoted);
  return std::pair{host, static_cast<uint16_t>(port)};
}

}  // namespace simplead::net
