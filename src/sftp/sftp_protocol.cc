// SFTP v3 encoders, parsers and frame splitter (see sftp_protocol.h).
#include "sftp/sftp_protocol.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdint>

namespace lifeboat {

bool SftpAttrs::IsRegular() const { return !has_permissions || S_ISREG(permissions); }
bool SftpAttrs::IsDirectory() const { return has_permissions && S_ISDIR(permissions); }

namespace sftp {
namespace {

uint32_t LoadBE32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

// Smallest encodings, for checking a count against the bytes left before
// reserving anything for it.
constexpr size_t kMinExtensionPair = 8;  // two empty strings
constexpr size_t kMinNameEntry = 12;     // two empty strings + attrs flags

std::string TypeName(uint8_t type) {
  switch (type) {
    case kFxpVersion: return "VERSION";
    case kFxpStatus: return "STATUS";
    case kFxpHandle: return "HANDLE";
    case kFxpData: return "DATA";
    case kFxpName: return "NAME";
    case kFxpAttrs: return "ATTRS";
    case kFxpExtendedReply: return "EXTENDED_REPLY";
    default: return "type " + std::to_string(type);
  }
}

Status Malformed(uint8_t type, const Status& why) {
  return Corrupt("malformed SFTP " + TypeName(type) + " reply: " + why.message());
}

Status CheckType(const SftpReply& reply, uint8_t want) {
  if (reply.type == want) return Status::Ok();
  return Corrupt("expected an SFTP " + TypeName(want) + " reply, got " + TypeName(reply.type));
}

}  // namespace

// ---------------------------------------------------------------------------
// Encoding.

PacketWriter::PacketWriter(uint8_t type, uint32_t id, size_t reserve) {
  buf_.reserve(reserve + 9);
  buf_.resize(4);
  U8(type);
  U32(id);
}

void PacketWriter::U32(uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) buf_.push_back(static_cast<uint8_t>(v >> shift));
}

void PacketWriter::U64(uint64_t v) {
  U32(static_cast<uint32_t>(v >> 32));
  U32(static_cast<uint32_t>(v));
}

void PacketWriter::Str(ByteView s) {
  U32(static_cast<uint32_t>(s.size()));
  buf_.insert(buf_.end(), s.begin(), s.end());
}

void PacketWriter::Attrs(const SftpAttrs& a) {
  uint32_t flags = 0;
  if (a.has_size) flags |= kAttrSize;
  if (a.has_uid_gid) flags |= kAttrUidGid;
  if (a.has_permissions) flags |= kAttrPermissions;
  if (a.has_times) flags |= kAttrAcModTime;
  if (!a.extended.empty()) flags |= kAttrExtended;
  U32(flags);
  if (a.has_size) U64(a.size);
  if (a.has_uid_gid) {
    U32(a.uid);
    U32(a.gid);
  }
  if (a.has_permissions) U32(a.permissions);
  if (a.has_times) {
    U32(a.atime);
    U32(a.mtime);
  }
  if (!a.extended.empty()) {
    U32(static_cast<uint32_t>(a.extended.size()));
    for (const auto& [name, data] : a.extended) {
      Str(name);
      Str(data);
    }
  }
}

Bytes PacketWriter::Finish() {
  const uint32_t len = static_cast<uint32_t>(buf_.size() - 4);
  for (int i = 0; i < 4; ++i)
    buf_[static_cast<size_t>(i)] = static_cast<uint8_t>(len >> (24 - 8 * i));
  return std::move(buf_);
}

namespace {

Bytes OneString(uint8_t type, uint32_t id, std::string_view s) {
  PacketWriter w(type, id, s.size() + 4);
  w.Str(s);
  return w.Finish();
}

SftpAttrs PermissionsOnly(uint32_t mode) {
  SftpAttrs a;
  a.has_permissions = true;
  a.permissions = mode;
  return a;
}

}  // namespace

Bytes EncodeInit(uint32_t version) { return PacketWriter(kFxpInit, version).Finish(); }

Bytes EncodeOpen(uint32_t id, std::string_view path, uint32_t pflags, uint32_t mode) {
  PacketWriter w(kFxpOpen, id, path.size() + 16);
  w.Str(path);
  w.U32(pflags);
  w.Attrs(pflags & kFxfCreat ? PermissionsOnly(mode) : SftpAttrs());
  return w.Finish();
}

Bytes EncodeClose(uint32_t id, std::string_view handle) { return OneString(kFxpClose, id, handle); }

Bytes EncodeRead(uint32_t id, std::string_view handle, uint64_t offset, uint32_t length) {
  PacketWriter w(kFxpRead, id, handle.size() + 16);
  w.Str(handle);
  w.U64(offset);
  w.U32(length);
  return w.Finish();
}

Bytes EncodeWrite(uint32_t id, std::string_view handle, uint64_t offset, ByteView data) {
  PacketWriter w(kFxpWrite, id, handle.size() + data.size() + 20);
  w.Str(handle);
  w.U64(offset);
  w.Str(data);
  return w.Finish();
}

Bytes EncodeFstat(uint32_t id, std::string_view handle) { return OneString(kFxpFstat, id, handle); }
Bytes EncodeOpendir(uint32_t id, std::string_view path) { return OneString(kFxpOpendir, id, path); }
Bytes EncodeReaddir(uint32_t id, std::string_view handle) {
  return OneString(kFxpReaddir, id, handle);
}
Bytes EncodeRemove(uint32_t id, std::string_view path) { return OneString(kFxpRemove, id, path); }
Bytes EncodeRealpath(uint32_t id, std::string_view path) {
  return OneString(kFxpRealpath, id, path);
}
Bytes EncodeStat(uint32_t id, std::string_view path) { return OneString(kFxpStat, id, path); }

Bytes EncodeMkdir(uint32_t id, std::string_view path, uint32_t mode) {
  PacketWriter w(kFxpMkdir, id, path.size() + 16);
  w.Str(path);
  w.Attrs(PermissionsOnly(mode));
  return w.Finish();
}

Bytes EncodeRename(uint32_t id, std::string_view from, std::string_view to) {
  PacketWriter w(kFxpRename, id, from.size() + to.size() + 8);
  w.Str(from);
  w.Str(to);
  return w.Finish();
}

Bytes EncodeExtended(uint32_t id, std::string_view name,
                     std::initializer_list<std::string_view> args) {
  size_t size = name.size() + 4;
  for (std::string_view a : args) size += a.size() + 4;
  PacketWriter w(kFxpExtended, id, size);
  w.Str(name);
  for (std::string_view a : args) w.Str(a);
  return w.Finish();
}

Bytes EncodeVersion(uint32_t version, const std::vector<SftpExtension>& extensions) {
  PacketWriter w(kFxpVersion, version);
  for (const auto& [name, data] : extensions) {
    w.Str(name);
    w.Str(data);
  }
  return w.Finish();
}

Bytes EncodeStatus(uint32_t id, uint32_t code, std::string_view message,
                   std::string_view language) {
  PacketWriter w(kFxpStatus, id, message.size() + language.size() + 12);
  w.U32(code);
  w.Str(message);
  w.Str(language);
  return w.Finish();
}

Bytes EncodeHandle(uint32_t id, std::string_view handle) {
  return OneString(kFxpHandle, id, handle);
}

Bytes EncodeData(uint32_t id, ByteView data) {
  PacketWriter w(kFxpData, id, data.size() + 4);
  w.Str(data);
  return w.Finish();
}

Bytes EncodeName(uint32_t id, const std::vector<SftpNameEntry>& entries) {
  PacketWriter w(kFxpName, id);
  w.U32(static_cast<uint32_t>(entries.size()));
  for (const SftpNameEntry& e : entries) {
    w.Str(e.name);
    w.Str(e.longname);
    w.Attrs(e.attrs);
  }
  return w.Finish();
}

Bytes EncodeAttrsReply(uint32_t id, const SftpAttrs& attrs) {
  PacketWriter w(kFxpAttrs, id);
  w.Attrs(attrs);
  return w.Finish();
}

Bytes EncodeExtendedReply(uint32_t id, ByteView data) {
  PacketWriter w(kFxpExtendedReply, id, data.size());
  w.Raw(data);
  return w.Finish();
}

// ---------------------------------------------------------------------------
// Reader.

Status Reader::Truncated(size_t need) const {
  return Corrupt("truncated: " + std::to_string(need) + " bytes needed, " +
                 std::to_string(remaining()) + " left");
}

Result<uint8_t> Reader::U8() {
  if (remaining() < 1) return Truncated(1);
  return data_[pos_++];
}

Result<uint32_t> Reader::U32() {
  if (remaining() < 4) return Truncated(4);
  const uint32_t v = LoadBE32(data_.data() + pos_);
  pos_ += 4;
  return v;
}

Result<uint64_t> Reader::U64() {
  if (remaining() < 8) return Truncated(8);
  const uint64_t v = uint64_t(LoadBE32(data_.data() + pos_)) << 32 |
                     LoadBE32(data_.data() + pos_ + 4);
  pos_ += 8;
  return v;
}

Result<ByteView> Reader::Bytes() {
  LB_ASSIGN_OR_RETURN(const uint32_t n, U32());
  if (n > remaining()) return Truncated(n);
  const ByteView v = data_.subspan(pos_, n);
  pos_ += n;
  return v;
}

Result<std::string> Reader::String() {
  LB_ASSIGN_OR_RETURN(const ByteView v, Bytes());
  return std::string(AsString(v));
}

Result<SftpAttrs> Reader::Attrs() {
  SftpAttrs a;
  LB_ASSIGN_OR_RETURN(const uint32_t flags, U32());
  if (flags & kAttrSize) {
    a.has_size = true;
    LB_ASSIGN_OR_RETURN(a.size, U64());
  }
  if (flags & kAttrUidGid) {
    a.has_uid_gid = true;
    LB_ASSIGN_OR_RETURN(a.uid, U32());
    LB_ASSIGN_OR_RETURN(a.gid, U32());
  }
  if (flags & kAttrPermissions) {
    a.has_permissions = true;
    LB_ASSIGN_OR_RETURN(a.permissions, U32());
  }
  if (flags & kAttrAcModTime) {
    a.has_times = true;
    LB_ASSIGN_OR_RETURN(a.atime, U32());
    LB_ASSIGN_OR_RETURN(a.mtime, U32());
  }
  if (flags & kAttrExtended) {
    LB_ASSIGN_OR_RETURN(const uint32_t count, U32());
    if (count > remaining() / kMinExtensionPair) {
      return Corrupt(std::to_string(count) + " extended attributes in " +
                     std::to_string(remaining()) + " bytes");
    }
    a.extended.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
      LB_ASSIGN_OR_RETURN(std::string name, String());
      LB_ASSIGN_OR_RETURN(std::string data, String());
      a.extended.emplace_back(std::move(name), std::move(data));
    }
  }
  return a;
}

