// Tests of the SFTP v3 wire format: encoders against parsers, every reply
// type well-formed, and malformed replies (truncated, lying lengths and
// counts, oversized frames) failing cleanly with kCorrupt.
#include "sftp/sftp_protocol.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lifeboat::sftp {
namespace {

// Cuts the length off an encoded packet and parses its header. The reply
// points into a copy of the packet that lives until the test binary exits,
// so that Split(Encode...()) may take a temporary.
SftpReply Split(const Bytes& encoded) {
  static std::deque<Bytes>* kept = new std::deque<Bytes>();
  const Bytes& packet = kept->emplace_back(encoded);
  EXPECT_GE(packet.size(), 9u);
  const uint32_t len = uint32_t(packet[0]) << 24 | uint32_t(packet[1]) << 16 |
                       uint32_t(packet[2]) << 8 | packet[3];
  EXPECT_EQ(len, packet.size() - 4);
  Result<SftpReply> reply = ParseReply(ByteView(packet).subspan(4));
  EXPECT_TRUE(reply.ok()) << reply.status().ToString();
  return reply.ok() ? *reply : SftpReply{};
}

SftpAttrs FullAttrs() {
  SftpAttrs a;
  a.has_size = true;
  a.size = 0x0123456789abcdefull;
  a.has_uid_gid = true;
  a.uid = 1000;
  a.gid = 4294967295u;
  a.has_permissions = true;
  a.permissions = 0100644;
  a.has_times = true;
  a.atime = 1700000000;
  a.mtime = 1700000001;
  a.extended = {{"a@example.com", "x"}, {"", ""}};
  return a;
}

// Every prefix of the body shorter than `full` must fail with kCorrupt.
template <typename Parse>
void ExpectEveryTruncationFails(const SftpReply& full, Parse parse, size_t min_ok) {
  for (size_t n = 0; n < full.body.size(); ++n) {
    SftpReply cut = full;
    cut.body = full.body.first(n);
    auto result = parse(cut);
    if (n < min_ok) {
      ASSERT_FALSE(result.ok()) << "prefix of " << n << " bytes parsed";
      EXPECT_EQ(result.status().code(), Code::kCorrupt) << n;
      EXPECT_LT(result.status().message().size(), 200u);
    }
  }
}

TEST(SftpProtocol, RequestsEncodeTheirFields) {
  SftpReply r = Split(EncodeInit(3));
  EXPECT_EQ(r.type, kFxpInit);
  EXPECT_EQ(r.id, 3u);
  EXPECT_TRUE(r.body.empty());

  const Bytes payload = {1, 2, 3};
  r = Split(EncodeWrite(7, "h1", 0x100000000ull, payload));
  EXPECT_EQ(r.type, kFxpWrite);
  EXPECT_EQ(r.id, 7u);
  Reader rd(r.body);
  EXPECT_EQ(*rd.String(), "h1");
  EXPECT_EQ(*rd.U64(), 0x100000000ull);
  EXPECT_EQ(AsString(*rd.Bytes()), AsString(payload));
  EXPECT_TRUE(rd.done());

  r = Split(EncodeRead(8, "h", 42, 32768));
  rd = Reader(r.body);
  EXPECT_EQ(*rd.String(), "h");
  EXPECT_EQ(*rd.U64(), 42u);
  EXPECT_EQ(*rd.U32(), 32768u);
  EXPECT_TRUE(rd.done());

  r = Split(EncodeOpen(9, "/p", kFxfWrite | kFxfCreat | kFxfExcl, 0600));
  EXPECT_EQ(r.type, kFxpOpen);
  rd = Reader(r.body);
  EXPECT_EQ(*rd.String(), "/p");
  EXPECT_EQ(*rd.U32(), kFxfWrite | kFxfCreat | kFxfExcl);
  SftpAttrs a = *rd.Attrs();
  EXPECT_TRUE(a.has_permissions);
  EXPECT_EQ(a.permissions, 0600u);
  EXPECT_FALSE(a.has_size);
  EXPECT_TRUE(rd.done());

  r = Split(EncodeOpen(9, "/p", kFxfRead, 0777));  // no attributes without CREAT
  rd = Reader(r.body);
  rd.String().status().IgnoreError();
  rd.U32().status().IgnoreError();
  EXPECT_EQ(*rd.U32(), 0u);
  EXPECT_TRUE(rd.done());

  r = Split(EncodeMkdir(10, "/d", 0700));
  EXPECT_EQ(r.type, kFxpMkdir);
  rd = Reader(r.body);
  EXPECT_EQ(*rd.String(), "/d");
  EXPECT_EQ(rd.Attrs()->permissions, 0700u);

  r = Split(EncodeRename(11, "/a", "/b"));
  rd = Reader(r.body);
  EXPECT_EQ(*rd.String(), "/a");
  EXPECT_EQ(*rd.String(), "/b");
  EXPECT_TRUE(rd.done());

  r = Split(EncodeExtended(12, "posix-rename@openssh.com", {"/x", "/y"}));
  EXPECT_EQ(r.type, kFxpExtended);
  rd = Reader(r.body);
  EXPECT_EQ(*rd.String(), "posix-rename@openssh.com");
  EXPECT_EQ(*rd.String(), "/x");
  EXPECT_EQ(*rd.String(), "/y");
  EXPECT_TRUE(rd.done());

  for (auto [packet, type] : {std::pair{EncodeClose(1, "h"), kFxpClose},
                              std::pair{EncodeFstat(1, "h"), kFxpFstat},
                              std::pair{EncodeOpendir(1, "h"), kFxpOpendir},
                              std::pair{EncodeReaddir(1, "h"), kFxpReaddir},
                              std::pair{EncodeRemove(1, "h"), kFxpRemove},
                              std::pair{EncodeRealpath(1, "h"), kFxpRealpath},
                              std::pair{EncodeStat(1, "h"), kFxpStat}}) {
    r = Split(packet);
    EXPECT_EQ(r.type, type);
    rd = Reader(r.body);
    EXPECT_EQ(*rd.String(), "h");
    EXPECT_TRUE(rd.done());
  }
}

TEST(SftpProtocol, VersionRoundTrip) {
  const std::vector<SftpExtension> ext = {{"posix-rename@openssh.com", "1"},
                                          {"limits@openssh.com", "1"},
                                          {"empty", ""}};
  const Bytes packet = EncodeVersion(3, ext);
  const SftpReply r = Split(packet);
  Result<SftpVersion> v = ParseVersion(r);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->version, 3u);
  EXPECT_EQ(v->extensions, ext);
  // Cutting inside any extension pair fails; at a pair boundary it is a
  // shorter, valid list.
  std::vector<size_t> boundaries = {0};
  for (const auto& [name, data] : ext)
    boundaries.push_back(boundaries.back() + 8 + name.size() + data.size());
  for (size_t n = 0; n <= r.body.size(); ++n) {
    SftpReply cut = r;
    cut.body = r.body.first(n);
    const bool at_boundary =
        std::find(boundaries.begin(), boundaries.end(), n) != boundaries.end();
    Result<SftpVersion> got = ParseVersion(cut);
    EXPECT_EQ(got.ok(), at_boundary) << n;
    if (!got.ok()) {
      EXPECT_EQ(got.status().code(), Code::kCorrupt);
    }
  }
  EXPECT_TRUE(ParseVersion(Split(EncodeVersion(3, {})))->extensions.empty());
}

