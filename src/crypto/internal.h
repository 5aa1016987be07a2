// Helpers shared by the crypto .cc files, tests and micro-benchmarks; not part
// of the module's public API. Thread-safety: all functions are thread-safe.
#pragma once

#include "base/id.h"
#include "crypto/keys.h"

namespace lifeboat::crypto_internal {

// Calls sodium_init() exactly once (thread-safe). Aborts if libsodium cannot
// initialise (no entropy source): continuing would produce weak keys.
void EnsureSodiumInitialized();

// Stops the process when OpenSSL fails in a way that only allocation failure
// or a library bug can cause, in functions whose contract has no error path.
[[noreturn]] void OpenSslFatal(const char* what);

// Alternative HMAC-SHA-256 implementations, kept for the micro-benchmark that
// chose HmacSha256's implementation and for tests that cross-check them.
Id HmacSha256OneShot(const Key32& key, ByteView data);            // HMAC()
Id HmacSha256EvpMacNew(const Key32& key, ByteView data);          // fresh EVP_MAC_CTX per call
Id HmacSha256EvpMacDup(const Key32& key, ByteView data);          // dup of a prepared EVP_MAC_CTX
Id HmacSha256EvpMacThreadLocal(const Key32& key, ByteView data);  // per-thread EVP_MAC_CTX

}  // namespace lifeboat::crypto_internal
