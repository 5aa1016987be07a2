// Argon2id password hashing through libsodium's crypto_pwhash. Parameters are
// read from key files, which an attacker may control, so they are bounded
// before use (a huge memory limit would be a denial of service).
// Thread-safety: thread-safe (libsodium is initialised once, see keys.cc).
#include "crypto/password_kdf.h"

#include <sodium.h>

#include <algorithm>
#include <string>

#include "crypto/internal.h"

namespace lifeboat {
namespace {

constexpr uint64_t kMaxOpsLimit = 20;
constexpr uint64_t kMaxMemLimit = 4ull * 1024 * 1024 * 1024;

}  // namespace

KdfParams NewKdfParams() {
  KdfParams params;
  params.salt = RandomBytes(crypto_pwhash_argon2id_SALTBYTES);
  return params;
}

Result<Key32> DeriveKeyFromPassword(std::string_view password, const KdfParams& params) {
  crypto_internal::EnsureSodiumInitialized();
  if (params.salt.size() != crypto_pwhash_argon2id_SALTBYTES) {
    return InvalidArgument("derive key from password: salt is " +
                           std::to_string(params.salt.size()) + " bytes, want 16");
  }
  const uint64_t ops_min = crypto_pwhash_argon2id_OPSLIMIT_MIN;
  const uint64_t ops_max = std::min<uint64_t>(kMaxOpsLimit, crypto_pwhash_argon2id_OPSLIMIT_MAX);
  if (params.ops_limit < ops_min || params.ops_limit > ops_max) {
    return InvalidArgument("derive key from password: Argon2id ops limit " +
                           std::to_string(params.ops_limit) + " is outside [" +
                           std::to_string(ops_min) + ", " + std::to_string(ops_max) + "]");
  }
  const uint64_t mem_min = crypto_pwhash_argon2id_MEMLIMIT_MIN;
  const uint64_t mem_max = std::min<uint64_t>(kMaxMemLimit, crypto_pwhash_argon2id_MEMLIMIT_MAX);
  if (params.mem_limit < mem_min || params.mem_limit > mem_max) {
    return InvalidArgument("derive key from password: Argon2id memory limit " +
                           std::to_string(params.mem_limit) + " bytes is outside [" +
                           std::to_string(mem_min) + ", " + std::to_string(mem_max) + "]");
  }
  if (password.size() > crypto_pwhash_argon2id_PASSWD_MAX) {
    return InvalidArgument("derive key from password: password is too long");
  }
  Key32 key;
  if (crypto_pwhash(key.data(), key.size(), password.data(), password.size(), params.salt.data(),
                    params.ops_limit, static_cast<size_t>(params.mem_limit),
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Internal("derive key from password: Argon2id failed (out of memory for " +
                    std::to_string(params.mem_limit) + " bytes?)");
  }
  return key;
}

}  // namespace lifeboat
