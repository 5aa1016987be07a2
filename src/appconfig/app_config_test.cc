#include "appconfig/app_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace lifeboat {
namespace {

// The example from issue 6, verbatim.
constexpr const char* kIssueExample = R"([app]
name = "shop"

[[repository]]                       # one entry per copy; media and site feed the 3-2-1 rule
name = "onsite"
url = "/var/backups/lifeboat"
password_file = "/etc/lifeboat/onsite.pw"
media = "disk"                       # disk | object | tape | cold
site = "onsite"

[[repository]]
name = "offsite"
url = "s3:https://s3.eu-central-1.amazonaws.com/shop-backups"
password_file = "/etc/lifeboat/offsite.pw"
media = "object"
site = "eu-central-1"

[[component]]
name = "db"
kind = "postgres"                    # files | postgres | mariadb | sqlite | redis | git | command
rpo = "5m"                           # most data that may be lost
rto = "15m"                          # longest the component may be down
restore_order = 1
retention = { hourly = 24, daily = 7, weekly = 4, monthly = 12, pitr_window = "7d" }
postgres = { host = "127.0.0.1", port = 5432, user = "postgres" }
verify = ["select count(*) > 0 from orders"]   # must all return true after a drill restore

[[component]]
name = "uploads"
kind = "files"
paths = ["/srv/shop/uploads"]
rpo = "1h"
rto = "30m"
restore_order = 2
verify = ["test -d {restored}/srv/shop/uploads"]

[drill]
every = "7d"
sandbox = "/var/tmp/lifeboat-drill"

[alerts]
command = "/usr/local/bin/notify-oncall"        # run with the alert as JSON on stdin
webhook = "https://hooks.example.org/lifeboat"  # POSTed the same JSON
)";

// A minimal valid file; tests append to or edit it. Line numbers:
// 1 [app], 2 name, 3 blank, 4 [[repository]], 5 name, 6 url,
// 7 password_file, 8 blank, 9 [[component]], 10 name, 11 kind, 12 paths,
// 13 rpo, 14 rto.
constexpr const char* kMinimal = R"([app]
name = "shop"

[[repository]]
name = "onsite"
url = "/var/backups/lifeboat"
password_file = "/etc/lifeboat/onsite.pw"

[[component]]
name = "uploads"
kind = "files"
paths = ["/srv/uploads"]
rpo = "1h"
rto = "30m"
)";

