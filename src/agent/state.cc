#include "agent/state.h"

#include <algorithm>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace lifeboat {
namespace {

using nlohmann::json;

// Defensive readers: a missing key or a wrong type gives the default.
int64_t Time(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return 0;
  int64_t v = it->get<int64_t>();
  return v > 0 ? v : 0;
}
double Num(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return 0;
  double v = it->get<double>();
  return v >= 0 && v < 1e15 ? v : 0;
}
bool Bool(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}
std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return {};
  std::string s = it->get<std::string>();
  if (s.size() > 4096) s.resize(4096);
  return s;
}

json JobToJson(const JobState& s) {
  return {{"last_attempt", s.last_attempt},
          {"last_success", s.last_success},
          {"last_failure", s.last_failure},
          {"consecutive_failures", s.consecutive_failures},
          {"failures_total", s.failures_total},
          {"last_duration_seconds", s.last_duration_seconds},
          {"last_added_bytes", s.last_added_bytes},
          {"last_error", s.last_error}};
}

JobState JobFromJson(const json& j) {
  JobState s;
  if (!j.is_object()) return s;
  s.last_attempt = Time(j, "last_attempt");
  s.last_success = Time(j, "last_success");
  s.last_failure = Time(j, "last_failure");
  s.consecutive_failures = static_cast<int>(std::min<int64_t>(Time(j, "consecutive_failures"), 1000000));
  s.failures_total = Time(j, "failures_total");
  s.last_duration_seconds = Num(j, "last_duration_seconds");
  s.last_added_bytes = static_cast<uint64_t>(Num(j, "last_added_bytes"));
  s.last_error = Str(j, "last_error");
  return s;
}

template <typename T, typename F>
std::map<std::string, T> MapFromJson(const json& j, const char* key, F&& one) {
  std::map<std::string, T> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return out;
  for (const auto& [name, value] : it->items()) {
    if (name.empty() || name.size() > 256) continue;
    out[name] = one(value);
  }
  return out;
}

}  // namespace

int64_t RecoveryPointOf(const AgentState& state, const std::string& component) {
  int64_t point = 0;
  if (auto b = state.backups.find(component); b != state.backups.end()) point = b->second.last_success;
  if (auto r = state.recovery_points.find(component); r != state.recovery_points.end()) {
    point = std::max(point, r->second);
  }
  return point;
}

std::string AlertKey(std::string_view kind, std::string_view component) {
  return std::string(kind) + "/" + std::string(component);
}

nlohmann::json AgentStateToJson(const AgentState& state) {
  json backups = json::object(), prunes = json::object(), drills = json::object(),
       alerts = json::object(), sizes = json::object();
  for (const auto& [k, v] : state.backups) backups[k] = JobToJson(v);
  for (const auto& [k, v] : state.prunes) prunes[k] = JobToJson(v);
  for (const auto& [k, v] : state.drills) {
    drills[k] = {{"time", v.time}, {"passed", v.passed}, {"restored", v.restored},
                 {"seconds", v.seconds}, {"error", v.error}};
  }
  for (const auto& [k, v] : state.alerts) {
    alerts[k] = {{"active", v.active}, {"since", v.since}, {"last_sent", v.last_sent}};
  }
  for (const auto& [k, v] : state.sizes) sizes[k] = {{"time", v.time}, {"bytes", v.bytes}};
  json points = json::object();
  for (const auto& [k, v] : state.recovery_points) points[k] = v;
  return {{"version", kAgentStateVersion}, {"created", state.created}, {"backups", backups},
          {"prunes", prunes},  {"drill", JobToJson(state.drill)},  {"drills", drills},
          {"alerts", alerts}, {"sizes", sizes}, {"recovery_points", points},
          {"last_probe", state.last_probe}};
}

