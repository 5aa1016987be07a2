// Tests for the FastCDC chunker: the documented cut rules (against a
// straightforward reference implementation and frozen golden values), chunk
// size limits, boundary stability under insertion, seed dependence.
#include "chunker/chunker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "crypto/hash.h"

namespace lifeboat {
namespace {

constexpr size_t kMiB = 1024 * 1024;

// Deterministic pseudo-random bytes (splitmix64).
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

GearTable TestGear(uint8_t seed_byte = 7) { return GearTableFromSeed(Bytes(32, seed_byte)); }

std::vector<size_t> ChunkLengths(const Chunker& chunker, ByteView data) {
  std::vector<size_t> lengths;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t len = chunker.FindCut(data.subspan(pos));
    EXPECT_GE(len, 1u);
    if (len == 0) break;
    lengths.push_back(len);
    pos += len;
  }
  return lengths;
}

// A direct transcription of the rules in docs/FORMAT.md, written
// independently of the optimised loop in chunker.cc.
uint64_t ReferenceMask(int bits) {
  uint64_t mask = 0;
  for (int k = 0; k < bits; ++k) mask |= uint64_t{1} << (63 - (k * 48) / bits);
  return mask;
}

size_t ReferenceCut(const GearTable& gear, const ChunkerParams& p, ByteView data) {
  int b = 0;
  while ((size_t{1} << b) < p.avg_size) ++b;
  const uint64_t mask_small = ReferenceMask(b + 2);
  const uint64_t mask_large = ReferenceMask(b - 2);
  if (data.size() <= p.min_size) return data.size();
  const size_t n = std::min(data.size(), p.max_size);
  uint64_t h = 0;
  for (size_t i = p.min_size; i < n; ++i) {
    h = (h << 1) + gear[data[i]];
    const uint64_t mask = i < std::min(p.avg_size, n) ? mask_small : mask_large;
    if ((h & mask) == 0) return i + 1;
  }
  return n;
}

TEST(GearTableTest, DerivedFromHkdfLittleEndian) {
  Bytes seed(32, 7);
  GearTable gear = GearTableFromSeed(seed);
  Bytes expanded(2048);
  Hkdf(seed, ByteView(), "lifeboat chunker gear v1", expanded);
  for (size_t i = 0; i < 256; ++i) {
    uint64_t v = 0;
    for (int j = 0; j < 8; ++j) v |= uint64_t{expanded[8 * i + j]} << (8 * j);
    ASSERT_EQ(gear[i], v) << i;
  }
  EXPECT_NE(GearTableFromSeed(Bytes(32, 8)), gear);
  EXPECT_EQ(GearTableFromSeed(seed), gear);
}

TEST(ChunkerTest, ValidateParams) {
  EXPECT_TRUE(Chunker::ValidateParams(ChunkerParams{}).ok());
  EXPECT_TRUE(Chunker::ValidateParams({2048, 8192, 65536}).ok());
  EXPECT_TRUE(Chunker::ValidateParams({8192, 8192, 8192}).ok());
  EXPECT_EQ(Chunker::ValidateParams({2048, 10000, 65536}).code(), Code::kInvalidArgument);
  EXPECT_EQ(Chunker::ValidateParams({2048, 32, 65536}).code(), Code::kInvalidArgument);
  EXPECT_EQ(Chunker::ValidateParams({0, 8192, 65536}).code(), Code::kInvalidArgument);
  EXPECT_EQ(Chunker::ValidateParams({16384, 8192, 65536}).code(), Code::kInvalidArgument);
  EXPECT_EQ(Chunker::ValidateParams({2048, 8192, 4096}).code(), Code::kInvalidArgument);
}

TEST(ChunkerTest, EmptyAndShortInputs) {
  Chunker chunker(TestGear(), ChunkerParams{});
  EXPECT_EQ(chunker.FindCut(ByteView()), 0u);
  Bytes small = PseudoRandom(1000, 1);
  EXPECT_EQ(chunker.FindCut(small), 1000u);
  Bytes at_min = PseudoRandom(256 * 1024, 1);
  EXPECT_EQ(chunker.FindCut(at_min), at_min.size());
}

TEST(ChunkerTest, MatchesReferenceImplementation) {
  for (ChunkerParams p : {ChunkerParams{}, ChunkerParams{2048, 8192, 65536},
                          ChunkerParams{4096, 4096, 16384}, ChunkerParams{64, 128, 1024}}) {
    const GearTable gear = TestGear();
    Chunker chunker(gear, p);
    Bytes data = PseudoRandom(std::min(24 * kMiB, 300 * p.max_size), p.avg_size);
    size_t pos = 0;
    while (pos < data.size()) {
      ByteView rest = ByteView(data).subspan(pos);
      size_t got = chunker.FindCut(rest);
      ASSERT_EQ(got, ReferenceCut(gear, p, rest)) << "avg " << p.avg_size << " at " << pos;
      pos += got;
    }
  }
}

// Frozen output: a change here changes the repository format (chunk
// boundaries, hence deduplication against existing repositories). The values
// were cross-checked with an independent Python implementation of the rules.
TEST(ChunkerTest, GoldenBoundaries) {
  GearTable gear = GearTableFromSeed(Bytes(32, 0x42));
  EXPECT_EQ(gear[0], 0xfddde5d500d382c7ull);
  EXPECT_EQ(gear[255], 0x59aa08053d03dff1ull);
  Chunker chunker(gear, ChunkerParams{2048, 8192, 65536});
  Bytes data = PseudoRandom(128 * 1024, 99);
  std::vector<size_t> lengths = ChunkLengths(chunker, data);
  std::vector<size_t> golden = {8495, 9925,  8687,  10768, 8655,  9268, 9169, 3924,
                                5487, 11676, 10093, 2995,  18016, 9934, 3980};
  EXPECT_EQ(lengths, golden);
}

TEST(ChunkerTest, DeterministicSizesInRangeAndReassembles) {
  Chunker chunker(TestGear(), ChunkerParams{});
  Bytes data = PseudoRandom(64 * kMiB, 2);
  std::vector<size_t> lengths = ChunkLengths(chunker, data);
  EXPECT_EQ(ChunkLengths(chunker, data), lengths);
  ASSERT_GT(lengths.size(), 1u);
  size_t total = 0;
  for (size_t i = 0; i < lengths.size(); ++i) {
    if (i + 1 < lengths.size()) {
      EXPECT_GE(lengths[i], 256u * 1024) << i;
    }
    EXPECT_LE(lengths[i], 8 * kMiB) << i;
    total += lengths[i];
  }
  EXPECT_EQ(total, data.size());
  const double avg = static_cast<double>(data.size()) / lengths.size();
  EXPECT_GT(avg, 0.75 * kMiB) << lengths.size() << " chunks";
  EXPECT_LT(avg, 1.5 * kMiB) << lengths.size() << " chunks";
}

TEST(ChunkerTest, ConcatenationReproducesInput) {
  Chunker chunker(TestGear(), ChunkerParams{2048, 8192, 65536});
  Bytes data = PseudoRandom(3 * kMiB + 123, 3);
  Bytes rebuilt;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t len = chunker.FindCut(ByteView(data).subspan(pos));
    rebuilt.insert(rebuilt.end(), data.begin() + pos, data.begin() + pos + len);
    pos += len;
  }
  EXPECT_EQ(rebuilt, data);
}

