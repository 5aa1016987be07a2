// Unit tests for the application layer's pure parts (component commands,
// drill report and RTO comparison, alert JSON and delivery to a command,
// runbook text) and the child-process helper.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "app/alert.h"
#include "app/change_rate.h"
#include "app/component_kind.h"
#include "app/drill_report.h"
#include "app/process.h"
#include "app/runbook.h"

namespace lifeboat {
namespace {

constexpr const char* kToml = R"(
[app]
name = "shop"

[[repository]]
name = "onsite"
url = "/var/backups/life boat"
password_file = "/etc/lifeboat/onsite.pw"
media = "disk"
site = "onsite"

[[repository]]
name = "offsite"
url = "s3:https://s3.example.org/shop"
password_command = "pass show lifeboat/offsite"
media = "object"
site = "eu"
options = { "s3.region" = "eu-central-1" }

[[component]]
name = "db"
kind = "postgres"
rpo = "5m"
rto = "15m"
restore_order = 1
postgres = { host = "127.0.0.1", port = 5433, user = "app", dbname = "shop" }
verify = ["select count(*) > 0 from orders"]

[[component]]
name = "uploads"
kind = "files"
paths = ["/srv/shop/uploads"]
exclude = ["*.tmp"]
rpo = "1h"
rto = "30m"
restore_order = 2
verify = ["test -d {restored}/srv/shop/uploads"]

[[component]]
name = "sessions"
kind = "redis"
redis = { host = "127.0.0.1", port = 6379 }
rpo = "1h"
rto = "1h"
)";

AppConfig Config() {
  auto app = ParseAppConfig(kToml, "test.toml");
  EXPECT_TRUE(app.ok()) << app.status().message();
  return *app;
}

TEST(ComponentKindTest, KindsAndUnsupported) {
  // Every kind the configuration accepts.
  for (const char* kind : kComponentKinds) {
    ASSERT_NE(FindComponentKind(kind), nullptr) << kind;
    EXPECT_EQ(FindComponentKind(kind)->name(), kind);
  }
  EXPECT_EQ(FindComponentKind("oracle"), nullptr);
  ComponentConfig c;
  c.name = "orders";
  c.kind = "oracle";
  Status s = UnsupportedKind(c);
  EXPECT_EQ(s.code(), Code::kUnsupported);
  EXPECT_EQ(s.message(), "component 'orders': kind oracle is not supported by run/drill yet");
}

TEST(ComponentKindTest, RepositoryArgsUseTheRepositorysOwnSecretsSource) {
  AppConfig app = Config();
  EXPECT_EQ(RepositoryArgs(*app.FindRepository("onsite")),
            (std::vector<std::string>{"--repo", "/var/backups/life boat", "--password-file",
                                      "/etc/lifeboat/onsite.pw"}));
  EXPECT_EQ(RepositoryArgs(*app.FindRepository("offsite")),
            (std::vector<std::string>{"--repo", "s3:https://s3.example.org/shop",
                                      "--password-command", "pass show lifeboat/offsite", "-o",
                                      "s3.region=eu-central-1"}));
}

TEST(ComponentKindTest, FilesCommands) {
  AppConfig app = Config();
  const ComponentConfig& c = *app.FindComponent("uploads");
  const ComponentKind* k = FindComponentKind("files");
  EXPECT_EQ(k->BackupArgs(app, c),
            (std::vector<std::string>{"backup", "--tag", "app=shop,component=uploads", "--exclude",
                                      "*.tmp", "--", "/srv/shop/uploads"}));
  RestoreTarget drill = k->DrillTarget(c, "/sandbox/run/uploads", 0);
  EXPECT_EQ(drill.dir, "/sandbox/run/uploads");
  EXPECT_EQ(k->RestoreArgs(app, c, "abcd", drill),
            (std::vector<std::string>{"restore", "abcd", "--target", "/sandbox/run/uploads"}));
  RestoreTarget live = RunbookTarget(c, "/");
  EXPECT_EQ(k->RestoreArgs(app, c, "latest", live),
            (std::vector<std::string>{"restore", "latest", "--target", "/", "--tag",
                                      "app=shop,component=uploads", "--allow-existing"}));
}

TEST(ComponentKindTest, PostgresCommandsCarryNoPassword) {
  AppConfig app = Config();
  const ComponentConfig& c = *app.FindComponent("db");
  const ComponentKind* k = FindComponentKind("postgres");
  EXPECT_TRUE(k->NeedsPort());
  EXPECT_EQ(k->BackupArgs(app, c),
            (std::vector<std::string>{"backup", "postgres", "--tag", "app=shop,component=db",
                                      "--conninfo", "host=127.0.0.1 port=5433 user=app"}));
  RestoreTarget drill = k->DrillTarget(c, "/sb/run/db", 54000);
  EXPECT_EQ(drill.dir, "/sb/run/db/pgdata");
  EXPECT_EQ(k->RestoreArgs(app, c, "abcd", drill),
            (std::vector<std::string>{"restore", "postgres", "abcd", "--target", "/sb/run/db/pgdata",
                                      "--to-end", "--start", "--port", "54000"}));
  RestoreTarget live = RunbookTarget(c, "/");
  EXPECT_EQ(live.dir, "/var/lib/postgresql/lifeboat-db");
  EXPECT_EQ(live.port, 5433);
  std::vector<std::string> args = k->RestoreArgs(app, c, "latest", live);
  EXPECT_EQ(args.back(), "preserve");
  EXPECT_NE(std::find(args.begin(), args.end(), "app=shop,component=db"), args.end());
}

TEST(ComponentKindTest, SubstituteRestoredQuotes) {
  EXPECT_EQ(SubstituteRestored("test -d {restored}/srv/x", "/sb/run/up"), "test -d /sb/run/up/srv/x");
  EXPECT_EQ(SubstituteRestored("ls {restored} {restored}", "/a b/it's"),
            "ls '/a b/it'\\''s' '/a b/it'\\''s'");
  EXPECT_EQ(SubstituteRestored("true", "/x"), "true");
  EXPECT_EQ(SubstituteRestored("test -d {restored}/srv", "/"), "test -d /srv");
  EXPECT_EQ(SubstituteRestored("ls {restored}", "/dr/"), "ls /dr");
}

TEST(ComponentKindTest, FilesVerifyRunsShellWithTheRestoreRoot) {
  char tmpl[] = "/tmp/lifeboat-app-test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string root = tmpl;
  ASSERT_EQ(mkdir((root + "/srv").c_str(), 0700), 0);
  ComponentConfig c;
  c.kind = "files";
  c.verify = {"test -d {restored}/srv", "test -d {restored}/missing", "echo hello; exit 0"};
  RestoreTarget t;
  t.dir = root;
  auto results = FindComponentKind("files")->Verify(c, t);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].ok);
  EXPECT_FALSE(results[1].ok);
  EXPECT_EQ(results[1].detail, "exit status 1: ");
  EXPECT_TRUE(results[2].ok);
  EXPECT_EQ(results[2].detail, "hello");
  rmdir((root + "/srv").c_str());
  rmdir(root.c_str());
}