TEST(SftpProtocol, StatusRoundTripAndOptionalFields) {
  const SftpReply r = Split(EncodeStatus(5, 2, "No such file", "en"));
  Result<SftpStatus> s = ParseStatus(r);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(r.id, 5u);
  EXPECT_EQ(s->code, 2u);
  EXPECT_EQ(s->message, "No such file");
  EXPECT_EQ(s->language, "en");
  // Code only (some servers omit the rest), code + message: both fine.
  SftpReply code_only = r;
  code_only.body = r.body.first(4);
  EXPECT_TRUE(ParseStatus(code_only).ok());
  SftpReply no_language = r;
  no_language.body = r.body.first(4 + 4 + 12);
  ASSERT_TRUE(ParseStatus(no_language).ok());
  EXPECT_EQ(ParseStatus(no_language)->message, "No such file");
  // Any other cut is malformed.
  for (size_t n = 0; n < r.body.size(); ++n) {
    if (n == 4 || n == 20) continue;
    SftpReply cut = r;
    cut.body = r.body.first(n);
    EXPECT_EQ(ParseStatus(cut).status().code(), Code::kCorrupt) << n;
  }
}

TEST(SftpProtocol, HandleRoundTripAndLimits) {
  const SftpReply r = Split(EncodeHandle(9, std::string("\x00\x01\x02\x03", 4)));
  EXPECT_EQ(*ParseHandle(r), std::string("\x00\x01\x02\x03", 4));
  ExpectEveryTruncationFails(r, [](const SftpReply& c) { return ParseHandle(c); }, r.body.size());
  EXPECT_FALSE(ParseHandle(Split(EncodeHandle(9, ""))).ok());
  EXPECT_TRUE(ParseHandle(Split(EncodeHandle(9, std::string(kMaxHandleLength, 'h')))).ok());
  Result<std::string> too_long = ParseHandle(Split(EncodeHandle(9, std::string(257, 'h'))));
  EXPECT_EQ(too_long.status().code(), Code::kCorrupt);
}

