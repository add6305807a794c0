// Status and Result<T>: errors as values. A Status carries an LDAP result
// code, a human-readable diagnostic and (for noSuchObject) the matched DN, so
// a library error reaches the wire without translation tables in between.
// Both are plain value types, safe to copy between threads.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "lib/base/result_code.h"

namespace simplead {

class [[nodiscard]] Status {
 public:
  Status() = default;  // success
  Status(ResultCode code, std::string message, std::string matched_dn = {})
      : code_(code), message_(std::move(message)), matched_dn_(std::move(matched_dn)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == ResultCode::kSuccess; }
  ResultCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& matched_dn() const { return matched_dn_; }

  // "noSuchObject: entry does not exist" — for logs and CLI errors.
  std::string ToString() const;

 private:
  ResultCode code_ = ResultCode::kSuccess;
  std::string message_;
  std::string matched_dn_;
};

// Shorthands for the common cases.
inline Status Error(ResultCode code, std::string message) { return Status(code, std::move(message)); }
inline Status InternalError(std::string message) { return Status(ResultCode::kOther, std::move(message)); }

// Result<T> holds a T or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : data_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(data_).ok() && "Result built from an ok Status");
  }

  bool ok() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return ok(); }

  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(data_);
  }
  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace simplead

// Propagate a non-ok Status from an expression returning Status.
#define SIMPLEAD_RETURN_IF_ERROR(expr)          \
  do {                                          \
    ::simplead::Status _st = (expr);            \
    if (!_st.ok()) return _st;                  \
  } while (0)

#define SIMPLEAD_CONCAT_INNER(a, b) a##b
#define SIMPLEAD_CONCAT(a, b) SIMPLEAD_CONCAT_INNER(a, b)
// Assign the value of a Result<T> expression or return its Status.
#define SIMPLEAD_ASSIGN_OR_RETURN(lhs, expr) \
  SIMPLEAD_ASSIGN_OR_RETURN_IMPL(SIMPLEAD_CONCAT(_res_, __LINE__), lhs, expr)
#define SIMPLEAD_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(tmp).value()