constexpr const char* kKindsToml = R"(
[app]
name = "shop"

[[repository]]
name = "onsite"
url = "/var/backups/lb"
password_file = "/etc/lifeboat/onsite.pw"

[[component]]
name = "catalog"
kind = "sqlite"
sqlite = { path = "/srv/shop/catalog.db" }
rpo = "1h"
rto = "1h"

[[component]]
name = "code"
kind = "git"
git = { path = "/srv/git/shop.git" }
rpo = "1h"
rto = "1h"

[[component]]
name = "sessions"
kind = "redis"
redis = { host = "127.0.0.1", port = 6380 }
rpo = "1h"
rto = "1h"
verify = ["test \"$(redis-cli -p {port} get k)\" = v", "test -s {restored}/dump.rdb"]

[[component]]
name = "ldap"
kind = "command"
command = { run = ["slapcat", "-n", "1"], filename = "ldap.ldif" }
rpo = "1h"
rto = "1h"
verify = ["grep -q dc=shop {restored}"]
)";

AppConfig KindsConfig() {
  auto app = ParseAppConfig(kKindsToml, "kinds.toml");
  EXPECT_TRUE(app.ok()) << app.status().message();
  return *app;
}

TEST(ComponentKindTest, SqliteAndGitCommands) {
  AppConfig app = KindsConfig();
  const ComponentConfig& db = *app.FindComponent("catalog");
  const ComponentKind* sqlite = FindComponentKind("sqlite");
  EXPECT_EQ(sqlite->BackupArgs(app, db),
            (std::vector<std::string>{"backup", "sqlite", "--tag", "app=shop,component=catalog",
                                      "--", "/srv/shop/catalog.db"}));
  RestoreTarget drill = sqlite->DrillTarget(db, "/sb/run/catalog", 0);
  EXPECT_EQ(drill.dir, "/sb/run/catalog/catalog.db");
  EXPECT_EQ(sqlite->RestoreArgs(app, db, "abcd", drill),
            (std::vector<std::string>{"restore", "sqlite", "abcd", "--target",
                                      "/sb/run/catalog/catalog.db"}));
  RestoreTarget live = RunbookTarget(db, "/");
  EXPECT_EQ(live.dir, "/srv/shop/catalog.db");
  EXPECT_EQ(sqlite->RestoreArgs(app, db, "latest", live),
            (std::vector<std::string>{"restore", "sqlite", "latest", "--target",
                                      "/srv/shop/catalog.db", "--tag",
                                      "app=shop,component=catalog", "--force"}));
  EXPECT_EQ(RunbookTarget(db, "/dr").dir, "/dr/srv/shop/catalog.db");

  const ComponentConfig& code = *app.FindComponent("code");
  const ComponentKind* git = FindComponentKind("git");
  EXPECT_EQ(git->BackupArgs(app, code),
            (std::vector<std::string>{"backup", "git", "--tag", "app=shop,component=code", "--",
                                      "/srv/git/shop.git"}));
  RestoreTarget gd = git->DrillTarget(code, "/sb/run/code", 0);
  EXPECT_EQ(gd.dir, "/sb/run/code/shop.git");
  gd.drill = false;
  gd.recover = true;
  EXPECT_EQ(git->RestoreArgs(app, code, "abcd", gd),
            (std::vector<std::string>{"restore", "git", "abcd", "--target", "/sb/run/code/shop.git"}));
}