TEST(SftpProtocol, DataRoundTripAndMaxLength) {
  Bytes data(1000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
  const Bytes packet = EncodeData(4, data);
  const SftpReply r = Split(packet);
  Result<ByteView> got = ParseData(r, 1000);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(std::equal(got->begin(), got->end(), data.begin(), data.end()));
  EXPECT_EQ(ParseData(r, 999).status().code(), Code::kCorrupt);  // more than asked for
  EXPECT_TRUE(ParseData(Split(EncodeData(4, {})))->empty());
  ExpectEveryTruncationFails(r, [](const SftpReply& c) { return ParseData(c); }, r.body.size());
}

TEST(SftpProtocol, StringLengthPastTheEndFails) {
  // DATA claiming 2^32-1 bytes with 3 present.
  const Bytes body = {0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c'};
  const SftpReply r{kFxpData, 1, body};
  Result<ByteView> got = ParseData(r);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kCorrupt);
  EXPECT_NE(got.status().message().find("DATA"), std::string::npos);
  Reader rd(body);
  EXPECT_FALSE(rd.String().ok());
}

TEST(SftpProtocol, NameRoundTrip) {
  std::vector<SftpNameEntry> entries(3);
  entries[0] = {".", "drwx------ 2 u g 4096 Jan 1 .", SftpAttrs()};
  entries[0].attrs.has_permissions = true;
  entries[0].attrs.permissions = 040700;
  entries[1] = {"file", "", FullAttrs()};
  entries[2] = {"", "", SftpAttrs()};
  const SftpReply r = Split(EncodeName(6, entries));
  Result<std::vector<SftpNameEntry>> got = ParseName(r);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, entries);
  EXPECT_TRUE((*got)[0].attrs.IsDirectory());
  EXPECT_TRUE((*got)[1].attrs.IsRegular());
  ExpectEveryTruncationFails(r, [](const SftpReply& c) { return ParseName(c); }, r.body.size());
  EXPECT_TRUE(ParseName(Split(EncodeName(6, {})))->empty());
}

TEST(SftpProtocol, NameCountLargerThanTheBufferFailsBeforeAllocating) {
  Bytes body = {0xff, 0xff, 0xff, 0xff};  // 2^32-1 names
  for (int i = 0; i < 12; ++i) body.push_back(0);  // room for one empty entry
  Result<std::vector<SftpNameEntry>> got = ParseName(SftpReply{kFxpName, 1, body});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kCorrupt);
  EXPECT_NE(got.status().message().find("4294967295 names"), std::string::npos);
  // Two announced, one present: the count passes the size check, the second
  // entry is missing.
  body[0] = body[1] = body[2] = 0;
  body[3] = 2;
  for (int i = 0; i < 12; ++i) body.push_back(0xff);
  EXPECT_EQ(ParseName(SftpReply{kFxpName, 1, body}).status().code(), Code::kCorrupt);
}

