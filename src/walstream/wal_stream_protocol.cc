#include "walstream/wal_stream_protocol.h"

namespace lifeboat {
namespace {

uint64_t ReadU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}

void PutU64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

Result<ReplicationMessage> ParseReplicationMessage(ByteView message) {
  if (message.empty()) return Corrupt("empty replication message");
  ReplicationMessage m;
  const uint8_t* p = message.data() + 1;
  const size_t body = message.size() - 1;
  switch (message[0]) {
    case 'w':
      if (body < 24) return Corrupt("truncated XLogData message");
      m.kind = ReplicationMessage::Kind::kXLogData;
      m.data_start = ReadU64(p);
      m.wal_end = ReadU64(p + 8);
      m.send_time = static_cast<int64_t>(ReadU64(p + 16));
      m.data = ByteView(p + 24, body - 24);
      if (m.data_start + m.data.size() < m.data_start) {
        return Corrupt("XLogData message beyond the end of the WAL position space");
      }
      return m;
    case 'k':
      if (body != 17) return Corrupt("malformed keepalive message");
      m.kind = ReplicationMessage::Kind::kKeepalive;
      m.wal_end = ReadU64(p);
      m.send_time = static_cast<int64_t>(ReadU64(p + 8));
      if (p[16] > 1) return Corrupt("malformed keepalive message (reply flag)");
      m.reply_requested = p[16] == 1;
      return m;
    default: {
      const uint8_t t = message[0];
      return Status(Code::kUnsupported,
                    "unknown replication message type " +
                        (t >= 32 && t < 127 ? "'" + std::string(1, static_cast<char>(t)) + "'"
                                            : std::to_string(t)));
    }
  }
}

std::string EncodeStandbyStatus(uint64_t write_lsn, uint64_t flush_lsn, uint64_t apply_lsn,
                                int64_t client_time_us, bool reply_requested) {
  std::string out;
  out.reserve(34);
  out.push_back('r');
  PutU64(out, write_lsn);
  PutU64(out, flush_lsn);
  PutU64(out, apply_lsn);
  PutU64(out, static_cast<uint64_t>(client_time_us));
  out.push_back(reply_requested ? 1 : 0);
  return out;
}

int64_t PgEpochMicros(int64_t unix_micros) {
  constexpr int64_t kPgEpochUnixSeconds = 946684800;  // 2000-01-01 00:00:00 UTC
  return unix_micros - kPgEpochUnixSeconds * 1000000;
}

}  // namespace lifeboat