// The single error message for `text`, or "" when it parses.
std::string ErrorOf(const std::string& text) {
  auto config = ParseAppConfig(text, "lifeboat.toml");
  return config.ok() ? "" : config.status().message();
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(AppConfigTest, IssueExampleParses) {
  auto config = ParseAppConfig(kIssueExample, "lifeboat.toml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->app_name, "shop");
  ASSERT_EQ(config->repositories.size(), 2u);
  EXPECT_EQ(config->repositories[1].name, "offsite");
  EXPECT_EQ(config->repositories[1].media, "object");
  EXPECT_EQ(config->repositories[1].site, "eu-central-1");
  EXPECT_EQ(config->repositories[0].password_file, "/etc/lifeboat/onsite.pw");
  ASSERT_EQ(config->components.size(), 2u);
  const ComponentConfig& db = config->components[0];
  EXPECT_EQ(db.kind, "postgres");
  EXPECT_EQ(db.rpo_seconds, 300);
  EXPECT_EQ(db.rto_seconds, 900);
  EXPECT_EQ(db.restore_order, 1);
  EXPECT_EQ(db.retention.policy.hourly, 24);
  EXPECT_EQ(db.retention.policy.monthly, 12);
  EXPECT_EQ(db.retention.pitr_window_seconds, 7 * 86400);
  EXPECT_EQ(db.postgres.host, "127.0.0.1");
  EXPECT_EQ(db.postgres.port, 5432);
  EXPECT_EQ(db.verify, std::vector<std::string>{"select count(*) > 0 from orders"});
  EXPECT_EQ(db.repositories, (std::vector<std::string>{"onsite", "offsite"}));
  const ComponentConfig& uploads = config->components[1];
  EXPECT_EQ(uploads.paths, std::vector<std::string>{"/srv/shop/uploads"});
  EXPECT_FALSE(uploads.retention.declared);
  ASSERT_TRUE(config->drill.has_value());
  EXPECT_EQ(config->drill->every_seconds, 7 * 86400);
  EXPECT_EQ(config->drill->components, (std::vector<std::string>{"db", "uploads"}));
  ASSERT_TRUE(config->alerts.has_value());
  EXPECT_EQ(config->alerts->webhook, "https://hooks.example.org/lifeboat");
  EXPECT_EQ(config->alerts->repeat_seconds, kDefaultAlertRepeatSeconds);
}

TEST(AppConfigTest, AlertRepeat) {
  auto config = ParseAppConfig(std::string(kMinimal) + "[alerts]\ncommand = \"true\"\nrepeat = \"30m\"\n",
                               "lifeboat.toml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->alerts->repeat_seconds, 1800);
  EXPECT_EQ(ErrorOf(std::string(kMinimal) + "[alerts]\nrepeat = \"soon\"\n"),
            "lifeboat.toml:16:1: alerts.repeat: invalid duration 'soon' (expected e.g. 5m, 1h, 7d)");
}

TEST(AppConfigTest, TestdataExampleParses) {
  auto config = LoadAppConfig(std::string(LIFEBOAT_APPCONFIG_TESTDATA) + "/lifeboat.toml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  ASSERT_EQ(config->repositories.size(), 3u);
  EXPECT_EQ(config->repositories[1].options.at("s3.region"), "eu-central-1");
  EXPECT_EQ(config->repositories[1].options.at("s3.connections"), "8");
  EXPECT_EQ(config->repositories[2].password_command, "pass show lifeboat/vault");
  ASSERT_TRUE(config->repositories[2].retention.has_value());
  EXPECT_EQ(config->repositories[2].retention->policy.monthly, 24);
  const ComponentConfig* cfg = config->FindComponent("config");
  ASSERT_NE(cfg, nullptr);
  EXPECT_EQ(cfg->repositories, (std::vector<std::string>{"onsite", "offsite"}));
  ASSERT_TRUE(cfg->schedule.has_value());
  EXPECT_EQ(cfg->schedule->MaxGapSeconds(), 12 * 3600);
  EXPECT_EQ(config->FindComponent("sessions")->redis.port, 6379);
}

TEST(AppConfigTest, Defaults) {
  auto config = ParseAppConfig(
      Replace(kMinimal, "url = \"/var/backups/lifeboat\"", "url = \"s3:https://h/b\""), "f");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->repositories[0].media, "object");  // from the s3: url
  EXPECT_EQ(config->repositories[0].site, "onsite");
  EXPECT_EQ(config->components[0].restore_order, 0);
  EXPECT_FALSE(config->drill.has_value());
  EXPECT_FALSE(config->alerts.has_value());
  auto local = ParseAppConfig(kMinimal, "f");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->repositories[0].media, "disk");
}

TEST(AppConfigTest, SyntaxErrorHasPosition) {
  EXPECT_EQ(
      ErrorOf("[app]\nname = \"shop\n"),
      "lifeboat.toml:2:13: Error while parsing string: unescaped control characters other than "
      "TAB (U+0009) are explicitly prohibited");
}

TEST(AppConfigTest, ControlCharactersRefused) {
  // A NUL after "[[" reached an assertion inside toml++ (found by the fuzzer).
  EXPECT_EQ(ErrorOf(std::string("[app]\nname = \"x\"\n[[", 19) + std::string(1, '\0') + "x]]\n"),
            "lifeboat.toml:3:3: control character U+0000 is not allowed in TOML");
  EXPECT_EQ(ErrorOf("# caf\xc3\xa9 \x01\n"),
            "lifeboat.toml:1:8: control character U+0001 is not allowed in TOML");
}

TEST(AppConfigTest, BadTableHeaderRefusedBeforeToml) {
  // "[[#" made toml++ 3.3 assert (found by the fuzzer).
  EXPECT_EQ(ErrorOf("[app]\nname = \"x\"\n[[#repository]]\n"),
            "lifeboat.toml:3:3: expected a table name after '['");
  EXPECT_EQ(ErrorOf("  [ =x]\n"), "lifeboat.toml:1:5: expected a table name after '['");
  // toml++ 3.3 reached __builtin_unreachable on these (fuzzer; upstream #190, #295).
  EXPECT_EQ(ErrorOf(" \xc5\x89"),
            "lifeboat.toml:1:2: non-ASCII character outside a string (quote keys and values that "
            "have them)");
  EXPECT_EQ(ErrorOf("s = \"\"\"\\\n  \xc2\xa7\"\"\"\n"),
            "lifeboat.toml:2:3: a non-ASCII character right after a line-ending backslash is not "
            "supported (toml++ 3.3); keep it on the backslash's line");
  // Non-ASCII in strings and comments is fine.
  auto utf8 =
      ParseAppConfig(Replace(kMinimal, "name = \"shop\"", "name = \"shop\" # caf\xc3\xa9"), "f");
  EXPECT_TRUE(utf8.ok()) << utf8.status().message();
  // Brackets inside values and strings are not headers.
  const std::string text = Replace(kMinimal, "rto = \"30m\"",
                                   "rto = \"30m\"\nverify = [\n  \"\"\"\n[#not a header\n\"\"\",\n"
                                   "  '[#', # [#\n]");
  auto config = ParseAppConfig(text, "f");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->components[0].verify, (std::vector<std::string>{"[#not a header\n", "[#"}));
}

TEST(AppConfigTest, InvalidDuration) {
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "rpo = \"1h\"", "rpo = \"5x\"")),
            "lifeboat.toml:13:1: component[0].rpo: invalid duration '5x' (expected e.g. 5m, 1h, "
            "7d)");
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "rto = \"30m\"", "rto = \"0m\"")),
            "lifeboat.toml:14:1: component[0].rto: must be longer than 0s, got '0m'");
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "rto = \"30m\"", "rto = \"1y\"")),
            "lifeboat.toml:14:1: component[0].rto: invalid duration '1y' (expected e.g. 5m, 1h, "
            "7d)");
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "rto = \"30m\"", "rto = \"99999999999999999999s\"")),
            "lifeboat.toml:14:1: component[0].rto: invalid duration '99999999999999999999s' "
            "(expected e.g. 5m, 1h, 7d)");
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "rto = \"30m\"", "rto = 30")),
            "lifeboat.toml:14:1: component[0].rto: expected a duration string like \"5m\", got "
            "an integer");
  // Compound intervals are fine.
  auto ok = ParseAppConfig(Replace(kMinimal, "rpo = \"1h\"", "rpo = \"1h30m\""), "f");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->components[0].rpo_seconds, 5400);
}