TEST(SftpProtocol, AttrsEveryFlagCombination) {
  const SftpAttrs full = FullAttrs();
  for (uint32_t mask = 0; mask < 32; ++mask) {
    SftpAttrs a;
    if (mask & 1) {
      a.has_size = true;
      a.size = full.size;
    }
    if (mask & 2) {
      a.has_uid_gid = true;
      a.uid = full.uid;
      a.gid = full.gid;
    }
    if (mask & 4) {
      a.has_permissions = true;
      a.permissions = full.permissions;
    }
    if (mask & 8) {
      a.has_times = true;
      a.atime = full.atime;
      a.mtime = full.mtime;
    }
    if (mask & 16) a.extended = full.extended;
    const SftpReply r = Split(EncodeAttrsReply(2, a));
    Result<SftpAttrs> got = ParseAttrs(r);
    ASSERT_TRUE(got.ok()) << mask << ": " << got.status().ToString();
    EXPECT_EQ(*got, a) << mask;
    // Every field the flags announce must be there.
    ExpectEveryTruncationFails(r, [](const SftpReply& c) { return ParseAttrs(c); },
                               r.body.size());
  }
}

TEST(SftpProtocol, AttrsFlagsWithMissingFields) {
  // Every flag set, nothing after the flags.
  const Bytes body = {0x80, 0x00, 0x00, 0x0f};
  Result<SftpAttrs> got = ParseAttrs(SftpReply{kFxpAttrs, 1, body});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kCorrupt);
  EXPECT_NE(got.status().message().find("ATTRS"), std::string::npos);
  // Unknown flag bits carry no fields in v3 and are ignored.
  const Bytes unknown = {0x00, 0x00, 0x01, 0x00};
  EXPECT_TRUE(ParseAttrs(SftpReply{kFxpAttrs, 1, unknown}).ok());
}

TEST(SftpProtocol, ExtendedAttributeCountOverflowFails) {
  const Bytes body = {0x80, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0};
  Result<SftpAttrs> got = ParseAttrs(SftpReply{kFxpAttrs, 1, body});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kCorrupt);
  EXPECT_NE(got.status().message().find("4294967295 extended"), std::string::npos);
}

TEST(SftpProtocol, WrongReplyTypeIsRefused) {
  const SftpReply status = Split(EncodeStatus(1, 0, ""));
  EXPECT_EQ(ParseHandle(status).status().code(), Code::kCorrupt);
  EXPECT_EQ(ParseData(status).status().code(), Code::kCorrupt);
  EXPECT_EQ(ParseName(status).status().code(), Code::kCorrupt);
  EXPECT_EQ(ParseAttrs(status).status().code(), Code::kCorrupt);
  EXPECT_EQ(ParseVersion(status).status().code(), Code::kCorrupt);
  EXPECT_EQ(ParseLimits(status).status().code(), Code::kCorrupt);
  EXPECT_EQ(ParseStatus(Split(EncodeHandle(1, "h"))).status().code(), Code::kCorrupt);
}

TEST(SftpProtocol, ExtendedReplies) {
  PacketWriter limits(kFxpExtendedReply, 3);
  for (uint64_t v : {uint64_t{262144}, uint64_t{261120}, uint64_t{261120}, uint64_t{1024}})
    limits.U64(v);
  const Bytes packet = limits.Finish();
  const SftpReply r = Split(packet);
  Result<SftpLimits> l = ParseLimits(r);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->max_packet_length, 262144u);
  EXPECT_EQ(l->max_read_length, 261120u);
  EXPECT_EQ(l->max_write_length, 261120u);
  ExpectEveryTruncationFails(r, [](const SftpReply& c) { return ParseLimits(c); }, 24);

  PacketWriter w(kFxpExtendedReply, 4);
  for (uint64_t v : {4096, 4096, 1000, 500, 400, 0, 0, 0, 0, 0, 255}) w.U64(uint64_t(v));
  const Bytes statvfs_packet = w.Finish();
  const SftpReply sv = Split(statvfs_packet);
  Result<SftpStatvfs> s = ParseStatvfs(sv);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->AvailableBytes(), 400u * 4096u);
  ExpectEveryTruncationFails(sv, [](const SftpReply& c) { return ParseStatvfs(c); }, 40);
  SftpStatvfs huge;
  huge.frsize = 1u << 20;
  huge.bavail = UINT64_MAX / 2;
  EXPECT_EQ(huge.AvailableBytes(), UINT64_MAX);

  const Bytes raw = {1, 2, 3};
  EXPECT_EQ(Split(EncodeExtendedReply(5, raw)).body.size(), 3u);
}

