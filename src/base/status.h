// Status: the outcome of an operation that can fail, passed across module
// boundaries instead of exceptions. Carries a code (what kind of failure, so
// callers can decide: retry, report, exit code), a message naming the object
// and the action, and an optional hint telling the user what to do.
// Thread-safety: a value type; immutable after construction.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace lifeboat {

enum class Code {
  kOk = 0,
  kNotFound,          // object, file or snapshot does not exist
  kAlreadyExists,     // create refused: object exists
  kInvalidArgument,   // caller or user supplied something malformed
  kCorrupt,           // stored data failed to parse or authenticate
  kWrongPassword,     // no key file opens with the given password
  kIoError,           // local or remote I/O failed (permanent unless kUnavailable)
  kNoSpace,           // ENOSPC / EDQUOT
  kPermissionDenied,  // EACCES / EPERM
  kLocked,            // repository locked by someone else
  kUnavailable,       // transient: worth retrying
  kCancelled,         // interrupted by the user or a signal
  kInternal,          // a bug: an invariant did not hold
  kUnsupported,       // not possible here (e.g. a rename across filesystems)
};

std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message, std::string hint = {})
      : code_(code), message_(std::move(message)), hint_(std::move(hint)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& hint() const { return hint_; }

  // "message" or "message (hint: ...)" — for logs and tests.
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(std::string_view context) const;
  Status WithHint(std::string hint) const { return Status(code_, message_, std::move(hint)); }

  // Explicitly discard a status whose failure does not matter (best-effort cleanup).
  void IgnoreError() const {}

 private:
  Code code_ = Code::kOk;
  std::string message_;
  std::string hint_;
};

inline Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
inline Status AlreadyExists(std::string m) { return Status(Code::kAlreadyExists, std::move(m)); }
inline Status InvalidArgument(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
inline Status Corrupt(std::string m) { return Status(Code::kCorrupt, std::move(m)); }
inline Status IoError(std::string m) { return Status(Code::kIoError, std::move(m)); }
inline Status Internal(std::string m) { return Status(Code::kInternal, std::move(m)); }

// Maps an errno value to a Status: "<action>: <strerror>" with a fitting code
// (ENOENT → kNotFound, ENOSPC → kNoSpace, EACCES → kPermissionDenied, ...).
Status ErrnoStatus(int err, std::string_view action);

}  // namespace lifeboat

#define LB_RETURN_IF_ERROR(expr)                 \
  do {                                           \
    ::lifeboat::Status lb_status_ = (expr);      \
    if (!lb_status_.ok()) return lb_status_;     \
  } while (0)
