#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "agent/alerting.h"
#include "agent/http_server.h"
#include "agent/metrics.h"
#include "agent/scheduler.h"
#include "agent/state.h"

namespace lifeboat {
namespace {

constexpr const char* kConfig = R"([app]
name = "shop"

[[repository]]
name = "onsite"
url = "/srv/a"
password_file = "/p"

[[repository]]
name = "offsite"
url = "s3:https://s3.example.org/b"
password_file = "/p"
site = "eu"

[[component]]
name = "uploads"
kind = "files"
paths = ["/srv/uploads"]
rpo = "1h"
rto = "30m"
retention = { daily = 7 }

[[component]]
name = "db"
kind = "postgres"
rpo = "5m"
rto = "15m"

[drill]
every = "7d"
sandbox = "/tmp/sandbox"

[alerts]
command = "true"
repeat = "6h"
)";

AppConfig Config(const std::string& text = kConfig) {
  auto c = ParseAppConfig(text, "lifeboat.toml");
  EXPECT_TRUE(c.ok()) << c.status().message();
  return *c;
}

const Job* Find(const std::vector<Job>& jobs, JobKind kind, const std::string& target) {
  for (const Job& j : jobs) {
    if (j.kind == kind && j.target == target) return &j;
  }
  return nullptr;
}

constexpr int64_t T0 = 1'764'921'600;  // 2025-12-05T08:00:00Z

TEST(SchedulerTest, RetryBackoffDoublesUpToThePeriod) {
  EXPECT_EQ(RetryDelaySeconds(1, 1800), 60);
  EXPECT_EQ(RetryDelaySeconds(2, 1800), 120);
  EXPECT_EQ(RetryDelaySeconds(3, 1800), 240);
  EXPECT_EQ(RetryDelaySeconds(5, 1800), 960);
  EXPECT_EQ(RetryDelaySeconds(6, 1800), 1800);
  EXPECT_EQ(RetryDelaySeconds(60, 1800), 1800);
  EXPECT_EQ(RetryDelaySeconds(3, 30), 60);  // never below a minute
}

TEST(SchedulerTest, NextDue) {
  JobState s;
  EXPECT_EQ(NextDue(s, 1800, nullptr), 0);  // never ran: at once
  s.last_success = T0;
  EXPECT_EQ(NextDue(s, 1800, nullptr), T0 + 1800);
  s.consecutive_failures = 1;
  s.last_failure = T0 + 1800 + 5;
  EXPECT_EQ(NextDue(s, 1800, nullptr), T0 + 1800 + 5 + 60);
  s.consecutive_failures = 3;
  EXPECT_EQ(NextDue(s, 1800, nullptr), T0 + 1800 + 5 + 240);
  auto pinned = ParsePinnedSchedule("daily 02:30");
  ASSERT_TRUE(pinned.ok());
  JobState p;
  p.last_success = T0;  // 08:00
  EXPECT_EQ(NextDue(p, 0, &*pinned), T0 + 18 * 3600 + 30 * 60);  // next day 02:30
}

TEST(SchedulerTest, FreshStateBacksUpEverythingOnceMostUrgentFirst) {
  AppConfig config = Config();
  Plan plan = MakePlan(config);
  AgentState state;
  state.created = T0;
  std::vector<Job> jobs = AllJobs(config, plan, state);
  // Two backups, a prune of onsite (retention) a day later; no drill before backups.
  ASSERT_NE(Find(jobs, JobKind::kBackup, "uploads"), nullptr);
  ASSERT_NE(Find(jobs, JobKind::kBackup, "db"), nullptr);
  EXPECT_EQ(Find(jobs, JobKind::kDrill, ""), nullptr);
  const Job* prune = Find(jobs, JobKind::kPrune, "onsite");
  ASSERT_NE(prune, nullptr);
  EXPECT_EQ(prune->due, T0 + kPruneIntervalSeconds);
  EXPECT_NE(Find(jobs, JobKind::kPrune, "offsite"), nullptr);  // uploads keeps its retention there too
  std::vector<Job> due = DueJobs(jobs, T0);
  ASSERT_EQ(due.size(), 2u);
  // Equally overdue in absolute terms, but db's RPO (5m) is shorter.
  EXPECT_EQ(due[0].target, "db");
  EXPECT_EQ(due[1].target, "uploads");
  // uploads: every rpo/2; db: base backups daily.
  EXPECT_EQ(Find(jobs, JobKind::kBackup, "uploads")->period, 1800);
  EXPECT_EQ(Find(jobs, JobKind::kBackup, "db")->period, 86400);
}

// Runs the agent's loop over a fake clock: at each step the first due job
// "runs" for `job_seconds` and succeeds unless `fails` says otherwise.
struct Sim {
  AppConfig config = Config();
  Plan plan = MakePlan(config);
  AgentState state;
  int64_t now = T0;
  std::map<std::string, int> runs;
  std::function<bool(const Job&)> fails = [](const Job&) { return false; };