TEST(ComponentKindTest, RedisCommandsAndPortPlaceholder) {
  AppConfig app = KindsConfig();
  const ComponentConfig& c = *app.FindComponent("sessions");
  const ComponentKind* k = FindComponentKind("redis");
  EXPECT_TRUE(k->NeedsPort());
  EXPECT_EQ(k->BackupArgs(app, c),
            (std::vector<std::string>{"backup", "redis", "--tag", "app=shop,component=sessions",
                                      "--host", "127.0.0.1", "--port", "6380"}));
  RestoreTarget drill = k->DrillTarget(c, "/sb/run/sessions", 41000);
  EXPECT_EQ(drill.dir, "/sb/run/sessions/redis");
  EXPECT_EQ(drill.port, 41000);
  EXPECT_EQ(k->RestoreArgs(app, c, "abcd", drill),
            (std::vector<std::string>{"restore", "redis", "abcd", "--target",
                                      "/sb/run/sessions/redis"}));
  RestoreTarget live = RunbookTarget(c, "/");
  EXPECT_EQ(live.dir, "/var/lib/redis");
  EXPECT_EQ(live.port, 6380);
  std::vector<std::string> after = k->RunbookAfterRestore(c, live);
  ASSERT_GE(after.size(), 4u);
  EXPECT_EQ(after[1],
            "    redis-server --bind 127.0.0.1 --port 6380 --dir /var/lib/redis --dbfilename "
            "dump.rdb --daemonize yes --pidfile /var/lib/redis/redis.pid --logfile "
            "/var/lib/redis/redis.log");
  EXPECT_EQ(after[3], "    test \"$(redis-cli -p 6380 get k)\" = v");
  EXPECT_EQ(SubstitutePlaceholders("redis-cli -p {port} dbsize; ls {restored}", "/a b", 7),
            "redis-cli -p 7 dbsize; ls '/a b'");
  // Without a port, {port} stays as written.
  EXPECT_EQ(SubstitutePlaceholders("echo {port}", "/x", 0), "echo {port}");
}

TEST(ComponentKindTest, CommandCommandsAndVerifyOnTheRestoredFile) {
  AppConfig app = KindsConfig();
  const ComponentConfig& c = *app.FindComponent("ldap");
  const ComponentKind* k = FindComponentKind("command");
  EXPECT_EQ(k->BackupArgs(app, c),
            (std::vector<std::string>{"backup", "--stdin-from-command", "--stdin-filename",
                                      "ldap.ldif", "--tag", "app=shop,component=ldap", "--",
                                      "slapcat", "-n", "1"}));
  char tmpl[] = "/tmp/lifeboat-app-test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  RestoreTarget drill = k->DrillTarget(c, dir, 0);
  EXPECT_EQ(k->RestoreArgs(app, c, "abcd", drill),
            (std::vector<std::string>{"restore", "abcd", "--target", dir}));
  { std::ofstream(dir + "/ldap.ldif") << "dn: dc=shop\n"; }
  auto results = k->Verify(c, drill);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].ok) << results[0].detail;
  { std::ofstream(dir + "/ldap.ldif") << "nothing\n"; }
  results = k->Verify(c, drill);
  EXPECT_FALSE(results[0].ok);
  unlink((dir + "/ldap.ldif").c_str());
  rmdir(dir.c_str());
}

