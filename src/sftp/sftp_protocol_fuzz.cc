// libFuzzer target for the SFTP reply parsers (every byte a server sends is
// untrusted). Two passes over each input:
//  1. the first byte picks one parser, the rest is its reply body;
//  2. the whole input goes through the frame splitter, in chunks whose sizes
//     come from the input, and every complete packet goes to the parser of
//     its type.
// Parsers must succeed or fail with kCorrupt, never crash, and never return
// more than they were given.
#include <algorithm>
#include <cstdlib>
#include <optional>

#include "sftp/sftp_protocol.h"

namespace {

using namespace lifeboat;
using namespace lifeboat::sftp;

void Check(bool ok) {
  if (!ok) std::abort();
}

template <typename T>
bool FailedCleanly(const Result<T>& r) {
  return r.ok() || (r.status().code() == Code::kCorrupt && r.status().message().size() < 300);
}

size_t AttrsBytes(const SftpAttrs& a) {
  size_t n = 0;
  for (const auto& [name, data] : a.extended) n += name.size() + data.size();
  return n;
}

void ParseAs(uint8_t type, const SftpReply& reply) {
  const size_t size = reply.body.size();
  switch (type % 9) {
    case 0: {
      auto v = ParseVersion(reply);
      Check(FailedCleanly(v));
      if (v.ok()) {
        size_t n = 0;
        for (const auto& [name, data] : v->extensions) n += name.size() + data.size() + 8;
        Check(n <= size);
      }
      break;
    }
    case 1: {
      auto s = ParseStatus(reply);
      Check(FailedCleanly(s));
      if (s.ok()) Check(s->message.size() + s->language.size() <= size);
      break;
    }
    case 2: {
      auto h = ParseHandle(reply);
      Check(FailedCleanly(h));
      if (h.ok()) Check(!h->empty() && h->size() <= kMaxHandleLength && h->size() <= size);
      break;
    }
    case 3: {
      auto d = ParseData(reply, 32768);
      Check(FailedCleanly(d));
      if (d.ok()) Check(d->size() <= 32768 && d->size() + 4 <= size);
      break;
    }
    case 4: {
      auto names = ParseName(reply);
      Check(FailedCleanly(names));
      if (names.ok()) {
        size_t n = 0;
        for (const SftpNameEntry& e : *names)
          n += e.name.size() + e.longname.size() + 12 + AttrsBytes(e.attrs);
        Check(n <= size);
      }
      break;
    }
    case 5: {
      auto a = ParseAttrs(reply);
      Check(FailedCleanly(a));
      if (a.ok()) Check(AttrsBytes(*a) + 4 <= size);
      break;
    }
    case 6:
      Check(FailedCleanly(ParseLimits(reply)));
      break;
    case 7: {
      auto s = ParseStatvfs(reply);
      Check(FailedCleanly(s));
      if (s.ok()) (void)s->AvailableBytes();
      break;
    }
    case 8:
      Check(FailedCleanly(ParseReply(reply.body)));
      break;
  }
}

uint8_t TypeFor(uint8_t selector) {
  static constexpr uint8_t kTypes[9] = {kFxpVersion, kFxpStatus,        kFxpHandle,
                                        kFxpData,    kFxpName,          kFxpAttrs,
                                        kFxpExtendedReply, kFxpExtendedReply, 0};
  return kTypes[selector % 9];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const ByteView input(data, size);

  // Pass 1: one parser, chosen by the first byte.
  SftpReply direct{TypeFor(data[0]), 7, input.subspan(1)};
  ParseAs(data[0], direct);

  // Pass 2: the stream through the splitter (limit 64 KiB so that oversized
  // lengths are reachable), chunk sizes 1..16 from the input's bytes.
  FrameSplitter splitter(64 * 1024);
  size_t at = 0;
  size_t fed = 0;
  size_t returned = 0;
  bool failed = false;
  while (at < size && !failed) {
    const size_t chunk = std::min<size_t>(size - at, 1 + (data[at] & 15));
    splitter.Feed(input.subspan(at, chunk));
    fed += chunk;
    at += chunk;
    while (true) {
      auto packet = splitter.Next();
      Check(FailedCleanly(packet));
      if (!packet.ok()) {
        failed = true;
        break;
      }
      if (!packet->has_value()) break;
      const ByteView p = **packet;
      Check(p.size() >= 5 && p.size() <= 64 * 1024);
      returned += p.size() + 4;
      auto reply = ParseReply(p);
      Check(reply.ok());
      for (uint8_t sel = 0; sel < 9; ++sel) {
        if (TypeFor(sel) == reply->type) ParseAs(sel, *reply);
      }
    }
  }
  if (!failed) Check(returned + splitter.buffered() == fed);  // nothing lost or invented
  return 0;
}
