// IngestStream: stores everything read from a file descriptor (a pipe from a
// child tool, or a private temporary file) as one regular file at the root of
// a TreeIngest, remembering the first and last bytes so a source can check
// the stream's framing (an RDB's "REDIS0011" magic and end marker, a git
// bundle's signature) before a snapshot is saved.
// Thread-safety: as TreeIngest (one thread).
#pragma once

#include <cstdint>
#include <string>

#include "archiver/tree_ingest.h"
#include "base/result.h"

namespace lifeboat {

struct StreamIngestResult {
  uint64_t bytes = 0;
  std::string head;  // the first min(bytes, head_len) bytes
  std::string tail;  // the last min(bytes, tail_len) bytes
  std::string held;  // with hold_back: the last bytes, not yet written
};

// Reads `fd` to its end into `ingest` as the file `name` (mode 0600, owner
// and time of now). Read errors are kIoError naming `what`. With hold_back >
// 0 the last hold_back bytes are not written but returned in `held`, and the
// file is left open: the caller writes what it keeps and calls EndFile
// (bytes, head and tail still count them).
Result<StreamIngestResult> IngestStream(TreeIngest& ingest, int fd, const std::string& name,
                                        const std::string& what, size_t head_len = 64,
                                        size_t tail_len = 64, size_t hold_back = 0);

}  // namespace lifeboat