TEST(ComponentKindTest, MariadbCommandsCarryNoPassword) {
  auto app = ParseAppConfig(R"(
[app]
name = "shop"
[[repository]]
name = "onsite"
url = "/var/backups/lb"
password_file = "/etc/lifeboat/onsite.pw"
[[component]]
name = "orders"
kind = "mariadb"
mariadb = { host = "127.0.0.1", port = 3307, user = "bk" }
rpo = "1h"
rto = "1h"
verify = ["select count(*) > 0 from shop.orders"]
)",
                            "m.toml");
  ASSERT_TRUE(app.ok()) << app.status().message();
  const ComponentConfig& c = *app->FindComponent("orders");
  const ComponentKind* k = FindComponentKind("mariadb");
  EXPECT_TRUE(k->NeedsPort());
  EXPECT_EQ(k->BackupArgs(*app, c),
            (std::vector<std::string>{"backup", "mariadb", "--tag", "app=shop,component=orders",
                                      "--host", "127.0.0.1", "--port", "3307", "--user", "bk"}));
  RestoreTarget drill = k->DrillTarget(c, "/sb/run/orders", 41000);
  EXPECT_EQ(drill.dir, "/sb/run/orders/mariadb");
  const std::string user = geteuid() == 0 ? "root" : (getenv("USER") ? getenv("USER") : "root");
  EXPECT_EQ(k->RestoreArgs(*app, c, "abcd", drill),
            (std::vector<std::string>{"restore", "mariadb", "abcd", "--socket",
                                      "/sb/run/orders/mariadb/mysqld.sock", "--user", user,
                                      "--to-end"}));
  RestoreTarget rec = drill;
  rec.drill = false;
  rec.recover = true;
  rec.to_time = "2026-12-05 10:00:00.123456+00";
  std::vector<std::string> args = k->RestoreArgs(*app, c, "abcd", rec);
  EXPECT_EQ(std::vector<std::string>(args.end() - 2, args.end()),
            (std::vector<std::string>{"--to-time", "2026-12-05 10:00:00"}));
  RestoreTarget live = RunbookTarget(c, "/");
  EXPECT_EQ(k->RestoreArgs(*app, c, "latest", live),
            (std::vector<std::string>{"restore", "mariadb", "latest", "--tag",
                                      "app=shop,component=orders", "--host", "127.0.0.1", "--port",
                                      "3307", "--user", "bk", "--to-end"}));
  std::vector<std::string> after = k->RunbookAfterRestore(c, live);
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[1],
            "    mariadb --host=127.0.0.1 --port=3307 --user=bk -N -B -e 'select count(*) > 0 "
            "from shop.orders'   # expect: 1");
}

TEST(ComponentKindTest, RecoverTargets) {
  AppConfig app = Config();
  const ComponentConfig& db = *app.FindComponent("db");
  const ComponentKind* pg = FindComponentKind("postgres");
  RestoreTarget t = pg->DrillTarget(db, "/dr/db", 0);
  t.drill = false;
  t.recover = true;
  t.to_time = "2026-12-05 10:00:00.000000+00";
  EXPECT_EQ(pg->RestoreArgs(app, db, "abcd", t),
            (std::vector<std::string>{"restore", "postgres", "abcd", "--target", "/dr/db/pgdata",
                                      "--to-time", "2026-12-05 10:00:00.000000+00"}));
  t.start = true;
  t.port = 55000;
  t.delta = true;
  EXPECT_EQ(pg->RestoreArgs(app, db, "abcd", t),
            (std::vector<std::string>{"restore", "postgres", "abcd", "--target", "/dr/db/pgdata",
                                      "--to-time", "2026-12-05 10:00:00.000000+00", "--start",
                                      "--port", "55000", "--delta"}));
  const ComponentConfig& up = *app.FindComponent("uploads");
  const ComponentKind* files = FindComponentKind("files");
  RestoreTarget f = files->DrillTarget(up, "/dr/uploads", 0);
  f.drill = false;
  f.recover = true;
  EXPECT_EQ(files->RestoreArgs(app, up, "abcd", f),
            (std::vector<std::string>{"restore", "abcd", "--target", "/dr/uploads"}));
}

TEST(ChangeRateTest, NoBaselineNoAlert) {
  ChangeAlertSettings s;
  s.min_files = 5;
  s.min_bytes = 1000;
  ChangeFigures huge{1000000, 1ULL << 40};
  EXPECT_FALSE(EvaluateChangeRate(huge, {}, s).fire);
  EXPECT_FALSE(EvaluateChangeRate(huge, {{1, 10}, {1, 10}}, s).fire);
  EXPECT_TRUE(EvaluateChangeRate(huge, {{1, 10}, {1, 10}, {1, 10}}, s).fire);
  s.enabled = false;
  EXPECT_FALSE(EvaluateChangeRate(huge, {{1, 10}, {1, 10}, {1, 10}}, s).fire);
}