TEST(AppConfigTest, UnknownKeys) {
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "rto = \"30m\"", "rto = \"30m\"\nrestor_order = 1")),
            "lifeboat.toml:15:1: component[0].restor_order: unknown key 'restor_order' (did you "
            "mean 'restore_order'?)");
  EXPECT_EQ(ErrorOf(std::string(kMinimal) + "[alerts]\nfrobnicate = true\n"),
            "lifeboat.toml:16:1: alerts.frobnicate: unknown key 'frobnicate' (expected one of: "
            "command, webhook, repeat)");
  EXPECT_EQ(ErrorOf(std::string("[aps]\nname = \"x\"\n") + (kMinimal + 21)),
            "lifeboat.toml: app: an [app] table with the application's name is required\n"
            "lifeboat.toml:1:2: aps: unknown key 'aps' (did you mean 'app'?)");
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "rto = \"30m\"",
                            "rto = \"30m\"\nretention = { daily = 7, dayly = 3 }")),
            "lifeboat.toml:15:26: component[0].retention.dayly: unknown key 'dayly' (did you "
            "mean 'daily'?)");
}

TEST(AppConfigTest, RequiredKeysMissing) {
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "rpo = \"1h\"\n", "")),
            "lifeboat.toml:9:1: component[0].rpo: required key is missing");
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "url = \"/var/backups/lifeboat\"\n", "")),
            "lifeboat.toml:4:1: repository[0].url: required key is missing");
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "paths = [\"/srv/uploads\"]\n", "")),
            "lifeboat.toml:9:1: component[0].paths: required key is missing");
  EXPECT_EQ(ErrorOf("[app]\nname = \"x\"\n"),
            "lifeboat.toml: repository: at least one [[repository]] is required\n"
            "lifeboat.toml: component: at least one [[component]] is required");
}