  void RunUntil(int64_t end, int64_t job_seconds = 10) {
    while (now < end) {
      std::vector<Job> due = DueJobs(AllJobs(config, plan, state), now);
      if (due.empty()) {
        int64_t wake = NextWake(AllJobs(config, plan, state));
        now = std::max(now + 1, std::min(wake, end));
        continue;
      }
      const Job& j = due.front();
      runs[j.Name()]++;
      JobState& s = j.kind == JobKind::kBackup ? state.backups[j.target]
                    : j.kind == JobKind::kPrune ? state.prunes[j.target]
                                                : state.drill;
      const int64_t start = now;
      now += job_seconds;
      s.last_attempt = start;
      if (fails(j)) {
        s.last_failure = now;
        s.consecutive_failures++;
        s.failures_total++;
      } else {
        s.last_success = start;
        s.consecutive_failures = 0;
      }
    }
  }
};

TEST(SchedulerTest, RunsOnScheduleThenDrills) {
  Sim sim;
  sim.state.created = T0;
  sim.RunUntil(T0 + 3 * 3600);
  // uploads every 30 min for 3 h: 6 or 7 runs; db once (daily base backup).
  EXPECT_GE(sim.runs["backup uploads"], 6);
  EXPECT_LE(sim.runs["backup uploads"], 7);
  EXPECT_EQ(sim.runs["backup db"], 1);
  EXPECT_EQ(sim.runs["drill"], 1);  // once both had a backup
  EXPECT_EQ(sim.runs["prune onsite"], 0);
  sim.RunUntil(T0 + 86400 + 60);
  EXPECT_EQ(sim.runs["prune onsite"], 1);
  EXPECT_EQ(sim.runs["backup db"], 2);
}

TEST(SchedulerTest, CatchUpAfterDowntimeRunsOnce) {
  Sim sim;
  sim.state.created = T0;
  sim.RunUntil(T0 + 600);
  const int before = sim.runs["backup uploads"];
  // Down for 10 hours: 20 periods of uploads missed.
  sim.now = T0 + 10 * 3600;
  std::vector<Job> due = DueJobs(AllJobs(sim.config, sim.plan, sim.state), sim.now);
  EXPECT_EQ(std::count_if(due.begin(), due.end(), [](const Job& j) { return j.target == "uploads"; }), 1);
  sim.RunUntil(sim.now + 60);
  EXPECT_EQ(sim.runs["backup uploads"], before + 1);
  // Next one a full period after the catch-up, not in the past.
  EXPECT_EQ(Find(AllJobs(sim.config, sim.plan, sim.state), JobKind::kBackup, "uploads")->due,
            T0 + 10 * 3600 + 1800);
}

TEST(SchedulerTest, FailingJobIsRetriedWithBackoffNotEveryTick) {
  Sim sim;
  sim.state.created = T0;
  sim.fails = [](const Job& j) { return j.target == "uploads"; };
  sim.RunUntil(T0 + 3600, 1);
  // Attempts at ~0, +61, +182, +423, +904, +1805 (cap 1800 after that): 6.
  EXPECT_GE(sim.runs["backup uploads"], 5);
  EXPECT_LE(sim.runs["backup uploads"], 7);
  EXPECT_EQ(sim.state.backups["uploads"].failures_total, sim.runs["backup uploads"]);
  // Recovery: the next success clears the failures.
  sim.fails = [](const Job&) { return false; };
  sim.RunUntil(T0 + 3 * 3600, 1);
  EXPECT_EQ(sim.state.backups["uploads"].consecutive_failures, 0);
}

TEST(SchedulerTest, OverdueRelativeToRpoOrdersTheQueue) {
  AppConfig config = Config();
  Plan plan = MakePlan(config);
  AgentState state;
  state.created = T0;
  state.backups["uploads"].last_success = T0;       // due T0+1800
  state.backups["db"].last_success = T0 - 86400 + 600;  // due T0+600
  state.drill.last_success = T0;
  // At T0+3600: uploads 1800 s overdue / 3600 = 0.5; db 3000 s / 300 = 10.
  std::vector<Job> due = DueJobs(AllJobs(config, plan, state), T0 + 3600);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].target, "db");
}

