// Tests for the crypto module: known-answer vectors for SHA-256, HMAC, HKDF
// and AES-256-GCM, AEAD tamper detection, Argon2id parameter checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "base/bytes.h"
#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/internal.h"
#include "crypto/keys.h"
#include "crypto/password_kdf.h"

namespace lifeboat {
namespace {

Bytes Hex(std::string_view hex) {
  Result<Bytes> b = HexDecode(hex);
  EXPECT_TRUE(b.ok()) << hex;
  return b.ok() ? *b : Bytes();
}

Key32 KeyFromHex(std::string_view hex) { return Key32(Hex(hex)); }

// A 32-byte HMAC key made of `short_key` followed by zeros. HMAC zero-pads
// keys to the block size, so this equals HMAC with the short key itself.
Key32 ZeroPaddedKey(std::string_view short_key) {
  Bytes b(32, 0);
  std::copy(short_key.begin(), short_key.end(), b.begin());
  return Key32(b);
}

TEST(KeysTest, RandomKeysDiffer) {
  Key32 a = Key32::Random();
  Key32 b = Key32::Random();
  EXPECT_NE(HexEncode(a.View()), HexEncode(b.View()));
  EXPECT_NE(HexEncode(a.View()), std::string(64, '0'));
  Bytes r = RandomBytes(100);
  EXPECT_EQ(r.size(), 100u);
  EXPECT_NE(r, Bytes(100, 0));
  EXPECT_TRUE(RandomBytes(0).empty());
}

TEST(KeysTest, CopyAndConstructFromBytes) {
  Bytes raw(32);
  for (int i = 0; i < 32; ++i) raw[i] = static_cast<uint8_t>(i);
  Key32 k(raw);
  Key32 copy = k;
  EXPECT_EQ(Bytes(copy.View().begin(), copy.View().end()), raw);
  Key32 zero;
  EXPECT_EQ(Bytes(zero.View().begin(), zero.View().end()), Bytes(32, 0));
}

TEST(Sha256Test, KnownAnswer) {
  EXPECT_EQ(Sha256(AsBytes("abc")).Hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256(ByteView()).Hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256Test, StreamMatchesOneShot) {
  std::string msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  Sha256Stream s;
  s.Update(AsBytes(msg.substr(0, 10)));
  s.Update(ByteView());
  s.Update(AsBytes(msg.substr(10)));
  Id id = s.Finish();
  EXPECT_EQ(id.Hex(), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(id, Sha256(AsBytes(msg)));
}

TEST(HmacTest, Rfc4231Case2) {
  const std::string expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
  Key32 key = ZeroPaddedKey("Jefe");
  ByteView data = AsBytes("what do ya want for nothing?");
  EXPECT_EQ(HmacSha256(key, data).Hex(), expected);
  EXPECT_EQ(crypto_internal::HmacSha256OneShot(key, data).Hex(), expected);
  EXPECT_EQ(crypto_internal::HmacSha256EvpMacNew(key, data).Hex(), expected);
  EXPECT_EQ(crypto_internal::HmacSha256EvpMacDup(key, data).Hex(), expected);
  EXPECT_EQ(crypto_internal::HmacSha256EvpMacThreadLocal(key, data).Hex(), expected);
  EXPECT_EQ(BlobIdHasher(key).Compute(data).Hex(), expected);
}

TEST(HmacTest, KeyMattersAndRekeyingWorks) {
  // The per-thread context must be fully re-keyed on every call.
  Key32 a = ZeroPaddedKey("a");
  Key32 b = ZeroPaddedKey("b");
  ByteView data = AsBytes("same data");
  Id ia = HmacSha256(a, data);
  Id ib = HmacSha256(b, data);
  EXPECT_NE(ia, ib);
  EXPECT_EQ(HmacSha256(a, data), ia);
  EXPECT_EQ(crypto_internal::HmacSha256OneShot(b, data), ib);
  EXPECT_NE(HmacSha256(a, AsBytes("other data")), ia);
  EXPECT_NE(HmacSha256(a, data), Sha256(data));
}

TEST(HmacTest, BlobIdStreamInPiecesMatchesComputeAndStartsOverAfterFinish) {
  BlobIdHasher hasher(ZeroPaddedKey("Jefe"));
  BlobIdStream stream(hasher);
  // RFC 4231 case 2 in three pieces, one of them empty.
  stream.Update(AsBytes("what do ya "));
  stream.Update(ByteView());
  stream.Update(AsBytes("want for nothing?"));
  EXPECT_EQ(stream.Finish().Hex(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // After Finish the next id covers only what follows, with the same key.
  Bytes data(300000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7919 >> 3);
  const ByteView all(data.data(), data.size());
  for (size_t piece : {size_t{1}, size_t{63}, size_t{64}, size_t{4096}, size_t{131072}}) {
    for (size_t at = 0; at < all.size(); at += piece) {
      stream.Update(all.subspan(at, std::min(piece, all.size() - at)));
    }
    EXPECT_EQ(stream.Finish(), hasher.Compute(all)) << "pieces of " << piece;
  }
  EXPECT_EQ(stream.Finish(), hasher.Compute(ByteView()));
  EXPECT_NE(hasher.Compute(ByteView()), BlobIdHasher(ZeroPaddedKey("b")).Compute(ByteView()));
}

TEST(HkdfTest, Rfc5869Case1) {
  Bytes ikm(22, 0x0b);
  Bytes salt = Hex("000102030405060708090a0b0c");
  Bytes info = Hex("f0f1f2f3f4f5f6f7f8f9");
  Bytes okm(42);
  Hkdf(ikm, salt, AsString(info), okm);
  EXPECT_EQ(HexEncode(okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(HkdfTest, Rfc5869Case3EmptySaltAndInfo) {
  Bytes ikm(22, 0x0b);
  Bytes okm(42);
  Hkdf(ikm, ByteView(), "", okm);
  EXPECT_EQ(HexEncode(okm),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(HkdfTest, HkdfKeyMatchesHkdfAndSeparatesInfo) {
  Key32 master = ZeroPaddedKey("master");
  Key32 k1 = HkdfKey(master, AsBytes("salt"), "pack");
  Key32 k2 = HkdfKey(master, AsBytes("salt"), "tree");
  Bytes direct(32);
  Hkdf(master.View(), AsBytes("salt"), "pack", direct);
  EXPECT_EQ(HexEncode(k1.View()), HexEncode(direct));
  EXPECT_NE(HexEncode(k1.View()), HexEncode(k2.View()));
}

// McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 14 and 16.
TEST(AeadTest, GcmSpecCase14) {
  Aead aead(Key32(Bytes(32, 0)));
  Bytes out;
  aead.Seal(Bytes(12, 0), ByteView(), Bytes(16, 0), &out);
  EXPECT_EQ(HexEncode(out),
            "cea7403d4d606b6e074ec5d3baf39d18"
            "d0d1c8a799996bf0265b98b5d48ab919");
}

TEST(AeadTest, GcmSpecCase16) {
  Aead aead(KeyFromHex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"));
  Bytes nonce = Hex("cafebabefacedbaddecaf888");
  Bytes aad = Hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  Bytes plain =
      Hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
          "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
  const std::string expected =
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
      "76fc6ece0f4e1768cddf8853bb2d551b";
  Bytes out = {0xaa};  // Seal appends.
  aead.Seal(nonce, aad, plain, &out);
  ASSERT_EQ(out.size(), 1 + plain.size() + Aead::kTagSize);
  EXPECT_EQ(out[0], 0xaa);
  EXPECT_EQ(HexEncode(ByteView(out).subspan(1)), expected);

  Bytes opened = {0xbb};
  ASSERT_TRUE(aead.Open(nonce, aad, ByteView(out).subspan(1), &opened).ok());
  EXPECT_EQ(opened[0], 0xbb);
  EXPECT_EQ(Bytes(opened.begin() + 1, opened.end()), plain);
}

TEST(AeadTest, SealIntoInPlaceMatchesSeal) {
  Aead aead(Key32::Random());
  const Bytes nonce(12, 3);
  const Bytes aad = {1, 2, 3};
  Bytes plain(100000);
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<uint8_t>(i * 7);
  Bytes expected;
  aead.Seal(nonce, aad, plain, &expected);
  Bytes buffer = plain;
  buffer.resize(plain.size() + Aead::kTagSize);
  aead.SealInto(nonce, aad, ByteView(buffer).first(plain.size()), buffer.data());
  EXPECT_EQ(buffer, expected);
  Bytes opened;
  ASSERT_TRUE(aead.Open(nonce, aad, buffer, &opened).ok());
  EXPECT_EQ(opened, plain);
}

// Any split into pieces (empty ones, odd sizes across 16-byte blocks, one
// byte) gives exactly the one-shot ciphertext and tag.
TEST(AeadTest, SealerInPiecesMatchesSeal) {
  const Key32 key = Key32::Random();
  const Bytes nonce(12, 5);
  const Bytes aad = {9, 8, 7};
  const Bytes plain = RandomBytes(70001);
  Bytes expected;
  Aead(key).Seal(nonce, aad, plain, &expected);
  for (const size_t piece : {size_t{1}, size_t{15}, size_t{16}, size_t{4097}, size_t{70001}}) {
    AeadSealer sealer(key, nonce, aad);
    Bytes out(plain.size() + Aead::kTagSize);
    sealer.Update(ByteView(), out.data());
    for (size_t pos = 0; pos < plain.size(); pos += piece) {
      const size_t n = std::min(piece, plain.size() - pos);
      sealer.Update(ByteView(plain).subspan(pos, n), out.data() + pos);
    }
    sealer.Finish(out.data() + plain.size());
    EXPECT_EQ(out, expected) << "pieces of " << piece;
  }
  // An empty message: just the tag, as Seal gives.
  Bytes empty_expected;
  Aead(key).Seal(nonce, aad, ByteView(), &empty_expected);
  uint8_t tag[Aead::kTagSize];
  AeadSealer empty(key, nonce, aad);
  empty.Finish(tag);
  EXPECT_EQ(Bytes(tag, tag + sizeof tag), empty_expected);
}

class AeadTamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nonce_ = RandomBytes(Aead::kNonceSize);
    aad_ = Bytes(AsBytes("pack header").begin(), AsBytes("pack header").end());
    plain_ = RandomBytes(1000);
    aead_.Seal(nonce_, aad_, plain_, &sealed_);
  }

  // Opens with the given inputs and expects kCorrupt with *out unchanged.
  void ExpectCorrupt(ByteView nonce, ByteView aad, ByteView sealed) {
    Bytes out = {1, 2, 3};
    Status st = aead_.Open(nonce, aad, sealed, &out);
    EXPECT_EQ(st.code(), Code::kCorrupt) << st.ToString();
    EXPECT_EQ(out, (Bytes{1, 2, 3}));
  }

  Aead aead_{Key32::Random()};
  Bytes nonce_, aad_, plain_, sealed_;
};

TEST_F(AeadTamperTest, RoundTrip) {
  ASSERT_EQ(sealed_.size(), plain_.size() + Aead::kTagSize);
  Bytes out;
  ASSERT_TRUE(aead_.Open(nonce_, aad_, sealed_, &out).ok());
  EXPECT_EQ(out, plain_);
}

TEST_F(AeadTamperTest, EmptyPlaintextRoundTrip) {
  Bytes sealed;
  aead_.Seal(nonce_, ByteView(), ByteView(), &sealed);
  ASSERT_EQ(sealed.size(), Aead::kTagSize);
  Bytes out;
  ASSERT_TRUE(aead_.Open(nonce_, ByteView(), sealed, &out).ok());
  EXPECT_TRUE(out.empty());
  sealed[3] ^= 1;
  ExpectCorrupt(nonce_, ByteView(), sealed);
}

TEST_F(AeadTamperTest, FlippedCiphertextByte) {
  Bytes bad = sealed_;
  bad[500] ^= 0x01;
  ExpectCorrupt(nonce_, aad_, bad);
}

TEST_F(AeadTamperTest, FlippedTagByte) {
  Bytes bad = sealed_;
  bad.back() ^= 0x80;
  ExpectCorrupt(nonce_, aad_, bad);
}

TEST_F(AeadTamperTest, FlippedAadByte) {
  Bytes bad = aad_;
  bad[0] ^= 0x01;
  ExpectCorrupt(nonce_, bad, sealed_);
  ExpectCorrupt(nonce_, ByteView(), sealed_);
}

TEST_F(AeadTamperTest, FlippedNonceByte) {
  Bytes bad = nonce_;
  bad[11] ^= 0x01;
  ExpectCorrupt(bad, aad_, sealed_);
}

TEST_F(AeadTamperTest, WrongKey) {
  Aead other(Key32::Random());
  Bytes out;
  Status st = other.Open(nonce_, aad_, sealed_, &out);
  EXPECT_EQ(st.code(), Code::kCorrupt);
  EXPECT_EQ(st.message(), "authentication failed");
  EXPECT_TRUE(out.empty());
}

TEST_F(AeadTamperTest, Truncated) {
  ExpectCorrupt(nonce_, aad_, ByteView(sealed_).first(sealed_.size() - 1));
  ExpectCorrupt(nonce_, aad_, ByteView(sealed_).first(Aead::kTagSize));
  ExpectCorrupt(nonce_, aad_, ByteView(sealed_).first(Aead::kTagSize - 1));
  ExpectCorrupt(nonce_, aad_, ByteView());
}

TEST_F(AeadTamperTest, WrongNonceSizeIsInvalidArgument) {
  Bytes out = {7};
  EXPECT_EQ(aead_.Open(Bytes(11, 0), aad_, sealed_, &out).code(), Code::kInvalidArgument);
  EXPECT_EQ(aead_.Open(Bytes(16, 0), aad_, sealed_, &out).code(), Code::kInvalidArgument);
  EXPECT_EQ(out, Bytes{7});
}

KdfParams SmallParams(uint8_t salt_byte) {
  KdfParams p;
  p.ops_limit = 1;
  p.mem_limit = 8ull * 1024 * 1024;
  p.salt = Bytes(16, salt_byte);
  return p;
}

TEST(PasswordKdfTest, DeterministicAndSaltAndPasswordSensitive) {
  Result<Key32> a = DeriveKeyFromPassword("correct horse", SmallParams(1));
  Result<Key32> b = DeriveKeyFromPassword("correct horse", SmallParams(1));
  Result<Key32> c = DeriveKeyFromPassword("correct horse", SmallParams(2));
  Result<Key32> d = DeriveKeyFromPassword("correct horsf", SmallParams(1));
  KdfParams more_ops = SmallParams(1);
  more_ops.ops_limit = 2;
  Result<Key32> e = DeriveKeyFromPassword("correct horse", more_ops);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && d.ok() && e.ok()) << a.status().ToString();
  EXPECT_EQ(HexEncode(a->View()), HexEncode(b->View()));
  EXPECT_NE(HexEncode(a->View()), HexEncode(c->View()));
  EXPECT_NE(HexEncode(a->View()), HexEncode(d->View()));
  EXPECT_NE(HexEncode(a->View()), HexEncode(e->View()));
  EXPECT_NE(HexEncode(a->View()), std::string(64, '0'));
}

TEST(PasswordKdfTest, EmptyPasswordWorks) {
  EXPECT_TRUE(DeriveKeyFromPassword("", SmallParams(3)).ok());
}

TEST(PasswordKdfTest, NewParamsHaveRandomSalt) {
  KdfParams a = NewKdfParams();
  KdfParams b = NewKdfParams();
  EXPECT_EQ(a.salt.size(), 16u);
  EXPECT_NE(a.salt, b.salt);
  EXPECT_EQ(a.ops_limit, 3u);
  EXPECT_EQ(a.mem_limit, 64ull * 1024 * 1024);
}

TEST(PasswordKdfTest, RejectsInvalidParams) {
  auto expect_invalid = [](KdfParams p) {
    Result<Key32> r = DeriveKeyFromPassword("pw", p);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << r.status().ToString();
  };
  KdfParams p = SmallParams(1);
  p.salt.resize(15);
  expect_invalid(p);
  p = SmallParams(1);
  p.salt.clear();
  expect_invalid(p);
  p = SmallParams(1);
  p.ops_limit = 0;
  expect_invalid(p);
  p = SmallParams(1);
  p.ops_limit = 21;
  expect_invalid(p);
  p = SmallParams(1);
  p.ops_limit = UINT64_MAX;
  expect_invalid(p);
  p = SmallParams(1);
  p.mem_limit = 4096;
  expect_invalid(p);
  p = SmallParams(1);
  p.mem_limit = 4ull * 1024 * 1024 * 1024 + 1;
  expect_invalid(p);
  p = SmallParams(1);
  p.mem_limit = UINT64_MAX;
  expect_invalid(p);
}

}  // namespace
}  // namespace lifeboat
