#include "base/bytes.h"

#include <gtest/gtest.h>

#include "base/id.h"

namespace lifeboat {
namespace {

TEST(Bytes, HexRoundTrip) {
  Bytes b = {0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(HexEncode(b), "0001abff");
  auto back = HexDecode("0001ABff");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, b);
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
}

TEST(Bytes, Base64RoundTrip) {
  Bytes b = {1, 2, 3, 4, 5};
  auto back = Base64Decode(Base64Encode(b));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, b);
  EXPECT_FALSE(Base64Decode("!!!").ok());
}

TEST(Bytes, WriterReaderRoundTrip) {
  Bytes buf;
  ByteWriter w(&buf);
  w.U8(7);
  w.U32(0xdeadbeef);
  w.U64(1ull << 60);
  w.I64(-5);
  w.Varint(300);
  w.Varint(UINT64_MAX);
  w.LengthPrefixed(std::string_view("hello"));
  ByteReader r(buf);
  EXPECT_EQ(*r.U8(), 7);
  EXPECT_EQ(*r.U32(), 0xdeadbeefu);
  EXPECT_EQ(*r.U64(), 1ull << 60);
  EXPECT_EQ(*r.I64(), -5);
  EXPECT_EQ(*r.Varint(), 300u);
  EXPECT_EQ(*r.Varint(), UINT64_MAX);
  EXPECT_EQ(*r.String(), "hello");
  EXPECT_TRUE(r.done());
  EXPECT_EQ(r.U8().status().code(), Code::kCorrupt);
}

TEST(Bytes, ReaderRejectsOversizedLength) {
  Bytes buf;
  ByteWriter w(&buf);
  w.Varint(1000);
  w.Raw(std::string_view("abc"));
  ByteReader r(buf);
  EXPECT_FALSE(r.LengthPrefixed().ok());
  ByteReader r2(buf);
  EXPECT_FALSE(r2.LengthPrefixed(10).ok());
}

TEST(Bytes, VarintTooLong) {
  Bytes buf(11, 0xff);
  ByteReader r(buf);
  EXPECT_FALSE(r.Varint().ok());
}

TEST(Id, HexRoundTrip) {
  Id id;
  for (int i = 0; i < 32; ++i) id.bytes[i] = static_cast<uint8_t>(i);
  auto back = Id::FromHex(id.Hex());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, id);
  EXPECT_EQ(id.Short(), "00010203");
  EXPECT_FALSE(Id::FromHex("00").ok());
  EXPECT_TRUE(Id().IsZero());
}

TEST(Status, ErrnoMapping) {
  EXPECT_EQ(ErrnoStatus(ENOSPC, "write x").code(), Code::kNoSpace);
  EXPECT_EQ(ErrnoStatus(ENOENT, "open x").code(), Code::kNotFound);
  Status s = ErrnoStatus(EACCES, "open 'f'");
  EXPECT_NE(s.message().find("open 'f'"), std::string::npos);
  EXPECT_EQ(s.WithContext("backup").message().rfind("backup: ", 0), 0u);
}

}  // namespace
}  // namespace lifeboat
