// Parsing and validation of lifeboat.toml (see app_config.h). toml++ does the
// TOML syntax and keeps every node's source position; this file walks the
// tree with a schema written out as code, collecting every error.
#include "appconfig/app_config.h"

#include <sys/stat.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "policy/duration.h"

namespace lifeboat {
namespace {

constexpr size_t kMaxFileBytes = 1 << 20;
constexpr const char* kMediaKinds[] = {"disk", "object", "tape", "cold"};

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

// Keys that would hold a secret: refused with a message saying where secrets
// come from, rather than as unknown keys.
bool LooksLikeSecret(std::string_view key) {
  const std::string k = Lower(key);
  for (const char* word : {"password", "passwd", "secret", "token", "passphrase", "credential"}) {
    if (k.find(word) != std::string::npos) return true;
  }
  return false;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

// Names of apps, repositories and components: used in snapshot tags, file
// names and metrics labels.
bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '-' && c != '_' && c != '.'))) return false;
  }
  return true;
}

// A key path under construction: "component[0].retention".
std::string Sub(const std::string& prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
}
std::string Index(const std::string& prefix, size_t i) {
  return prefix + "[" + std::to_string(i) + "]";
}

bool KeyStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '"' || c == '\'';
}

// A problem found before toml++ sees the text.
struct PrescanError {
  int line = 0, column = 0;  // 0: none
  std::string message;
};

// toml++ 3.3.0 (Debian 12) has input-dependent assertions that become
// __builtin_assume / __builtin_unreachable in release builds, i.e. undefined
// behaviour on bad input (found by appconfig_fuzz; upstream issues
// marzer/tomlplusplus#190 and #295):
//  * "[" or "[[" not followed by a key ("[[#x]]");
//  * a non-ASCII character where whitespace may be (" ŉ" outside a string;
//    after a line-ending backslash in a multi-line basic string).
// This lexes just enough TOML (strings, comments, bracket depth) to refuse
// those inputs first. Outside strings and comments TOML is ASCII anyway; the
// only valid TOML refused is a non-ASCII character right after a
// line-ending backslash.
PrescanError PrescanForToml(std::string_view text) {
  int line = 1;
  int depth = 0;  // open [ and { inside values
  bool line_start = true;
  size_t i = 0;
  size_t line_begin = 0;
  auto fail = [&](size_t at, std::string message) {
    int column = 1;
    for (size_t k = line_begin; k < at; ++k) {
      if ((static_cast<unsigned char>(text[k]) & 0xC0) != 0x80) ++column;
    }
    return PrescanError{line, column, std::move(message)};
  };
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\n') {
      ++line, line_begin = i + 1, line_start = true, ++i;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
      continue;
    }
    if (c == '#') {  // comment to the end of the line
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    if (c == '"' || c == '\'') {
      const bool multi = text.substr(i, 3) == std::string(3, c);
      const std::string_view end = multi ? text.substr(i, 3) : text.substr(i, 1);
      i += end.size();
      while (i < text.size()) {
        if (c == '"' && text[i] == '\\') {
          size_t j = i + 1;
          while (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r')) ++j;
          if (multi && j < text.size() && text[j] == '\n') {  // line-ending backslash
            while (j < text.size() &&
                   (text[j] == ' ' || text[j] == '\t' || text[j] == '\r' || text[j] == '\n')) {
              if (text[j] == '\n') ++line, line_begin = j + 1;
              ++j;
            }
            if (j < text.size() && static_cast<unsigned char>(text[j]) >= 0x80) {
              return fail(j,
                          "a non-ASCII character right after a line-ending backslash is not "
                          "supported (toml++ 3.3); keep it on the backslash's line");
            }
            i = j;
            continue;
          }
          i += 2;
          continue;
        }
        if (text.substr(i, end.size()) == end) {
          i += end.size();
          break;
        }
        if (text[i] == '\n') {
          if (!multi) break;  // unterminated: toml++ reports it
          ++line, line_begin = i + 1;
        }
        ++i;
      }
      line_start = false;
      continue;
    }
    if (static_cast<unsigned char>(c) >= 0x80) {
      return fail(i,
                  "non-ASCII character outside a string (quote keys and values that have "
                  "them)");
    }
    if (c == '[' && depth == 0 && line_start) {
      size_t j = i + 1;
      if (j < text.size() && text[j] == '[') ++j;
      while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) ++j;
      if (j < text.size() && text[j] != '\n' && text[j] != '\r' && text[j] != ']' &&
          !KeyStart(text[j])) {
        return fail(j, "expected a table name after '['");
      }
      // The rest of the header line holds keys and brackets only.
      line_start = false;
      i = j;
      continue;
    }
    if (c == '[' || c == '{') ++depth;
    if ((c == ']' || c == '}') && depth > 0) --depth;
    line_start = false;
    ++i;
  }
  return {};
}