TEST(AppConfigTest, WrongTypes) {
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "paths = [\"/srv/uploads\"]", "paths = \"/srv/uploads\"")),
            "lifeboat.toml:12:1: component[0].paths: expected an array of strings, got a string");
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "paths = [\"/srv/uploads\"]", "paths = [\"/srv\", 3]")),
            "lifeboat.toml:12:18: component[0].paths[1]: expected a string, got an integer");
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "[[repository]]", "[repository]")),
            "lifeboat.toml:4:2: repository: expected an array of tables ([[repository]]), got a "
            "table");
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "rto = \"30m\"", "rto = \"30m\"\nrestore_order = 0")),
            "lifeboat.toml:15:1: component[0].restore_order: must be between 1 and 1000000, got 0");
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "paths = [\"/srv/uploads\"]", "paths = [\"srv/uploads\"]")),
            "lifeboat.toml:12:10: component[0].paths[0]: must be an absolute path, got "
            "'srv/uploads'");
}

TEST(AppConfigTest, ChangeAlert) {
  auto defaults = ParseAppConfig(kMinimal, "f");
  ASSERT_TRUE(defaults.ok());
  EXPECT_TRUE(defaults->components[0].change_alert.enabled);
  EXPECT_EQ(defaults->components[0].change_alert.factor, 10);
  EXPECT_EQ(defaults->components[0].change_alert.min_files, 100);
  EXPECT_EQ(defaults->components[0].change_alert.min_bytes, 1LL << 30);
  auto set = ParseAppConfig(
      Replace(kMinimal, "rto = \"30m\"",
              "rto = \"30m\"\nchange_alert = { factor = 2.5, min_files = 5, min_bytes = 1000 }"),
      "f");
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_EQ(set->components[0].change_alert.factor, 2.5);
  EXPECT_EQ(set->components[0].change_alert.min_files, 5);
  EXPECT_EQ(set->components[0].change_alert.min_bytes, 1000);
  auto off = ParseAppConfig(
      Replace(kMinimal, "rto = \"30m\"", "rto = \"30m\"\nchange_alert = { enabled = false }"), "f");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->components[0].change_alert.enabled);
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "rto = \"30m\"", "rto = \"30m\"\nchange_alert = { factor = 1 }")),
            "lifeboat.toml:15:18: component[0].change_alert.factor: must be above 1 and at most "
            "1000000, got 1");
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "rto = \"30m\"",
                            "rto = \"30m\"\nchange_alert = { min_files = -1 }")),
            "lifeboat.toml:15:18: component[0].change_alert.min_files: must be between 0 and "
            "9223372036854775807, got -1");
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "rto = \"30m\"",
                            "rto = \"30m\"\nchange_alert = { factr = 3 }")),
            "lifeboat.toml:15:18: component[0].change_alert.factr: unknown key 'factr' (did you "
            "mean 'factor'?)");
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "rto = \"30m\"",
                            "rto = \"30m\"\nchange_alert = { enabled = \"yes\" }")),
            "lifeboat.toml:15:18: component[0].change_alert.enabled: expected true or false, got "
            "a string");
}