TEST(ChunkerTest, SmallParamsAverageAndLimits) {
  ChunkerParams p{2048, 8192, 65536};
  Chunker chunker(TestGear(), p);
  Bytes data = PseudoRandom(16 * kMiB, 4);
  std::vector<size_t> lengths = ChunkLengths(chunker, data);
  for (size_t i = 0; i + 1 < lengths.size(); ++i) {
    ASSERT_GE(lengths[i], p.min_size);
    ASSERT_LE(lengths[i], p.max_size);
  }
  const double avg = static_cast<double>(data.size()) / lengths.size();
  EXPECT_GT(avg, 0.75 * 8192);
  EXPECT_LT(avg, 1.5 * 8192);
}

std::vector<Id> ChunkHashes(const Chunker& chunker, ByteView data) {
  std::vector<Id> ids;
  size_t pos = 0;
  for (size_t len : ChunkLengths(chunker, data)) {
    ids.push_back(Sha256(data.subspan(pos, len)));
    pos += len;
  }
  return ids;
}

TEST(ChunkerTest, BoundariesStableUnderInsertion) {
  Chunker chunker(TestGear(), ChunkerParams{});
  Bytes data = PseudoRandom(32 * kMiB, 5);
  Bytes edited = data;
  Bytes inserted = PseudoRandom(100, 77);
  edited.insert(edited.begin() + 1000, inserted.begin(), inserted.end());

  std::vector<Id> before = ChunkHashes(chunker, data);
  std::vector<Id> after = ChunkHashes(chunker, edited);
  std::set<Id> before_set(before.begin(), before.end());
  size_t new_chunks = 0;
  for (const Id& id : after) new_chunks += before_set.count(id) == 0;
  EXPECT_GE(new_chunks, 1u);
  EXPECT_LE(new_chunks, 2u) << "of " << after.size();
  // Everything after the first couple of chunks is shared, in order.
  ASSERT_GE(before.size(), 10u);
  EXPECT_TRUE(std::equal(after.end() - (after.size() - new_chunks), after.end(),
                         before.end() - (after.size() - new_chunks)));
}

