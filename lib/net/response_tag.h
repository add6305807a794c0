// Which response answers which request, for errors raised before a handler
// runs (busy, limits) and by handlers alike.
#pragma once

#include <string>

#include "lib/ldap/codec.h"
#include "lib/ldap/message.h"

namespace simplead::net {

// The response tag for a request op; nullopt for ops without a response
// (unbind, abandon).
std::optional<ldap::ResponseTag> ResponseTagFor(const ldap::RequestOp& op);

// A complete error/result PDU of the right type for `request`.
std::string EncodeErrorResponse(const ldap::Request& request, const ldap::LdapResult& result);

}  // namespace simplead::net