TEST(ChangeRateTest, ThresholdIsFactorTimesMedianOrTheFloor) {
  ChangeAlertSettings s;
  s.factor = 10;
  s.min_files = 100;
  s.min_bytes = 1 << 20;
  // Median of {20, 30, 5000(outlier), 25, 20} is 25: threshold max(250, 100) = 250.
  std::vector<ChangeFigures> h = {{20, 1000}, {30, 1000}, {5000, 1000}, {25, 1000}, {20, 1000}};
  ChangeRateDecision d = EvaluateChangeRate({250, 0}, h, s);
  EXPECT_FALSE(d.fire);
  EXPECT_EQ(d.median_files, 25u);
  EXPECT_EQ(d.files_threshold, 250u);
  EXPECT_EQ(d.bytes_threshold, 1u << 20);  // 10 x 1000 < the floor
  EXPECT_EQ(d.history, 5u);
  d = EvaluateChangeRate({251, 0}, h, s);
  EXPECT_TRUE(d.fire);
  EXPECT_EQ(d.message, "251 files changed or new (usual 25, threshold 250)");
  // Quiet history: the floor holds small bursts back.
  std::vector<ChangeFigures> quiet(4, ChangeFigures{0, 0});
  EXPECT_FALSE(EvaluateChangeRate({100, 1 << 20}, quiet, s).fire);
  d = EvaluateChangeRate({3, (1 << 20) + 1}, quiet, s);
  EXPECT_TRUE(d.fire);
  EXPECT_EQ(d.message, "1.0 MiB added (usual 0 B, threshold 1.0 MiB)");
  // Both crossed: both named.
  d = EvaluateChangeRate({101, 2 << 20}, quiet, s);
  EXPECT_EQ(d.message,
            "101 files changed or new (usual 0, threshold 100); 2.0 MiB added (usual 0 B, "
            "threshold 1.0 MiB)");
}

TEST(ChangeRateTest, OnlyTheNewestTenCount) {
  ChangeAlertSettings s;
  s.factor = 2;
  s.min_files = 0;
  s.min_bytes = 0;
  std::vector<ChangeFigures> h(10, ChangeFigures{100, 100});
  for (int i = 0; i < 20; ++i) h.push_back({1, 1});  // older, ignored
  ChangeRateDecision d = EvaluateChangeRate({150, 150}, h, s);
  EXPECT_FALSE(d.fire);
  EXPECT_EQ(d.history, 10u);
  EXPECT_EQ(d.median_files, 100u);
  SnapshotSummary sum;
  sum.files_new = 3;
  sum.files_changed = 4;
  sum.bytes_added = 99;
  EXPECT_EQ(FiguresOf(sum).files_changed, 7u);
  EXPECT_EQ(FiguresOf(sum).bytes_added, 99u);
}

TEST(AlertTest, ChangeRateKindName) {
  EXPECT_EQ(AlertKindName(AlertKind::kChangeRate), "change_rate");
}

ComponentDrill Passed(const std::string& name, double seconds, int64_t rto) {
  ComponentDrill d;
  d.name = name;
  d.kind = "files";
  d.repository = "onsite";
  d.snapshot_id = std::string(64, 'a');
  d.snapshot_time_ns = 1764921600000000000;  // 2025-12-05T08:00:00Z
  d.restored = true;
  d.seconds = seconds;
  d.restore_seconds = seconds / 2;
  d.verify_seconds = seconds / 2;
  d.rto_seconds = rto;
  d.checks = {{"test -d x", true, ""}};
  return d;
}

TEST(DrillReportTest, RtoComparison) {
  EXPECT_TRUE(ComponentDrill::RtoMet(10, 10));
  EXPECT_FALSE(ComponentDrill::RtoMet(10.01, 10));
  EXPECT_TRUE(ComponentDrill::RtoMet(1e9, 0));  // no RTO declared
  DrillReport r;
  r.app = "shop";
  EXPECT_FALSE(r.ok());  // nothing drilled proves nothing
  r.components = {Passed("db", 5, 900), Passed("uploads", 2, 1)};
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.AnyRtoMissed());
  ASSERT_EQ(r.Failures().size(), 1u);
  EXPECT_EQ(r.Failures()[0], "uploads: recovery took 2.00 s, RTO 1s");
  r.components[1].rto_seconds = 60;
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.Failures().empty());
}

TEST(DrillReportTest, FailedCheckAndRestoreError) {
  DrillReport r;
  r.app = "shop";
  r.components = {Passed("db", 5, 900), Passed("uploads", 2, 60)};
  r.components[0].checks[0] = {"select 1", false, "returned 'f', not true"};
  r.components[1].restored = false;
  r.components[1].checks.clear();
  r.components[1].error = "restore failed: pack damaged";
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.AnyRtoMissed());
  auto f = r.Failures();
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0], "db: check 'select 1' failed: returned 'f', not true");
  EXPECT_EQ(f[1], "uploads: restore failed: pack damaged");
}

