#include "repo/index.h"

#include <cstring>
#include <mutex>

namespace lifeboat {

Bytes EncodeIndex(const IndexFile& index) {
  Bytes out;
  ByteWriter w(&out);
  w.Raw(format::kIndexMagic);
  w.Varint(index.supersedes.size());
  for (const Id& id : index.supersedes) w.Raw(id.View());
  w.Varint(index.packs.size());
  for (const IndexedPack& p : index.packs) {
    w.Raw(p.id.View());
    w.Raw(p.salt);
    w.Varint(p.blobs.size());
    for (const PackedBlob& b : p.blobs) {
      w.U8(static_cast<uint8_t>(b.type));
      w.U8(static_cast<uint8_t>(b.compression));
      w.Raw(b.id.View());
      w.Varint(b.offset);
      w.Varint(b.length);
      w.Varint(b.raw_length);
    }
  }
  return out;
}

static Result<uint32_t> ReadU32Varint(ByteReader& r) {
  LB_ASSIGN_OR_RETURN(uint64_t v, r.Varint());
  if (v > UINT32_MAX) return Corrupt("index value out of range");
  return static_cast<uint32_t>(v);
}

Result<IndexFile> DecodeIndex(ByteView data) {
  ByteReader r(data);
  LB_ASSIGN_OR_RETURN(ByteView magic, r.Raw(4));
  if (AsString(magic) != format::kIndexMagic) return Corrupt("index has a bad magic");
  IndexFile index;
  LB_ASSIGN_OR_RETURN(uint64_t n_super, r.Varint());
  if (n_super > r.remaining() / 32) return Corrupt("index supersedes count out of range");
  for (uint64_t i = 0; i < n_super; ++i) {
    LB_ASSIGN_OR_RETURN(ByteView id, r.Raw(32));
    index.supersedes.push_back(Id::FromBytes(id));
  }
  LB_ASSIGN_OR_RETURN(uint64_t n_packs, r.Varint());
  if (n_packs > r.remaining() / 65) return Corrupt("index pack count out of range");
  index.packs.reserve(n_packs);
  for (uint64_t i = 0; i < n_packs; ++i) {
    IndexedPack p;
    LB_ASSIGN_OR_RETURN(ByteView id, r.Raw(32));
    LB_ASSIGN_OR_RETURN(ByteView salt, r.Raw(format::kSaltSize));
    p.id = Id::FromBytes(id);
    p.salt.assign(salt.begin(), salt.end());
    LB_ASSIGN_OR_RETURN(uint64_t n_blobs, r.Varint());
    if (n_blobs > r.remaining() / 37) return Corrupt("index blob count out of range");
    p.blobs.reserve(n_blobs);
    for (uint64_t j = 0; j < n_blobs; ++j) {
      PackedBlob b;
      LB_ASSIGN_OR_RETURN(uint8_t type, r.U8());
      LB_ASSIGN_OR_RETURN(uint8_t comp, r.U8());
      if (type > 1 || comp > 1) return Corrupt("index has an unknown blob type or compression");
      b.type = static_cast<format::BlobType>(type);
      b.compression = static_cast<format::Compression>(comp);
      LB_ASSIGN_OR_RETURN(ByteView bid, r.Raw(32));
      b.id = Id::FromBytes(bid);
      LB_ASSIGN_OR_RETURN(b.offset, ReadU32Varint(r));
      LB_ASSIGN_OR_RETURN(b.length, ReadU32Varint(r));
      LB_ASSIGN_OR_RETURN(b.raw_length, ReadU32Varint(r));
      if (b.raw_length > format::kMaxBlobSize || b.length < 16)
        return Corrupt("index blob length out of range");
      p.blobs.push_back(b);
    }
    index.packs.push_back(std::move(p));
  }
  if (!r.done()) return Corrupt("index has trailing bytes");
  return index;
}

MasterIndex::MasterIndex() : slots_(1024, 0) {}

static size_t SlotHash(format::BlobType type, const Id& id) {
  uint64_t h;
  std::memcpy(&h, id.bytes.data(), sizeof h);
  return static_cast<size_t>(h ^ (static_cast<uint64_t>(type) * 0x9e3779b97f4a7c15ull));
}

size_t MasterIndex::Probe(format::BlobType type, const Id& id) const {
  size_t mask = slots_.size() - 1;
  for (size_t i = SlotHash(type, id) & mask;; i = (i + 1) & mask) {
    uint32_t s = slots_[i];
    if (s == 0) return i;
    const Entry& e = entries_[s - 1];
    if (e.type == static_cast<uint8_t>(type) && e.id == id.bytes) return i;
  }
}

void MasterIndex::Grow() {
  std::vector<uint32_t> old = std::move(slots_);
  slots_.assign(old.size() * 2, 0);
  for (uint32_t s : old) {
    if (s == 0) continue;
    const Entry& e = entries_[s - 1];
    slots_[Probe(static_cast<format::BlobType>(e.type), Id::FromBytes(e.id))] = s;
  }
}

void MasterIndex::AddPack(const IndexedPack& pack) {
  std::unique_lock lock(mu_);
  uint32_t pack_number;
  auto it = pack_numbers_.find(pack.id);
  if (it != pack_numbers_.end()) {
    pack_number = it->second;
  } else {
    pack_number = static_cast<uint32_t>(packs_.size());
    PackInfo info{pack.id, {}};
    std::memcpy(info.salt.data(), pack.salt.data(), std::min<size_t>(32, pack.salt.size()));
    packs_.push_back(info);
    pack_numbers_.emplace(pack.id, pack_number);
  }
  for (const PackedBlob& b : pack.blobs) {
    if ((entries_.size() + 1) * 2 > slots_.size()) Grow();
    size_t slot = Probe(b.type, b.id);
    if (slots_[slot] != 0) {
      if (entries_[slots_[slot] - 1].pack != pack_number) ++duplicates_;
      continue;
    }
    entries_.push_back(Entry{b.id.bytes, pack_number, b.offset, b.length, b.raw_length,
                             static_cast<uint8_t>(b.type), static_cast<uint8_t>(b.compression)});
    slots_[slot] = static_cast<uint32_t>(entries_.size());
  }
}

bool MasterIndex::Has(format::BlobType type, const Id& id) const {
  std::shared_lock lock(mu_);
  return slots_[Probe(type, id)] != 0;
}

PackedBlob MasterIndex::ToBlob(const Entry& e) const {
  PackedBlob b;
  b.type = static_cast<format::BlobType>(e.type);
  b.compression = static_cast<format::Compression>(e.compression);
  b.id = Id::FromBytes(e.id);
  b.offset = e.offset;
  b.length = e.length;
  b.raw_length = e.raw_length;
  return b;
}

std::optional<BlobLocation> MasterIndex::Find(format::BlobType type, const Id& id) const {
  std::shared_lock lock(mu_);
  uint32_t s = slots_[Probe(type, id)];
  if (s == 0) return std::nullopt;
  const Entry& e = entries_[s - 1];
  return BlobLocation{packs_[e.pack].id, packs_[e.pack].salt, ToBlob(e)};
}

bool MasterIndex::HasPack(const Id& pack_id) const {
  std::shared_lock lock(mu_);
  return pack_numbers_.count(pack_id) != 0;
}

size_t MasterIndex::blob_count() const {
  std::shared_lock lock(mu_);
  return entries_.size();
}
size_t MasterIndex::pack_count() const {
  std::shared_lock lock(mu_);
  return packs_.size();
}
size_t MasterIndex::duplicate_count() const {
  std::shared_lock lock(mu_);
  return duplicates_;
}
size_t MasterIndex::MemoryBytes() const {
  std::shared_lock lock(mu_);
  return entries_.capacity() * sizeof(Entry) + slots_.capacity() * sizeof(uint32_t) +
         packs_.capacity() * (sizeof(PackInfo) + 48);
}

void MasterIndex::ForEachBlob(
    const std::function<void(const Id& pack_id, const PackedBlob&)>& fn) const {
  std::shared_lock lock(mu_);
  for (const Entry& e : entries_) fn(packs_[e.pack].id, ToBlob(e));
}

}  // namespace lifeboat
