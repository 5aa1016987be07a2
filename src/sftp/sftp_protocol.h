// SFTP version 3 wire format (draft-ietf-secsh-filexfer-02 plus the OpenSSH
// extensions lifeboat uses), as pure functions over byte buffers: request
// and reply encoders, a bounds-checked field reader, one parser per reply
// type and a frame splitter that cuts the byte stream into packets. No I/O
// and no libssh here, so all of it is unit-tested and fuzzed
// (sftp_protocol_test.cc, sftp_protocol_fuzz.cc); SftpConnection does the
// transport.
//
// Every byte from a server is untrusted. A malformed reply yields kCorrupt
// with a short message (it never echoes server bytes); no length or count
// read from the wire is allocated before it is checked against the bytes
// that actually arrived. Trailing bytes after the fields a parser needs are
// ignored (servers may append fields from later drafts).
//
// Thread-safety: the functions are pure; a reader, writer or splitter is
// used by one thread at a time. Views returned by parsers point into the
// caller's buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace lifeboat {

// SFTP v3 status codes.
enum class SftpCode : uint32_t {
  kOk = 0,
  kEof = 1,
  kNoSuchFile = 2,
  kPermissionDenied = 3,
  kFailure = 4,
  kBadMessage = 5,
  kNoConnection = 6,
  kConnectionLost = 7,
  kOpUnsupported = 8,
};

// name → data of an extension (VERSION) or of an extended attribute (ATTRS).
using SftpExtension = std::pair<std::string, std::string>;

struct SftpAttrs {
  bool has_size = false;
  uint64_t size = 0;
  bool has_uid_gid = false;
  uint32_t uid = 0;
  uint32_t gid = 0;
  bool has_permissions = false;
  uint32_t permissions = 0;  // includes the S_IFMT file type bits
  bool has_times = false;
  uint32_t atime = 0;
  uint32_t mtime = 0;
  std::vector<SftpExtension> extended;  // SSH_FILEXFER_ATTR_EXTENDED pairs
  bool IsRegular() const;  // true when the server did not say
  bool IsDirectory() const;
  bool operator==(const SftpAttrs&) const = default;
};

namespace sftp {

// One entry of a NAME reply.
struct SftpNameEntry {
  std::string name;
  std::string longname;
  SftpAttrs attrs;
  bool operator==(const SftpNameEntry&) const = default;
};

// Packet types.
inline constexpr uint8_t kFxpInit = 1;
inline constexpr uint8_t kFxpVersion = 2;
inline constexpr uint8_t kFxpOpen = 3;
inline constexpr uint8_t kFxpClose = 4;
inline constexpr uint8_t kFxpRead = 5;
inline constexpr uint8_t kFxpWrite = 6;
inline constexpr uint8_t kFxpFstat = 8;
inline constexpr uint8_t kFxpOpendir = 11;
inline constexpr uint8_t kFxpReaddir = 12;
inline constexpr uint8_t kFxpRemove = 13;
inline constexpr uint8_t kFxpMkdir = 14;
inline constexpr uint8_t kFxpRealpath = 16;
inline constexpr uint8_t kFxpStat = 17;
inline constexpr uint8_t kFxpRename = 18;
inline constexpr uint8_t kFxpStatus = 101;
inline constexpr uint8_t kFxpHandle = 102;
inline constexpr uint8_t kFxpData = 103;
inline constexpr uint8_t kFxpName = 104;
inline constexpr uint8_t kFxpAttrs = 105;
inline constexpr uint8_t kFxpExtended = 200;
inline constexpr uint8_t kFxpExtendedReply = 201;

// Open flags.
inline constexpr uint32_t kFxfRead = 0x01;
inline constexpr uint32_t kFxfWrite = 0x02;
inline constexpr uint32_t kFxfCreat = 0x08;
inline constexpr uint32_t kFxfExcl = 0x20;

// Attribute flags.
inline constexpr uint32_t kAttrSize = 0x01;
inline constexpr uint32_t kAttrUidGid = 0x02;
inline constexpr uint32_t kAttrPermissions = 0x04;
inline constexpr uint32_t kAttrAcModTime = 0x08;
inline constexpr uint32_t kAttrExtended = 0x80000000u;

// Handles longer than this are refused (OpenSSH's are 4 bytes; the draft
// allows 256).
inline constexpr size_t kMaxHandleLength = 256;

// ---------------------------------------------------------------------------
// Encoding.

// Builds one packet: uint32 length, byte type, uint32 id (for INIT and
// VERSION: the protocol version), then the fields.
class PacketWriter {
 public:
  PacketWriter(uint8_t type, uint32_t id, size_t reserve = 64);
  void U8(uint8_t v) { buf_.push_back(v); }
  void U32(uint32_t v);
  void U64(uint64_t v);
  void Str(ByteView s);
  void Str(std::string_view s) { Str(AsBytes(s)); }
  // Bytes without a length (EXTENDED_REPLY bodies).
  void Raw(ByteView b) { buf_.insert(buf_.end(), b.begin(), b.end()); }
  void Attrs(const SftpAttrs& a);
  // Fills in the length; the writer must not be used afterwards.
  Bytes Finish();