TEST(DrillReportTest, JsonRoundTripMarkdownAndSourceInfo) {
  DrillReport r;
  r.app = "shop";
  r.host = "web-01";
  r.sandbox = "/var/tmp/lifeboat-drill/run-1";
  r.started_ns = 1764921600000000000;
  r.finished_ns = r.started_ns + 7'500'000'000;
  r.total_seconds = 7.5;
  r.components = {Passed("db", 5.5, 900), Passed("uploads", 2.25, 1800)};
  nlohmann::json j = DrillReportToJson(r);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["started"], "2025-12-05T08:00:00.000000000Z");
  EXPECT_EQ(j["components"][0]["rto_met"], true);
  auto back = DrillReportFromJson(nlohmann::json::parse(j.dump()));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(DrillReportToJson(*back), j);
  EXPECT_FALSE(DrillReportFromJson(nlohmann::json::parse(R"({"version":9})")).ok());
  EXPECT_FALSE(DrillReportFromJson(nlohmann::json::parse(R"({"version":1})")).ok());

  std::string md = DrillReportMarkdown(r);
  EXPECT_NE(md.find("# Restore drill of shop: PASSED"), std::string::npos) << md;
  EXPECT_NE(md.find("| db | files | onsite | aaaaaaaa | 2.75 s | 2.75 s | 5.50 s | 15m | passed |"),
            std::string::npos)
      << md;

  auto info = DrillSourceInfo(r);
  EXPECT_EQ(info["result"], "passed");
  EXPECT_EQ(info["components"], "db,uploads");
  EXPECT_EQ(info["db.seconds"], "5.500");
  LastDrill d = LastDrillOf(info, "uploads");
  EXPECT_TRUE(d.found);
  EXPECT_TRUE(d.passed);
  EXPECT_DOUBLE_EQ(d.seconds, 2.25);
  EXPECT_EQ(d.rto_seconds, 1800);
  EXPECT_FALSE(LastDrillOf(info, "nope").found);
}

TEST(AlertTest, Json) {
  Alert a{"shop", AlertKind::kRtoMissed, "db", "db: recovery took 20m, RTO 15m",
          1764921600000000000, {{"seconds", 1200}}};
  nlohmann::json j = AlertJson(a);
  EXPECT_EQ(j.dump(),
            R"({"app":"shop","component":"db","details":{"seconds":1200},"kind":"rto_missed",)"
            R"("message":"db: recovery took 20m, RTO 15m","time":"2025-12-05T08:00:00.000000000Z"})");
  EXPECT_EQ(AlertKindName(AlertKind::kDrillFailed), "drill_failed");
  EXPECT_EQ(AlertKindName(AlertKind::kRpoBreach), "rpo_breach");
  EXPECT_EQ(AlertKindName(AlertKind::kBackupFailed), "backup_failed");
  EXPECT_EQ(AlertKindName(AlertKind::kRule321), "rule_321");
}

TEST(AlertTest, CommandGetsTheJsonOnStdinAndNoShellInterpolation) {
  char tmpl[] = "/tmp/lifeboat-alert-test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string out = dir + "/alert.json";
  AlertsConfig cfg;
  cfg.command = "cat > " + ShellQuote(out);
  // A hostile message: it must arrive as data, never run.
  Alert a{"shop", AlertKind::kDrillFailed, "uploads",
          "$(touch " + dir + "/pwned) `touch " + dir + "/pwned2`; 'quoted'", 1764921600000000000,
          {}};
  AlertDelivery d = SendAlert(cfg, a);
  EXPECT_TRUE(d.command_run);
  EXPECT_FALSE(d.webhook_sent);
  EXPECT_TRUE(d.problems.empty());
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str());
  EXPECT_EQ(j, AlertJson(a));
  EXPECT_NE(access((dir + "/pwned").c_str(), F_OK), 0);
  EXPECT_NE(access((dir + "/pwned2").c_str(), F_OK), 0);

  cfg.command = "exit 3";
  d = SendAlert(cfg, a);
  EXPECT_FALSE(d.command_run);
  ASSERT_EQ(d.problems.size(), 1u);
  EXPECT_EQ(d.problems[0], "alert command failed (exit status 3): ");
  unlink(out.c_str());
  rmdir(dir.c_str());
}

