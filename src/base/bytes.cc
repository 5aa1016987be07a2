#include "base/bytes.h"

#include <sodium.h>

namespace lifeboat {

std::string HexEncode(ByteView data) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(data.size() * 2, '\0');
  for (size_t i = 0; i < data.size(); ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

static int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<Bytes> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return InvalidArgument("hex string has odd length");
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return InvalidArgument("invalid hex character");
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::string Base64Encode(ByteView data) {
  std::string out(sodium_base64_encoded_len(data.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), data.data(), data.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // drop the terminating NUL
  return out;
}

Result<Bytes> Base64Decode(std::string_view b64) {
  Bytes out(b64.size() / 4 * 3 + 3);
  size_t len = 0;
  if (sodium_base642bin(out.data(), out.size(), b64.data(), b64.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0) {
    return InvalidArgument("invalid base64");
  }
  out.resize(len);
  return out;
}

void ByteWriter::Varint(uint64_t v) {
  while (v >= 0x80) {
    out_->push_back(static_cast<uint8_t>(v) | 0x80);
    v >>= 7;
  }
  out_->push_back(static_cast<uint8_t>(v));
}

Result<uint64_t> ByteReader::Fixed(int n) {
  if (remaining() < static_cast<size_t>(n)) return Corrupt("truncated data");
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= uint64_t(data_[pos_ + i]) << (8 * i);
  pos_ += n;
  return v;
}

Result<uint8_t> ByteReader::U8() {
  LB_ASSIGN_OR_RETURN(uint64_t v, Fixed(1));
  return static_cast<uint8_t>(v);
}
Result<uint16_t> ByteReader::U16() {
  LB_ASSIGN_OR_RETURN(uint64_t v, Fixed(2));
  return static_cast<uint16_t>(v);
}
Result<uint32_t> ByteReader::U32() {
  LB_ASSIGN_OR_RETURN(uint64_t v, Fixed(4));
  return static_cast<uint32_t>(v);
}
Result<uint64_t> ByteReader::U64() { return Fixed(8); }
Result<int64_t> ByteReader::I64() {
  LB_ASSIGN_OR_RETURN(uint64_t v, Fixed(8));
  return static_cast<int64_t>(v);
}

Result<uint64_t> ByteReader::Varint() {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (done()) return Corrupt("truncated varint");
    uint8_t b = data_[pos_++];
    if (shift == 63 && b > 1) return Corrupt("varint overflows 64 bits");
    v |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  return Corrupt("varint too long");
}

Result<ByteView> ByteReader::Raw(size_t n) {
  if (remaining() < n) return Corrupt("truncated data");
  ByteView v = data_.subspan(pos_, n);
  pos_ += n;
  return v;
}

Result<ByteView> ByteReader::LengthPrefixed(size_t max_len) {
  LB_ASSIGN_OR_RETURN(uint64_t len, Varint());
  if (len > max_len) return Corrupt("field length " + std::to_string(len) + " exceeds limit");
  return Raw(static_cast<size_t>(len));
}

Result<std::string> ByteReader::String(size_t max_len) {
  LB_ASSIGN_OR_RETURN(ByteView v, LengthPrefixed(max_len));
  return std::string(AsString(v));
}

}  // namespace lifeboat