TEST(SchedulerTest, ForgetArgs) {
  AppConfig config = Config();
  auto args = ForgetArgs(config, config.components[0], config.repositories[0]);
  EXPECT_EQ(args, (std::vector<std::string>{"forget", "--tag", "app=shop,component=uploads",
                                            "--group-by", "tags", "--keep-daily", "7"}));
  EXPECT_TRUE(ForgetArgs(config, config.components[1], config.repositories[0]).empty());
  EXPECT_EQ(PrunedRepositories(config), (std::vector<std::string>{"onsite", "offsite"}));
}

TEST(AlertingTest, DecideOncePerTransitionRepeatAndResolve) {
  AlertMemory m;
  const int64_t repeat = 6 * 3600;
  EXPECT_EQ(DecideAlert(m, false, T0, repeat), AlertAction::kNone);
  EXPECT_EQ(DecideAlert(m, true, T0, repeat), AlertAction::kFire);
  m = ApplyAlertAction(m, AlertAction::kFire, T0);
  // Every tick for the next 6 hours: nothing.
  for (int64_t t = T0 + 1; t < T0 + repeat; t += 60) {
    ASSERT_EQ(DecideAlert(m, true, t, repeat), AlertAction::kNone) << t - T0;
  }
  EXPECT_EQ(DecideAlert(m, true, T0 + repeat, repeat), AlertAction::kRepeat);
  m = ApplyAlertAction(m, AlertAction::kRepeat, T0 + repeat);
  EXPECT_EQ(m.since, T0);
  EXPECT_EQ(DecideAlert(m, true, T0 + repeat + 60, repeat), AlertAction::kNone);
  EXPECT_EQ(DecideAlert(m, false, T0 + repeat + 120, repeat), AlertAction::kResolve);
  m = ApplyAlertAction(m, AlertAction::kResolve, T0 + repeat + 120);
  EXPECT_FALSE(m.active);
  EXPECT_EQ(DecideAlert(m, false, T0 + repeat + 180, repeat), AlertAction::kNone);
  EXPECT_EQ(DecideAlert(m, true, T0 + repeat + 240, repeat), AlertAction::kFire);
}

