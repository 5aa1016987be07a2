// CompressForStorage: what is stored compressed and what raw (the probe that
// skips incompressible data must not turn away compressible data), and that
// frames round-trip through ZstdDecompress.
#include "repo/compression.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace lifeboat