TEST(AppConfigTest, DuplicateNames) {
  const std::string two_repos =
      Replace(kMinimal, "\n[[component]]",
              "\n[[repository]]\nname = \"onsite\"\nurl = \"/other\"\npassword_file = \"/p\"\n"
              "\n[[component]]");
  EXPECT_EQ(ErrorOf(two_repos),
            "lifeboat.toml:10:1: repository[1].name: duplicate repository name 'onsite' (also "
            "repository[0], line 4)");
  const std::string two_components =
      std::string(kMinimal) +
      "\n[[component]]\nname = \"uploads\"\nkind = \"files\"\npaths = [\"/b\"]\nrpo = \"1h\"\n"
      "rto = \"1h\"\n";
  EXPECT_EQ(ErrorOf(two_components),
            "lifeboat.toml:17:1: component[1].name: duplicate component name 'uploads' (also "
            "component[0], line 9)");
  const std::string same_url =
      Replace(kMinimal, "\n[[component]]",
              "\n[[repository]]\nname = \"b\"\nurl = \"/var/backups/lifeboat\"\n"
              "password_file = \"/p\"\n\n[[component]]");
  EXPECT_EQ(ErrorOf(same_url),
            "lifeboat.toml:11:1: repository[1].url: same url as repository[0] "
            "('/var/backups/lifeboat'): one place holds one copy");
}

TEST(AppConfigTest, RestoreOrderCollision) {
  const std::string text =
      Replace(kMinimal, "rto = \"30m\"", "rto = \"30m\"\nrestore_order = 2") +
      "\n[[component]]\nname = \"db\"\nkind = \"sqlite\"\nsqlite = { path = \"/srv/db\" }\n"
      "rpo = \"1h\"\nrto = \"1h\"\nrestore_order = 2\n";
  EXPECT_EQ(ErrorOf(text),
            "lifeboat.toml:23:1: component[1].restore_order: restore_order 2 is also used by "
            "component 'uploads' (line 9); restore orders must be distinct");
}

TEST(AppConfigTest, UnknownRepositoryReference) {
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "rto = \"30m\"",
                            "rto = \"30m\"\nrepositories = [\"onsite\", \"offsite\"]")),
            "lifeboat.toml:15:27: component[0].repositories[1]: unknown repository 'offsite' "
            "(declared: onsite)");
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "rto = \"30m\"", "rto = \"30m\"\nrepositories = []")),
            "lifeboat.toml:15:1: component[0].repositories: must not be empty");
  EXPECT_EQ(ErrorOf(std::string(kMinimal) +
                    "[drill]\nevery = \"7d\"\nsandbox = \"/tmp/d\"\ncomponents = [\"db\"]\n"),
            "lifeboat.toml:18:15: drill.components[0]: unknown component 'db' (declared: "
            "uploads)");
}

TEST(AppConfigTest, KindTableMismatch) {
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "rto = \"30m\"", "rto = \"30m\"\npostgres = { port = 1 }")),
            "lifeboat.toml:15:1: component[0].postgres: a postgres table in a component of kind "
            "'files'");
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "kind = \"files\"", "kind = \"sqlite\"")),
            "lifeboat.toml:9:1: component[0].sqlite: required key is missing\n"
            "lifeboat.toml:12:1: component[0].paths: only files components have paths (this one "
            "is kind 'sqlite')");
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "kind = \"files\"", "kind = \"tarball\"")),
            "lifeboat.toml:11:1: component[0].kind: unknown kind 'tarball' (expected files, "
            "postgres, mariadb, sqlite, redis, git or command)");
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "rto = \"30m\"",
                            "rto = \"30m\"\nretention = { daily = 7, pitr_window = \"7d\" }")),
            "lifeboat.toml:15:26: component[0].retention.pitr_window: only postgres and mariadb "
            "components have point-in-time recovery (this one is kind 'files')");
  EXPECT_EQ(
      ErrorOf(Replace(Replace(kMinimal, "kind = \"files\"", "kind = \"command\""),
                      "paths = [\"/srv/uploads\"]", "command = { run = [], filename = \"a/b\" }")),
      "lifeboat.toml:12:13: component[0].command.run: must not be empty\n"
      "lifeboat.toml:12:23: component[0].command.filename: must be a plain file name, got "
      "'a/b'");
  EXPECT_EQ(ErrorOf(Replace(Replace(kMinimal, "kind = \"files\"", "kind = \"postgres\""),
                            "paths = [\"/srv/uploads\"]", "postgres = { port = 70000 }")),
            "lifeboat.toml:12:14: component[0].postgres.port: must be between 1 and 65535, got "
            "70000");
}