TEST(AlertingTest, Conditions) {
  AppConfig config = Config();
  Plan plan = MakePlan(config);
  AgentState state;
  state.created = T0;
  state.backups["uploads"].last_success = T0;
  state.backups["db"].last_success = T0;
  state.backups["db"].consecutive_failures = 2;
  state.backups["db"].last_error = "connection refused";
  state.drills["uploads"] = {T0, false, false, 0, "check failed"};
  state.drills["db"] = {T0, false, true, 1200, ""};
  auto conds = EvaluateAlertConditions(config, plan, state, T0 + 400);
  std::map<std::string, AlertCondition> by;
  for (const auto& c : conds) by[AlertKey(AlertKindName(c.kind), c.component)] = c;
  EXPECT_FALSE(by["rpo_breach/uploads"].bad);  // 400 s < 1 h
  EXPECT_TRUE(by["rpo_breach/db"].bad);        // 400 s > 5 m
  EXPECT_TRUE(by["backup_failed/db"].bad);
  EXPECT_NE(by["backup_failed/db"].message.find("connection refused"), std::string::npos);
  EXPECT_FALSE(by["backup_failed/uploads"].bad);
  EXPECT_TRUE(by["drill_failed/uploads"].bad);
  EXPECT_FALSE(by["rto_missed/uploads"].bad);
  EXPECT_FALSE(by["drill_failed/db"].bad);
  EXPECT_TRUE(by["rto_missed/db"].bad);
  // onsite disk + offsite object = 3 copies, 2 media, 1 off-site.
  EXPECT_FALSE(by["rule_321/db"].bad);

  // The archived WAL reaches further than the base backup: the recovery
  // point the probe found holds the RPO; once it is old too, it breaches.
  state.recovery_points["db"] = T0 + 300;
  EXPECT_EQ(RecoveryPointOf(state, "db"), T0 + 300);
  EXPECT_EQ(RecoveryPointOf(state, "uploads"), T0);
  EXPECT_EQ(RecoveryPointOf(state, "nothing"), 0);
  for (const auto& c : EvaluateAlertConditions(config, plan, state, T0 + 400)) {
    if (c.kind == AlertKind::kRpoBreach && c.component == "db") {
      EXPECT_FALSE(c.bad);
    }
  }
  for (const auto& c : EvaluateAlertConditions(config, plan, state, T0 + 700)) {
    if (c.kind == AlertKind::kRpoBreach && c.component == "db") {
      EXPECT_TRUE(c.bad);
      EXPECT_NE(c.message.find("newest recovery point 6m40s ago"), std::string::npos) << c.message;
    }
  }
}

TEST(SchedulerTest, RecoveryPointProbeFollowsTheSmallestDatabaseRpo) {
  AppConfig config = Config();
  EXPECT_EQ(RecoveryPointProbeInterval(config), 75);  // db: 5m / 4
  config.components[1].rpo_seconds = 60;
  EXPECT_EQ(RecoveryPointProbeInterval(config), 60);  // at least a minute
  config.components[1].rpo_seconds = 86400;
  EXPECT_EQ(RecoveryPointProbeInterval(config), 900);  // at most 15 minutes
  config.components[1].kind = "files";
  EXPECT_EQ(RecoveryPointProbeInterval(config), 0);  // only backups set the point
}

TEST(AlertingTest, RuleNotMetIsACondition) {
  std::string text = kConfig;
  text.replace(text.find("site = \"eu\"\n"), 12, "");
  text.replace(text.find("url = \"s3:https://s3.example.org/b\""), 35, "url = \"/srv/b\"");
  AppConfig config = Config(text);
  auto conds = EvaluateAlertConditions(config, MakePlan(config), AgentState{}, T0);
  bool found = false;
  for (const auto& c : conds) {
    if (c.kind == AlertKind::kRule321 && c.component == "uploads") found = c.bad;
  }
  EXPECT_TRUE(found);
}

// Parses exposition text back: family -> {labels -> value}.
struct Parsed {
  std::map<std::string, std::string> types, help;
  std::map<std::string, std::map<std::string, double>> samples;
};