Result<AgentState> AgentStateFromJson(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("version") || !j["version"].is_number_integer() ||
      j["version"].get<int64_t>() != kAgentStateVersion) {
    return Corrupt("not an agent state of version " + std::to_string(kAgentStateVersion));
  }
  AgentState s;
  s.created = Time(j, "created");
  s.backups = MapFromJson<JobState>(j, "backups", JobFromJson);
  s.prunes = MapFromJson<JobState>(j, "prunes", JobFromJson);
  if (j.contains("drill")) s.drill = JobFromJson(j["drill"]);
  s.drills = MapFromJson<ComponentDrillState>(j, "drills", [](const json& v) {
    ComponentDrillState d;
    if (!v.is_object()) return d;
    d.time = Time(v, "time");
    d.passed = Bool(v, "passed");
    d.restored = Bool(v, "restored");
    d.seconds = Num(v, "seconds");
    d.error = Str(v, "error");
    return d;
  });
  s.alerts = MapFromJson<AlertMemory>(j, "alerts", [](const json& v) {
    AlertMemory m;
    if (!v.is_object()) return m;
    m.active = Bool(v, "active");
    m.since = Time(v, "since");
    m.last_sent = Time(v, "last_sent");
    return m;
  });
  s.last_probe = Time(j, "last_probe");
  s.recovery_points = MapFromJson<int64_t>(j, "recovery_points", [](const json& v) {
    return v.is_number_integer() && v.get<int64_t>() > 0 ? v.get<int64_t>() : int64_t{0};
  });
  s.sizes = MapFromJson<RepositorySize>(j, "sizes", [](const json& v) {
    RepositorySize r;
    if (!v.is_object()) return r;
    r.time = Time(v, "time");
    r.bytes = static_cast<uint64_t>(Time(v, "bytes"));
    return r;
  });
  return s;
}

Result<AgentState> LoadAgentState(const std::string& dir, int64_t now) {
  const std::string path = dir + "/" + kAgentStateFile;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) {
      AgentState s;
      s.created = now;
      return s;
    }
    return ErrnoStatus(errno, "open " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > (64u << 20)) return Corrupt(path + ": larger than 64 MiB");
  json j = json::parse(text.str(), nullptr, false);
  if (j.is_discarded()) return Corrupt(path + ": not valid JSON");
  auto s = AgentStateFromJson(j);
  if (!s.ok()) return Corrupt(path + ": " + s.status().message());
  if (s->created == 0) s->created = now;
  return s;
}

Status SaveAgentState(const std::string& dir, const AgentState& state) {
  const std::string path = dir + "/" + kAgentStateFile;
  const std::string tmp = path + ".tmp";
  const std::string text = AgentStateToJson(state).dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, "create " + tmp);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t w = write(fd, text.data() + done, text.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      int e = errno;
      close(fd);
      unlink(tmp.c_str());
      return ErrnoStatus(e, "write " + tmp);
    }
    done += static_cast<size_t>(w);
  }
  if (fsync(fd) != 0) {
    int e = errno;
    close(fd);
    unlink(tmp.c_str());
    return ErrnoStatus(e, "fsync " + tmp);
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    unlink(tmp.c_str());
    return ErrnoStatus(e, "rename " + tmp);
  }
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return Status::Ok();
}

Status EnsureStateDir(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    // Parents as usual, the state directory itself 0700.
    std::filesystem::path p(dir);
    if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, "create state directory " + dir);
    }
  }
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) return ErrnoStatus(errno, "state directory " + dir);
  if (!S_ISDIR(st.st_mode)) return IoError("state directory " + dir + " is not a directory");
  if ((st.st_mode & 077) != 0) chmod(dir.c_str(), 0700);
  if (access(dir.c_str(), W_OK) != 0) return ErrnoStatus(errno, "state directory " + dir + " is not writable");
  return Status::Ok();
}

std::string DefaultStateDir(bool root, const char* xdg_state_home, const char* home) {
  if (root) return "/var/lib/lifeboat/agent";
  if (xdg_state_home && *xdg_state_home == '/') return std::string(xdg_state_home) + "/lifeboat";
  return std::string(home && *home ? home : "/tmp") + "/.local/state/lifeboat";
}

}  // namespace lifeboat
