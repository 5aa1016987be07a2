// Redis as a backup source: the RDB snapshot a running server sends a
// replica, fetched with `redis-cli --rdb -` (package redis-tools) and
// streamed into the repository. The password reaches redis-cli only through
// the REDISCLI_AUTH environment variable of the child, never its argv.
// This file holds the pieces that do not need the repository: connection
// arguments, INFO parsing and the RDB framing check.
// Thread-safety: pure functions, plus child processes started per call.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "sources/child_process.h"

namespace lifeboat {

struct RedisConnection {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string user;      // ACL user (--user), empty = default
  std::string password;  // never printed; given to redis-cli as REDISCLI_AUTH
  std::string Describe() const { return host + ":" + std::to_string(port); }
  // redis-cli's connection arguments (no password) and environment.
  std::vector<std::string> CliArgs() const;
  ChildOptions CliOptions() const;
};

struct RedisServerInfo {
  std::string version;  // redis_version
  int64_t keys = -1;    // over all databases (INFO keyspace); -1 unknown
};

// Parses the text of INFO (any sections).
RedisServerInfo ParseRedisInfo(const std::string& info);

// Asks the server (redis-cli INFO server + keyspace). A refused connection
// or a rejected password is kUnavailable / kPermissionDenied with redis-cli's
// words.
Result<RedisServerInfo> QueryRedisInfo(const RedisConnection& conn);

// redis-cli --rdb writing to a pipe cannot truncate what it wrote, so after a
// diskless transfer (its standard error says "until EOF marker") the stream
// ends with the server's 40-character end marker. True when `last40` is
// that marker: such a transfer was announced and the bytes are all
// alphanumeric (an RDB never ends that way: its ninth-last byte is 0xFF).
inline constexpr size_t kRdbEofMarkSize = 40;
bool IsRdbEofMark(std::string_view last40, std::string_view redis_cli_stderr);

// Checks that `head` (the first bytes) starts with "REDIS" and a 4-digit
// version and, from version 5 on, that `tail` (the last bytes, at least 9)
// ends with the EOF opcode 0xFF and an 8-byte checksum. Returns the version.
Result<int> CheckRdbFraming(const std::string& head, const std::string& tail, uint64_t size);

}  // namespace lifeboat
