// lifeboat check: proves every reference resolves and, with --read-data,
// that every byte decrypts and authenticates.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "check/checker.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "repo/lock.h"

namespace lifeboat {

void RegisterCheck(CLI::App& app, GlobalOptions& global, CommandRunner* selected) {
  struct Opts {
    bool read_data = false;
    std::string subset;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("check", "verify the repository's structure and data");
  cmd->add_flag("--read-data", o->read_data, "read and authenticate every pack");
  cmd->add_option("--read-data-subset", o->subset, "read only a subset: 'n/m' or 'p%'");
  cmd->callback([&global, o, selected] {
    *selected = [&global, o]() -> int {
      CheckOptions copt;
      copt.read_data = o->read_data || !o->subset.empty();
      if (!o->subset.empty()) {
        auto subset = ParseReadDataSubset(o->subset);
        if (!subset.ok()) return ReportError(global, subset.status());
        copt.read_data_subset = *subset;
      }
      // check verifies what is in the repository, never a local copy of it.
      GlobalOptions uncached = global;
      uncached.no_cache = true;
      auto repo = OpenRepository(uncached);
      if (!repo.ok()) return ReportError(global, repo.status());
      auto lock = RepoLock::Acquire(**repo, false);
      if (!lock.ok()) return ReportError(global, lock.status());
      CheckProgress progress;
      Result<CheckReport> report = Status(Code::kInternal, "not run");
      {
        ProgressReporter reporter(
            global, "check",
            [&progress] {
              ProgressSample s;
              s.files_done = progress.packs_done;
              s.files_total = progress.packs_total;
              s.bytes_done = progress.bytes_done;
              s.unit = "packs";
              return s;
            },
            nullptr);
        Say(global, !copt.read_data               ? "checking structure"
                    : copt.read_data_subset.all() ? "checking structure and reading all data"
                                                  : "checking structure and reading data (packs " +
                                                        copt.read_data_subset.ToString() + ")");
        report = CheckRepository(**repo, copt, &progress);
      }
      if (!report.ok()) return ReportError(global, report.status());
      const CheckReport& r = *report;
      if (global.json) {
        nlohmann::json findings = nlohmann::json::array();
        for (const Finding& f : r.findings) {
          findings.push_back({{"severity", std::string(SeverityName(f.severity))},
                              {"object", f.object},
                              {"message", f.message},
                              {"hint", f.hint}});
        }
        PrintJson({{"message_type", "check_summary"},
                   {"ok", r.ok()},
                   {"errors", r.errors()},
                   {"warnings", r.warnings()},
                   {"snapshots", r.snapshots},
                   {"trees", r.trees},
                   {"blobs", r.blobs},
                   {"packs", r.packs},
                   {"packs_read", r.packs_read},
                   {"bytes_read", r.bytes_read},
                   {"findings", findings}});
      } else {
        for (const Finding& f : r.findings) {
          (f.severity == Severity::kError ? std::cerr : std::cout) << f.ToString() << "\n";
        }
        Say(global, fmt::format("checked {} snapshots, {} trees, {} data blobs in {} packs{}",
                                r.snapshots, r.trees, r.blobs, r.packs,
                                copt.read_data ? fmt::format(" (read {} packs, {})", r.packs_read,
                                                             FormatBytes(r.bytes_read))
                                               : ""));
        if (r.ok()) {
          Say(global, r.warnings() ? fmt::format("no errors were found ({} warnings)", r.warnings())
                                   : "no errors were found");
        } else {
          std::cerr << "lifeboat: the repository has " << r.errors() << " error(s)\n";
        }
      }
      return r.ok() ? kExitOk : kExitFatal;
    };
  });
}

}  // namespace lifeboat