TEST(ChunkerTest, DifferentSeedsGiveDifferentBoundaries) {
  ChunkerParams p{2048, 8192, 65536};
  Bytes data = PseudoRandom(4 * kMiB, 6);
  std::vector<size_t> a = ChunkLengths(Chunker(TestGear(1), p), data);
  std::vector<size_t> b = ChunkLengths(Chunker(TestGear(2), p), data);
  EXPECT_NE(a, b);
  // Not just a shift of one cut: most boundaries differ.
  std::set<size_t> cuts_a, cuts_b;
  size_t pos = 0;
  for (size_t len : a) cuts_a.insert(pos += len);
  pos = 0;
  for (size_t len : b) cuts_b.insert(pos += len);
  size_t common = 0;
  for (size_t c : cuts_a) common += cuts_b.count(c);
  EXPECT_LT(common, cuts_a.size() / 2);
}

TEST(ChunkerTest, AllZeroInputGivesMaxSizeChunks) {
  Chunker chunker(TestGear(), ChunkerParams{});
  Bytes zeros(20 * kMiB, 0);
  std::vector<size_t> lengths = ChunkLengths(chunker, zeros);
  EXPECT_EQ(lengths, (std::vector<size_t>{8 * kMiB, 8 * kMiB, 4 * kMiB}));
}

TEST(ChunkerTest, InputShorterThanMaxWithoutCut) {
  // With min == avg == max every chunk is exactly max (no hashing at all).
  Chunker chunker(TestGear(), ChunkerParams{4096, 4096, 4096});
  Bytes data = PseudoRandom(10000, 8);
  EXPECT_EQ(ChunkLengths(chunker, data), (std::vector<size_t>{4096, 4096, 1808}));
}

}  // namespace
}  // namespace lifeboat

namespace lifeboat {
namespace {

// Feeds `data` to a ChunkScanner in pieces of pseudo-random sizes up to
// `max_piece` and returns the chunk lengths it finds (the last one at the end).
std::vector<size_t> ScannerLengths(const Chunker& chunker, ByteView data, size_t max_piece,
                                   uint64_t seed) {
  ChunkScanner scanner(chunker);
  std::vector<size_t> lengths;
  size_t chunk_start = 0, pos = 0;
  uint64_t state = seed;
  while (pos < data.size()) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const size_t piece = std::min<size_t>(1 + (state >> 33) % max_piece, data.size() - pos);
    size_t offset = 0;
    while (offset < piece) {
      const size_t cut = scanner.Scan(data.subspan(pos + offset, piece - offset));
      if (cut == ChunkScanner::kNoCut) break;
      offset += cut;
      lengths.push_back(pos + offset - chunk_start);
      chunk_start = pos + offset;
      EXPECT_EQ(scanner.pending(), 0u);
    }
    pos += piece;
  }
  if (chunk_start < data.size()) {
    EXPECT_EQ(scanner.pending(), data.size() - chunk_start);
    lengths.push_back(data.size() - chunk_start);
  }
  return lengths;
}

TEST(ChunkScannerTest, FindsExactlyTheCutsOfFindCut) {
  const ChunkerParams cases[] = {ChunkerParams{},  // the defaults
                                 ChunkerParams{2048, 8192, 65536},
                                 ChunkerParams{64, 64, 64},  // min = avg = max: fixed-size chunks
                                 ChunkerParams{1, 64, 100},  // tiny minimum
                                 ChunkerParams{4096, 4096, 8192}};
  for (const ChunkerParams& p : cases) {
    Chunker chunker(TestGear(), p);
    for (uint64_t seed : {1, 2}) {
      Bytes data = PseudoRandom(p.max_size > kMiB ? 24 * kMiB : 1 * kMiB + 17, seed);
      const std::vector<size_t> want = ChunkLengths(chunker, data);
      for (size_t max_piece : {size_t{1}, size_t{7}, size_t{4096}, size_t{300000}, 3 * kMiB}) {
        if (max_piece == 1 && data.size() > 2 * kMiB) continue;  // too slow byte by byte
        EXPECT_EQ(ScannerLengths(chunker, data, max_piece, seed), want)
            << "min " << p.min_size << " avg " << p.avg_size << " max " << p.max_size
            << " pieces up to " << max_piece;
      }
    }
  }
}

TEST(ChunkScannerTest, AllZeroInputGivesMaxSizeChunks) {
  ChunkerParams p{2048, 8192, 65536};
  Chunker chunker(TestGear(), p);
  Bytes zeros(5 * p.max_size + 10, 0);
  EXPECT_EQ(ScannerLengths(chunker, zeros, 10000, 3), ChunkLengths(chunker, zeros));
}

}  // namespace
}  // namespace lifeboat