// Walks the parsed tree, validating and collecting every error.
class Parser {
 public:
  explicit Parser(std::string_view path) : path_(path) {}

  std::vector<ConfigError>& errors() { return errors_; }

  void Error(const toml::source_region& where, std::string key, std::string message) {
    errors_.push_back({path_, static_cast<int>(where.begin.line),
                       static_cast<int>(where.begin.column), std::move(key), std::move(message)});
  }
  // Where a value is reported: at its key when it has one (the line an
  // editor jumps to), else at the value itself (array elements).
  const toml::source_region& Pos(const toml::node* node) const {
    auto it = key_of_.find(node);
    return it != key_of_.end() ? it->second->source() : node->source();
  }

  // Records every table value's key, recursively.
  void IndexKeys(const toml::node& node) {
    if (const auto* t = node.as_table()) {
      for (const auto& [key, value] : *t) {
        key_of_[&value] = &key;
        IndexKeys(value);
      }
    } else if (const auto* a = node.as_array()) {
      for (const toml::node& element : *a) IndexKeys(element);
    }
  }

  void ErrorNoPosition(std::string key, std::string message) {
    errors_.push_back({path_, 0, 0, std::move(key), std::move(message)});
  }

  // Reports every key of `t` not in `allowed`.
  void CheckKeys(const toml::table& t, const std::string& prefix,
                 std::initializer_list<std::string_view> allowed) {
    for (const auto& [key, node] : t) {
      const std::string_view k = key.str();
      if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
      if (LooksLikeSecret(k)) {
        Error(key.source(), Sub(prefix, k),
              "secrets are never stored in lifeboat.toml; give a password_file or "
              "password_command for repository passwords, and the usual environment or files "
              "for other credentials");
        continue;
      }
      std::string message = "unknown key '" + std::string(k) + "'";
      std::string_view best;
      size_t best_distance = 3;  // suggest only close names
      for (std::string_view candidate : allowed) {
        const size_t d = EditDistance(Lower(k), candidate);
        if (d < best_distance) best_distance = d, best = candidate;
      }
      if (!best.empty()) {
        message += " (did you mean '" + std::string(best) + "'?)";
      } else {
        std::vector<std::string> names(allowed.begin(), allowed.end());
        message += " (expected one of: " + Join(names, ", ") + ")";
      }
      Error(key.source(), Sub(prefix, k), message);
    }
  }

  // The node at `key`, or null; reports a missing required key at the table.
  const toml::node* Get(const toml::table& t, std::string_view key, const std::string& prefix,
                        bool required) {
    const toml::node* node = t.get(key);
    if (!node && required) Error(t.source(), Sub(prefix, key), "required key is missing");
    return node;
  }

  bool TypeError(const toml::node& node, const std::string& key, std::string_view expected) {
    Error(Pos(&node), key, "expected " + std::string(expected) + ", got " + TypeName(node));
    return false;
  }

  // A string node; `allow_empty` false reports "".
  bool AsString(const toml::node& node, const std::string& key, std::string* out,
                bool allow_empty = false) {
    const auto* s = node.as_string();
    if (!s) return TypeError(node, key, "a string");
    if (!allow_empty && s->get().empty()) {
      Error(Pos(&node), key, "must not be empty");
      return false;
    }
    *out = s->get();
    return true;
  }

  bool String(const toml::table& t, std::string_view key, const std::string& prefix, bool required,
              std::string* out) {
    const toml::node* node = Get(t, key, prefix, required);
    return node && AsString(*node, Sub(prefix, key), out);
  }

  bool Int(const toml::table& t, std::string_view key, const std::string& prefix, bool required,
           int64_t min, int64_t max, int64_t* out) {
    const toml::node* node = Get(t, key, prefix, required);
    if (!node) return false;
    const auto* i = node->as_integer();
    if (!i) return TypeError(*node, Sub(prefix, key), "an integer");
    if (i->get() < min || i->get() > max) {
      Error(Pos(node), Sub(prefix, key),
            "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
                std::to_string(i->get()));
      return false;
    }
    *out = i->get();
    return true;
  }

  bool Port(const toml::table& t, const std::string& prefix, int* out) {
    int64_t port = 0;
    if (!Int(t, "port", prefix, false, 1, 65535, &port)) return false;
    *out = static_cast<int>(port);
    return true;
  }

