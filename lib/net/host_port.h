// "HOST:PORT" addresses, as every listen and upstream option is written
// ("127.0.0.1:389", "[::1]:636"). Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "lib/base/status.h"

namespace simplead::net {

// Host (brackets of an IPv6 literal removed) and port; an error naming the
// text when it has no host, no port or a port outside 0..65535.
Result<std::pair<std::string, uint16_t>> ParseHostPort(std::string_view text);

}  // namespace simplead::net
