// MemBackend implementation: see mem_backend.h.
#include "backend/mem_backend.h"

#include <vector>

namespace lifeboat {

MemBackend::MemBackend(std::string location) : location_(std::move(location)) {}

MemBackend::Key MemBackend::KeyOf(const ObjectName& name) {
  if (name.type == ObjectType::kConfig) return {ObjectType::kConfig, "config"};
  return {name.type, name.name};
}

Status MemBackend::Create() {
  std::lock_guard lock(mu_);
  if (objects_.count({ObjectType::kConfig, "config"}) != 0) {
    return AlreadyExists("unable to create repository in " + location_ +
                         ": a repository config already exists");
  }
  return Status::Ok();
}

Status MemBackend::Save(const ObjectName& name, ByteView data) {
  LB_RETURN_IF_ERROR(ValidateObjectName(name));
  auto copy = std::make_shared<const Bytes>(data.begin(), data.end());
  std::lock_guard lock(mu_);
  objects_[KeyOf(name)] = std::move(copy);
  return Status::Ok();
}

Result<Bytes> MemBackend::Load(const ObjectName& name, uint64_t offset, uint64_t length) {
  LB_RETURN_IF_ERROR(ValidateObjectName(name));
  std::shared_ptr<const Bytes> object;
  {
    std::lock_guard lock(mu_);
    auto it = objects_.find(KeyOf(name));
    if (it == objects_.end()) {
      return NotFound("unable to load " + name.ToString() + " from " + location_ + ": not found");
    }
    object = it->second;
  }
  const uint64_t size = object->size();
  if (offset > size || length > size - offset) {
    return Corrupt("unable to load " + name.ToString() + " from " + location_ +
                   ": range at offset " + std::to_string(offset) + " length " +
                   std::to_string(length) + " is past the end of the object (" +
                   std::to_string(size) + " bytes)");
  }
  const uint64_t n = length == 0 ? size - offset : length;
  return Bytes(object->begin() + static_cast<ptrdiff_t>(offset),
               object->begin() + static_cast<ptrdiff_t>(offset + n));
}

Result<uint64_t> MemBackend::Stat(const ObjectName& name) {
  LB_RETURN_IF_ERROR(ValidateObjectName(name));
  std::lock_guard lock(mu_);
  auto it = objects_.find(KeyOf(name));
  if (it == objects_.end()) {
    return NotFound("unable to stat " + name.ToString() + " in " + location_ + ": not found");
  }
  return static_cast<uint64_t>(it->second->size());
}

Status MemBackend::Remove(const ObjectName& name) {
  LB_RETURN_IF_ERROR(ValidateObjectName(name));
  std::lock_guard lock(mu_);
  if (objects_.erase(KeyOf(name)) == 0) {
    return NotFound("unable to remove " + name.ToString() + " from " + location_ + ": not found");
  }
  return Status::Ok();
}

Status MemBackend::List(ObjectType type, const std::function<Status(const ObjectInfo&)>& fn) {
  std::vector<ObjectInfo> infos;
  {
    std::lock_guard lock(mu_);
    for (auto it = objects_.lower_bound({type, std::string()});
         it != objects_.end() && it->first.first == type; ++it) {
      infos.push_back({it->first.second, it->second->size()});
    }
  }
  for (const ObjectInfo& info : infos) LB_RETURN_IF_ERROR(fn(info));
  return Status::Ok();
}

size_t MemBackend::ObjectCount() const {
  std::lock_guard lock(mu_);
  return objects_.size();
}

}  // namespace lifeboat