  // An array of non-empty strings; the elements' nodes go to *nodes.
  bool StringArray(const toml::table& t, std::string_view key, const std::string& prefix,
                   bool required, bool allow_empty_array, std::vector<std::string>* out,
                   std::vector<const toml::node*>* nodes = nullptr) {
    const toml::node* node = Get(t, key, prefix, required);
    if (!node) return false;
    const std::string path = Sub(prefix, key);
    const auto* array = node->as_array();
    if (!array) return TypeError(*node, path, "an array of strings");
    if (array->empty() && !allow_empty_array) {
      Error(Pos(node), path, "must not be empty");
      return false;
    }
    bool ok = true;
    out->clear();
    for (size_t i = 0; i < array->size(); ++i) {
      std::string value;
      if (AsString(*array->get(i), Index(path, i), &value)) {
        out->push_back(std::move(value));
        if (nodes) nodes->push_back(array->get(i));
      } else {
        ok = false;
      }
    }
    return ok;
  }

  // An interval duration > 0 in seconds.
  bool Duration(const toml::table& t, std::string_view key, const std::string& prefix,
                bool required, int64_t* out) {
    const toml::node* node = Get(t, key, prefix, required);
    if (!node) return false;
    const std::string path = Sub(prefix, key);
    std::string text;
    if (!node->as_string()) return TypeError(*node, path, "a duration string like \"5m\"");
    text = node->as_string()->get();
    auto seconds = ParseDurationSeconds(text);
    if (!seconds.ok()) {
      Error(Pos(node), path, "invalid duration '" + text + "' (expected e.g. 5m, 1h, 7d)");
      return false;
    }
    if (*seconds <= 0) {
      Error(Pos(node), path, "must be longer than 0s, got '" + text + "'");
      return false;
    }
    *out = *seconds;
    return true;
  }

  // The table at `key`, or null; reports a wrong type.
  const toml::table* Table(const toml::table& t, std::string_view key, const std::string& prefix,
                           bool required) {
    const toml::node* node = Get(t, key, prefix, required);
    if (!node) return nullptr;
    if (!node->as_table()) {
      TypeError(*node, Sub(prefix, key), "a table");
      return nullptr;
    }
    return node->as_table();
  }

  void AbsolutePath(const toml::node* node, const std::string& key, const std::string& value) {
    if (node && !value.empty() && value[0] != '/') {
      Error(Pos(node), key, "must be an absolute path, got '" + value + "'");
    }
  }

  void ParseRetention(const toml::table& t, const std::string& prefix, bool allow_pitr,
                      RetentionSpec* out) {
    out->declared = true;
    CheckKeys(t, prefix,
              {"last", "hourly", "daily", "weekly", "monthly", "yearly", "within", "pitr_window"});
    if (const toml::node* pitr = t.get("pitr_window"); pitr && !allow_pitr) {
      Error(Pos(pitr), Sub(prefix, "pitr_window"),
            "pitr_window belongs in a component's retention, not a repository's");
    }
    struct Count {
      const char* key;
      int* field;
    };
    RetentionPolicy& p = out->policy;
    for (Count c :
         {Count{"last", &p.last}, Count{"hourly", &p.hourly}, Count{"daily", &p.daily},
          Count{"weekly", &p.weekly}, Count{"monthly", &p.monthly}, Count{"yearly", &p.yearly}}) {
      int64_t n = 0;
      if (Int(t, c.key, prefix, false, 0, 1'000'000, &n)) *c.field = static_cast<int>(n);
    }
    if (const toml::node* within = t.get("within")) {
      std::string text;
      if (AsString(*within, Sub(prefix, "within"), &text)) {
        auto nanos = ParseRetentionDuration(text);
        if (!nanos.ok()) {
          Error(Pos(within), Sub(prefix, "within"),
                "invalid retention duration '" + text + "' (expected e.g. 7d, 6m, 1y; m = months)");
        } else {
          p.within_ns = *nanos;
        }
      }
    }
    if (allow_pitr) Duration(t, "pitr_window", prefix, false, &out->pitr_window_seconds);
  }

  // Storage options: nested tables flatten to dotted keys, so both
  // options = { "s3.region" = "x" } and options.s3.region = "x" work.
  void FlattenOptions(const toml::table& t, const std::string& path, const std::string& dotted,
                      int depth, std::map<std::string, std::string>* out) {
    for (const auto& [key, node] : t) {
      const std::string name =
          dotted.empty() ? std::string(key.str()) : dotted + "." + std::string(key.str());
      const std::string key_path = Sub(path, key.str());
      if (const auto* sub = node.as_table(); sub && depth < 4) {
        FlattenOptions(*sub, key_path, name, depth + 1, out);
        continue;
      }
      if (LooksLikeSecret(name)) {
        Error(key.source(), key_path,
              "secrets are never stored in lifeboat.toml; storage credentials come from the "
              "environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SHARED_CREDENTIALS_FILE) "
              "or ssh-agent and key files");
        continue;
      }
      if (const auto* s = node.as_string()) {
        (*out)[name] = s->get();
      } else if (const auto* i = node.as_integer()) {
        (*out)[name] = std::to_string(i->get());
      } else if (const auto* b = node.as_boolean()) {
        (*out)[name] = b->get() ? "true" : "false";
      } else {
        TypeError(node, key_path, "a string, integer or boolean");
        continue;
      }
      options_nodes_[name] = &key;
    }
  }