TEST(AlertTest, KindsLeftToTheAgentAreNotSentAndResolvedIsMarked) {
  char tmpl[] = "/tmp/lifeboat-alert-test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string out = dir + "/alert.json";
  AlertsConfig cfg;
  cfg.command = "cat >> " + ShellQuote(out);
  Alert a{"shop", AlertKind::kDrillFailed, "uploads", "m", 1764921600000000000, {}};
  setenv("LIFEBOAT_ALERTS_BY_AGENT", "backup_failed,drill_failed,rto_missed", 1);
  AlertDelivery d = SendAlert(cfg, a);
  EXPECT_FALSE(d.command_run);
  EXPECT_TRUE(d.problems.empty());
  EXPECT_NE(access(out.c_str(), F_OK), 0);
  a.kind = AlertKind::kRule321;  // not in the list: sent
  d = SendAlert(cfg, a);
  EXPECT_TRUE(d.command_run);
  unsetenv("LIFEBOAT_ALERTS_BY_AGENT");
  EXPECT_FALSE(AlertJson(a).contains("resolved"));
  a.resolved = true;
  EXPECT_EQ(AlertJson(a)["resolved"], true);
  unlink(out.c_str());
  rmdir(dir.c_str());
}

// A one-request HTTP server on 127.0.0.1: answers `status` and keeps what it
// received.
class OneShotHttpServer {
 public:
  explicit OneShotHttpServer(int status) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(fd_, 1), 0);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, status] {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[8192];
      while (true) {
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        request_.append(buf, static_cast<size_t>(n));
        size_t head = request_.find("\r\n\r\n");
        if (head == std::string::npos) continue;
        size_t cl = request_.find("Content-Length: ");
        size_t want = cl == std::string::npos ? 0 : std::stoul(request_.substr(cl + 16));
        if (request_.size() >= head + 4 + want) break;
      }
      std::string reply = "HTTP/1.1 " + std::to_string(status) +
                          " X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
      (void)!write(c, reply.data(), reply.size());
      close(c);
    });
  }
  ~OneShotHttpServer() {
    shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    close(fd_);
  }
  int port() const { return port_; }
  std::string Body() {
    if (thread_.joinable()) thread_.join();
    size_t head = request_.find("\r\n\r\n");
    return head == std::string::npos ? "" : request_.substr(head + 4);
  }
  const std::string& request() const { return request_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::string request_;
};

TEST(AlertTest, WebhookGetsTheSameJson) {
  OneShotHttpServer server(204);
  AlertsConfig cfg;
  cfg.webhook = "http://127.0.0.1:" + std::to_string(server.port()) + "/hook";
  Alert a{"shop", AlertKind::kRpoBreach, "db", "db: newest point 2h old, RPO 5m", 1, {}};
  AlertDelivery d = SendAlert(cfg, a);
  EXPECT_TRUE(d.webhook_sent);
  EXPECT_TRUE(d.problems.empty());
  EXPECT_EQ(nlohmann::json::parse(server.Body()), AlertJson(a));
  EXPECT_EQ(server.request().rfind("POST /hook HTTP/1.1\r\n", 0), 0u) << server.request();
  EXPECT_NE(server.request().find("Content-Type: application/json"), std::string::npos);
}

TEST(AlertTest, WebhookHttpErrorIsAProblem) {
  OneShotHttpServer server(500);
  AlertsConfig cfg;
  cfg.webhook = "http://127.0.0.1:" + std::to_string(server.port()) + "/hook";
  AlertDelivery d = SendAlert(cfg, Alert{"shop", AlertKind::kRule321, "", "m", 1, {}});
  EXPECT_FALSE(d.webhook_sent);
  ASSERT_EQ(d.problems.size(), 1u);
  EXPECT_EQ(d.problems[0], "alert webhook http://127.0.0.1:" + std::to_string(server.port()) +
                               "/hook: HTTP status 500");
}

TEST(AlertTest, WebhookErrorsAreReportedNotFatal) {
  AlertsConfig cfg;
  cfg.webhook = "http://user:secret@127.0.0.1:1/hook?token=x";  // nothing listens on port 1
  Alert a{"shop", AlertKind::kDrillFailed, "", "m", 1, {}};
  AlertDelivery d = SendAlert(cfg, a);
  EXPECT_FALSE(d.webhook_sent);
  ASSERT_EQ(d.problems.size(), 1u);
  EXPECT_NE(d.problems[0].find("alert webhook http://127.0.0.1:1/hook"), std::string::npos)
      << d.problems[0];
  EXPECT_EQ(d.problems[0].find("secret"), std::string::npos);
  EXPECT_EQ(d.problems[0].find("token"), std::string::npos);
}