TEST(SftpProtocol, ReplyShorterThanHeaderFails) {
  for (size_t n = 0; n < 5; ++n) {
    const Bytes payload(n, 0x65);
    EXPECT_EQ(ParseReply(payload).status().code(), Code::kCorrupt) << n;
  }
}

// Collects every packet the splitter yields, or its error.
Status Drain(FrameSplitter& s, std::vector<Bytes>* out) {
  while (true) {
    LB_ASSIGN_OR_RETURN(std::optional<ByteView> packet, s.Next());
    if (!packet) return Status::Ok();
    out->emplace_back(packet->begin(), packet->end());
  }
}

TEST(SftpProtocol, FrameSplitterSplitsAStreamFedInTinyChunks) {
  const std::vector<Bytes> packets = {EncodeVersion(3, {{"a", "b"}}), EncodeStatus(1, 0, "ok"),
                                      EncodeData(2, Bytes(70000, 0xab)), EncodeHandle(3, "h")};
  Bytes stream;
  for (const Bytes& p : packets) stream.insert(stream.end(), p.begin(), p.end());
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{4096}, stream.size()}) {
    FrameSplitter s(1u << 20);
    std::vector<Bytes> got;
    for (size_t at = 0; at < stream.size(); at += chunk) {
      s.Feed(ByteView(stream).subspan(at, std::min(chunk, stream.size() - at)));
      ASSERT_TRUE(Drain(s, &got).ok());
    }
    ASSERT_EQ(got.size(), packets.size()) << chunk;
    for (size_t i = 0; i < packets.size(); ++i) {
      EXPECT_EQ(got[i], Bytes(packets[i].begin() + 4, packets[i].end())) << chunk << " " << i;
    }
    EXPECT_EQ(s.buffered(), 0u);
  }
}

TEST(SftpProtocol, FrameSplitterRefusesZeroShortAndOversizedLengths) {
  for (uint32_t len : {0u, 1u, 4u, 1025u, 0xffffffffu}) {
    FrameSplitter s(1024);
    const Bytes header = {static_cast<uint8_t>(len >> 24), static_cast<uint8_t>(len >> 16),
                          static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
    s.Feed(header);  // only the length: refused before any body arrives
    Result<std::optional<ByteView>> got = s.Next();
    ASSERT_FALSE(got.ok()) << len;
    EXPECT_EQ(got.status().code(), Code::kCorrupt);
    EXPECT_EQ(s.buffered(), 0u);
    // Sticky: a valid packet afterwards does not revive it.
    s.Feed(EncodeStatus(1, 0, ""));
    EXPECT_FALSE(s.Next().ok());
  }
  FrameSplitter at_limit(1024);
  const Bytes packet = EncodeData(1, Bytes(1024 - 9, 0));  // type + id + 4 + data = 1024
  at_limit.Feed(packet);
  Result<std::optional<ByteView>> got = at_limit.Next();
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->size(), 1024u);
}

TEST(SftpProtocol, FrameSplitterWaitsForIncompletePackets) {
  const Bytes packet = EncodeHandle(1, "handle");
  FrameSplitter s(1024);
  for (size_t i = 0; i + 1 < packet.size(); ++i) {
    s.Feed(ByteView(packet).subspan(i, 1));
    Result<std::optional<ByteView>> got = s.Next();
    ASSERT_TRUE(got.ok());
    EXPECT_FALSE(got->has_value()) << i;
  }
  s.Feed(ByteView(packet).last(1));
  Result<std::optional<ByteView>> got = s.Next();
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(*ParseHandle(*ParseReply(**got)), "handle");
}

}  // namespace
}  // namespace lifeboat::sftp