  void ParseRepository(const toml::table& t, const std::string& prefix, RepositoryConfig* r) {
    CheckKeys(t, prefix,
              {"name", "url", "password_file", "password_command", "media", "site", "options",
               "retention"});
    r->line = static_cast<int>(t.source().begin.line);
    if (String(t, "name", prefix, true, &r->name) && !ValidName(r->name)) {
      Error(Pos(t.get("name")), Sub(prefix, "name"),
            "invalid name '" + r->name +
                "' (letters, digits, '.', '-', '_'; starting with a letter or digit; at most 64)");
    }
    String(t, "url", prefix, true, &r->url);
    const bool has_file = String(t, "password_file", prefix, false, &r->password_file);
    const bool has_command = String(t, "password_command", prefix, false, &r->password_command);
    if (has_file && has_command) {
      Error(Pos(t.get("password_command")), Sub(prefix, "password_command"),
            "give password_file or password_command, not both");
    } else if (!t.get("password_file") && !t.get("password_command")) {
      Error(t.source(), prefix,
            "needs password_file or password_command (the password itself is never in the "
            "file)");
    }
    if (String(t, "media", prefix, false, &r->media)) {
      if (std::find(std::begin(kMediaKinds), std::end(kMediaKinds), r->media) ==
          std::end(kMediaKinds)) {
        Error(Pos(t.get("media")), Sub(prefix, "media"),
              "unknown media '" + r->media + "' (expected disk, object, tape or cold)");
      }
    } else if (!t.get("media")) {
      r->media = StartsWith(r->url, "s3:") ? "object" : "disk";
    }
    if (!t.get("site")) {
      r->site = "onsite";
    } else {
      String(t, "site", prefix, false, &r->site);
    }
    if (const toml::table* options = Table(t, "options", prefix, false)) {
      options_nodes_.clear();
      const std::string path = Sub(prefix, "options");
      FlattenOptions(*options, path, "", 0, &r->options);
      const std::string scheme = StartsWith(r->url, "s3:")     ? "s3"
                                 : StartsWith(r->url, "sftp:") ? "sftp"
                                                               : "";
      for (const auto& [name, key] : options_nodes_) {
        if (scheme.empty()) {
          Error(key->source(), Sub(path, name),
                "this repository takes no options (only s3: and sftp: repositories have them)");
        } else if (!StartsWith(name, scheme + ".")) {
          Error(key->source(), Sub(path, name),
                "options for this repository start with '" + scheme + ".'");
        }
      }
    }
    if (const toml::table* retention = Table(t, "retention", prefix, false)) {
      r->retention.emplace();
      ParseRetention(*retention, Sub(prefix, "retention"), false, &*r->retention);
    }
  }