TEST(AppConfigTest, SecretsRefused) {
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "password_file = \"/etc/lifeboat/onsite.pw\"",
                            "password = \"hunter2\"")),
            "lifeboat.toml:4:1: repository[0]: needs password_file or password_command (the "
            "password itself is never in the file)\n"
            "lifeboat.toml:7:1: repository[0].password: secrets are never stored in "
            "lifeboat.toml; give a password_file or password_command for repository passwords, "
            "and the usual environment or files for other credentials");
  const std::string s3 = Replace(kMinimal, "url = \"/var/backups/lifeboat\"",
                                 "url = \"s3:https://h/b\"\noptions = { "
                                 "\"s3.secret-access-key\" = \"abc\" }");
  const std::string message = ErrorOf(s3);
  EXPECT_EQ(message.rfind("lifeboat.toml:7:13: repository[0].options.s3.secret-access-key: "
                          "secrets are never stored in lifeboat.toml",
                          0),
            0u)
      << message;
  EXPECT_EQ(message.find("abc"), std::string::npos);  // never echo a secret
  EXPECT_EQ(ErrorOf(Replace(Replace(kMinimal, "kind = \"files\"", "kind = \"postgres\""),
                            "paths = [\"/srv/uploads\"]", "postgres = { password = \"x\" }")),
            "lifeboat.toml:12:14: component[0].postgres.password: secrets are never stored in "
            "lifeboat.toml; give a password_file or password_command for repository passwords, "
            "and the usual environment or files for other credentials");
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "password_file = \"/etc/lifeboat/onsite.pw\"",
                            "password_file = \"/a\"\npassword_command = \"pass x\"")),
            "lifeboat.toml:8:1: repository[0].password_command: give password_file or "
            "password_command, not both");
}

TEST(AppConfigTest, RepositoryOptionsAndMedia) {
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "password_file", "media = \"floppy\"\npassword_file")),
            "lifeboat.toml:7:1: repository[0].media: unknown media 'floppy' (expected disk, "
            "object, tape or cold)");
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "password_file", "options.s3.region = \"x\"\npassword_file")),
            "lifeboat.toml:7:12: repository[0].options.s3.region: this repository takes no "
            "options (only s3: and sftp: repositories have them)");
  auto nested = ParseAppConfig(
      Replace(kMinimal, "url = \"/var/backups/lifeboat\"",
              "url = \"sftp:u@h:/p\"\noptions.sftp.port = 2222\noptions.sftp.strict = true"),
      "f");
  ASSERT_TRUE(nested.ok()) << nested.status().message();
  EXPECT_EQ(nested->repositories[0].options.at("sftp.port"), "2222");
  EXPECT_EQ(nested->repositories[0].options.at("sftp.strict"), "true");
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "url = \"/var/backups/lifeboat\"",
                            "url = \"sftp:u@h:/p\"\noptions = { \"s3.region\" = \"x\" }")),
            "lifeboat.toml:7:13: repository[0].options.s3.region: options for this repository "
            "start with 'sftp.'");
  EXPECT_EQ(ErrorOf(Replace(kMinimal, "password_file",
                            "retention = { daily = 3, pitr_window = \"1d\" }\npassword_file")),
            "lifeboat.toml:7:26: repository[0].retention.pitr_window: pitr_window belongs in a "
            "component's retention, not a repository's");
}

