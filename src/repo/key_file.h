// Key files (keys/<id>): the repository master key wrapped by a key derived
// from one password with Argon2id. Several key files may wrap the same master
// key, one per password. JSON document, see docs/FORMAT.md "Key files".
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "base/result.h"
#include "crypto/keys.h"
#include "crypto/password_kdf.h"

namespace lifeboat {

struct KeyFileInfo {
  int64_t created_ns = 0;
  std::string hostname;
  std::string username;
  KdfParams kdf;
};

// Wraps `master` under `password` with the parameters in info.kdf.
std::string CreateKeyFile(const Key32& master, std::string_view password, const KeyFileInfo& info);

// Parses the document without unwrapping (for `key list`).
Result<KeyFileInfo> ReadKeyFileInfo(std::string_view json);

// Unwraps the master key. kWrongPassword if the password does not open it,
// kCorrupt if the document is malformed.
Result<Key32> OpenKeyFile(std::string_view json, std::string_view password);

}  // namespace lifeboat
