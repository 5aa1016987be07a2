// SHA-256, HMAC-SHA-256 and HKDF-SHA-256 through OpenSSL 3. Algorithms are
// fetched once (function-local statics, never freed) so the per-call cost is
// only a context allocation; the digests then use the CPU's SHA extensions.
// Thread-safety: the fetched EVP_MD/EVP_MAC/EVP_KDF objects are immutable and
// shared; every call uses its own context (or a thread_local one).
#include "crypto/hash.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <cassert>
#include <cstdlib>

#include "crypto/internal.h"

namespace lifeboat {
namespace crypto_internal {

void OpenSslFatal(const char* what) {
  // Only reached on allocation failure or an OpenSSL bug; the callers' contracts
  // have no error path and returning a wrong digest or key would be worse.
  (void)what;
  std::abort();
}

}  // namespace crypto_internal

namespace {

using crypto_internal::OpenSslFatal;

const EVP_MD* Sha256Md() {
  static const EVP_MD* const md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (fetched == nullptr) OpenSslFatal("fetch SHA256");
    return fetched;
  }();
  return md;
}

EVP_MAC* HmacMac() {
  static EVP_MAC* const mac = [] {
    EVP_MAC* fetched = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (fetched == nullptr) OpenSslFatal("fetch HMAC");
    return fetched;
  }();
  return mac;
}

EVP_KDF* HkdfKdf() {
  static EVP_KDF* const kdf = [] {
    EVP_KDF* fetched = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
    if (fetched == nullptr) OpenSslFatal("fetch HKDF");
    return fetched;
  }();
  return kdf;
}

// An HMAC context with the digest already set (no key); dup'ed per call so
// the digest name is not parsed and fetched again each time.
const EVP_MAC_CTX* HmacTemplate() {
  static EVP_MAC_CTX* const tmpl = [] {
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(HmacMac());
    if (ctx == nullptr) OpenSslFatal("new HMAC context");
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    if (EVP_MAC_CTX_set_params(ctx, params) != 1) OpenSslFatal("set HMAC digest");
    return ctx;
  }();
  return tmpl;
}

// Runs init(key)/update/final on a context that already has its digest set.
Id HmacOnContext(EVP_MAC_CTX* ctx, const Key32& key, ByteView data) {
  Id id;
  size_t out_len = 0;
  if (EVP_MAC_init(ctx, key.data(), key.size(), nullptr) != 1 ||
      EVP_MAC_update(ctx, data.data(), data.size()) != 1 ||
      EVP_MAC_final(ctx, id.bytes.data(), &out_len, id.bytes.size()) != 1 ||
      out_len != id.bytes.size()) {
    OpenSslFatal("compute HMAC-SHA-256");
  }
  return id;
}

struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;

}  // namespace

Id Sha256(ByteView data) {
  Id id;
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), id.bytes.data(), &len, Sha256Md(), nullptr) != 1 ||
      len != id.bytes.size()) {
    OpenSslFatal("compute SHA-256");
  }
  return id;
}

struct Sha256Stream::Impl {
  EVP_MD_CTX* ctx = nullptr;
  bool finished = false;
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256Stream::Sha256Stream() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  if (impl_->ctx == nullptr || EVP_DigestInit_ex2(impl_->ctx, Sha256Md(), nullptr) != 1) {
    OpenSslFatal("start SHA-256 stream");
  }
}

Sha256Stream::~Sha256Stream() = default;

void Sha256Stream::Update(ByteView data) {
  assert(!impl_->finished);
  if (EVP_DigestUpdate(impl_->ctx, data.data(), data.size()) != 1) {
    OpenSslFatal("update SHA-256 stream");
  }
}

Id Sha256Stream::Finish() {
  assert(!impl_->finished);
  impl_->finished = true;
  Id id;
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(impl_->ctx, id.bytes.data(), &len) != 1 || len != id.bytes.size()) {
    OpenSslFatal("finish SHA-256 stream");
  }
  return id;
}

struct BlobIdStream::Impl {
  const BlobIdHasher* hasher = nullptr;
  MacCtxPtr ctx;
  void Start() {
    if (EVP_MAC_init(ctx.get(), hasher->key_.data(), hasher->key_.size(), nullptr) != 1) {
      OpenSslFatal("start HMAC-SHA-256");
    }
  }
};

