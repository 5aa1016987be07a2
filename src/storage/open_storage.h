// OpenStorage: turns a repository location into a Backend, for every kind of
// storage lifeboat knows: a local path ("/srv/backup", "local:PATH"),
// "memory:NAME" (tests), "s3:https://HOST[:PORT]/BUCKET[/PREFIX]" and
// "sftp:[USER@]HOST[:PORT]:/PATH". It sits above the backend modules (which
// cannot depend on each other) and is what the CLI calls.
//
// `options` are the user's "-o KEY=VALUE" settings. Each key belongs to one
// kind of storage by its prefix ("s3.region", "sftp.key"); a key for another
// kind than the location's, or one its backend does not know, is an error,
// so a typo never passes silently.
// Thread-safety: thread-safe (no shared state of its own).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "backend/backend.h"
#include "base/result.h"

namespace lifeboat {

using StorageOptions = std::map<std::string, std::string>;

Result<std::unique_ptr<Backend>> OpenStorage(const std::string& url,
                                             const StorageOptions& options = {});

// Parses "KEY=VALUE" settings (as given to -o) into a map; a setting without
// '=' or with an empty key, or a key given twice, is kInvalidArgument.
Result<StorageOptions> ParseStorageOptions(const std::vector<std::string>& settings);

}  // namespace lifeboat
