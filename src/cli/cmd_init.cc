// lifeboat init: creates a repository.
#include <CLI/CLI.hpp>

#include "backend/backend.h"
#include "cli/commands.h"

namespace lifeboat {

void RegisterInit(CLI::App& app, GlobalOptions& global, CommandRunner* selected) {
  struct Opts {
    int compression = 3;
    uint64_t pack_size_mib = 16;
    GlobalOptions from;  // --from-repo: adopt its master key and chunker parameters
    std::string media;   // default: DefaultMediaFor(repo)
    std::string site = "onsite";
  };
  auto opts = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("init", "create a new repository");
  cmd->add_option("--compression", opts->compression, "zstd level for data, 0 = off (default 3)")
      ->check(CLI::Range(0, 19));
  cmd->add_option("--pack-size", opts->pack_size_mib, "target pack size in MiB (default 16)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--media", opts->media,
                  "what the repository is stored on, for 'status --rule 3-2-1': disk, object, "
                  "tape or cold (default: object for s3:, else disk); fixed at init")
      ->check(CLI::IsMember({"disk", "object", "tape", "cold"}));
  cmd->add_option("--site", opts->site,
                  "where it is, for 'status --rule 3-2-1' (default onsite; any other name "
                  "counts as off-site); fixed at init");
  // Like restic's init --copy-chunker-params, always: a repository sharing the
  // master key also shares chunk boundaries and blob ids, so copies between
  // the two send only what is missing and backups dedup across both.
  AddFromRepoOptions(cmd, &opts->from);
  cmd->callback([&global, opts, selected] {
    *selected = [&global, opts]() -> int {
      InitOptions init;
      std::string from_id;
      if (!opts->from.repo.empty()) {
        auto from = OpenFromRepository(opts->from);
        if (!from.ok()) return ReportError(global, from.status());
        init.master_key = (*from)->keys().master();
        init.chunker = (*from)->config().chunker;
        from_id = (*from)->config().id;
      }
      auto backend = OpenRepositoryStorage(global);
      if (!backend.ok()) return ReportError(global, backend.status());
      auto password = GetPassword(global, true, "enter password for new repository: ");
      if (!password.ok()) return ReportError(global, password.status());
      init.compression_level = opts->compression;
      init.pack_size = opts->pack_size_mib << 20;
      init.media = opts->media.empty() ? DefaultMediaFor(global.repo) : opts->media;
      init.site = opts->site;
      auto repo = Repository::Init(std::move(*backend), *password, init);
      if (!repo.ok())
        return ReportError(global, repo.status().WithContext("unable to create repository"));
      if (global.json) {
        nlohmann::json j = {{"message_type", "initialized"},
                            {"id", (*repo)->config().id},
                            {"repository", (*repo)->backend().Location()}};
        if (!from_id.empty()) j["master_key_from"] = from_id;
        j["media"] = (*repo)->config().media;
        j["site"] = (*repo)->config().site;
        PrintJson(j);
      } else {
        Say(global, "created lifeboat repository " + (*repo)->config().id.substr(0, 10) + " at " +
                        (*repo)->backend().Location() + " (media " + (*repo)->config().media +
                        ", site " + (*repo)->config().site + ")");
        if (!from_id.empty()) {
          Say(global,
              "master key and chunker parameters copied from repository " + from_id.substr(0, 10));
        }
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