BlobIdStream::BlobIdStream(const BlobIdHasher& hasher) : impl_(std::make_unique<Impl>()) {
  impl_->hasher = &hasher;
  impl_->ctx.reset(EVP_MAC_CTX_dup(HmacTemplate()));
  if (impl_->ctx == nullptr) OpenSslFatal("dup HMAC context");
  impl_->Start();
}

BlobIdStream::~BlobIdStream() = default;

void BlobIdStream::Update(ByteView data) {
  if (EVP_MAC_update(impl_->ctx.get(), data.data(), data.size()) != 1) {
    OpenSslFatal("update HMAC-SHA-256");
  }
}

Id BlobIdStream::Finish() {
  Id id;
  size_t out_len = 0;
  if (EVP_MAC_final(impl_->ctx.get(), id.bytes.data(), &out_len, id.bytes.size()) != 1 ||
      out_len != id.bytes.size()) {
    OpenSslFatal("finish HMAC-SHA-256");
  }
  impl_->Start();
  return id;
}

// The micro-benchmark (bench/micro, BM_HmacSha256*) showed the per-thread
// context to be the fastest for small inputs (no allocation, no digest fetch)
// and all variants equal at 1 MiB, where SHA-256 itself dominates.
Id HmacSha256(const Key32& key, ByteView data) {
  return crypto_internal::HmacSha256EvpMacThreadLocal(key, data);
}

namespace crypto_internal {

Id HmacSha256OneShot(const Key32& key, ByteView data) {
  Id id;
  unsigned int len = 0;
  if (HMAC(Sha256Md(), key.data(), static_cast<int>(key.size()), data.data(), data.size(),
           id.bytes.data(), &len) == nullptr ||
      len != id.bytes.size()) {
    OpenSslFatal("compute HMAC-SHA-256");
  }
  return id;
}

Id HmacSha256EvpMacNew(const Key32& key, ByteView data) {
  MacCtxPtr ctx(EVP_MAC_CTX_new(HmacMac()));
  if (ctx == nullptr) OpenSslFatal("new HMAC context");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (EVP_MAC_CTX_set_params(ctx.get(), params) != 1) OpenSslFatal("set HMAC digest");
  return HmacOnContext(ctx.get(), key, data);
}

Id HmacSha256EvpMacDup(const Key32& key, ByteView data) {
  MacCtxPtr ctx(EVP_MAC_CTX_dup(HmacTemplate()));
  if (ctx == nullptr) OpenSslFatal("dup HMAC context");
  return HmacOnContext(ctx.get(), key, data);
}

Id HmacSha256EvpMacThreadLocal(const Key32& key, ByteView data) {
  // EVP_MAC_init with a key fully re-keys the context, so one context per
  // thread can serve every key. The key schedule left in it is wiped by
  // EVP_MAC_CTX_free at thread exit.
  thread_local MacCtxPtr ctx;
  if (ctx == nullptr) {
    ctx.reset(EVP_MAC_CTX_dup(HmacTemplate()));
    if (ctx == nullptr) OpenSslFatal("dup HMAC context");
  }
  return HmacOnContext(ctx.get(), key, data);
}

}  // namespace crypto_internal

void Hkdf(ByteView ikm, ByteView salt, std::string_view info, std::span<uint8_t> out) {
  // REQUIRES (RFC 5869): out.size() <= 255 * 32.
  assert(out.size() <= 255 * 32);
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(HkdfKdf());
  if (ctx == nullptr) OpenSslFatal("new HKDF context");
  char digest[] = "SHA256";
  OSSL_PARAM params[5];
  size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                  const_cast<uint8_t*>(ikm.data()), ikm.size());
  // An absent salt is the RFC's "string of HashLen zeros", same as empty.
  if (!salt.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                    const_cast<uint8_t*>(salt.data()), salt.size());
  }
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                  const_cast<char*>(info.data()), info.size());
  params[n] = OSSL_PARAM_construct_end();
  const int rc = EVP_KDF_derive(ctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  if (rc != 1) OpenSslFatal("derive HKDF-SHA-256");
}

Key32 HkdfKey(const Key32& ikm, ByteView salt, std::string_view info) {
  Key32 key;
  Hkdf(ikm.View(), salt, info, std::span<uint8_t>(key.data(), key.size()));
  return key;
}

}  // namespace lifeboat