 private:
  Bytes buf_;
};

// Requests (what lifeboat sends).
Bytes EncodeInit(uint32_t version);
// `attrs` carries only permissions when `pflags` has kFxfCreat, else nothing.
Bytes EncodeOpen(uint32_t id, std::string_view path, uint32_t pflags, uint32_t mode);
Bytes EncodeClose(uint32_t id, std::string_view handle);
Bytes EncodeRead(uint32_t id, std::string_view handle, uint64_t offset, uint32_t length);
Bytes EncodeWrite(uint32_t id, std::string_view handle, uint64_t offset, ByteView data);
Bytes EncodeFstat(uint32_t id, std::string_view handle);
Bytes EncodeOpendir(uint32_t id, std::string_view path);
Bytes EncodeReaddir(uint32_t id, std::string_view handle);
Bytes EncodeRemove(uint32_t id, std::string_view path);
Bytes EncodeMkdir(uint32_t id, std::string_view path, uint32_t mode);
Bytes EncodeRealpath(uint32_t id, std::string_view path);
Bytes EncodeStat(uint32_t id, std::string_view path);
Bytes EncodeRename(uint32_t id, std::string_view from, std::string_view to);
// SSH_FXP_EXTENDED: the request name, then each argument as a string.
Bytes EncodeExtended(uint32_t id, std::string_view name, std::initializer_list<std::string_view> args);

// Replies (what a server sends): for tests, fuzz seeds and test servers.
Bytes EncodeVersion(uint32_t version, const std::vector<SftpExtension>& extensions);
Bytes EncodeStatus(uint32_t id, uint32_t code, std::string_view message,
                   std::string_view language = "en");
Bytes EncodeHandle(uint32_t id, std::string_view handle);
Bytes EncodeData(uint32_t id, ByteView data);
Bytes EncodeName(uint32_t id, const std::vector<SftpNameEntry>& entries);
Bytes EncodeAttrsReply(uint32_t id, const SftpAttrs& attrs);
Bytes EncodeExtendedReply(uint32_t id, ByteView data);

// ---------------------------------------------------------------------------
// Decoding.

// Reads big-endian SFTP fields from a view; every method fails with kCorrupt
// when the field runs past the end, and then the position is unspecified.
class Reader {
 public:
  explicit Reader(ByteView data) : data_(data) {}
  size_t remaining() const { return data_.size() - pos_; }
  bool done() const { return pos_ == data_.size(); }
  Result<uint8_t> U8();
  Result<uint32_t> U32();
  Result<uint64_t> U64();
  // uint32 length, then that many bytes (a view into the input).
  Result<ByteView> Bytes();
  Result<std::string> String();
  // ATTRS: flags, then the fields the flags announce. Unknown flag bits are
  // ignored (they carry no fields in version 3).
  Result<SftpAttrs> Attrs();

 private:
  Status Truncated(size_t need) const;
  ByteView data_;
  size_t pos_ = 0;
};

// One packet without its length: type, id (VERSION: the version) and body.
// `body` points into the buffer that was parsed.
struct SftpReply {
  uint8_t type = 0;
  uint32_t id = 0;
  ByteView body;
};
// REQUIRES nothing; fails when `payload` is shorter than type + id.
Result<SftpReply> ParseReply(ByteView payload);

struct SftpVersion {
  uint32_t version = 0;
  std::vector<SftpExtension> extensions;
};
struct SftpStatus {
  uint32_t code = 0;
  std::string message;   // empty when the server omitted it
  std::string language;  // empty when the server omitted it
};
// limits@openssh.com reply.
struct SftpLimits {
  uint64_t max_packet_length = 0;
  uint64_t max_read_length = 0;
  uint64_t max_write_length = 0;
};
// statvfs@openssh.com reply (the fields lifeboat needs; the rest ignored).
struct SftpStatvfs {
  uint64_t bsize = 0;
  uint64_t frsize = 0;
  uint64_t blocks = 0;
  uint64_t bfree = 0;
  uint64_t bavail = 0;
  // Bytes available to unprivileged users; saturates at UINT64_MAX.
  uint64_t AvailableBytes() const;
};

// Each parser checks the reply type, then the body; a wrong type is
// kCorrupt like a malformed body.
Result<SftpVersion> ParseVersion(const SftpReply& reply);
Result<SftpStatus> ParseStatus(const SftpReply& reply);
// A handle of 1..kMaxHandleLength bytes.
Result<std::string> ParseHandle(const SftpReply& reply);
// The data bytes (a view into the reply); at most `max_length` of them.
Result<ByteView> ParseData(const SftpReply& reply, uint64_t max_length = UINT64_MAX);
Result<std::vector<SftpNameEntry>> ParseName(const SftpReply& reply);
Result<SftpAttrs> ParseAttrs(const SftpReply& reply);
Result<SftpLimits> ParseLimits(const SftpReply& reply);
Result<SftpStatvfs> ParseStatvfs(const SftpReply& reply);

// Cuts a byte stream into packets. Bytes go in as they arrive (in chunks of
// any size); complete packets come out. A length below 5 (type + id) or
// above `max_packet_length` is refused as soon as its 4 bytes are in, before
// anything is allocated for it, and the splitter then stays failed.
class FrameSplitter {
 public:
  explicit FrameSplitter(uint32_t max_packet_length) : max_(max_packet_length) {}
  // Invalidates views returned by Next.
  void Feed(ByteView data);
  // The next complete packet without its length field (parse it with
  // ParseReply), std::nullopt when more bytes are needed, or kCorrupt. The
  // view is valid until the next Feed.
  Result<std::optional<ByteView>> Next();
  // Bytes received but not yet returned by Next.
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  uint32_t max_;
  Bytes buf_;
  size_t pos_ = 0;  // start of the first packet not yet returned
  Status failed_;
};

}  // namespace sftp
}  // namespace lifeboat
