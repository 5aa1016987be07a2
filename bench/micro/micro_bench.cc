// Micro-benchmarks for lifeboat's per-byte hot paths. Each reports bytes per
// second so the figures compare directly with disk and network throughput.
#include <benchmark/benchmark.h>
#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "chunker/chunker.h"
#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/internal.h"
#include "crypto/keys.h"
#include "crypto/password_kdf.h"
#include "repo/compression.h"
#include "repo/index.h"

namespace lifeboat {
namespace {

constexpr size_t kKiB = 1024;
constexpr size_t kMiB = 1024 * 1024;

Bytes PseudoRandom(size_t n, uint64_t seed) {
  Bytes out(n);
  uint64_t state = seed;
  for (size_t i = 0; i < n; i += 8) {
    state += 0x9e3779b97f4a7c15ull;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    for (size_t j = 0; j < 8 && i + j < n; ++j) out[i + j] = static_cast<uint8_t>(z >> (8 * j));
  }
  return out;
}

// Text-like data: words from a small vocabulary, lines of log output.
Bytes TextLike(size_t n) {
  static const char* const kWords[] = {"GET",
                                       "POST",
                                       "/api/v1/users",
                                       "/static/app.js",
                                       "200",
                                       "404",
                                       "HTTP/1.1",
                                       "user",
                                       "id",
                                       "timestamp",
                                       "2024-05-01",
                                       "INFO",
                                       "WARN",
                                       "request",
                                       "took",
                                       "ms",
                                       "session",
                                       "the",
                                       "a",
                                       "of",
                                       "backup"};
  Bytes out;
  out.reserve(n);
  uint64_t state = 12345;
  while (out.size() < n) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const char* w = kWords[(state >> 33) % (sizeof kWords / sizeof kWords[0])];
    out.insert(out.end(), w, w + std::char_traits<char>::length(w));
    out.push_back(((state >> 20) % 12) == 0 ? '\n' : ' ');
  }
  out.resize(n);
  return out;
}

void BM_Chunker(benchmark::State& state) {
  const Bytes data = PseudoRandom(64 * kMiB, 1);
  const Chunker chunker(GearTableFromSeed(Bytes(32, 1)), ChunkerParams{});
  size_t chunks = 0;
  for (auto _ : state) {
    size_t pos = 0;
    chunks = 0;
    while (pos < data.size()) {
      pos += chunker.FindCut(ByteView(data).subspan(pos));
      ++chunks;
    }
    benchmark::DoNotOptimize(pos);
  }
  state.counters["chunks"] = static_cast<double>(chunks);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Chunker)->Unit(benchmark::kMillisecond);

// The incremental scanner the backup uses, fed 128 KiB reads.
void BM_ChunkScanner(benchmark::State& state) {
  const Bytes data = PseudoRandom(64 * kMiB, 1);
  const Chunker chunker(GearTableFromSeed(Bytes(32, 1)), ChunkerParams{});
  size_t chunks = 0;
  for (auto _ : state) {
    ChunkScanner scanner(chunker);
    for (size_t pos = 0; pos < data.size(); pos += 128 * kKiB) {
      ByteView piece = ByteView(data).subspan(pos, std::min(128 * kKiB, data.size() - pos));
      while (!piece.empty()) {
        const size_t cut = scanner.Scan(piece);
        if (cut == ChunkScanner::kNoCut) break;
        ++chunks;
        piece = piece.subspan(cut);
      }
    }
  }
  state.counters["chunks"] = static_cast<double>(chunks);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_ChunkScanner)->Unit(benchmark::kMillisecond);

void BM_Sha256(benchmark::State& state) {
  const Bytes data = PseudoRandom(static_cast<size_t>(state.range(0)), 2);
  for (auto _ : state) benchmark::DoNotOptimize(Sha256(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Sha256)->Arg(1 * kKiB)->Arg(1 * kMiB);

template <Id (*Fn)(const Key32&, ByteView)>
void BM_Hmac(benchmark::State& state) {
  const Bytes data = PseudoRandom(static_cast<size_t>(state.range(0)), 3);
  const Key32 key = Key32::Random();
  for (auto _ : state) benchmark::DoNotOptimize(Fn(key, data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
// HmacSha256 is the production entry point; the others are the candidates it
// was chosen from (see hash.cc).
BENCHMARK(BM_Hmac<HmacSha256>)->Name("BM_HmacSha256")->Arg(1 * kKiB)->Arg(1 * kMiB);
BENCHMARK(BM_Hmac<crypto_internal::HmacSha256OneShot>)
    ->Name("BM_HmacSha256_OneShotHMAC")
    ->Arg(1 * kKiB)
    ->Arg(1 * kMiB);
BENCHMARK(BM_Hmac<crypto_internal::HmacSha256EvpMacNew>)
    ->Name("BM_HmacSha256_EvpMacNewCtx")
    ->Arg(1 * kKiB)
    ->Arg(1 * kMiB);
BENCHMARK(BM_Hmac<crypto_internal::HmacSha256EvpMacDup>)
    ->Name("BM_HmacSha256_EvpMacDupCtx")
    ->Arg(1 * kKiB)
    ->Arg(1 * kMiB);
BENCHMARK(BM_Hmac<crypto_internal::HmacSha256EvpMacThreadLocal>)
    ->Name("BM_HmacSha256_EvpMacThreadLocalCtx")
    ->Arg(1 * kKiB)
    ->Arg(1 * kMiB);

// The per-pack key derivation that opening any blob starts with (restore,
// check, loading trees): HKDF-SHA-256 of the master key and the pack's salt.
void BM_HkdfPackKey(benchmark::State& state) {
  const Key32 master = Key32::Random();
  const Bytes salt = RandomBytes(16);
  for (auto _ : state) {
    Key32 key = HkdfKey(master, salt, "lifeboat pack key");
    benchmark::DoNotOptimize(key.data());
  }
}
BENCHMARK(BM_HkdfPackKey);

// Opening a small blob (a tree), including the cipher context's set-up.
void BM_AesGcmOpenSmall(benchmark::State& state) {
  const Bytes data = PseudoRandom(2 * kKiB, 6);
  const Aead aead(Key32::Random());
  const Bytes nonce = RandomBytes(Aead::kNonceSize);
  Bytes sealed;
  aead.Seal(nonce, ByteView(), data, &sealed);
  Bytes out;
  for (auto _ : state) {
    out.clear();
    if (!aead.Open(nonce, ByteView(), sealed, &out).ok()) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_AesGcmOpenSmall);

void BM_AesGcmSeal(benchmark::State& state) {
  const Bytes data = PseudoRandom(1 * kMiB, 4);
  const Aead aead(Key32::Random());
  const Bytes nonce = RandomBytes(Aead::kNonceSize);
  Bytes out;
  out.reserve(data.size() + Aead::kTagSize);
  for (auto _ : state) {
    out.clear();
    aead.Seal(nonce, ByteView(), data, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_AesGcmSeal);

void BM_AesGcmOpen(benchmark::State& state) {
  const Bytes data = PseudoRandom(1 * kMiB, 5);
  const Aead aead(Key32::Random());
  const Bytes nonce = RandomBytes(Aead::kNonceSize);
  Bytes sealed;
  aead.Seal(nonce, ByteView(), data, &sealed);
  Bytes out;
  out.reserve(data.size());
  for (auto _ : state) {
    out.clear();
    if (!aead.Open(nonce, ByteView(), sealed, &out).ok()) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_AesGcmOpen);

// Args: zstd level, data kind (0 = text-like, 1 = random).
void BM_ZstdCompress(benchmark::State& state) {
  const int level = static_cast<int>(state.range(0));
  const bool random = state.range(1) != 0;
  const Bytes data = random ? PseudoRandom(1 * kMiB, 6) : TextLike(1 * kMiB);
  Bytes out(ZSTD_compressBound(data.size()));
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  size_t compressed = 0;
  for (auto _ : state) {
    compressed = ZSTD_compressCCtx(cctx, out.data(), out.size(), data.data(), data.size(), level);
    if (ZSTD_isError(compressed)) state.SkipWithError(ZSTD_getErrorName(compressed));
    benchmark::DoNotOptimize(out.data());
  }
  ZSTD_freeCCtx(cctx);
  state.SetLabel(std::string(random ? "random" : "text") + " ratio " +
                 std::to_string(static_cast<double>(data.size()) / compressed).substr(0, 5));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_ZstdCompress)->ArgNames({"level", "random"})->ArgsProduct({{1, 3}, {0, 1}});

// What the backup does per 1 MiB chunk: probe, then compress or store raw.
// Arg: data kind (0 = text-like, 1 = random).
void BM_CompressForStorage(benchmark::State& state) {
  const bool random = state.range(0) != 0;
  const Bytes data = random ? PseudoRandom(1 * kMiB, 6) : TextLike(1 * kMiB);
  RawBuffer out;
  bool compressed = false;
  for (auto _ : state) {
    compressed = CompressForStorage(data, 3, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(std::string(random ? "random" : "text") + (compressed ? " compressed" : " raw"));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_CompressForStorage)->ArgName("random")->Arg(0)->Arg(1);

// Index lookups in a master index of `n` blobs (hits and misses), the
// per-chunk cost of deduplication. Reports lookups per second.
void BM_IndexLookup(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const bool hit = state.range(1) != 0;
  MasterIndex index;
  std::vector<Id> ids;
  IndexedPack pack;
  for (size_t i = 0; i < n; ++i) {
    Id id = Sha256(ByteView(reinterpret_cast<const uint8_t*>(&i), sizeof i));
    PackedBlob b;
    b.id = id;
    b.offset = 8 + static_cast<uint32_t>(pack.blobs.size()) * 100;
    b.length = 100;
    b.raw_length = 84;
    pack.blobs.push_back(b);
    ids.push_back(id);
    if (pack.blobs.size() == 1000 || i + 1 == n) {
      pack.id = Sha256(id.View());
      pack.salt = Bytes(32, 1);
      index.AddPack(pack);
      pack.blobs.clear();
    }
  }
  if (!hit) {
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = Sha256(ids[i].View());
  }
  size_t found = 0, i = 0;
  for (auto _ : state) {
    found += index.Has(format::BlobType::kData, ids[i]) ? 1 : 0;
    if (++i == ids.size()) i = 0;
  }
  benchmark::DoNotOptimize(found);
  state.counters["index_MB"] = static_cast<double>(index.MemoryBytes()) / 1e6;
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_IndexLookup)->ArgNames({"blobs", "hit"})->ArgsProduct({{100000, 1000000}, {0, 1}});

void BM_Argon2idDefault(benchmark::State& state) {
  const KdfParams params = NewKdfParams();
  for (auto _ : state) {
    Result<Key32> key = DeriveKeyFromPassword("correct horse battery staple", params);
    if (!key.ok()) state.SkipWithError("Argon2id failed");
    benchmark::DoNotOptimize(key);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * params.mem_limit));
}
BENCHMARK(BM_Argon2idDefault)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace lifeboat

BENCHMARK_MAIN();
