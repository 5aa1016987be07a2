#include "appconfig/plan.h"

#include <gtest/gtest.h>

namespace lifeboat {
namespace {

AppConfig Load(const std::string& name) {
  auto config = LoadAppConfig(std::string(LIFEBOAT_APPCONFIG_TESTDATA) + "/" + name);
  EXPECT_TRUE(config.ok()) << config.status().message();
  return config.ok() ? *config : AppConfig{};
}

AppConfig Parse(const std::string& text) {
  auto config = ParseAppConfig(text, "lifeboat.toml");
  EXPECT_TRUE(config.ok()) << config.status().message();
  return config.ok() ? *config : AppConfig{};
}

constexpr const char* kHead = R"([app]
name = "shop"
[[repository]]
name = "onsite"
url = "/var/backups/lifeboat"
password_file = "/etc/lifeboat/onsite.pw"
)";

TEST(PlanTest, TestdataExample) {
  const Plan plan = MakePlan(Load("lifeboat.toml"));
  EXPECT_EQ(plan.app_name, "shop");
  ASSERT_EQ(plan.components.size(), 4u);
  EXPECT_TRUE(plan.meets_321);

  const ComponentPlan& db = plan.components[0];
  EXPECT_EQ(db.name, "db");
  EXPECT_EQ(db.restore_order, 1);
  EXPECT_EQ(db.method, "wal-archiving");
  EXPECT_EQ(db.log_interval_seconds, 150);  // rpo 5m / 2
  EXPECT_EQ(db.worst_case_loss_seconds, 150);
  EXPECT_EQ(db.pinned_schedule, "daily 02:30");
  EXPECT_EQ(db.backup_interval_seconds, 0);
  EXPECT_EQ(db.pitr_window_seconds, 7 * 86400);
  EXPECT_EQ(db.postgresql_conf,
            (std::vector<std::string>{
                "archive_mode = on",
                "archive_command = 'lifeboat --repo /var/backups/lifeboat --password-file "
                "/etc/lifeboat/onsite.pw postgres archive-push %p'",
                "archive_timeout = 150", "wal_level = replica"}));
  ASSERT_EQ(db.repositories.size(), 3u);
  EXPECT_EQ(db.repositories[0].role, "backup");
  EXPECT_EQ(db.repositories[1].role, "copy");
  EXPECT_EQ(db.repositories[0].retention,
            "keep 24 hourly, 7 daily, 4 weekly, 12 monthly snapshots");
  EXPECT_TRUE(db.repositories[2].retention_from_repository);
  EXPECT_EQ(db.repositories[2].retention, "keep 7 daily, 24 monthly snapshots");
  EXPECT_EQ(db.rule.copies, 4);
  EXPECT_EQ(db.rule.offsite, (std::vector<std::string>{"offsite", "vault"}));

  const ComponentPlan& uploads = plan.components[1];
  EXPECT_EQ(uploads.method, "snapshots");
  EXPECT_EQ(uploads.backup_interval_seconds, 1800);  // rpo 1h / 2
  const ComponentPlan& config = plan.components[2];
  EXPECT_EQ(config.backup_interval_seconds, 0);
  EXPECT_EQ(config.worst_case_loss_seconds, 12 * 3600);  // pinned twice a day
  EXPECT_EQ(config.repositories.size(), 2u);
  EXPECT_EQ(config.rule.copies, 3);
  EXPECT_TRUE(config.rule.ok());

  EXPECT_TRUE(plan.drill.scheduled);
  EXPECT_EQ(plan.drill.components, (std::vector<std::string>{"db", "uploads"}));
  EXPECT_TRUE(plan.alerts);
  EXPECT_EQ(plan.warnings, (std::vector<std::string>{
                               "component 'config' is never drilled: its RTO is not measured",
                               "component 'sessions' is never drilled: its RTO is not measured"}));

  const nlohmann::json j = PlanToJson(plan);
  EXPECT_EQ(j["message_type"], "plan");
  EXPECT_EQ(j["meets_321"], true);
  EXPECT_EQ(j["components"][0]["log_interval"]["seconds"], 150);
  EXPECT_EQ(j["components"][0]["log_interval"]["text"], "2m30s");
  EXPECT_EQ(j["components"][1]["backup_interval"]["text"], "30m");
  EXPECT_EQ(j["components"][2]["schedule"], "daily 01:00,13:00");
  EXPECT_EQ(j["drill"]["every"]["seconds"], 7 * 86400);
}

TEST(PlanTest, OneRepositoryMisses321AndSaysWhat) {
  const Plan plan = MakePlan(Parse(std::string(kHead) + R"(
[[component]]
name = "uploads"
kind = "files"
paths = ["/srv"]
rpo = "1h"
rto = "1h"
)"));
  EXPECT_FALSE(plan.meets_321);
  EXPECT_EQ(plan.components[0].rule.missing,
            (std::vector<std::string>{"only 1 copy off the server; need 1 more",
                                      "all copies on media 'disk'", "no copy off-site"}));
  EXPECT_EQ(plan.components[0].warnings,
            (std::vector<std::string>{"no retention: every snapshot is kept forever",
                                      "no verify checks: a drill can only show that the restore "
                                      "ran"}));
  EXPECT_EQ(plan.warnings,
            (std::vector<std::string>{
                "no [drill]: restores are never tested and RTOs never measured",
                "no [alerts] command or webhook: failures are only visible in status and "
                "metrics"}));
}

TEST(PlanTest, ShortRpoHasAOneMinuteFloor) {
  const Plan plan = MakePlan(Parse(std::string(kHead) + R"(
[[component]]
name = "a"
kind = "git"
git = { path = "/srv/git" }
rpo = "90s"
rto = "1h"
[[component]]
name = "b"
kind = "files"
paths = ["/srv"]
rpo = "2m"
rto = "1h"
)"));
  EXPECT_EQ(plan.components[0].backup_interval_seconds, 60);
  EXPECT_EQ(plan.components[0].warnings[0],
            "rpo 1m30s leaves no margin: backups run at most once a minute");
  EXPECT_EQ(plan.components[1].backup_interval_seconds, 60);  // exactly rpo/2: no warning
  EXPECT_EQ(plan.components[1].warnings.size(), 2u);          // retention, verify
}

TEST(PlanTest, PostgresBasePeriodAndShortArchiveTimeout) {
  const Plan plan = MakePlan(Parse(std::string(kHead) + R"(
[[component]]
name = "db"
kind = "postgres"
rpo = "1m"
rto = "1h"
retention = { weekly = 4, monthly = 6 }
)"));
  const ComponentPlan& db = plan.components[0];
  EXPECT_EQ(db.log_interval_seconds, 30);
  EXPECT_EQ(db.backup_interval_seconds, 7 * 86400);  // nothing finer than weekly kept
  EXPECT_EQ(db.postgresql_conf[2], "archive_timeout = 30");
  EXPECT_EQ(db.warnings[0],
            "archive_timeout under 1 minute: PostgreSQL archives a full 16 MiB WAL segment each "
            "time, even when idle");
  EXPECT_EQ(db.warnings[1],
            "no pitr_window: WAL is kept only as long as the base backups it follows");
}

TEST(PlanTest, MariadbAndRestoreOrder) {
  const Plan plan = MakePlan(Parse(std::string(kHead) + R"(
[[component]]
name = "files"
kind = "files"
paths = ["/srv"]
rpo = "1h"
rto = "1h"
[[component]]
name = "db"
kind = "mariadb"
rpo = "10m"
rto = "1h"
restore_order = 5
)"));
  ASSERT_EQ(plan.components.size(), 2u);
  EXPECT_EQ(plan.components[0].name, "db");  // ordered before the unordered one
  EXPECT_EQ(plan.components[0].restore_order, 1);
  EXPECT_EQ(plan.components[0].method, "binlog-shipping");
  EXPECT_EQ(plan.components[0].log_interval_seconds, 300);
  EXPECT_EQ(plan.components[0].backup_interval_seconds, 86400);
  EXPECT_EQ(plan.components[1].restore_order, 2);
}

TEST(PlanTest, ArchiveCommandQuoting) {
  RepositoryConfig r;
  r.url = "s3:https://h/b";
  r.password_command = "pass show 'x'";
  r.options = {{"s3.region", "eu west"}};
  EXPECT_EQ(ArchivePushCommand(r),
            "lifeboat --repo s3:https://h/b --password-command 'pass show '\\''x'\\''' -o "
            "'s3.region=eu west' postgres archive-push %p");
}

}  // namespace
}  // namespace lifeboat
