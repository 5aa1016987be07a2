// lifeboat init: creates a repository.
#include <CLI/CLI.hpp>

#include "backend/backend.h"
#include "cli/commands.h"

namespace lifeboat {

void RegisterInit(CLI::App& app, GlobalOptions& global, CommandRunner* selected) {
  struct Opts {
    int compression = 3;
    uint64_t pack_size_mib = 16;
  };
  auto opts = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("init", "create a new repository");
  cmd->add_option("--compression", opts->compression, "zstd level for data, 0 = off (default 3)")
      ->check(CLI::Range(0, 19));
  cmd->add_option("--pack-size", opts->pack_size_mib, "target pack size in MiB (default 16)")
      ->check(CLI::Range(1, 1024));
  cmd->callback([&global, opts, selected] {
    *selected = [&global, opts]() -> int {
      auto backend = OpenRepositoryStorage(global);
      if (!backend.ok()) return ReportError(global, backend.status());
      auto password = GetPassword(global, true, "enter password for new repository: ");
      if (!password.ok()) return ReportError(global, password.status());
      InitOptions init;
      init.compression_level = opts->compression;
      init.pack_size = opts->pack_size_mib << 20;
      auto repo = Repository::Init(std::move(*backend), *password, init);
      if (!repo.ok())
        return ReportError(global, repo.status().WithContext("unable to create repository"));
      if (global.json) {
        PrintJson({{"message_type", "initialized"},
                   {"id", (*repo)->config().id},
                   {"repository", (*repo)->backend().Location()}});
      } else {
        Say(global, "created lifeboat repository " + (*repo)->config().id.substr(0, 10) + " at " +
                        (*repo)->backend().Location());
        Say(global,
            "\nPlease note that knowledge of your password is required to access\n"
            "the repository. Losing your password means that your data is\n"
            "irrecoverably lost.");
      }
      return kExitOk;
    };
  });
}

}  // namespace lifeboat
