// Password-based key derivation with Argon2id (libsodium), used to wrap the
// repository master key in key files. Parameters are stored in the key file
// so they can be raised later without breaking old keys.
// Thread-safety: thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/result.h"
#include "crypto/keys.h"

namespace lifeboat {

struct KdfParams {
  uint64_t ops_limit = 3;                   // Argon2id passes
  uint64_t mem_limit = 64ull * 1024 * 1024;  // bytes
  Bytes salt;                               // 16 bytes
};

// Default parameters with a fresh random salt.
KdfParams NewKdfParams();

// Fails with kInvalidArgument for out-of-range parameters (limits that
// libsodium refuses, or a memory limit above 4 GiB read from an untrusted file)
// and kInternal if libsodium runs out of memory.
Result<Key32> DeriveKeyFromPassword(std::string_view password, const KdfParams& params);

}  // namespace lifeboat