TEST(RunbookTest, CommandsInRestoreOrderWithRealUrlsAndNoSecrets) {
  AppConfig app = Config();
  RunbookOptions o;
  o.lifeboat = "/usr/bin/lifeboat";
  o.restore_root = "/";
  DrillReport r;
  r.components = {Passed("db", 5.5, 900), Passed("uploads", 2.25, 1800)};
  o.last_drill = DrillSourceInfo(r);
  o.last_drill_time_ns = 1764921600000000000;
  std::string md = BuildRunbook(app, o);
  EXPECT_NE(md.find("# Recovery runbook: shop"), std::string::npos);
  EXPECT_NE(md.find("password file `/etc/lifeboat/onsite.pw`"), std::string::npos) << md;
  EXPECT_NE(md.find("password command `pass show lifeboat/offsite`"), std::string::npos);
  EXPECT_NE(md.find("AWS_ACCESS_KEY_ID"), std::string::npos);
  const std::string files_cmd =
      "/usr/bin/lifeboat --repo '/var/backups/life boat' --password-file /etc/lifeboat/onsite.pw "
      "restore latest --target / --tag app=shop,component=uploads --allow-existing";
  EXPECT_NE(md.find(files_cmd), std::string::npos) << md;
  const std::string pg_cmd =
      "/usr/bin/lifeboat --repo '/var/backups/life boat' --password-file /etc/lifeboat/onsite.pw "
      "restore postgres latest --target /var/lib/postgresql/lifeboat-db --to-end --start --port "
      "5433 --tag app=shop,component=db --archive-mode preserve";
  EXPECT_NE(md.find(pg_cmd), std::string::npos) << md;
  // Restore order: db (1) before uploads (2) before sessions (unordered).
  size_t db = md.find("## 1. db"), up = md.find("## 2. uploads"), se = md.find("## 3. sessions");
  EXPECT_NE(db, std::string::npos);
  EXPECT_LT(db, up);
  EXPECT_LT(up, se);
  EXPECT_NE(md.find("Last drill: passed, restored and verified in 5.50 s."), std::string::npos);
  const std::string redis_cmd =
      "/usr/bin/lifeboat --repo '/var/backups/life boat' --password-file /etc/lifeboat/onsite.pw "
      "restore redis latest --target /var/lib/redis --tag app=shop,component=sessions --force";
  EXPECT_NE(md.find(redis_cmd), std::string::npos) << md;
  EXPECT_NE(md.find("test -d /srv/shop/uploads"), std::string::npos);
}

TEST(ProcessTest, CapturesOutputExitCodeAndStdin) {
  auto r = RunProcess({"/bin/sh", "-c", "cat; echo err >&2; exit 4"}, {.stdin_data = "in\n"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 4);
  EXPECT_EQ(r->out, "in\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->LastLine(), "err");
  // A child that ignores a large stdin neither blocks nor kills us.
  auto big = RunProcess({"/bin/true"}, {.stdin_data = std::string(1 << 20, 'x')});
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->exit_code, 0);
  auto missing = RunProcess({"/nonexistent/program"});
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->exit_code, 127);
  EXPECT_EQ(ShellJoin({"a b", "c", "it's"}), "'a b' c 'it'\\''s'");
}

// The caller's stop flag (its SIGINT/SIGTERM handler's): set before the
// start, nothing runs; set while the child runs, it gets one SIGTERM.
TEST(ProcessTest, StopFlagSetBeforeTheStartRunsNothing) {
  std::atomic<bool> stop{true};
  const std::string marker = ::testing::TempDir() + "/stop-flag-marker";
  std::remove(marker.c_str());
  auto r = RunProcess({"/bin/sh", "-c", "touch " + marker}, {.stop = &stop});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCancelled);
  EXPECT_EQ(r.status().message(), "interrupted before /bin/sh was started");
  EXPECT_NE(::access(marker.c_str(), F_OK), 0);
}

TEST(ProcessTest, StopFlagSetWhileItRunsSendsOneSigterm) {
  std::atomic<bool> stop{false};
  std::thread setter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop = true;
  });
  // Counts the SIGTERMs it gets in 1.5 s (RunProcess polls every 200 ms:
  // a flag passed on at every poll would count several).
  auto r = RunProcess({"/bin/sh", "-c",
                       "n=0; trap 'n=$((n+1))' TERM; i=0; "
                       "while [ $i -lt 30 ]; do sleep 0.05; i=$((i+1)); done; echo terms=$n"},
                      {.stop = &stop});
  setter.join();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 0) << r->err;
  EXPECT_EQ(r->out, "terms=1\n");
}

TEST(ProcessTest, TimeoutHoldsWhenTheChildsOwnChildrenKeepItsOutputOpen) {
  // Killing the shell leaves `sleep` and `cat` holding stdout open; the
  // call must still return soon after the deadline, not when they end.
  const auto t0 = std::chrono::steady_clock::now();
  auto r = RunShell("echo started; sleep 9 | cat", {.timeout_seconds = 1});
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_EQ(r->out, "started\n");
  EXPECT_NE(r->err.find("killed after 1 s"), std::string::npos) << r->err;
  EXPECT_LT(took, std::chrono::seconds(6));
}

}  // namespace
}  // namespace lifeboat
