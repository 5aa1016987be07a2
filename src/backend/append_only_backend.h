// AppendOnlyBackend: a decorator that lets a client add to a repository but
// never destroy or change what is there (lifeboat --append-only): a backup
// host whose credentials are stolen cannot wipe its own history.
//
//  - Save of a new name is forwarded. Save of a name that already exists
//    succeeds only if the stored bytes are identical (a retried upload of a
//    content-addressed pack, index or snapshot; nothing is written again);
//    different bytes are refused with kPermissionDenied.
//  - Remove is refused with kPermissionDenied, except for lock files
//    (ObjectType::kLock), which a client must be able to refresh and remove.
//  - Save of a lock file is always forwarded (locks are refreshed in place).
//  - Everything else (Load, Stat, List, Create, RetainUntil, staging) is
//    forwarded unchanged.
//
// This is a client-side guard against mistakes and against lifeboat being
// told to delete; it is no defence against an attacker who runs other code
// with the same credentials. For that the server must enforce it (the
// append-only SFTP account, S3 Object Lock; README "Ransomware-resistant
// setup").
//
// Ownership: owns `inner`. Thread-safety: as thread-safe as `inner`.
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"

namespace lifeboat {

class AppendOnlyBackend final : public Backend {
 public:
  explicit AppendOnlyBackend(std::unique_ptr<Backend> inner);

  std::string Location() const override { return inner_->Location(); }
  BackendCapabilities Capabilities() const override { return inner_->Capabilities(); }
  Status Create() override { return inner_->Create(); }
  Status Save(const ObjectName& name, ByteView data) override;
  Result<Bytes> Load(const ObjectName& name, uint64_t offset = 0, uint64_t length = 0) override {
    return inner_->Load(name, offset, length);
  }
  Status LoadInto(const ObjectName& name, uint64_t offset, uint64_t length,
                  RawBuffer* out) override {
    return inner_->LoadInto(name, offset, length, out);
  }
  Status LoadInPieces(const ObjectName& name, RawBuffer* out,
                      const std::function<Status(size_t loaded)>& on_loaded) override {
    return inner_->LoadInPieces(name, out, on_loaded);
  }
  Result<uint64_t> Stat(const ObjectName& name) override { return inner_->Stat(name); }
  Status Remove(const ObjectName& name) override;
  Status List(ObjectType type, const std::function<Status(const ObjectInfo&)>& fn) override {
    return inner_->List(type, fn);
  }
  Status ListPrefix(ObjectType type, std::string_view name_prefix,
                    const std::function<Status(const ObjectInfo&)>& fn) override {
    return inner_->ListPrefix(type, name_prefix, fn);
  }
  std::string StagingDir() const override { return inner_->StagingDir(); }
  Status SaveStaged(const ObjectName& name, StagedFile& file) override;
  Result<std::optional<int64_t>> RetainUntil(const ObjectName& name) override {
    return inner_->RetainUntil(name);
  }

  Backend& inner() { return *inner_; }

 private:
  // OK when `name` does not exist yet (the caller then stores it); OK with
  // *identical = true when it exists with exactly `data`; else the refusal.
  Status CheckOverwrite(const ObjectName& name, ByteView data, bool* identical);

  std::unique_ptr<Backend> inner_;
};

}  // namespace lifeboat
