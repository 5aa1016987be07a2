// lifeboat agent [--config F] [--listen ADDR] [--state-dir D] [--once]
// [--paused]: the long-running service. Runs the jobs of agent/scheduler.h
// one at a time as child processes of this binary (`run COMPONENT`,
// `forget ... ` + `prune` per repository, `drill`) with the same --config,
// so that a crashing job never takes the agent down; keeps what happened in
// STATE_DIR/state.json (agent/state.h); evaluates and de-duplicates alerts
// every tick (agent/alerting.h); serves /metrics and /healthz on --listen.
//
// Signals: SIGTERM / SIGINT stop the loop (a running child gets SIGTERM,
// then SIGKILL after 30 s) and exit 0; SIGHUP reloads lifeboat.toml (an
// invalid new file is logged and the old configuration kept).
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "agent/alerting.h"
#include "agent/http_server.h"
#include "agent/metrics.h"
#include "agent/scheduler.h"
#include "agent/state.h"
#include "app/alert.h"
#include "app/component_kind.h"
#include "app/drill_report.h"
#include "app/process.h"
#include "appconfig/plan.h"
#include "cli/app_support.h"
#include "cli/commands.h"
#include "model/time_format.h"

namespace lifeboat {
namespace {

inline constexpr const char* kDefaultListen = "127.0.0.1:9847";
inline constexpr int64_t kHealthTickBoundSeconds = 60;
inline constexpr int kChildStopGraceSeconds = 30;
// A job finding its repository locked by another process (a backup from
// another host, a prune) keeps trying this long before it fails; the
// agent's own --retry-lock overrides it.
inline constexpr const char* kDefaultJobLockWait = "10m";
inline constexpr int64_t kMaxIdleSleepSeconds = 5;

volatile sig_atomic_t g_stop = 0;
volatile sig_atomic_t g_reload = 0;

void OnSignal(int sig) {
  if (sig == SIGHUP) g_reload = 1;
  else g_stop = 1;
}

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Log(const std::string& message) {
  std::cerr << FormatTimeRfc3339(NowSeconds() * 1000000000LL).substr(0, 19) << "Z lifeboat agent: "
            << message << std::endl;
}

struct AgentOpts {
  std::string config;
  std::string listen = kDefaultListen;
  std::string state_dir;
  bool once = false;
  bool paused = false;
};

struct ChildOutcome {
  int exit_code = -1;
  std::string out, err;
  bool stopped = false;  // we asked it to stop (SIGTERM from the operator)
};

std::string ReadCapped(const std::string& path, size_t cap) {
  std::ifstream in(path, std::ios::binary);
  std::string s;
  if (!in) return s;
  s.resize(cap);
  in.read(s.data(), static_cast<std::streamsize>(cap));
  s.resize(static_cast<size_t>(in.gcount()));
  return s;
}

// The last JSON object line of `text` whose message_type is `type`.
nlohmann::json LastJsonOfType(const std::string& text, std::string_view type) {
  nlohmann::json found;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '{') continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.value("message_type", "") == type) found = std::move(j);
  }
  return found;
}

// A child's error in one line: its JSON error, else the last line of stderr.
std::string ChildError(const ChildOutcome& c) {
  nlohmann::json e = LastJsonOfType(c.err, "error");
  if (e.is_object() && e.contains("message") && e["message"].is_string()) {
    return e["message"].get<std::string>();
  }
  ProcessResult p;
  p.err = c.err;
  std::string last = p.LastLine();
  if (last.empty()) last = c.exit_code < 0 ? "killed by a signal" : fmt::format("exit status {}", c.exit_code);
  return last;
}

class Agent {
 public:
  Agent(const GlobalOptions& global, const AgentOpts& opts) : global_(global), opts_(opts) {}

