// CompressForStorage: what is stored compressed and what raw (the probe that
// skips incompressible data must not turn away compressible data), and that
// frames round-trip through ZstdDecompress.
#include "repo/compression.h"

#include <gtest/gtest.h>

#include <zstd.h>

#include <random>
#include <string>

namespace lifeboat {
namespace {

Bytes RandomBytesOf(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

Bytes TextOf(size_t n) {
  std::string s;
  for (int i = 0; s.size() < n; ++i)
    s += "INSERT INTO orders VALUES (" + std::to_string(i) + ", 'x');\n";
  s.resize(n);
  return Bytes(s.begin(), s.end());
}

TEST(CompressForStorageTest, CompressibleDataIsCompressedAndRoundTrips) {
  for (size_t size : {size_t{100}, size_t{200000}, size_t{3} << 20}) {
    Bytes text = TextOf(size);
    RawBuffer out;
    ASSERT_TRUE(CompressForStorage(text, 3, &out)) << size;
    EXPECT_LT(out.size(), size > 1000 ? text.size() / 4 : text.size() - text.size() / 32);
    auto back = ZstdDecompress(out.view(), text.size(), text.size());
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, text);
  }
}

TEST(CompressForStorageTest, IncompressibleDataIsStoredRaw) {
  RawBuffer out;
  EXPECT_FALSE(CompressForStorage(RandomBytesOf(50000, 1), 3, &out));    // full attempt
  EXPECT_FALSE(CompressForStorage(RandomBytesOf(1 << 20, 2), 3, &out));  // probed
  EXPECT_FALSE(CompressForStorage(TextOf(63), 3, &out));                 // too short to bother
}

TEST(CompressForStorageTest, ProbeDoesNotRejectMostlyCompressibleData) {
  // Random bytes only at the very start (like a file header or an embedded
  // thumbnail): one of four samples is incompressible, the rest is text.
  Bytes data = RandomBytesOf(20000, 3);
  Bytes text = TextOf(1 << 20);
  data.insert(data.end(), text.begin(), text.end());
  RawBuffer out;
  EXPECT_TRUE(CompressForStorage(data, 3, &out));
}

// Each thread's context reuses the largest workspace zstd freed: frames must
// stay exactly what a fresh context makes, whatever sizes came before (more
// than 128 small inputs in a row make zstd shrink its workspace, a large one
// makes it grow again).
TEST(CompressForStorageTest, ReusedWorkspaceGivesTheSameFramesAsAFreshContext) {
  const Bytes large = TextOf(3 << 20), medium = TextOf(20000), small = TextOf(300);
  for (int round = 0; round < 3; ++round) {
    for (const Bytes* input : {&large, &small, &medium, &small}) {
      const int repeats = input == &small ? 200 : 1;
      for (int i = 0; i < repeats; ++i) {
        for (int level : {1, 3, 6}) {
          RawBuffer out;
          ASSERT_TRUE(CompressForStorage(*input, level, &out));
          Bytes fresh;
          ZstdCompress(*input, level, &fresh);  // through the same context...
          Bytes reference(ZSTD_compressBound(input->size()));
          reference.resize(ZSTD_compress(reference.data(), reference.size(), input->data(),
                                         input->size(), level));  // ...and a new one
          ASSERT_EQ(Bytes(out.view().begin(), out.view().end()), reference);
          ASSERT_EQ(fresh, reference);
        }
      }
    }
  }
}

}  // namespace
}  // namespace lifeboat