  void ParseKindTables(const toml::table& t, const std::string& prefix, ComponentConfig* c) {
    const bool known_kind = std::find(std::begin(kComponentKinds), std::end(kComponentKinds),
                                      c->kind) != std::end(kComponentKinds);
    if (!known_kind) return;
    for (const char* kind : kComponentKinds) {
      const toml::node* node = t.get(kind);
      if (node && c->kind != kind) {
        Error(Pos(node), Sub(prefix, kind),
              std::string("a ") + kind + " table in a component of kind '" + c->kind + "'");
      }
    }
    for (const char* key : {"paths", "exclude"}) {
      const toml::node* node = t.get(key);
      if (node && c->kind != "files") {
        Error(Pos(node), Sub(prefix, key),
              std::string("only files components have ") + key + " (this one is kind '" + c->kind +
                  "')");
      }
    }
    const std::string kp = Sub(prefix, c->kind);
    if (c->kind == "files") {
      std::vector<const toml::node*> nodes;
      if (StringArray(t, "paths", prefix, true, false, &c->paths, &nodes)) {
        std::set<std::string> seen;
        for (size_t i = 0; i < c->paths.size(); ++i) {
          const std::string key = Index(Sub(prefix, "paths"), i);
          AbsolutePath(nodes[i], key, c->paths[i]);
          if (!seen.insert(c->paths[i]).second) {
            Error(Pos(nodes[i]), key, "path '" + c->paths[i] + "' is listed twice");
          }
        }
      }
      if (t.get("exclude")) StringArray(t, "exclude", prefix, false, true, &c->exclude);
    } else if (c->kind == "postgres") {
      if (const toml::table* pg = Table(t, "postgres", prefix, false)) {
        CheckKeys(*pg, kp, {"host", "port", "user", "dbname", "pgbin"});
        String(*pg, "host", kp, false, &c->postgres.host);
        Port(*pg, kp, &c->postgres.port);
        String(*pg, "user", kp, false, &c->postgres.user);
        String(*pg, "dbname", kp, false, &c->postgres.dbname);
        if (String(*pg, "pgbin", kp, false, &c->postgres.pgbin)) {
          AbsolutePath(pg->get("pgbin"), Sub(kp, "pgbin"), c->postgres.pgbin);
        }
      }
    } else if (c->kind == "mariadb") {
      if (const toml::table* m = Table(t, "mariadb", prefix, false)) {
        CheckKeys(*m, kp, {"host", "port", "user", "socket", "defaults_file", "bindir"});
        String(*m, "host", kp, false, &c->mariadb.host);
        Port(*m, kp, &c->mariadb.port);
        String(*m, "user", kp, false, &c->mariadb.user);
        String(*m, "socket", kp, false, &c->mariadb.socket);
        String(*m, "defaults_file", kp, false, &c->mariadb.defaults_file);
        String(*m, "bindir", kp, false, &c->mariadb.bindir);
      }
    } else if (c->kind == "redis") {
      if (const toml::table* r = Table(t, "redis", prefix, false)) {
        CheckKeys(*r, kp, {"host", "port"});
        String(*r, "host", kp, false, &c->redis.host);
        Port(*r, kp, &c->redis.port);
      }
    } else if (c->kind == "sqlite" || c->kind == "git") {
      if (const toml::table* s = Table(t, c->kind, prefix, true)) {
        CheckKeys(*s, kp, {"path"});
        if (String(*s, "path", kp, true, &c->path)) {
          AbsolutePath(s->get("path"), Sub(kp, "path"), c->path);
        }
      }
    } else if (c->kind == "command") {
      if (const toml::table* cmd = Table(t, "command", prefix, true)) {
        CheckKeys(*cmd, kp, {"run", "filename"});
        StringArray(*cmd, "run", kp, true, false, &c->command.run);
        if (String(*cmd, "filename", kp, false, &c->command.filename)) {
          if (c->command.filename.find('/') != std::string::npos || c->command.filename == "." ||
              c->command.filename == "..") {
            Error(Pos(cmd->get("filename")), Sub(kp, "filename"),
                  "must be a plain file name, got '" + c->command.filename + "'");
          }
        } else if (!cmd->get("filename")) {
          c->command.filename = c->name + ".out";
        }
      }
    }
  }

  void ParseComponent(const toml::table& t, const std::string& prefix,
                      const std::vector<RepositoryConfig>& repos, ComponentConfig* c) {
    CheckKeys(t, prefix,
              {"name", "kind", "rpo", "rto", "restore_order", "retention", "verify", "repositories",
               "schedule", "paths", "exclude", "postgres", "mariadb", "sqlite", "redis", "git",
               "command", "change_alert"});
    c->line = static_cast<int>(t.source().begin.line);
    if (String(t, "name", prefix, true, &c->name) && !ValidName(c->name)) {
      Error(Pos(t.get("name")), Sub(prefix, "name"),
            "invalid name '" + c->name +
                "' (letters, digits, '.', '-', '_'; starting with a letter or digit; at most 64)");
    }
    if (String(t, "kind", prefix, true, &c->kind) &&
        std::find(std::begin(kComponentKinds), std::end(kComponentKinds), c->kind) ==
            std::end(kComponentKinds)) {
      Error(Pos(t.get("kind")), Sub(prefix, "kind"),
            "unknown kind '" + c->kind +
                "' (expected files, postgres, mariadb, sqlite, redis, git or command)");
    }
    Duration(t, "rpo", prefix, true, &c->rpo_seconds);
    Duration(t, "rto", prefix, true, &c->rto_seconds);
    int64_t order = 0;
    if (Int(t, "restore_order", prefix, false, 1, 1'000'000, &order)) {
      c->restore_order = static_cast<int>(order);
    }
    if (const toml::table* retention = Table(t, "retention", prefix, false)) {
      const std::string rp = Sub(prefix, "retention");
      const bool logs = c->kind == "postgres" || c->kind == "mariadb";
      ParseRetention(*retention, rp, true, &c->retention);
      if (const toml::node* pitr = retention->get("pitr_window");
          pitr && !logs && !c->kind.empty()) {
        Error(Pos(pitr), Sub(rp, "pitr_window"),
              "only postgres and mariadb components have point-in-time recovery (this one is "
              "kind '" +
                  c->kind + "')");
      }
    }
    if (t.get("verify")) StringArray(t, "verify", prefix, false, true, &c->verify);
    std::vector<const toml::node*> nodes;
    if (t.get("repositories") &&
        StringArray(t, "repositories", prefix, false, false, &c->repositories, &nodes)) {
      std::set<std::string> seen;
      std::vector<std::string> declared;
      for (const RepositoryConfig& r : repos) declared.push_back(r.name);
      for (size_t i = 0; i < c->repositories.size(); ++i) {
        const std::string key = Index(Sub(prefix, "repositories"), i);
        const std::string& name = c->repositories[i];
        if (std::find(declared.begin(), declared.end(), name) == declared.end()) {
          Error(Pos(nodes[i]), key,
                "unknown repository '" + name + "' (declared: " + Join(declared, ", ") + ")");
        } else if (!seen.insert(name).second) {
          Error(Pos(nodes[i]), key, "repository '" + name + "' is listed twice");
        }
      }
    } else if (!t.get("repositories")) {
      for (const RepositoryConfig& r : repos) c->repositories.push_back(r.name);
    }
    std::string schedule_text;
    if (String(t, "schedule", prefix, false, &schedule_text)) {
      const toml::node* node = t.get("schedule");
      auto schedule = ParsePinnedSchedule(schedule_text);
      if (!schedule.ok()) {
        Error(Pos(node), Sub(prefix, "schedule"),
              "invalid schedule '" + schedule_text + "': " + schedule.status().message() +
                  " (expected e.g. 'hourly :15', 'daily 02:30', 'weekly sun 03:00')");
      } else {
        c->schedule = std::move(*schedule);
        // Databases ship WAL/binlogs continuously: their schedule pins the
        // base backups and dumps, not the recovery point.
        const bool logs = c->kind == "postgres" || c->kind == "mariadb";
        if (!logs && c->rpo_seconds > 0 && c->schedule->MaxGapSeconds() > c->rpo_seconds) {
          Error(Pos(node), Sub(prefix, "schedule"),
                "'" + schedule_text + "' runs up to " +
                    FormatDurationSeconds(c->schedule->MaxGapSeconds()) +
                    " apart, longer than the rpo of " + FormatDurationSeconds(c->rpo_seconds));
        }
      }
    }
    ParseKindTables(t, prefix, c);
    if (const toml::table* ca = Table(t, "change_alert", prefix, false)) {
      ParseChangeAlert(*ca, Sub(prefix, "change_alert"), &c->change_alert);
    }
  }

