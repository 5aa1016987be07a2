// Result<T>: either a value or a failed Status. Use LB_ASSIGN_OR_RETURN to
// unwrap in functions that themselves return Status or Result.
// Thread-safety: a value type.
#pragma once

#include <cassert>
#include <utility>
#include <variant>

#include "base/status.h"

namespace lifeboat {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok() && "Result constructed from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace lifeboat

#define LB_CONCAT_INNER(a, b) a##b
#define LB_CONCAT(a, b) LB_CONCAT_INNER(a, b)
#define LB_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
// LB_ASSIGN_OR_RETURN(auto x, Foo()); — declares/assigns x or returns the error.
#define LB_ASSIGN_OR_RETURN(lhs, expr) \
  LB_ASSIGN_OR_RETURN_IMPL(LB_CONCAT(lb_result_, __LINE__), lhs, expr)