TEST(AppConfigTest, ScheduleValidation) {
  EXPECT_EQ(
      ErrorOf(Replace(kMinimal, "rto = \"30m\"", "rto = \"30m\"\nschedule = \"daily 02:30\"")),
      "lifeboat.toml:15:1: component[0].schedule: 'daily 02:30' runs up to 1d apart, longer "
      "than the rpo of 1h");
  EXPECT_EQ(
      ErrorOf(Replace(kMinimal, "rto = \"30m\"", "rto = \"30m\"\nschedule = \"daily 25:00\"")),
      "lifeboat.toml:15:1: component[0].schedule: invalid schedule 'daily 25:00': '25:00' "
      "is not a time HH:MM (00:00 to 23:59) (expected e.g. 'hourly :15', 'daily 02:30', "
      "'weekly sun 03:00')");
  auto ok = ParseAppConfig(
      Replace(kMinimal, "rto = \"30m\"", "rto = \"30m\"\nschedule = \"hourly :15\""), "f");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->components[0].schedule->MaxGapSeconds(), 3600);
  // Databases: the schedule pins base backups, WAL holds the RPO.
  auto pg =
      ParseAppConfig(Replace(Replace(Replace(kMinimal, "kind = \"files\"", "kind = \"postgres\""),
                                     "paths = [\"/srv/uploads\"]\n", ""),
                             "rto = \"30m\"", "rto = \"30m\"\nschedule = \"weekly sun 03:00\""),
                     "f");
  ASSERT_TRUE(pg.ok()) << pg.status().message();
}

TEST(AppConfigTest, AllErrorsReported) {
  std::vector<ConfigError> errors;
  auto config = ParseAppConfig(
      Replace(Replace(kMinimal, "rpo = \"1h\"", "rpo = \"x\""), "name = \"shop\"", "name = \"\""),
      "app.toml", &errors);
  ASSERT_FALSE(config.ok());
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].key, "app.name");
  EXPECT_EQ(errors[0].line, 2);
  EXPECT_EQ(errors[1].key, "component[0].rpo");
  EXPECT_EQ(errors[1].line, 13);
  EXPECT_EQ(errors[1].ToString(),
            "app.toml:13:1: component[0].rpo: invalid duration 'x' (expected e.g. 5m, 1h, 7d)");
}

TEST(AppConfigTest, RestoreOrder) {
  auto config = ParseAppConfig(kIssueExample, "f");
  ASSERT_TRUE(config.ok());
  config->components[0].restore_order = 0;  // db now unordered: after uploads
  auto order = config->InRestoreOrder();
  ASSERT_EQ(order.size(), 2u);
  EXPECT_EQ(order[0]->name, "uploads");
  EXPECT_EQ(order[1]->name, "db");
}

TEST(AppConfigTest, LoadAndFind) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("appconfig_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "app.toml").string();
  std::ofstream(file) << kMinimal;
  auto loaded = LoadAppConfig(file);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->path, file);
  auto missing = LoadAppConfig((dir / "nope.toml").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);

  EXPECT_EQ(*FindAppConfigPath("/x/flag.toml", "/x/env.toml"), "/x/flag.toml");
  EXPECT_EQ(*FindAppConfigPath("", "/x/env.toml"), "/x/env.toml");
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir);
  auto none = FindAppConfigPath("", "");
  EXPECT_EQ(none.status().code(), Code::kNotFound);
  std::ofstream("lifeboat.toml") << kMinimal;
  EXPECT_EQ(*FindAppConfigPath("", nullptr), "lifeboat.toml");
  std::filesystem::current_path(cwd);
  std::filesystem::remove_all(dir);
}

TEST(AppConfigTest, OversizedFileRefused) {
  const std::string file =
      (std::filesystem::temp_directory_path() / ("appconfig_big_" + std::to_string(getpid())))
          .string();
  std::ofstream(file) << std::string((1 << 20) + 10, '#');
  auto loaded = LoadAppConfig(file);
  std::filesystem::remove(file);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("larger than 1 MiB"), std::string::npos);
}

}  // namespace
}  // namespace lifeboat
