// Object naming, name validation and the URL → backend registry (OpenBackend).
// The "memory:NAME" registry is process-wide: a map from NAME to a shared
// MemBackend behind a mutex, so every open of one NAME sees the same objects.
#include "backend/backend.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
#include <mutex>

#include "backend/local_backend.h"
#include "backend/mem_backend.h"

namespace lifeboat {

std::string_view ObjectTypeName(ObjectType type) {
  switch (type) {
    case ObjectType::kConfig:
      return "config";
    case ObjectType::kKey:
      return "keys";
    case ObjectType::kPack:
      return "data";
    case ObjectType::kIndex:
      return "index";
    case ObjectType::kSnapshot:
      return "snapshots";
    case ObjectType::kLock:
      return "locks";
    case ObjectType::kWal:
      return "wal";
  }
  return "unknown";
}

Status Backend::ListPrefix(ObjectType type, std::string_view name_prefix,
                           const std::function<Status(const ObjectInfo&)>& fn) {
  return List(type, [&](const ObjectInfo& info) {
    if (info.name.compare(0, name_prefix.size(), name_prefix) != 0) return Status::Ok();
    return fn(info);
  });
}

Status Backend::SaveStaged(const ObjectName& name, StagedFile& file) {
  LB_ASSIGN_OR_RETURN(StagedFile::Mapping mapping, file.Map());
  Status saved = Save(name, mapping.view());
  file.Discard();
  return saved;
}

Status Backend::LoadInto(const ObjectName& name, uint64_t offset, uint64_t length, RawBuffer* out) {
  LB_ASSIGN_OR_RETURN(Bytes data, Load(name, offset, length));
  out->Clear();
  out->Append(data);
  return Status::Ok();
}

Status Backend::LoadInPieces(const ObjectName& name, RawBuffer* out,
                             const std::function<Status(size_t loaded)>& on_loaded) {
  LB_RETURN_IF_ERROR(LoadInto(name, 0, 0, out));
  return out->size() > 0 ? on_loaded(out->size()) : Status::Ok();
}

Result<std::optional<int64_t>> Backend::RetainUntil(const ObjectName&) {
  return std::optional<int64_t>();
}

std::string ObjectName::ToString() const {
  if (type == ObjectType::kConfig) return "config";
  return std::string(ObjectTypeName(type)) + "/" + name;
}

Status ValidateObjectName(const ObjectName& name) {
  if (name.type == ObjectType::kConfig) {
    if (name.name.empty() || name.name == "config") return Status::Ok();
    return InvalidArgument("invalid object name '" + name.name + "' for the repository config");
  }
  auto bad = [&](std::string_view why) {
    return InvalidArgument("invalid object name '" + std::string(ObjectTypeName(name.type)) + "/" +
                           name.name + "': " + std::string(why));
  };
  if (name.name.empty()) return bad("empty name");
  if (name.name.size() > 255) return bad("longer than 255 characters");
  if (name.name[0] == '.') return bad("starts with '.'");
  if (name.type == ObjectType::kPack && name.name.size() < 2) {
    return bad("pack names have at least 2 characters");
  }
  for (char c : name.name) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return bad("only letters, digits, '_', '-' and '.' are allowed");
  }
  return Status::Ok();
}

namespace {

// Forwards to a MemBackend shared through the process-wide registry.
class SharedBackend final : public Backend {
 public:
  explicit SharedBackend(std::shared_ptr<Backend> inner) : inner_(std::move(inner)) {}
  std::string Location() const override { return inner_->Location(); }
  BackendCapabilities Capabilities() const override { return inner_->Capabilities(); }
  Status Create() override { return inner_->Create(); }
  Status Save(const ObjectName& name, ByteView data) override { return inner_->Save(name, data); }
  Result<Bytes> Load(const ObjectName& name, uint64_t offset, uint64_t length) override {
    return inner_->Load(name, offset, length);
  }
  Status LoadInto(const ObjectName& name, uint64_t offset, uint64_t length,
                  RawBuffer* out) override {
    return inner_->LoadInto(name, offset, length, out);
  }
  Result<uint64_t> Stat(const ObjectName& name) override { return inner_->Stat(name); }
  Status Remove(const ObjectName& name) override { return inner_->Remove(name); }
  Status List(ObjectType type, const std::function<Status(const ObjectInfo&)>& fn) override {
    return inner_->List(type, fn);
  }
  Result<std::optional<int64_t>> RetainUntil(const ObjectName& name) override {
    return inner_->RetainUntil(name);
  }

