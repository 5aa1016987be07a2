#include "repo/pack.h"

#include <algorithm>
#include <mutex>
#include <vector>

#include "crypto/aead.h"
#include "crypto/hash.h"
#include "repo/compression.h"

namespace lifeboat {
namespace {

// Blob nonces are the blob's offset (unique within the pack, whose key is
// unique); the trailer uses all-ones, which no offset can produce.
std::array<uint8_t, Aead::kNonceSize> BlobNonce(uint32_t offset) {
  std::array<uint8_t, Aead::kNonceSize> n{};
  StoreLE32(n.data(), offset);
  return n;
}
std::array<uint8_t, Aead::kNonceSize> TrailerNonce() {
  std::array<uint8_t, Aead::kNonceSize> n;
  n.fill(0xff);
  return n;
}

std::array<uint8_t, 33> BlobAad(format::BlobType type, const Id& id) {
  std::array<uint8_t, 33> aad;
  aad[0] = static_cast<uint8_t>(type);
  std::copy(id.bytes.begin(), id.bytes.end(), aad.begin() + 1);
  return aad;
}

}  // namespace

namespace {
// A staged pack's bytes are written out in pieces of about this size: big
// enough for few syscalls, small enough that open packs cost little memory.
constexpr size_t kStagedWriteSize = 512 << 10;

// Staged packs' write buffers are recycled across packs: fresh memory costs
// a page fault per page, and on a VM that hands free memory back to its host
// that is dearer than anything else per byte.
class WriteBufferPool {
 public:
  RawBuffer Take() {
    std::lock_guard lock(mu_);
    if (free_.empty()) return RawBuffer(kStagedWriteSize + (64 << 10));
    RawBuffer b = std::move(free_.back());
    free_.pop_back();
    b.Clear();
    return b;
  }
  void Give(RawBuffer b) {
    std::lock_guard lock(mu_);
    // Every buffer handed out holds a whole write (AppendSealed relies on
    // room for more than a tag); one that grew past twice that is let go.
    const size_t cap = b.capacity();
    if (free_.size() < kMaxFree && cap >= kStagedWriteSize && cap <= 2 * kStagedWriteSize)
      free_.push_back(std::move(b));
  }

