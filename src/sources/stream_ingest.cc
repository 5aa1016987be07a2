#include "sources/stream_ingest.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <vector>

namespace lifeboat {

Result<StreamIngestResult> IngestStream(TreeIngest& ingest, int fd, const std::string& name,
                                        const std::string& what, size_t head_len,
                                        size_t tail_len, size_t hold_back) {
  NodeMeta meta;
  meta.mode = 0600;
  meta.uid = geteuid();
  meta.gid = getegid();
  meta.mtime_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  LB_RETURN_IF_ERROR(ingest.BeginFile(name, meta));
  StreamIngestResult r;
  std::vector<uint8_t> buf(1 << 20);
  for (;;) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "unable to read " + what);
    if (n == 0) break;
    size_t len = static_cast<size_t>(n);
    std::string_view piece(reinterpret_cast<const char*>(buf.data()), len);
    if (r.head.size() < head_len) r.head.append(piece.substr(0, head_len - r.head.size()));
    if (len >= tail_len) {
      r.tail.assign(piece.substr(len - tail_len));
    } else {
      r.tail.append(piece);
      if (r.tail.size() > tail_len) r.tail.erase(0, r.tail.size() - tail_len);
    }
    r.bytes += len;
    if (hold_back == 0) {
      LB_RETURN_IF_ERROR(ingest.Write(ByteView(buf.data(), len)));
      continue;
    }
    r.held.append(piece);
    if (r.held.size() > hold_back) {
      size_t out = r.held.size() - hold_back;
      LB_RETURN_IF_ERROR(ingest.Write(AsBytes(std::string_view(r.held).substr(0, out))));
      r.held.erase(0, out);
    }
  }
  if (hold_back == 0) LB_RETURN_IF_ERROR(ingest.EndFile());
  return r;
}

}  // namespace lifeboat
