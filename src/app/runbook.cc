#include "app/runbook.h"

#include <fmt/format.h>

#include "app/process.h"
#include "model/time_format.h"
#include "policy/duration.h"

namespace lifeboat {
namespace {

std::string JoinPath(const std::string& dir, const std::string& rest) {
  if (dir.empty() || dir.back() == '/') return dir + rest;
  return dir + "/" + rest;
}

std::string Dur(int64_t seconds) { return seconds > 0 ? FormatDurationSeconds(seconds) : "none"; }

}  // namespace

RestoreTarget RunbookTarget(const ComponentConfig& c, const std::string& restore_root) {
  RestoreTarget t;
  t.drill = false;
  if (c.kind == "postgres") {
    t.dir = JoinPath(restore_root, "var/lib/postgresql/lifeboat-" + c.name);
    t.port = c.postgres.port > 0 ? c.postgres.port : 5432;
  } else if (c.kind == "sqlite" || c.kind == "git") {
    t.dir = JoinPath(restore_root, c.path.empty() || c.path[0] != '/' ? c.path : c.path.substr(1));
  } else if (c.kind == "redis") {
    t.dir = JoinPath(restore_root, "var/lib/redis");
    t.port = c.redis.port > 0 ? c.redis.port : 6379;
  } else if (c.kind == "command") {
    t.dir = JoinPath(restore_root, "var/backups/lifeboat-" + c.name);
  } else {
    t.dir = restore_root;
  }
  return t;
}

std::string BuildRunbook(const AppConfig& app, const RunbookOptions& o) {
  std::string md;
  md += fmt::format("# Recovery runbook: {}\n\n", app.app_name);
  md += fmt::format("Generated from `{}`", app.path);
  if (o.generated_ns) md += " at " + FormatTimeRfc3339(o.generated_ns);
  md += ". Run the steps in this order, as root on the replacement machine.\n\n";

  md += "## Prerequisites\n\n";
  md += "- lifeboat installed (`" + o.lifeboat + "`).\n";
  md += "- The repositories and where their passwords come from (the values are never in this "
        "file):\n";
  for (const RepositoryConfig& r : app.repositories) {
    std::string source = !r.password_file.empty()
                             ? "password file `" + r.password_file + "` (mode 0600)"
                             : "password command `" + r.password_command + "`";
    md += fmt::format("  - `{}`: `{}` (media {}, site {}); {}\n", r.name, r.url, r.media, r.site,
                      source);
    if (r.url.rfind("s3:", 0) == 0) {
      md += "    - S3 credentials from the environment: AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE / the instance role)\n";
    } else if (r.url.rfind("sftp:", 0) == 0) {
      md += "    - SSH credentials: the key in ssh-agent or ~/.ssh, the host in known_hosts\n";
    }
  }
  bool has_pg = false;
  for (const ComponentConfig& c : app.components) has_pg = has_pg || c.kind == "postgres";
  if (has_pg) {
    md += "- PostgreSQL server programs (`pg_ctl`, `psql`) of the backed-up major version, and a "
          "`postgres` system user.\n";
  }
  md += "- If the first repository is lost, use the same commands with the next repository's "
        "options (any repository holds every snapshot).\n";
  if (o.last_drill) {
    auto it = o.last_drill->find("result");
    md += fmt::format("- Last restore drill: {} ({}), total {} s.\n",
                      it == o.last_drill->end() ? "unknown" : it->second,
                      o.last_drill_time_ns ? FormatTimeRfc3339(o.last_drill_time_ns) : "?",
                      o.last_drill->count("total_seconds") ? o.last_drill->at("total_seconds")
                                                           : "?");
  } else {
    md += "- No restore drill has been recorded yet: run `lifeboat drill` to measure the "
          "durations.\n";
  }

  const RepositoryConfig* first_repo = nullptr;
  int step = 0;
  for (const ComponentConfig* c : app.InRestoreOrder()) {
    ++step;
    md += fmt::format("\n## {}. {} ({})\n\n", step, c->name, c->kind);
    md += fmt::format("RPO {}, RTO {}.", Dur(c->rpo_seconds), Dur(c->rto_seconds));
    if (o.last_drill) {
      LastDrill d = LastDrillOf(*o.last_drill, c->name);
      if (d.found) {
        md += fmt::format(" Last drill: {}, restored and verified in {:.2f} s.",
                          d.passed ? "passed" : "FAILED", d.seconds);
      } else {
        md += " Not part of the last drill.";
      }
    }
    md += "\n\n";
    const ComponentKind* kind = FindComponentKind(c->kind);
    first_repo = c->repositories.empty() ? nullptr : app.FindRepository(c->repositories.front());
    if (!kind || !first_repo) {
      md += fmt::format("No automated restore for kind {} yet: restore its latest snapshot "
                        "(tags {}) by hand.\n",
                        c->kind, ComponentTagFilter(app, *c));
      continue;
    }
    RestoreTarget target = RunbookTarget(*c, o.restore_root);
    std::vector<std::string> argv = {o.lifeboat};
    std::vector<std::string> repo_args = RepositoryArgs(*first_repo);
    argv.insert(argv.end(), repo_args.begin(), repo_args.end());
    std::vector<std::string> restore = kind->RestoreArgs(app, *c, "latest", target);
    argv.insert(argv.end(), restore.begin(), restore.end());
    if (c->kind == "files") {
      md += fmt::format("Restore the newest snapshot from `{}` below `{}` (existing files are "
                        "kept):\n\n",
                        first_repo->name, target.dir);
    } else if (c->kind == "postgres") {
      md += fmt::format("Restore the newest base backup from `{}` into `{}`:\n\n",
                        first_repo->name, target.dir);
    } else {
      md += fmt::format("Restore the newest snapshot from `{}` to `{}`:\n\n", first_repo->name,
                        target.dir);
    }
    md += "```sh\n" + ShellJoin(argv) + "\n```\n\n";
    for (const std::string& line : kind->RunbookAfterRestore(*c, target)) {
      if (line.rfind("    ", 0) == 0) {
        md += "```sh\n" + line.substr(4) + "\n```\n";
      } else {
        md += line + "\n\n";
      }
    }
  }
  return md;
}

}  // namespace lifeboat