 private:
  static constexpr size_t kMaxFree = 8;
  std::mutex mu_;
  std::vector<RawBuffer> free_;
};

WriteBufferPool& StagedBuffers() {
  static WriteBufferPool* pool = new WriteBufferPool;  // never destroyed: used until exit
  return *pool;
}
}  // namespace

PackWriter::PackWriter(const Keyring& keys, size_t expected_size)
    : keys_(keys), salt_(RandomBytes(format::kSaltSize)), pack_key_(keys.PackKey(salt_)) {
  buffer_.Reserve(expected_size + (64 << 10));  // + room for the trailer
  buffer_.Append(AsBytes(format::kPackMagic));
  buffer_.Append(salt_);
  size_ = buffer_.size();
}

PackWriter::PackWriter(const Keyring& keys, StagedFile file)
    : keys_(keys),
      salt_(RandomBytes(format::kSaltSize)),
      pack_key_(keys.PackKey(salt_)),
      file_(std::move(file)),
      buffer_(StagedBuffers().Take()) {
  buffer_.Append(AsBytes(format::kPackMagic));
  buffer_.Append(salt_);
  size_ = buffer_.size();
}

PackWriter::~PackWriter() {
  if (file_ || staged_) StagedBuffers().Give(std::move(buffer_));
}

Result<std::unique_ptr<PackWriter>> PackWriter::Staged(const Keyring& keys,
                                                       const std::string& staging_dir) {
  LB_ASSIGN_OR_RETURN(StagedFile file, StagedFile::Create(staging_dir));
  return std::unique_ptr<PackWriter>(new PackWriter(keys, std::move(file)));
}

Status PackWriter::FlushBuffer() {
  hash_.Update(buffer_.view());
  Status s = file_->Append(buffer_.view());
  buffer_.Clear();
  return s;
}

Status PackWriter::Add(format::BlobType type, const Id& id, format::Compression compression,
                       ByteView stored, uint32_t raw_length) {
  PackedBlob entry;
  entry.type = type;
  entry.compression = compression;
  entry.id = id;
  entry.offset = static_cast<uint32_t>(size_);
  entry.length = static_cast<uint32_t>(stored.size() + Aead::kTagSize);
  entry.raw_length = raw_length;
  LB_RETURN_IF_ERROR(AppendSealed(BlobNonce(entry.offset), BlobAad(type, id), stored));
  size_ += entry.length;
  blobs_.push_back(entry);
  if (file_ && buffer_.size() >= kStagedWriteSize) return FlushBuffer();
  return Status::Ok();
}

Status PackWriter::AppendSealed(ByteView nonce, ByteView aad, ByteView plain) {
  if (!file_) {  // in memory: the buffer holds the whole pack anyway
    Aead(pack_key_).SealInto(nonce, aad, plain, buffer_.Grow(plain.size() + Aead::kTagSize));
    return Status::Ok();
  }
  // Staged: growing the buffer to a blob's size (chunks run to 8 MiB) would
  // mean fresh pages for most large blobs (the 2 GB benchmark's initial
  // backup: 120k page faults, against ~33k sealing in pieces). Seal into
  // what the buffer has room for, writing it out whenever it is full.
  AeadSealer sealer(pack_key_, nonce, aad);
  while (!plain.empty()) {
    const size_t room = buffer_.capacity() - buffer_.size();
    if (room == 0) {
      LB_RETURN_IF_ERROR(FlushBuffer());
      continue;
    }
    const size_t n = std::min(room, plain.size());
    sealer.Update(plain.first(n), buffer_.Grow(n));
    plain = plain.subspan(n);
  }
  if (buffer_.capacity() - buffer_.size() < Aead::kTagSize) LB_RETURN_IF_ERROR(FlushBuffer());
  sealer.Finish(buffer_.Grow(Aead::kTagSize));
  return Status::Ok();
}

Result<FinishedPack> PackWriter::Finish() {
  Bytes trailer;
  ByteWriter w(&trailer);
  w.U32(static_cast<uint32_t>(blobs_.size()));
  for (const PackedBlob& b : blobs_) {
    w.U8(static_cast<uint8_t>(b.type));
    w.U8(static_cast<uint8_t>(b.compression));
    w.Raw(b.id.View());
    w.U32(b.offset);
    w.U32(b.length);
    w.U32(b.raw_length);
  }
  const size_t sealed_len = trailer.size() + Aead::kTagSize;
  LB_RETURN_IF_ERROR(AppendSealed(TrailerNonce(), AsBytes(format::kPackTrailerAad), trailer));
  uint8_t footer[format::kPackFooterSize];
  StoreLE32(footer, static_cast<uint32_t>(sealed_len));
  std::copy(format::kPackFooterMagic.begin(), format::kPackFooterMagic.end(), footer + 4);
  buffer_.Append(ByteView(footer, sizeof footer));
  size_ += sealed_len + sizeof footer;

  FinishedPack out;
  out.size = size_;
  if (file_) {
    LB_RETURN_IF_ERROR(FlushBuffer());
    out.staged = std::move(file_);
    file_.reset();
    staged_ = true;
  } else {
    hash_.Update(buffer_.view());
    out.data.assign(buffer_.data(), buffer_.data() + buffer_.size());
  }
  out.id = hash_.Finish();
  out.salt = std::move(salt_);
  out.blobs = std::move(blobs_);
  return out;
}

Status OpenPackedBlobStoredInto(const Keyring& keys, ByteView pack_salt, const PackedBlob& entry,
                                ByteView sealed, RawBuffer* out) {
  if (sealed.size() != entry.length || entry.length < Aead::kTagSize)
    return Corrupt("blob " + entry.id.Short() + ": stored length does not match the index");
  const size_t stored_len = entry.length - Aead::kTagSize;
  if (entry.compression != format::Compression::kNone &&
      entry.compression != format::Compression::kZstd)
    return Corrupt("blob " + entry.id.Short() + ": unknown compression");
  if (entry.compression == format::Compression::kNone && stored_len != entry.raw_length)
    return Corrupt("blob " + entry.id.Short() + ": length does not match the index");
  if (entry.raw_length > format::kMaxBlobSize)
    return Corrupt("blob " + entry.id.Short() + ": too large");
  out->Clear();
  Status s = Aead(keys.PackKey(pack_salt))
                 .OpenInto(BlobNonce(entry.offset), BlobAad(entry.type, entry.id), sealed,
                           out->Grow(stored_len));
  if (!s.ok()) {
    out->Clear();
    return Corrupt("blob " + entry.id.Short() +
                   " failed authentication (damaged or tampered with)");
  }
  return Status::Ok();
}

Status OpenPackedBlobInto(const Keyring& keys, ByteView pack_salt, const PackedBlob& entry,
                          ByteView sealed, RawBuffer* out) {
  // Raw blobs are decrypted straight into `out`; compressed ones into a
  // per-thread scratch buffer and then decompressed into `out`.
  if (entry.compression == format::Compression::kNone)
    return OpenPackedBlobStoredInto(keys, pack_salt, entry, sealed, out);
  thread_local RawBuffer scratch;
  LB_RETURN_IF_ERROR(OpenPackedBlobStoredInto(keys, pack_salt, entry, sealed, &scratch));
  return ZstdDecompressInto(scratch.view(), entry.raw_length, out)
      .WithContext("blob " + entry.id.Short());
}

Result<Bytes> OpenPackedBlob(const Keyring& keys, ByteView pack_salt, const PackedBlob& entry,
                             ByteView sealed) {
  RawBuffer out;
  LB_RETURN_IF_ERROR(OpenPackedBlobInto(keys, pack_salt, entry, sealed, &out));
  return Bytes(out.data(), out.data() + out.size());
}

uint64_t PackTailSizeFor(size_t blob_count) {
  return 4 + blob_count * format::kPackTrailerEntrySize + Aead::kTagSize + format::kPackFooterSize;
}

Result<PackLayout> ReadPackLayout(const Keyring& keys, ByteView header, ByteView tail,
                                  uint64_t pack_size) {
  if (header.size() < format::kPackHeaderSize || pack_size < format::kPackHeaderSize + 8 ||
      tail.size() < format::kPackFooterSize || tail.size() > pack_size)
    return Corrupt("pack too short");
  if (!std::equal(format::kPackMagic.begin(), format::kPackMagic.end(), header.begin()))
    return Corrupt("pack has a bad magic");
  ByteView footer = tail.subspan(tail.size() - format::kPackFooterSize);
  if (!std::equal(format::kPackFooterMagic.begin(), format::kPackFooterMagic.end(),
                  footer.begin() + 4))
    return Corrupt("pack has a bad footer");
  uint32_t trailer_len = LoadLE32(footer.data());
  if (trailer_len + format::kPackFooterSize > tail.size() ||
      trailer_len + format::kPackFooterSize + format::kPackHeaderSize > pack_size)
    return Corrupt("pack trailer length out of range");
  PackLayout layout;
  layout.salt.assign(header.begin() + 4, header.begin() + format::kPackHeaderSize);
  layout.trailer_offset = pack_size - format::kPackFooterSize - trailer_len;
  ByteView sealed = tail.subspan(tail.size() - format::kPackFooterSize - trailer_len, trailer_len);
  Bytes trailer;
  if (!Aead(keys.PackKey(layout.salt))
           .Open(TrailerNonce(), AsBytes(format::kPackTrailerAad), sealed, &trailer)
           .ok())
    return Corrupt("pack trailer failed authentication (damaged, tampered with, or another key)");
  ByteReader r(trailer);
  LB_ASSIGN_OR_RETURN(uint32_t count, r.U32());
  if (static_cast<uint64_t>(count) * format::kPackTrailerEntrySize != r.remaining())
    return Corrupt("pack trailer has a wrong entry count");
  uint64_t next = format::kPackHeaderSize;
  layout.blobs.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    PackedBlob b;
    LB_ASSIGN_OR_RETURN(uint8_t type, r.U8());
    LB_ASSIGN_OR_RETURN(uint8_t comp, r.U8());
    LB_ASSIGN_OR_RETURN(ByteView id, r.Raw(32));
    LB_ASSIGN_OR_RETURN(b.offset, r.U32());
    LB_ASSIGN_OR_RETURN(b.length, r.U32());
    LB_ASSIGN_OR_RETURN(b.raw_length, r.U32());
    if (type > 1 || comp > 1) return Corrupt("pack trailer has an unknown blob type");
    b.type = static_cast<format::BlobType>(type);
    b.compression = static_cast<format::Compression>(comp);
    b.id = Id::FromBytes(id);
    if (b.offset != next || b.length < Aead::kTagSize ||
        uint64_t(b.offset) + b.length > layout.trailer_offset ||
        b.raw_length > format::kMaxBlobSize)
      return Corrupt("pack trailer entry " + std::to_string(i) + " is out of range");
    next = uint64_t(b.offset) + b.length;
    layout.blobs.push_back(b);
  }
  if (next != layout.trailer_offset) return Corrupt("pack has bytes not covered by its trailer");
  return layout;
}

}  // namespace lifeboat
