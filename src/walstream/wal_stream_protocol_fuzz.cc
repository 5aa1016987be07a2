// libFuzzer target for the streaming replication message parser (CopyData
// from the network: untrusted). It must accept or fail cleanly, never read
// outside the message, and a parsed XLogData's data must lie inside it.
#include <cstdlib>

#include "walstream/wal_stream_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lifeboat::ByteView in(data, size);
  auto m = lifeboat::ParseReplicationMessage(in);
  if (!m.ok()) return 0;
  if (m->kind == lifeboat::ReplicationMessage::Kind::kXLogData) {
    if (m->data.size() + 25 != size) std::abort();
    if (m->data.data() != data + 25) std::abort();
    volatile uint8_t sink = 0;
    for (uint8_t b : m->data) sink = sink ^ b;
    (void)sink;
  } else if (size != 18) {
    std::abort();
  }
  return 0;
}
