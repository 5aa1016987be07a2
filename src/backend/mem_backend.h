// MemBackend: an in-memory object store for unit tests. Objects live in a map
// guarded by a mutex; nothing survives the process (Capabilities().durable is
// false). Loads return copies, so callers never alias stored data.
// Thread-safety: all methods may be called concurrently. List calls `fn`
// without holding the lock, so `fn` may call back into the backend.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "backend/backend.h"

namespace lifeboat {

class MemBackend final : public Backend {
 public:
  // `location` is only used in Location() and messages.
  explicit MemBackend(std::string location = "memory");

  std::string Location() const override { return location_; }
  BackendCapabilities Capabilities() const override { return {.durable = false, .local = true}; }

  // Fails with kAlreadyExists once a config object has been saved. Save works
  // before Create too (there is nothing to prepare).
  Status Create() override;
  Status Save(const ObjectName& name, ByteView data) override;
  Result<Bytes> Load(const ObjectName& name, uint64_t offset = 0, uint64_t length = 0) override;
  Result<uint64_t> Stat(const ObjectName& name) override;
  Status Remove(const ObjectName& name) override;
  Status List(ObjectType type, const std::function<Status(const ObjectInfo&)>& fn) override;

  // Number of stored objects of all types (for tests).
  size_t ObjectCount() const;

 private:
  using Key = std::pair<ObjectType, std::string>;
  static Key KeyOf(const ObjectName& name);

  const std::string location_;
  mutable std::mutex mu_;
  std::map<Key, std::shared_ptr<const Bytes>> objects_;  // guarded by mu_
};

}  // namespace lifeboat
