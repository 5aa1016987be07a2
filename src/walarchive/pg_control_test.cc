// pg_control parsing: system identifier, CRC-32C check, untrusted input.
#include "walarchive/pg_control.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <fstream>

#include "backend/test_temp_dir.h"

namespace lifeboat {
namespace {

// A control file laid out like PostgreSQL 15's: id, version 1300, CRC at 288.
Bytes MakeControlFile(uint64_t system_id, uint32_t version = 1300, size_t crc_offset = 288) {
  Bytes f(8192, 0);
  std::memcpy(f.data(), &system_id, 8);
  std::memcpy(f.data() + 8, &version, 4);
  for (size_t i = 16; i < crc_offset; ++i) f[i] = static_cast<uint8_t>(i * 7);
  const uint32_t crc = Crc32c(ByteView(f).first(crc_offset));
  std::memcpy(f.data() + crc_offset, &crc, 4);
  return f;
}

TEST(PgControlTest, Crc32cMatchesTheStandardCheckValue) {
  EXPECT_EQ(Crc32c(AsBytes("123456789")), 0xE3069283u);
  EXPECT_EQ(Crc32c(ByteView()), 0u);
}

TEST(PgControlTest, ReadsTheSystemIdentifier) {
  auto id = ParseSystemIdentifier(MakeControlFile(7710919451010646844ull));
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*id, 7710919451010646844ull);
  // Another layout version: the CRC is found where it matches.
  auto other = ParseSystemIdentifier(MakeControlFile(42, 1700, 296));
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ(*other, 42u);
}

TEST(PgControlTest, RefusesDamagedFiles) {
  Bytes f = MakeControlFile(7710919451010646844ull);
  f[100] ^= 1;
  EXPECT_EQ(ParseSystemIdentifier(f).status().code(), Code::kCorrupt);
  EXPECT_EQ(ParseSystemIdentifier(ByteView(f).first(10)).status().code(), Code::kCorrupt);
  EXPECT_EQ(ParseSystemIdentifier(ByteView(MakeControlFile(7)).first(200)).status().code(),
            Code::kCorrupt);  // CRC beyond the end
  EXPECT_EQ(ParseSystemIdentifier(Bytes(8192, 0)).status().code(), Code::kCorrupt);
}

TEST(PgControlTest, ReadsFromADataDirectory) {
  TestTempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  auto missing = ReadSystemIdentifier(tmp.path());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_FALSE(missing.status().hint().empty());
  ASSERT_EQ(::mkdir((tmp.path() + "/global").c_str(), 0700), 0);
  const Bytes f = MakeControlFile(12345);
  std::ofstream(tmp.path() + "/global/pg_control", std::ios::binary)
      .write(reinterpret_cast<const char*>(f.data()), static_cast<std::streamsize>(f.size()));
  auto id = ReadSystemIdentifier(tmp.path());
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*id, 12345u);
}

}  // namespace
}  // namespace lifeboat