// ---------------------------------------------------------------------------
// Reply parsers.

Result<SftpReply> ParseReply(ByteView payload) {
  if (payload.size() < 5) {
    return Corrupt("SFTP packet of " + std::to_string(payload.size()) +
                   " bytes has no room for a type and an id");
  }
  SftpReply reply;
  reply.type = payload[0];
  reply.id = LoadBE32(payload.data() + 1);
  reply.body = payload.subspan(5);
  return reply;
}

// Checks the type, runs `fn` over the body and puts the reply type in front
// of any field error.
template <typename T, typename Fn>
Result<T> ParseTyped(const SftpReply& reply, uint8_t want, Fn fn) {
  LB_RETURN_IF_ERROR(CheckType(reply, want));
  Reader r(reply.body);
  Result<T> parsed = fn(r);
  if (!parsed.ok()) return Malformed(want, parsed.status());
  return parsed;
}

Result<SftpVersion> ParseVersion(const SftpReply& reply) {
  return ParseTyped<SftpVersion>(reply, kFxpVersion, [&](Reader& r) -> Result<SftpVersion> {
    SftpVersion v;
    v.version = reply.id;
    while (!r.done()) {
      LB_ASSIGN_OR_RETURN(std::string name, r.String());
      LB_ASSIGN_OR_RETURN(std::string data, r.String());
      v.extensions.emplace_back(std::move(name), std::move(data));
    }
    return v;
  });
}