 private:
  std::shared_ptr<Backend> inner_;
};

std::shared_ptr<Backend> SharedMemBackend(const std::string& name) {
  static std::mutex mu;
  static auto* registry = new std::map<std::string, std::shared_ptr<Backend>>();  // never freed
  std::lock_guard lock(mu);
  auto& slot = (*registry)[name];
  if (!slot) slot = std::make_shared<MemBackend>("memory:" + name);
  return slot;
}

// Schemes lifeboat plans to support; named so the error says "not yet".
constexpr std::array<std::string_view, 8> kPlannedSchemes = {"sftp",  "s3", "rest",  "b2",
                                                             "azure", "gs", "swift", "rclone"};

bool IsSchemeChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '-' || c == '.';
}

Result<std::unique_ptr<Backend>> OpenLocal(const std::string& url, std::string_view path) {
  if (path.empty()) return InvalidArgument("invalid repository '" + url + "': empty path");
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(std::filesystem::path(path), ec);
  if (ec) {
    return IoError("unable to resolve repository path '" + std::string(path) +
                   "': " + ec.message());
  }
  std::string root = abs.lexically_normal().string();
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return std::unique_ptr<Backend>(std::make_unique<LocalBackend>(std::move(root)));
}

}  // namespace

Result<std::unique_ptr<Backend>> OpenBackend(const std::string& url) {
  if (url.empty()) {
    return Status(Code::kInvalidArgument, "no repository given",
                  "pass a path, local:PATH or memory:NAME");
  }
  // A scheme is "letters:" before any '/', at least two characters long.
  const size_t colon = url.find(':');
  const bool has_scheme =
      colon != std::string::npos && colon >= 2 && url.find('/') > colon &&
      std::all_of(url.begin(), url.begin() + static_cast<ptrdiff_t>(colon), IsSchemeChar);
  if (!has_scheme) return OpenLocal(url, url);

  const std::string scheme = url.substr(0, colon);
  const std::string rest = url.substr(colon + 1);
  if (scheme == "local") return OpenLocal(url, rest);
  if (scheme == "memory") {
    if (rest.empty())
      return InvalidArgument("invalid repository '" + url + "': memory backends need a name");
    return std::unique_ptr<Backend>(std::make_unique<SharedBackend>(SharedMemBackend(rest)));
  }
  for (std::string_view planned : kPlannedSchemes) {
    if (scheme == planned) {
      return Status(Code::kInvalidArgument, "backend '" + scheme + "' is not supported yet",
                    "use a local path or local:PATH");
    }
  }
  return Status(Code::kInvalidArgument, "unknown repository type '" + scheme + "' in '" + url + "'",
                "use a local path (write ./" + url + " for a relative path containing ':')");
}

Result<std::vector<std::string>> ListNames(Backend& backend, ObjectType type) {
  std::vector<std::string> names;
  LB_RETURN_IF_ERROR(backend.List(type, [&](const ObjectInfo& o) {
    names.push_back(o.name);
    return Status::Ok();
  }));
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::map<std::string, uint64_t>> ListSizes(Backend& backend, ObjectType type) {
  std::map<std::string, uint64_t> sizes;
  LB_RETURN_IF_ERROR(backend.List(type, [&](const ObjectInfo& o) {
    sizes[o.name] = o.size;
    return Status::Ok();
  }));
  return sizes;
}

Result<int64_t> RemoveUnlessRetained(Backend& backend, const ObjectName& name, int64_t now) {
  if (backend.Capabilities().object_lock) {
    auto until = backend.RetainUntil(name);
    if (!until.ok() && until.status().code() == Code::kNotFound) return int64_t{0};
    if (!until.ok()) {
      return until.status().WithContext("unable to read the retention of " + name.ToString());
    }
    if (*until && **until > now) return **until;
  }
  Status s = backend.Remove(name);
  if (!s.ok() && s.code() != Code::kNotFound) {
    return s.WithContext("unable to remove " + name.ToString());
  }
  return int64_t{0};
}

Result<uint64_t> StoredBytes(Backend& backend) {
  uint64_t total = 0;
  for (ObjectType type : {ObjectType::kKey, ObjectType::kPack, ObjectType::kIndex,
                          ObjectType::kSnapshot, ObjectType::kWal}) {
    LB_RETURN_IF_ERROR(backend.List(type, [&total](const ObjectInfo& info) {
      total += info.size;
      return Status::Ok();
    }));
  }
  return total;
}

}  // namespace lifeboat