Parsed ParseExposition(const std::string& text) {
  Parsed p;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    EXPECT_FALSE(line.empty());
    if (line.rfind("# HELP ", 0) == 0) {
      std::string rest = line.substr(7);
      p.help[rest.substr(0, rest.find(' '))] = rest.substr(rest.find(' ') + 1);
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      std::string rest = line.substr(7);
      std::string name = rest.substr(0, rest.find(' '));
      EXPECT_TRUE(p.help.count(name)) << "TYPE before HELP for " << name;
      p.types[name] = rest.substr(rest.find(' ') + 1);
      continue;
    }
    size_t brace = line.find('{');
    EXPECT_NE(brace, std::string::npos) << line;
    if (brace == std::string::npos) continue;
    std::string name = line.substr(0, brace);
    EXPECT_TRUE(p.types.count(name)) << "sample without TYPE: " << line;
    // Labels: key="value" with \\ \" \n escapes.
    size_t i = brace + 1;
    std::string labels;
    while (i < line.size() && line[i] != '}') {
      size_t eq = line.find('=', i);
      std::string key = line.substr(i, eq - i);
      EXPECT_EQ(line[eq + 1], '"');
      std::string value;
      for (i = eq + 2; line[i] != '"'; ++i) {
        if (line[i] == '\\') {
          ++i;
          value += line[i] == 'n' ? '\n' : line[i];
        } else {
          value += line[i];
        }
      }
      ++i;
      if (line[i] == ',') ++i;
      labels += (labels.empty() ? "" : ",") + key + "=" + value;
    }
    EXPECT_EQ(line[i + 1], ' ');
    p.samples[name][labels] = std::stod(line.substr(i + 2));
  }
  return p;
}

