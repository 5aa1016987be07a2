#include "sources/redis_source.h"

#include <cctype>
#include <cstdlib>

namespace lifeboat {

std::vector<std::string> RedisConnection::CliArgs() const {
  std::vector<std::string> args = {"redis-cli", "-h", host, "-p", std::to_string(port)};
  if (!user.empty()) {
    args.push_back("--user");
    args.push_back(user);
  }
  return args;
}

ChildOptions RedisConnection::CliOptions() const {
  ChildOptions o;
  o.stdin_null = true;
  if (!password.empty()) o.env["REDISCLI_AUTH"] = password;
  return o;
}

RedisServerInfo ParseRedisInfo(const std::string& info) {
  RedisServerInfo r;
  size_t pos = 0;
  while (pos < info.size()) {
    size_t nl = info.find('\n', pos);
    if (nl == std::string::npos) nl = info.size();
    std::string line = info.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("redis_version:", 0) == 0) {
      r.version = line.substr(14);
    } else if (line.size() > 3 && line.rfind("db", 0) == 0 && std::isdigit(line[2])) {
      // db0:keys=12,expires=0,avg_ttl=0
      size_t k = line.find(":keys=");
      if (k == std::string::npos) continue;
      int64_t n = std::atoll(line.c_str() + k + 6);
      r.keys = (r.keys < 0 ? 0 : r.keys) + n;
    } else if (line == "# Keyspace" && r.keys < 0) {
      r.keys = 0;  // the section is there: an empty server has no db lines
    }
  }
  return r;
}

Result<RedisServerInfo> QueryRedisInfo(const RedisConnection& conn) {
  std::vector<std::string> args = conn.CliArgs();
  args.insert(args.end(), {"INFO", "everything"});
  auto run = RunAndCollect(args, conn.CliOptions(), 4 << 20);
  if (!run.ok()) return run.status();
  const std::string* out = &run->out;
  RedisServerInfo info = ParseRedisInfo(*out);
  if (info.version.empty()) {
    std::string first = out->substr(0, out->find('\n'));
    if (first.empty()) first = run->err_tail.substr(0, run->err_tail.find('\n'));
    for (char& c : first) {
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    }
    bool auth = first.find("NOAUTH") != std::string::npos ||
                first.find("WRONGPASS") != std::string::npos ||
                first.find("NOPERM") != std::string::npos;
    return Status(auth ? Code::kPermissionDenied : Code::kUnavailable,
                  "Redis at " + conn.Describe() + " did not answer INFO: " +
                      (first.empty() ? "redis-cli " + run->status.Describe() : first.substr(0, 300)),
                  auth ? "give the password in REDISCLI_AUTH or with --redis-password-file "
                         "(and --user for an ACL user)"
                       : "");
  }
  return info;
}

bool IsRdbEofMark(std::string_view last40, std::string_view redis_cli_stderr) {
  if (last40.size() != kRdbEofMarkSize) return false;
  if (redis_cli_stderr.find("EOF marker") == std::string_view::npos) return false;
  for (char c : last40) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

Result<int> CheckRdbFraming(const std::string& head, const std::string& tail, uint64_t size) {
  if (head.size() < 9 || head.compare(0, 5, "REDIS") != 0 ||
      !std::isdigit(static_cast<unsigned char>(head[5])) ||
      !std::isdigit(static_cast<unsigned char>(head[6])) ||
      !std::isdigit(static_cast<unsigned char>(head[7])) ||
      !std::isdigit(static_cast<unsigned char>(head[8]))) {
    return Status(Code::kCorrupt, "the server's reply is not an RDB file (no 'REDIS' magic)");
  }
  int version = std::atoi(head.substr(5, 4).c_str());
  if (version >= 5) {
    if (size < 18 || tail.size() < 9 || static_cast<uint8_t>(tail[tail.size() - 9]) != 0xFF) {
      return Status(Code::kCorrupt, "the RDB stream (version " + std::to_string(version) +
                                        ", " + std::to_string(size) +
                                        " bytes) is truncated: no end marker");
    }
  }
  return version;
}

}  // namespace lifeboat
