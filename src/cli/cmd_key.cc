// lifeboat key list|add|remove|passwd and lifeboat unlock.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "model/time_format.h"
#include "repo/lock.h"

namespace lifeboat {
namespace {

struct KeyOpts {
  std::string new_password_file;
  std::string key_id;
};

// The new password: --new-password-file, LIFEBOAT_NEW_PASSWORD, or a prompt.
Result<std::string> NewPassword(const KeyOpts& o) {
  std::string password;
  if (!o.new_password_file.empty()) {
    LB_ASSIGN_OR_RETURN(password, ReadPasswordFile(o.new_password_file));
  } else if (const char* env = getenv("LIFEBOAT_NEW_PASSWORD"); env && *env) {
    password = env;
  } else {
    LB_ASSIGN_OR_RETURN(password, PromptPassword("enter new password: ", true));
  }
  if (password.empty()) return InvalidArgument("an empty password is not allowed");
  return password;
}

int KeyList(const GlobalOptions& global, Repository& repo) {
  auto keys = repo.ListKeys();
  if (!keys.ok()) return ReportError(global, keys.status());
  if (global.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const KeyEntry& k : *keys) {
      arr.push_back({{"id", k.id},
                     {"current", k.current},
                     {"created", FormatTimeRfc3339(k.info.created_ns)},
                     {"hostname", k.info.hostname},
                     {"username", k.info.username}});
    }
    PrintJson(arr);
    return kExitOk;
  }
  Say(global, fmt::format(" {:<10} {:<12} {:<20} {}", "ID", "User", "Host", "Created"));
  for (const KeyEntry& k : *keys) {
    Say(global, fmt::format("{}{:<10} {:<12} {:<20} {}", k.current ? "*" : " ", k.id.substr(0, 8),
                            k.info.username, k.info.hostname, FormatLocalTime(k.info.created_ns)));
  }
  return kExitOk;
}

Result<std::string> ResolveKeyId(Repository& repo, const std::string& prefix) {
  LB_ASSIGN_OR_RETURN(auto keys, repo.ListKeys());
  std::string found;
  for (const KeyEntry& k : keys) {
    if (k.id.rfind(prefix, 0) == 0) {
      if (!found.empty()) return InvalidArgument("key prefix '" + prefix + "' is ambiguous");
      found = k.id;
    }
  }
  if (found.empty() || prefix.empty()) return NotFound("no key matches '" + prefix + "'");
  return found;
}

}  // namespace

void RegisterKey(CLI::App& app, GlobalOptions& global, CommandRunner* selected) {
  auto o = std::make_shared<KeyOpts>();
  CLI::App* cmd = app.add_subcommand("key", "manage the passwords that open the repository");
  cmd->require_subcommand(1);
  auto with_repo = [&global, selected](std::function<int(Repository&)> body) {
    return [&global, selected, body] {
      *selected = [&global, body]() -> int {
        auto repo = OpenRepository(global);
        if (!repo.ok()) return ReportError(global, repo.status());
        return body(**repo);
      };
    };
  };
  cmd->add_subcommand("list", "list keys")->callback(with_repo([&global](Repository& r) {
    return KeyList(global, r);
  }));
  CLI::App* add = cmd->add_subcommand("add", "add a password");
  add->add_option("--new-password-file", o->new_password_file, "read the new password from a file");
  add->callback(with_repo([&global, o](Repository& r) {
    auto pw = NewPassword(*o);
    if (!pw.ok()) return ReportError(global, pw.status());
    auto id = r.AddKey(*pw);
    if (!id.ok()) return ReportError(global, id.status());
    Say(global, "saved new key " + id->substr(0, 8));
    if (global.json) PrintJson({{"message_type", "key_added"}, {"id", *id}});
    return kExitOk;
  }));
  CLI::App* remove = cmd->add_subcommand("remove", "remove a password");
  remove->add_option("id", o->key_id, "key id or unique prefix")->required();
  remove->callback(with_repo([&global, o](Repository& r) {
    auto id = ResolveKeyId(r, o->key_id);
    if (!id.ok()) return ReportError(global, id.status());
    Status s = r.RemoveKey(*id);
    if (!s.ok()) return ReportError(global, s);
    Say(global, "removed key " + id->substr(0, 8));
    return kExitOk;
  }));
  CLI::App* passwd = cmd->add_subcommand("passwd", "change the password in use");
  passwd->add_option("--new-password-file", o->new_password_file, "read the new password from a file");
  passwd->callback(with_repo([&global, o](Repository& r) {
    auto pw = NewPassword(*o);
    if (!pw.ok()) return ReportError(global, pw.status());
    Status s = r.ChangePassword(*pw);
    if (!s.ok()) return ReportError(global, s);
    Say(global, "password changed (new key " + r.current_key_id().substr(0, 8) + ")");
    return kExitOk;
  }));
}

void RegisterUnlock(CLI::App& app, GlobalOptions& global, CommandRunner* selected) {
  auto all = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("unlock", "remove stale locks");
  cmd->add_flag("--remove-all", *all, "remove all locks, even ones that are not stale");
  cmd->callback([&global, all, selected] {
    *selected = [&global, all]() -> int {
      auto repo = OpenRepository(global);
      if (!repo.ok()) return ReportError(global, repo.status());
      auto locks = ListLocks(**repo);
      if (!locks.ok()) return ReportError(global, locks.status());
      for (const LockInfo& l : *locks) {
        if (*all || l.stale) Say(global, "removing " + l.Describe());
      }
      auto removed = RemoveLocks(**repo, *all);
      if (!removed.ok()) return ReportError(global, removed.status());
      Say(global, fmt::format("removed {} lock(s)", *removed));
      if (global.json) PrintJson({{"message_type", "unlocked"}, {"removed", *removed}});
      return kExitOk;
    };
  });
}

}  // namespace lifeboat
