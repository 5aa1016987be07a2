#include "backend/append_only_backend.h"

#include <algorithm>

namespace lifeboat {
namespace {

const char kAppendOnlyHint[] =
    "the repository was opened with --append-only (or LIFEBOAT_APPEND_ONLY=1); "
    "run forget/prune from a trusted machine without it";

}  // namespace

AppendOnlyBackend::AppendOnlyBackend(std::unique_ptr<Backend> inner) : inner_(std::move(inner)) {}

Status AppendOnlyBackend::CheckOverwrite(const ObjectName& name, ByteView data, bool* identical) {
  *identical = false;
  auto size = inner_->Stat(name);
  if (!size.ok()) {
    if (size.status().code() == Code::kNotFound) return Status::Ok();
    return size.status();
  }
  if (*size == data.size()) {
    LB_ASSIGN_OR_RETURN(Bytes stored, inner_->Load(name));
    if (stored.size() == data.size() && std::equal(stored.begin(), stored.end(), data.begin())) {
      *identical = true;
      return Status::Ok();
    }
  }
  return Status(
      Code::kPermissionDenied,
      "append-only mode: refusing to overwrite " + name.ToString() + " with different contents",
      kAppendOnlyHint);
}

Status AppendOnlyBackend::Save(const ObjectName& name, ByteView data) {
  if (name.type == ObjectType::kLock) return inner_->Save(name, data);
  LB_RETURN_IF_ERROR(ValidateObjectName(name));
  bool identical = false;
  LB_RETURN_IF_ERROR(CheckOverwrite(name, data, &identical));
  if (identical) return Status::Ok();
  return inner_->Save(name, data);
}

Status AppendOnlyBackend::SaveStaged(const ObjectName& name, StagedFile& file) {
  if (name.type != ObjectType::kLock) {
    LB_RETURN_IF_ERROR(ValidateObjectName(name));
    auto exists = inner_->Stat(name);
    if (exists.ok()) {
      // Rare (a retried upload): compare through a mapping, then drop the file.
      LB_ASSIGN_OR_RETURN(StagedFile::Mapping mapping, file.Map());
      bool identical = false;
      Status s = CheckOverwrite(name, mapping.view(), &identical);
      // Removed between Stat and CheckOverwrite: store it after all.
      if (s.ok() && !identical) s = inner_->Save(name, mapping.view());
      file.Discard();
      return s;
    }
    if (exists.status().code() != Code::kNotFound) return exists.status();
  }
  return inner_->SaveStaged(name, file);
}

Status AppendOnlyBackend::Remove(const ObjectName& name) {
  if (name.type == ObjectType::kLock) return inner_->Remove(name);
  return Status(Code::kPermissionDenied, "append-only mode: refusing to remove " + name.ToString(),
                kAppendOnlyHint);
}

}  // namespace lifeboat