TEST(MetricsTest, ParsesBackAndAgesAtScrapeTime) {
  AppConfig config = Config();
  // The parser refuses such names; the escaping must hold anyway.
  config.app_name = "sh\"op\\x\ny";
  AgentState state;
  state.created = T0 - 100;
  state.backups["uploads"] = {T0, T0, 0, 0, 2, 12.5, 4096, ""};
  state.drills["uploads"] = {T0 + 60, true, true, 3.25, ""};
  state.prunes["onsite"].last_success = T0;
  state.sizes["onsite"] = {T0, 123456789012};
  state.sizes["gone"] = {T0, 5};  // a repository no longer configured
  Parsed p = ParseExposition(BuildMetrics(config, state, T0 + 100, false));
  const std::string app = "app=sh\"op\\x\ny";
  const std::string up = app + ",component=uploads", db = app + ",component=db";
  EXPECT_EQ(p.types["lifeboat_backup_failures_total"], "counter");
  EXPECT_EQ(p.types["lifeboat_rpo_met"], "gauge");
  EXPECT_EQ(p.samples["lifeboat_agent_up"][app], 1);
  EXPECT_EQ(p.samples["lifeboat_last_success_timestamp_seconds"][up], T0);
  EXPECT_EQ(p.samples["lifeboat_recovery_point_age_seconds"][up], 100);
  EXPECT_EQ(p.samples["lifeboat_rpo_seconds"][up], 3600);
  EXPECT_EQ(p.samples["lifeboat_rpo_met"][up], 1);
  EXPECT_EQ(p.samples["lifeboat_rpo_met"][db], 0);  // never backed up
  EXPECT_EQ(p.samples["lifeboat_recovery_point_age_seconds"][db], 200);
  {
    AgentState probed = state;
    probed.recovery_points["db"] = T0 + 40;  // the archived WAL's newest commit
    Parsed q = ParseExposition(BuildMetrics(config, probed, T0 + 100, false));
    EXPECT_EQ(q.samples["lifeboat_recovery_point_age_seconds"][db], 60);
    EXPECT_EQ(q.samples["lifeboat_rpo_met"][db], 1);
    EXPECT_FALSE(q.samples["lifeboat_last_success_timestamp_seconds"].count(db));
  }
  EXPECT_FALSE(p.samples["lifeboat_last_success_timestamp_seconds"].count(db));
  EXPECT_EQ(p.samples["lifeboat_last_backup_duration_seconds"][up], 12.5);
  EXPECT_EQ(p.samples["lifeboat_last_backup_added_bytes"][up], 4096);
  EXPECT_EQ(p.samples["lifeboat_backup_failures_total"][up], 2);
  EXPECT_EQ(p.samples["lifeboat_last_drill_success"][up], 1);
  EXPECT_EQ(p.samples["lifeboat_last_drill_timestamp_seconds"][up], T0 + 60);
  EXPECT_EQ(p.samples["lifeboat_drill_rto_measured_seconds"][up], 3.25);
  EXPECT_EQ(p.samples["lifeboat_rto_seconds"][db], 900);
  EXPECT_EQ(p.samples["lifeboat_last_prune_timestamp_seconds"][app + ",repository=onsite"], T0);
  EXPECT_EQ(p.types["lifeboat_repository_size_bytes"], "gauge");
  EXPECT_EQ(p.samples["lifeboat_repository_size_bytes"][app + ",repository=onsite"], 123456789012);
  EXPECT_EQ(p.samples["lifeboat_repository_size_bytes"].size(), 1u);
  // Later scrape, same state: the age grows and the RPO is missed.
  Parsed later = ParseExposition(BuildMetrics(config, state, T0 + 3700, true));
  EXPECT_EQ(later.samples["lifeboat_recovery_point_age_seconds"][up], 3700);
  EXPECT_EQ(later.samples["lifeboat_rpo_met"][up], 0);
  EXPECT_EQ(later.samples["lifeboat_agent_paused"][app], 1);
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(StateTest, RoundTripAtomicSaveAndDefensiveParse) {
  const std::string dir = ::testing::TempDir() + "/agent_state_test/sub";
  std::filesystem::remove_all(::testing::TempDir() + "/agent_state_test");
  ASSERT_TRUE(EnsureStateDir(dir).ok());
  struct stat st;
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto fresh = LoadAgentState(dir, T0);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->created, T0);
  AgentState s;
  s.created = T0;
  s.backups["uploads"] = {T0, T0, T0 - 5, 1, 3, 1.5, 77, "oops"};
  s.prunes["onsite"].last_success = T0 - 10;
  s.drill.last_success = T0 - 20;
  s.drills["db"] = {T0, false, true, 9.5, "slow"};
  s.alerts["rpo_breach/db"] = {true, T0 - 1, T0};
  s.sizes["onsite"] = {T0 - 10, uint64_t{1} << 50};
  s.recovery_points["db"] = T0 - 3;
  s.last_probe = T0 - 2;
  ASSERT_TRUE(SaveAgentState(dir, s).ok());
  ASSERT_EQ(stat((dir + "/state.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(dir + "/state.json.tmp"));
  auto back = LoadAgentState(dir, T0 + 1);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(AgentStateToJson(*back), AgentStateToJson(s));
  EXPECT_EQ(back->backups["uploads"].last_error, "oops");
  EXPECT_TRUE(back->alerts["rpo_breach/db"].active);
  EXPECT_EQ(back->sizes["onsite"].bytes, uint64_t{1} << 50);
  EXPECT_EQ(back->recovery_points["db"], T0 - 3);
  EXPECT_EQ(back->last_probe, T0 - 2);

  // Wrong types and negative times: defaults, not failures.
  auto odd = AgentStateFromJson(nlohmann::json::parse(
      R"({"version":1,"created":-5,"backups":{"a":{"last_success":"yesterday","consecutive_failures":-3},"b":7},)"
      R"("drills":[],"alerts":{"x":{"active":"yes","since":12}}})"));
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(odd->created, 0);
  EXPECT_EQ(odd->backups["a"].last_success, 0);
  EXPECT_EQ(odd->backups["a"].consecutive_failures, 0);
  EXPECT_EQ(odd->backups["b"].last_success, 0);
  EXPECT_FALSE(odd->alerts["x"].active);
  EXPECT_EQ(odd->alerts["x"].since, 12);
  EXPECT_FALSE(AgentStateFromJson(nlohmann::json::parse(R"({"version":2})")).ok());
  EXPECT_FALSE(AgentStateFromJson(nlohmann::json::parse("[]")).ok());
  { std::ofstream(dir + "/state.json") << "{not json"; }
  auto bad = LoadAgentState(dir, T0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kCorrupt);
}

TEST(StateTest, DefaultStateDir) {
  EXPECT_EQ(DefaultStateDir(true, "/x", "/home/u"), "/var/lib/lifeboat/agent");
  EXPECT_EQ(DefaultStateDir(false, "/x", "/home/u"), "/x/lifeboat");
  EXPECT_EQ(DefaultStateDir(false, nullptr, "/home/u"), "/home/u/.local/state/lifeboat");
  EXPECT_EQ(DefaultStateDir(false, "relative", "/home/u"), "/home/u/.local/state/lifeboat");
}

TEST(HttpTest, ListenAddress) {
  auto a = ParseListenAddress("127.0.0.1:9847");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9847);
  EXPECT_EQ(ParseListenAddress(":80")->host, "127.0.0.1");
  EXPECT_EQ(ParseListenAddress("localhost:80")->host, "127.0.0.1");
  EXPECT_FALSE(ParseListenAddress("127.0.0.1").ok());
  EXPECT_FALSE(ParseListenAddress("127.0.0.1:99999").ok());
  EXPECT_FALSE(ParseListenAddress("example.org:80").ok());
  auto v6 = ParseListenAddress("[::1]:9847");
  ASSERT_TRUE(v6.ok());
  EXPECT_TRUE(v6->ipv6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->ToString(), "[::1]:9847");
  EXPECT_TRUE(ParseListenAddress("[::]:80").ok());
  EXPECT_FALSE(ParseListenAddress("[::1]").ok());
  EXPECT_FALSE(ParseListenAddress("[127.0.0.1]:80").ok());
  EXPECT_FALSE(ParseListenAddress("::1:80").ok());  // IPv6 needs brackets
}

// A GET over a plain socket to the server (IPv4 or IPv6 loopback).
std::string Get(const ListenAddress& a, int port, const std::string& path) {
  const int fd = socket(a.ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in sa{};
  sockaddr_in6 sa6{};
  int rc;
  if (a.ipv6) {
    sa6.sin6_family = AF_INET6;
    sa6.sin6_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET6, a.host.c_str(), &sa6.sin6_addr);
    rc = connect(fd, reinterpret_cast<sockaddr*>(&sa6), sizeof sa6);
  } else {
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, a.host.c_str(), &sa.sin_addr);
    rc = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  }
  std::string out;
  if (rc == 0) {
    const std::string req = "GET " + path + " HTTP/1.0\r\nHost: x\r\n\r\n";
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return out;
}

TEST(HttpTest, ServesOnIpv4AndIpv6Loopback) {
  for (const char* text : {"127.0.0.1:0", "[::1]:0"}) {
    auto a = ParseListenAddress(text);
    ASSERT_TRUE(a.ok()) << text;
    HttpServer server;
    Status s = server.Start(*a, [](const std::string& path) {
      HttpResponse r;
      r.body = "you asked for " + path + "\n";
      return r;
    });
    if (!s.ok() && a->ipv6) GTEST_SKIP() << "no IPv6 loopback here: " << s.ToString();
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_GT(server.port(), 0);
    const std::string got = Get(*a, server.port(), "/healthz");
    EXPECT_NE(got.find("200"), std::string::npos) << text << ": " << got;
    EXPECT_NE(got.find("you asked for /healthz"), std::string::npos) << text << ": " << got;
  }
}

}  // namespace
}  // namespace lifeboat