  void ParseChangeAlert(const toml::table& t, const std::string& prefix, ChangeAlertSettings* out) {
    CheckKeys(t, prefix, {"enabled", "factor", "min_files", "min_bytes"});
    if (const toml::node* node = t.get("enabled")) {
      if (const auto* b = node->as_boolean()) out->enabled = b->get();
      else TypeError(*node, Sub(prefix, "enabled"), "true or false");
    }
    if (const toml::node* node = t.get("factor")) {
      std::optional<double> v;
      if (const auto* i = node->as_integer()) v = static_cast<double>(i->get());
      else if (const auto* f = node->as_floating_point()) v = f->get();
      if (!v) {
        TypeError(*node, Sub(prefix, "factor"), "a number");
      } else if (!(*v > 1.0 && *v <= 1e6)) {
        Error(Pos(node), Sub(prefix, "factor"),
              "must be above 1 and at most 1000000, got " + (std::ostringstream() << *v).str());
      } else {
        out->factor = *v;
      }
    }
    Int(t, "min_files", prefix, false, 0, INT64_MAX, &out->min_files);
    Int(t, "min_bytes", prefix, false, 0, INT64_MAX, &out->min_bytes);
  }

  void ParseDrill(const toml::table& t, const std::vector<ComponentConfig>& components,
                  DrillConfig* d) {
    const std::string prefix = "drill";
    CheckKeys(t, prefix, {"every", "sandbox", "components"});
    Duration(t, "every", prefix, true, &d->every_seconds);
    if (String(t, "sandbox", prefix, true, &d->sandbox)) {
      AbsolutePath(t.get("sandbox"), Sub(prefix, "sandbox"), d->sandbox);
    }
    std::vector<const toml::node*> nodes;
    if (t.get("components") &&
        StringArray(t, "components", prefix, false, false, &d->components, &nodes)) {
      std::set<std::string> seen;
      std::vector<std::string> declared;
      for (const ComponentConfig& c : components) declared.push_back(c.name);
      for (size_t i = 0; i < d->components.size(); ++i) {
        const std::string key = Index(Sub(prefix, "components"), i);
        const std::string& name = d->components[i];
        if (std::find(declared.begin(), declared.end(), name) == declared.end()) {
          Error(Pos(nodes[i]), key,
                "unknown component '" + name + "' (declared: " + Join(declared, ", ") + ")");
        } else if (!seen.insert(name).second) {
          Error(Pos(nodes[i]), key, "component '" + name + "' is listed twice");
        }
      }
    } else if (!t.get("components")) {
      for (const ComponentConfig& c : components) d->components.push_back(c.name);
    }
  }