  int Main() {
    auto app = LoadAppConfigForCli(opts_.config);
    if (!app.ok()) return ReportError(global_, app.status());
    config_ = std::move(*app);
    plan_ = MakePlan(config_);
    state_dir_ = opts_.state_dir.empty()
                     ? DefaultStateDir(geteuid() == 0, std::getenv("XDG_STATE_HOME"), std::getenv("HOME"))
                     : opts_.state_dir;
    if (Status s = EnsureStateDir(state_dir_); !s.ok()) return ReportError(global_, s);
    // One agent per state directory.
    const std::string lock_path = state_dir_ + "/agent.lock";
    lock_fd_ = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) return ReportError(global_, ErrnoStatus(errno, "open " + lock_path));
    if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      return ReportError(global_, Status(Code::kLocked,
                                         "another lifeboat agent is running with state directory " +
                                             state_dir_));
    }
    auto state = LoadAgentState(state_dir_, NowSeconds());
    if (!state.ok()) {
      if (state.status().code() != Code::kCorrupt) return ReportError(global_, state.status());
      const std::string aside = fmt::format("{}/{}.corrupt-{}", state_dir_, kAgentStateFile, NowSeconds());
      std::rename((state_dir_ + "/" + kAgentStateFile).c_str(), aside.c_str());
      Log(state.status().message() + "; moved aside to " + aside + ", starting with an empty state");
      state = AgentState{};
      state->created = NowSeconds();
    }
    state_ = std::move(*state);
    if (Status s = SaveAgentState(state_dir_, state_); !s.ok()) return ReportError(global_, s);

    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = OnSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
    // Processes a job leaves behind are re-parented to the agent rather than
    // to init, so StopLeftovers can see them through and reap them.
    prctl(PR_SET_CHILD_SUBREAPER, 1);

    last_tick_ = NowSeconds();
    if (!opts_.once) {
      auto address = ParseListenAddress(opts_.listen);
      if (!address.ok()) return ReportError(global_, address.status());
      if (Status s = http_.Start(*address, [this](const std::string& path) { return Serve(path); }); !s.ok()) {
        return ReportError(global_, s);
      }
      ListenAddress bound = *address;
      bound.port = http_.port();
      Log(fmt::format("app {}: serving /metrics and /healthz on {}; state in {}{}", config_.app_name,
                      bound.ToString(), state_dir_, opts_.paused ? "; PAUSED: no jobs start" : ""));
    }
    bool all_ok = true;
    std::set<std::string> ran_once;
    while (!g_stop) {
      const int64_t now = NowSeconds();
      last_tick_ = now;
      // Adopted daemons of earlier jobs (a sandbox server a drill could not
      // stop) that have exited since: no job runs now, nothing else to wait for.
      while (waitpid(-1, nullptr, WNOHANG) > 0) {
      }
      if (g_reload) {
        g_reload = 0;
        Reload();
      }
      MaybeProbeRecoveryPoints(now);
      if (g_stop) break;
      EvaluateAlerts(now);
      if (!opts_.paused) {
        std::vector<Job> due = DueJobs(AllJobs(config_, plan_, state_), now);
        if (opts_.once) {
          std::erase_if(due, [&ran_once](const Job& j) { return ran_once.count(j.Name()) > 0; });
        }
        if (!due.empty()) {
          ran_once.insert(due.front().Name());
          if (!RunJob(due.front())) all_ok = false;
          Save();
          continue;
        }
      }
      if (opts_.once) break;
      Save();
      const int64_t wake = NextWake(AllJobs(config_, plan_, state_));
      const int64_t sleep_s = std::clamp<int64_t>(wake == INT64_MAX ? kMaxIdleSleepSeconds : wake - now, 1,
                                                  kMaxIdleSleepSeconds);
      for (int64_t i = 0; i < sleep_s * 10 && !g_stop && !g_reload; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    EvaluateAlerts(NowSeconds());
    Save();
    http_.Stop();
    if (g_stop) Log("stopped");
    if (opts_.once) return all_ok ? kExitOk : kExitFatal;
    return kExitOk;
  }

 private:
  HttpResponse Serve(const std::string& path) {
    HttpResponse r;
    if (path == "/metrics") {
      std::lock_guard<std::mutex> lock(mu_);
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = BuildMetrics(config_, state_, NowSeconds(), opts_.paused);
      return r;
    }
    if (path == "/healthz") {
      const int64_t since = NowSeconds() - last_tick_.load();
      std::string problem;
      if (since > kHealthTickBoundSeconds) problem = fmt::format("the agent loop has not run for {} s", since);
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (problem.empty() && !save_error_.empty()) problem = "state not saved: " + save_error_;
      }
      if (problem.empty() && access(state_dir_.c_str(), W_OK) != 0) {
        problem = "state directory " + state_dir_ + " is not writable";
      }
      r.status = problem.empty() ? 200 : 503;
      r.body = (problem.empty() ? std::string("ok") : problem) + "\n";
      return r;
    }
    r.status = 404;
    r.body = "not found (try /metrics or /healthz)\n";
    return r;
  }

  void Save() {
    Status s = SaveAgentState(state_dir_, state_);
    std::lock_guard<std::mutex> lock(mu_);
    if (!s.ok() && s.message() != save_error_) Log("unable to save the state: " + s.message());
    save_error_ = s.ok() ? "" : s.message();
  }

  void Reload() {
    auto app = LoadAppConfig(config_.path);
    if (!app.ok()) {
      Log("SIGHUP: keeping the old configuration: " + config_.path + " is invalid:\n" + app.status().message());
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    config_ = std::move(*app);
    plan_ = MakePlan(config_);
    Log("SIGHUP: reloaded " + config_.path);
  }

  // The state under the lock (the HTTP thread reads it).
  template <typename F>
  void Update(F&& f) {
    std::lock_guard<std::mutex> lock(mu_);
    f(state_);
  }

  // Databases ship their WAL or binlogs between base backups: their
  // recovery point is what `status` reads out of the archive, asked every
  // RecoveryPointProbeInterval (read-only, so also while paused).
  void MaybeProbeRecoveryPoints(int64_t now) {
    const int64_t interval = RecoveryPointProbeInterval(config_);
    if (interval <= 0 || (state_.last_probe > 0 && now - state_.last_probe < interval)) return;
    Update([&](AgentState& s) { s.last_probe = now; });
    std::vector<std::string> argv = SelfArgs();
    argv.insert(argv.end(), {"--json", "status", "--config", config_.path});
    ChildOutcome c = RunChild(argv, "probe");
    const nlohmann::json j = nlohmann::json::parse(c.out, nullptr, false);
    if (!j.is_object() || !j.contains("components") || !j["components"].is_array()) {
      if (!c.stopped) Log("recovery-point probe: status gave no report: " + ChildError(c));
      return;
    }
    Update([&](AgentState& s) {
      for (const nlohmann::json& jc : j["components"]) {
        if (!jc.is_object() || !jc.contains("newest") || !jc["newest"].is_string()) continue;
        const std::string name = jc.value("component", "");
        const ComponentConfig* comp = config_.FindComponent(name);
        if (!comp || (comp->kind != "postgres" && comp->kind != "mariadb")) continue;
        auto ns = ParseTimeRfc3339(jc["newest"].get<std::string>());
        if (ns.ok() && *ns > 0) s.recovery_points[name] = *ns / 1000000000;
      }
    });
  }

  void EvaluateAlerts(int64_t now) {
    const int64_t repeat = config_.alerts ? config_.alerts->repeat_seconds : kDefaultAlertRepeatSeconds;
    for (const AlertCondition& c : EvaluateAlertConditions(config_, plan_, state_, now)) {
      const std::string key = AlertKey(AlertKindName(c.kind), c.component);
      auto it = state_.alerts.find(key);
      const AlertMemory memory = it == state_.alerts.end() ? AlertMemory{} : it->second;
      const AlertAction action = DecideAlert(memory, c.bad, now, repeat);
      if (action == AlertAction::kNone) continue;
      Alert a{config_.app_name, c.kind, c.component, c.message, now * 1000000000LL, c.details};
      if (action == AlertAction::kResolve) {
        a.resolved = true;
        a.message = fmt::format("resolved: {} for {}", AlertKindName(c.kind), c.component);
        a.details = {{"since", memory.since}};
      }
      Log(fmt::format("alert {}{}: {}", AlertKey(AlertKindName(c.kind), c.component),
                      action == AlertAction::kRepeat ? " (repeated)" : "", a.message));
      if (config_.alerts) {
        for (const std::string& p : SendAlert(*config_.alerts, a).problems) Log("alert not delivered: " + p);
      }
      Update([&](AgentState& s) { s.alerts[key] = ApplyAlertAction(memory, action, now); });
    }
  }

  std::vector<std::string> SelfArgs() const {
    std::vector<std::string> argv = {SelfExecutable()};
    if (global_.no_cache) argv.push_back("--no-cache");
    if (!global_.cache_dir.empty()) argv.insert(argv.end(), {"--cache-dir", global_.cache_dir});
    argv.insert(argv.end(), {"--retry-lock", global_.retry_lock.empty() ? kDefaultJobLockWait
                                                                        : global_.retry_lock});
    return argv;
  }

  // Runs one child in its own process group, stdout/stderr into files in
  // the state directory; forwards a stop request.
  // `name` names the output files (the probe keeps its own, so that job.out
  // and job.err stay the last job's).
  ChildOutcome RunChild(const std::vector<std::string>& argv, const std::string& name = "job") {
    ChildOutcome o;
    const std::string out_path = state_dir_ + "/" + name + ".out";
    const std::string err_path = state_dir_ + "/" + name + ".err";
    int out_fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int err_fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out_fd < 0 || err_fd < 0 || null_fd < 0) {
      o.err = "unable to create the job's output files in " + state_dir_ + ": " + std::strerror(errno);
      for (int fd : {out_fd, err_fd, null_fd}) {
        if (fd >= 0) close(fd);
      }
      return o;
    }
    std::vector<char*> cargv;
    for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    pid_t pid = fork();
    if (pid == 0) {
      setpgid(0, 0);
      dup2(null_fd, STDIN_FILENO);
      dup2(out_fd, STDOUT_FILENO);
      dup2(err_fd, STDERR_FILENO);
      signal(SIGPIPE, SIG_DFL);
      setenv(kAlertsByAgentEnv, kAlertsByAgentKinds, 1);
      execv(cargv[0], cargv.data());
      const char msg[] = "unable to start lifeboat\n";
      (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
      _exit(127);
    }
    for (int fd : {out_fd, err_fd, null_fd}) close(fd);
    if (pid < 0) {
      o.err = std::string("fork: ") + std::strerror(errno);
      return o;
    }
    setpgid(pid, pid);
    int status = 0;
    auto stop_sent = std::chrono::steady_clock::time_point{};
    bool killed = false;
    while (true) {
      pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid) break;
      if (r < 0 && errno != EINTR) break;
      last_tick_ = NowSeconds();
      if (g_stop && !o.stopped) {
        Log("stopping the running job (SIGTERM)");
        kill(-pid, SIGTERM);
        o.stopped = true;
        stop_sent = std::chrono::steady_clock::now();
      }
      if (o.stopped && !killed &&
          std::chrono::steady_clock::now() - stop_sent > std::chrono::seconds(kChildStopGraceSeconds)) {
        kill(-pid, SIGKILL);
        killed = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    StopLeftovers(pid, o.stopped ? stop_sent : std::chrono::steady_clock::now(), killed);
    o.out = ReadCapped(out_path, 16u << 20);
    o.err = ReadCapped(err_path, 1u << 20);
    return o;
  }

  // A job is over when every process of its group is: one that outlives
  // the job's own process (a child of a `run` that died at once on SIGTERM,
  // a command a check left in the background) could go on holding
  // repository locks. Such leftovers get SIGTERM, then SIGKILL
  // kChildStopGraceSeconds after `since` (the stop request, else now).
  void StopLeftovers(pid_t pgid, std::chrono::steady_clock::time_point since, bool killed) {
    // Orphans of the job are ours (PR_SET_CHILD_SUBREAPER): reap those that
    // exited, or they would count as alive.
    auto group_alive = [pgid] {
      while (waitpid(-pgid, nullptr, WNOHANG) > 0) {
      }
      return kill(-pgid, 0) == 0 || errno == EPERM;
    };
    if (!group_alive()) return;
    Log(fmt::format("the job's process {} exited, but others of its group still run: stopping them",
                    pgid));
    kill(-pgid, SIGTERM);
    while (group_alive()) {
      if (!killed &&
          std::chrono::steady_clock::now() - since > std::chrono::seconds(kChildStopGraceSeconds)) {
        kill(-pgid, SIGKILL);
        killed = true;
      } else if (killed && std::chrono::steady_clock::now() - since >
                               std::chrono::seconds(kChildStopGraceSeconds + 10)) {
        Log(fmt::format("processes of group {} could not be stopped", pgid));
        return;
      }
      last_tick_ = NowSeconds();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  // Runs the job; updates the state. True when it succeeded.
  bool RunJob(const Job& job) {
    const int64_t start = NowSeconds();
    const auto t0 = std::chrono::steady_clock::now();
    Log("starting " + job.Name());
    Update([&](AgentState& s) { JobOf(s, job).last_attempt = start; });
    bool ok = false;
    std::string error;
    uint64_t added = 0;
    if (job.kind == JobKind::kBackup) {
      std::vector<std::string> argv = SelfArgs();
      argv.insert(argv.end(), {"--json", "run", "--config", config_.path, job.target});
      ChildOutcome c = RunChild(argv);
      nlohmann::json summary = LastJsonOfType(c.out, "summary");
      ok = c.exit_code == 0;
      if (summary.is_object()) {
        for (const auto& jc : summary.value("components", nlohmann::json::array())) {
          for (const auto& jr : jc.value("repositories", nlohmann::json::array())) {
            if (jr.value("action", "") == "backup") added += jr.value("data_added", uint64_t{0});
            if (!jr.value("ok", true) && error.empty()) {
              error = jr.value("repository", "") + ": " + jr.value("error", "failed");
            }
          }
        }
      }
      if (!ok && error.empty()) error = ChildError(c);
    } else if (job.kind == JobKind::kDrill) {
      std::vector<std::string> argv = SelfArgs();
      argv.insert(argv.end(), {"--json", "drill", "--config", config_.path});
      ChildOutcome c = RunChild(argv);
      ok = c.exit_code == 0;
      nlohmann::json summary = LastJsonOfType(c.out, "summary");
      auto report = DrillReportFromJson(summary);
      if (!ok) error = ChildError(c);
      Update([&](AgentState& s) {
        if (report.ok()) {
          for (const ComponentDrill& d : report->components) {
            DrillReport one;
            one.components = {d};
            std::vector<std::string> why = one.Failures();
            s.drills[d.name] = {start, d.ok(), d.restored && d.error.empty() && d.checks_ok(), d.seconds,
                                why.empty() ? "" : why.front()};
          }
        } else if (!c.stopped) {
          for (const std::string& name : plan_.drill.components) {
            s.drills[name] = {start, false, false, 0, error};
          }
        }
      });
      if (ok && !report.ok()) {
        ok = false;
        error = "the drill printed no report: " + report.status().message();
      }
    } else {
      const RepositoryConfig* repo = config_.FindRepository(job.target);
      ok = repo != nullptr;
      if (!repo) error = "repository " + job.target + " is no longer configured";
      std::vector<std::vector<std::string>> steps;
      if (repo) {
        for (const ComponentConfig& comp : config_.components) {
          if (std::find(comp.repositories.begin(), comp.repositories.end(), repo->name) == comp.repositories.end()) {
            continue;
          }
          std::vector<std::string> args = ForgetArgs(config_, comp, *repo);
          if (!args.empty()) steps.push_back(args);
        }
        steps.push_back({"prune"});
      }
      for (const auto& args : steps) {
        if (!ok || g_stop) break;
        std::vector<std::string> argv = SelfArgs();
        std::vector<std::string> repo_args = RepositoryArgs(*repo);
        argv.insert(argv.end(), repo_args.begin(), repo_args.end());
        argv.push_back("--json");
        argv.insert(argv.end(), args.begin(), args.end());
        ChildOutcome c = RunChild(argv);
        if (c.exit_code != 0) {
          ok = false;
          error = args.front() + ": " + ChildError(c);
        } else if (args.front() == "prune") {
          nlohmann::json summary = LastJsonOfType(c.out, "prune_summary");
          if (summary.is_object() && summary.contains("repository_bytes") &&
              summary["repository_bytes"].is_number_unsigned()) {
            const uint64_t bytes = summary["repository_bytes"].get<uint64_t>();
            Update([&](AgentState& s) { s.sizes[job.target] = {NowSeconds(), bytes}; });
          }
        }
      }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (g_stop && !ok) {
      // Interrupted by the operator: not a failure of the job.
      Log(job.Name() + " interrupted");
      return true;
    }
    Update([&](AgentState& s) {
      JobState& js = JobOf(s, job);
      if (ok) {
        js.last_success = start;
        js.consecutive_failures = 0;
        js.last_duration_seconds = seconds;
        js.last_added_bytes = added;
        js.last_error.clear();
      } else {
        js.last_failure = NowSeconds();
        js.consecutive_failures++;
        js.failures_total++;
        js.last_error = error;
      }
    });
    Log(ok ? fmt::format("{} done in {:.1f}s", job.Name(), seconds)
           : fmt::format("{} FAILED after {:.1f}s: {}", job.Name(), seconds, error));
    return ok;
  }

  static JobState& JobOf(AgentState& s, const Job& job) {
    switch (job.kind) {
      case JobKind::kBackup: return s.backups[job.target];
      case JobKind::kPrune: return s.prunes[job.target];
      case JobKind::kDrill: break;
    }
    return s.drill;
  }

  const GlobalOptions& global_;
  AgentOpts opts_;
  std::mutex mu_;  // guards config_, plan_, state_, save_error_ against the HTTP thread's reads
  AppConfig config_;
  Plan plan_;
  AgentState state_;
  std::string save_error_;
  std::string state_dir_;
  std::atomic<int64_t> last_tick_{0};
  int lock_fd_ = -1;
  HttpServer http_;
};

}  // namespace

void RegisterAgent(CLI::App& app, GlobalOptions& global, CommandRunner* selected) {
  auto o = std::make_shared<AgentOpts>();
  CLI::App* cmd = app.add_subcommand(
      "agent",
      "the long-running service: backups on the RPO-derived schedule, prune, drills, "
      "alerts; serves /metrics and /healthz");
  cmd->add_option("--config", o->config,
                  "the application file (default: LIFEBOAT_CONFIG, else ./lifeboat.toml)");
  cmd->add_option("--listen", o->listen, "HTTP address for /metrics and /healthz (IPv4:PORT)")
      ->capture_default_str();
  cmd->add_option("--state-dir", o->state_dir,
                  "where the agent keeps its state (default: /var/lib/lifeboat/agent as root, else "
                  "$XDG_STATE_HOME/lifeboat or ~/.local/state/lifeboat)");
  cmd->add_flag("--once", o->once, "run what is due now, then exit (cron); no HTTP server");
  cmd->add_flag("--paused", o->paused, "start no jobs; serve metrics and evaluate alerts only");
  cmd->callback([&global, o, selected] {
    *selected = [&global, o] {
      Agent agent(global, *o);
      return agent.Main();
    };
  });
}

}  // namespace lifeboat
