// Test-only helpers shared by the tests of repo and the modules above it:
// repository settings that keep tests fast (cheap KDF, small packs and
// chunks, so blobs spread over many packs) and reproducible incompressible
// data. Header-only; not part of lb_repo.
#pragma once

#include <cstdint>

#include "repo/repository.h"

namespace lifeboat::test_support {

inline InitOptions FastInit(uint64_t pack_size = 64 * 1024,
                            ChunkerParams chunker = {2048, 8192, 65536}) {
  InitOptions o;
  KdfParams kdf = NewKdfParams();
  kdf.ops_limit = 1;
  kdf.mem_limit = 8 << 20;
  o.kdf = kdf;
  o.pack_size = pack_size;
  o.chunker = chunker;
  return o;
}

// Incompressible pseudo-random bytes, reproducible from the seed.
inline Bytes Pattern(size_t n, uint32_t seed) {
  Bytes b(n);
  uint32_t x = seed * 2654435761u + 1;
  for (auto& c : b) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<uint8_t>(x >> 24);
  }
  return b;
}

}  // namespace lifeboat::test_support