  void ParseAlerts(const toml::table& t, AlertsConfig* a) {
    const std::string prefix = "alerts";
    CheckKeys(t, prefix, {"command", "webhook", "repeat"});
    String(t, "command", prefix, false, &a->command);
    Duration(t, "repeat", prefix, false, &a->repeat_seconds);
    if (String(t, "webhook", prefix, false, &a->webhook) && !StartsWith(a->webhook, "https://") &&
        !StartsWith(a->webhook, "http://")) {
      Error(Pos(t.get("webhook")), Sub(prefix, "webhook"),
            "must be an http:// or https:// URL, got '" + a->webhook + "'");
    }
  }

  // The elements of an array of tables ([[name]]), or null after reporting.
  const toml::array* TableArray(const toml::table& root, std::string_view name) {
    const toml::node* node = root.get(name);
    if (!node) {
      ErrorNoPosition(std::string(name), "at least one [[" + std::string(name) + "]] is required");
      return nullptr;
    }
    const auto* array = node->as_array();
    if (!array || !array->is_array_of_tables()) {
      TypeError(*node, std::string(name), "an array of tables ([[" + std::string(name) + "]])");
      return nullptr;
    }
    if (array->empty()) {
      Error(Pos(node), std::string(name), "at least one [[" + std::string(name) + "]] is required");
      return nullptr;
    }
    return array;
  }

  void Parse(const toml::table& root, AppConfig* config) {
    CheckKeys(root, "", {"app", "repository", "component", "drill", "alerts"});
    if (const toml::table* app = Table(root, "app", "", false)) {
      CheckKeys(*app, "app", {"name"});
      if (String(*app, "name", "app", true, &config->app_name) && !ValidName(config->app_name)) {
        Error(Pos(app->get("name")), "app.name",
              "invalid name '" + config->app_name +
                  "' (letters, digits, '.', '-', '_'; starting with a letter or digit; at most "
                  "64)");
      }
    } else if (!root.get("app")) {
      ErrorNoPosition("app", "an [app] table with the application's name is required");
    }

    if (const toml::array* repos = TableArray(root, "repository")) {
      for (size_t i = 0; i < repos->size(); ++i) {
        RepositoryConfig r;
        ParseRepository(*repos->get(i)->as_table(), Index("repository", i), &r);
        config->repositories.push_back(std::move(r));
      }
      for (size_t i = 0; i < config->repositories.size(); ++i) {
        const RepositoryConfig& r = config->repositories[i];
        for (size_t j = 0; j < i; ++j) {
          const RepositoryConfig& earlier = config->repositories[j];
          const toml::table& t = *repos->get(i)->as_table();
          if (!r.name.empty() && r.name == earlier.name) {
            Error(Pos(t.get("name")), Index("repository", i) + ".name",
                  "duplicate repository name '" + r.name + "' (also repository[" +
                      std::to_string(j) + "], line " + std::to_string(earlier.line) + ")");
          }
          if (!r.url.empty() && r.url == earlier.url) {
            Error(Pos(t.get("url")), Index("repository", i) + ".url",
                  "same url as repository[" + std::to_string(j) + "] ('" + r.url +
                      "'): one place holds one copy");
          }
        }
      }
    }

    if (const toml::array* components = TableArray(root, "component")) {
      for (size_t i = 0; i < components->size(); ++i) {
        ComponentConfig c;
        ParseComponent(*components->get(i)->as_table(), Index("component", i), config->repositories,
                       &c);
        config->components.push_back(std::move(c));
      }
      for (size_t i = 0; i < config->components.size(); ++i) {
        const ComponentConfig& c = config->components[i];
        const toml::table& t = *components->get(i)->as_table();
        for (size_t j = 0; j < i; ++j) {
          const ComponentConfig& earlier = config->components[j];
          if (!c.name.empty() && c.name == earlier.name) {
            Error(Pos(t.get("name")), Index("component", i) + ".name",
                  "duplicate component name '" + c.name + "' (also component[" + std::to_string(j) +
                      "], line " + std::to_string(earlier.line) + ")");
          }
          // Drills and runbooks restore in one sequence: equal orders would
          // leave it to chance which comes first.
          if (c.restore_order != 0 && c.restore_order == earlier.restore_order) {
            Error(Pos(t.get("restore_order")), Index("component", i) + ".restore_order",
                  "restore_order " + std::to_string(c.restore_order) +
                      " is also used by component '" + earlier.name + "' (line " +
                      std::to_string(earlier.line) + "); restore orders must be distinct");
          }
        }
      }
    }

    if (const toml::table* drill = Table(root, "drill", "", false)) {
      config->drill.emplace();
      ParseDrill(*drill, config->components, &*config->drill);
    }
    if (const toml::table* alerts = Table(root, "alerts", "", false)) {
      config->alerts.emplace();
      ParseAlerts(*alerts, &*config->alerts);
    }
  }

