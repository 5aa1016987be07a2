// Byte buffers and the little-endian / varint encodings used by every binary
// format in the repository (see docs/FORMAT.md). Decoding is defensive: a
// ByteReader never reads past its end and reports truncation as an error.
// Thread-safety: value types; a ByteReader is used by one thread.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace lifeboat {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline std::string_view AsString(ByteView b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string HexEncode(ByteView data);
// Fails on odd length or a non-hex character.
Result<Bytes> HexDecode(std::string_view hex);

std::string Base64Encode(ByteView data);
Result<Bytes> Base64Decode(std::string_view b64);

// Appends encodings to a buffer.
class ByteWriter {
 public:
  explicit ByteWriter(Bytes* out) : out_(out) {}
  void U8(uint8_t v) { out_->push_back(v); }
  void U16(uint16_t v) { Fixed(v, 2); }
  void U32(uint32_t v) { Fixed(v, 4); }
  void U64(uint64_t v) { Fixed(v, 8); }
  void I64(int64_t v) { Fixed(static_cast<uint64_t>(v), 8); }
  void Varint(uint64_t v);
  void Raw(ByteView b) { out_->insert(out_->end(), b.begin(), b.end()); }
  void Raw(std::string_view s) { Raw(AsBytes(s)); }
  // Varint length followed by the bytes.
  void LengthPrefixed(ByteView b) { Varint(b.size()); Raw(b); }
  void LengthPrefixed(std::string_view s) { LengthPrefixed(AsBytes(s)); }

 private:
  void Fixed(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_->push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  Bytes* out_;
};

// Reads encodings from a view; every method fails with kCorrupt on truncation.
class ByteReader {
 public:
  explicit ByteReader(ByteView data) : data_(data) {}
  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  bool done() const { return pos_ == data_.size(); }
  Result<uint8_t> U8();
  Result<uint16_t> U16();
  Result<uint32_t> U32();
  Result<uint64_t> U64();
  Result<int64_t> I64();
  Result<uint64_t> Varint();
  Result<ByteView> Raw(size_t n);
  // Varint length then bytes; fails if the length exceeds `max_len` or the data.
  Result<ByteView> LengthPrefixed(size_t max_len = SIZE_MAX);
  Result<std::string> String(size_t max_len = SIZE_MAX);

 private:
  Result<uint64_t> Fixed(int n);
  ByteView data_;
  size_t pos_ = 0;
};

inline uint32_t LoadLE32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline void StoreLE32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace lifeboat
