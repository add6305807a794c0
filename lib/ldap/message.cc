#include "lib/ldap/message.h"

#include <type_traits>

namespace simplead::ldap {

const char* OperationName(const RequestOp& op) {
  return std::visit(
      [](const auto& request) -> const char* {
        using T = std::decay_t<decltype(request)>;
        if constexpr (std::is_same_v<T, BindRequest>) return "BIND";
        if constexpr (std::is_same_v<T, UnbindRequest>) return "UNBIND";
        if constexpr (std::is_same_v<T, SearchRequest>) return "SEARCH";
        if constexpr (std::is_same_v<T, AddRequest>) return "ADD";
        if constexpr (std::is_same_v<T, DeleteRequest>) return "DELETE";
        if constexpr (std::is_same_v<T, ModifyRequest>) return "MODIFY";
        if constexpr (std::is_same_v<T, ModifyDnRequest>) return "MODRDN";
        if constexpr (std::is_same_v<T, CompareRequest>) return "COMPARE";
        if constexpr (std::is_same_v<T, AbandonRequest>) return "ABANDON";
        if constexpr (std::is_same_v<T, ExtendedRequest>) return "EXTENDED";
        return "UNKNOWN";
      },
      op);
}

}  // namespace simplead::ldap