 private:
  std::string path_;
  std::vector<ConfigError> errors_;
  std::map<std::string, const toml::key*> options_nodes_;
  std::map<const toml::node*, const toml::key*> key_of_;  // while parsing one options table
};

}  // namespace

std::string ConfigError::ToString() const {
  std::string out = path;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": ";
  if (!key.empty()) out += key + ": ";
  return out + message;
}

const RepositoryConfig* AppConfig::FindRepository(std::string_view name) const {
  for (const RepositoryConfig& r : repositories) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

const ComponentConfig* AppConfig::FindComponent(std::string_view name) const {
  for (const ComponentConfig& c : components) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::vector<const ComponentConfig*> AppConfig::InRestoreOrder() const {
  std::vector<const ComponentConfig*> out;
  for (const ComponentConfig& c : components) out.push_back(&c);
  std::stable_sort(out.begin(), out.end(), [](const ComponentConfig* a, const ComponentConfig* b) {
    const int ka = a->restore_order == 0 ? INT32_MAX : a->restore_order;
    const int kb = b->restore_order == 0 ? INT32_MAX : b->restore_order;
    return ka < kb;
  });
  return out;
}

Result<AppConfig> ParseAppConfig(std::string_view text, std::string_view path,
                                 std::vector<ConfigError>* errors) {
  Parser parser(path);
  AppConfig config;
  config.path = std::string(path);
  // TOML allows no control characters but tab and line ends, anywhere.
  // Refusing them here also keeps them away from toml++ 3.3's key parser,
  // which asserts on a NUL after "[[" (debug) and assumes it away (release:
  // undefined behaviour) — found by appconfig_fuzz.
  int line = 1, column = 1;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "%02X", c);
      parser.Error(toml::source_region{{static_cast<toml::source_index>(line),
                                        static_cast<toml::source_index>(column)},
                                       {},
                                       {}},
                   "", std::string("control character U+00") + hex + " is not allowed in TOML");
      if (errors) *errors = parser.errors();
      return Status(Code::kInvalidArgument, parser.errors().front().ToString());
    }
    if (c == '\n') {
      ++line, column = 1;
    } else if ((c & 0xC0) != 0x80) {  // count code points, not UTF-8 continuation bytes
      ++column;
    }
  }
  if (const PrescanError bad = PrescanForToml(text); bad.line > 0) {
    parser.Error(toml::source_region{{static_cast<toml::source_index>(bad.line),
                                      static_cast<toml::source_index>(bad.column)},
                                     {},
                                     {}},
                 "", bad.message);
    if (errors) *errors = parser.errors();
    return Status(Code::kInvalidArgument, parser.errors().front().ToString());
  }
  try {
    toml::table root = toml::parse(text, path);
    parser.IndexKeys(root);
    parser.Parse(root, &config);
  } catch (const toml::parse_error& e) {
    parser.Error(e.source(), "", std::string(e.description()));
  }
  std::vector<ConfigError>& found = parser.errors();
  if (found.empty()) return config;
  std::stable_sort(found.begin(), found.end(), [](const ConfigError& a, const ConfigError& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  std::string message;
  for (size_t i = 0; i < found.size() && i < kMaxConfigErrors; ++i) {
    message += (i ? "\n" : "") + found[i].ToString();
  }
  if (found.size() > kMaxConfigErrors) {
    message += "\n... and " + std::to_string(found.size() - kMaxConfigErrors) + " more";
  }
  if (errors) *errors = found;
  return Status(Code::kInvalidArgument, message);
}

Result<AppConfig> LoadAppConfig(const std::string& path, std::vector<ConfigError>* errors) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoStatus(errno, "cannot read configuration '" + path + "'");
  std::string text;
  text.resize(kMaxFileBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return ErrnoStatus(errno, "cannot read configuration '" + path + "'");
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxFileBytes) {
    return Status(Code::kInvalidArgument,
                  "configuration '" + path + "' is larger than 1 MiB: not a lifeboat.toml");
  }
  return ParseAppConfig(text, path, errors);
}

Result<std::string> FindAppConfigPath(const std::string& flag, const char* env) {
  if (!flag.empty()) return flag;
  if (env && *env) return std::string(env);
  struct stat st;
  if (::stat(kDefaultConfigName, &st) == 0) return std::string(kDefaultConfigName);
  return Status(Code::kNotFound, "no lifeboat.toml found",
                "give --config FILE, set LIFEBOAT_CONFIG, or run in the directory holding "
                "lifeboat.toml");
}

}  // namespace lifeboat
