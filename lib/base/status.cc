#include "lib/base/status.h"

namespace simplead {

std::string Status::ToString() const {
  if (ok()) return "success";
  std::string out(ResultCodeName(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

}  // namespace simplead