Result<SftpStatus> ParseStatus(const SftpReply& reply) {
  return ParseTyped<SftpStatus>(reply, kFxpStatus, [&](Reader& r) -> Result<SftpStatus> {
    SftpStatus s;
    LB_ASSIGN_OR_RETURN(s.code, r.U32());
    // Some servers omit the message and the language tag.
    if (!r.done()) {
      LB_ASSIGN_OR_RETURN(s.message, r.String());
    }
    if (!r.done()) {
      LB_ASSIGN_OR_RETURN(s.language, r.String());
    }
    return s;
  });
}

Result<std::string> ParseHandle(const SftpReply& reply) {
  return ParseTyped<std::string>(reply, kFxpHandle, [&](Reader& r) -> Result<std::string> {
    LB_ASSIGN_OR_RETURN(std::string handle, r.String());
    if (handle.empty() || handle.size() > kMaxHandleLength) {
      return Corrupt("handle of " + std::to_string(handle.size()) + " bytes");
    }
    return handle;
  });
}

Result<ByteView> ParseData(const SftpReply& reply, uint64_t max_length) {
  return ParseTyped<ByteView>(reply, kFxpData, [&](Reader& r) -> Result<ByteView> {
    LB_ASSIGN_OR_RETURN(const ByteView data, r.Bytes());
    if (data.size() > max_length) {
      return Corrupt(std::to_string(data.size()) + " bytes where at most " +
                     std::to_string(max_length) + " were asked for");
    }
    return data;
  });
}

