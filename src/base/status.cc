#include "base/status.h"

#include <cerrno>
#include <cstring>

namespace lifeboat {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kNotFound: return "not found";
    case Code::kAlreadyExists: return "already exists";
    case Code::kInvalidArgument: return "invalid argument";
    case Code::kCorrupt: return "corrupt";
    case Code::kWrongPassword: return "wrong password";
    case Code::kIoError: return "I/O error";
    case Code::kNoSpace: return "no space left";
    case Code::kPermissionDenied: return "permission denied";
    case Code::kLocked: return "locked";
    case Code::kUnavailable: return "unavailable";
    case Code::kCancelled: return "cancelled";
    case Code::kInternal: return "internal error";
    case Code::kUnsupported: return "unsupported";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string s = message_;
  if (!hint_.empty()) s += " (hint: " + hint_ + ")";
  return s;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  return Status(code_, std::string(context) + ": " + message_, hint_);
}

Status ErrnoStatus(int err, std::string_view action) {
  std::string msg = std::string(action) + ": " + std::strerror(err);
  switch (err) {
    case ENOENT: case ENOTDIR: return Status(Code::kNotFound, msg);
    case EEXIST: return Status(Code::kAlreadyExists, msg);
    case ENOSPC: case EDQUOT:
      return Status(Code::kNoSpace, msg, "free space on the target filesystem and run again");
    case EACCES: case EPERM: case EROFS: return Status(Code::kPermissionDenied, msg);
    case EINTR: case EAGAIN: case ETIMEDOUT: case ECONNRESET: return Status(Code::kUnavailable, msg);
    case EINVAL: case ENAMETOOLONG: return Status(Code::kInvalidArgument, msg);
    default: return Status(Code::kIoError, msg);
  }
}

}  // namespace lifeboat
