// LockingBackend: a test stand-in for an S3 bucket with Object Lock, over
// any backend. Neither test S3 server implements Object Lock, so objects
// named in `locked` report a retain-until date and refuse removal (as S3
// does with 403) until then. Tests only.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "backend/backend.h"

namespace lifeboat {

class LockingBackend final : public Backend {
 public:
  explicit LockingBackend(Backend* inner, bool capability = true)
      : inner_(inner), capability_(capability) {}
  std::string Location() const override { return "locking"; }
  BackendCapabilities Capabilities() const override {
    BackendCapabilities c = inner_->Capabilities();
    c.object_lock = capability_;
    return c;
  }
  Status Create() override { return inner_->Create(); }
  Status Save(const ObjectName& n, ByteView d) override { return inner_->Save(n, d); }
  Result<Bytes> Load(const ObjectName& n, uint64_t o, uint64_t l) override {
    return inner_->Load(n, o, l);
  }
  Result<uint64_t> Stat(const ObjectName& n) override { return inner_->Stat(n); }
  Status Remove(const ObjectName& n) override {
    auto it = locked.find(n.ToString());
    if (it != locked.end() && it->second > Now()) {
      return Status(Code::kPermissionDenied, n.ToString() + " is under Object Lock");
    }
    return inner_->Remove(n);
  }
  Status List(ObjectType t, const std::function<Status(const ObjectInfo&)>& fn) override {
    return inner_->List(t, fn);
  }
  Status ListPrefix(ObjectType t, std::string_view prefix,
                    const std::function<Status(const ObjectInfo&)>& fn) override {
    return inner_->ListPrefix(t, prefix, fn);
  }
  Result<std::optional<int64_t>> RetainUntil(const ObjectName& n) override {
    ++retain_calls;
    LB_RETURN_IF_ERROR(inner_->Stat(n).status());
    auto it = locked.find(n.ToString());
    if (it == locked.end()) return std::optional<int64_t>();
    return std::optional<int64_t>(it->second);
  }

  static int64_t Now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  std::map<std::string, int64_t> locked;  // "data/NAME" → retain-until (unix seconds)
  int retain_calls = 0;

 private:
  Backend* inner_;
  bool capability_;
};

}  // namespace lifeboat