Result<std::vector<SftpNameEntry>> ParseName(const SftpReply& reply) {
  return ParseTyped<std::vector<SftpNameEntry>>(reply, kFxpName, [&](Reader& r) -> Result<std::vector<SftpNameEntry>> {
    LB_ASSIGN_OR_RETURN(const uint32_t count, r.U32());
    if (count > r.remaining() / kMinNameEntry) {
      return Corrupt(std::to_string(count) + " names in " + std::to_string(r.remaining()) +
                     " bytes");
    }
    std::vector<SftpNameEntry> entries(count);
    for (SftpNameEntry& e : entries) {
      LB_ASSIGN_OR_RETURN(e.name, r.String());
      LB_ASSIGN_OR_RETURN(e.longname, r.String());
      LB_ASSIGN_OR_RETURN(e.attrs, r.Attrs());
    }
    return entries;
  });
}

Result<SftpAttrs> ParseAttrs(const SftpReply& reply) {
  return ParseTyped<SftpAttrs>(reply, kFxpAttrs, [](Reader& r) { return r.Attrs(); });
}

Result<SftpLimits> ParseLimits(const SftpReply& reply) {
  return ParseTyped<SftpLimits>(reply, kFxpExtendedReply, [&](Reader& r) -> Result<SftpLimits> {
    SftpLimits l;
    LB_ASSIGN_OR_RETURN(l.max_packet_length, r.U64());
    LB_ASSIGN_OR_RETURN(l.max_read_length, r.U64());
    LB_ASSIGN_OR_RETURN(l.max_write_length, r.U64());
    return l;
  });
}

Result<SftpStatvfs> ParseStatvfs(const SftpReply& reply) {
  return ParseTyped<SftpStatvfs>(reply, kFxpExtendedReply, [&](Reader& r) -> Result<SftpStatvfs> {
    SftpStatvfs s;
    LB_ASSIGN_OR_RETURN(s.bsize, r.U64());
    LB_ASSIGN_OR_RETURN(s.frsize, r.U64());
    LB_ASSIGN_OR_RETURN(s.blocks, r.U64());
    LB_ASSIGN_OR_RETURN(s.bfree, r.U64());
    LB_ASSIGN_OR_RETURN(s.bavail, r.U64());
    return s;
  });
}

uint64_t SftpStatvfs::AvailableBytes() const {
  if (frsize != 0 && bavail > UINT64_MAX / frsize) return UINT64_MAX;
  return bavail * frsize;
}

// ---------------------------------------------------------------------------
// Frame splitter.

void FrameSplitter::Feed(ByteView data) {
  if (!failed_.ok() || data.empty()) return;
  if (pos_ > 0) {  // drop returned packets once per Feed, not once per packet
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(pos_));
    pos_ = 0;
  }
  buf_.insert(buf_.end(), data.begin(), data.end());
}

Result<std::optional<ByteView>> FrameSplitter::Next() {
  if (!failed_.ok()) return failed_;
  if (buffered() < 4) return std::optional<ByteView>();
  const uint32_t len = LoadBE32(buf_.data() + pos_);
  if (len < 5 || len > max_) {
    failed_ = Corrupt("SFTP packet length " + std::to_string(len) +
                      (len < 5 ? " is too short" : " exceeds the limit of " + std::to_string(max_)));
    buf_.clear();
    buf_.shrink_to_fit();
    pos_ = 0;
    return failed_;
  }
  if (buffered() - 4 < len) return std::optional<ByteView>();
  const ByteView packet = ByteView(buf_).subspan(pos_ + 4, len);
  pos_ += 4 + size_t{len};
  return std::optional<ByteView>(packet);
}

}  // namespace sftp
}  // namespace lifeboat
