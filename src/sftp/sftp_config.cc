// SFTP URL and option parsing; see sftp_config.h for the accepted forms.
#include "sftp/sftp_config.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

namespace lifeboat {
namespace {

constexpr std::string_view kUrlHint =
    "write sftp:[USER@]HOST[:PORT]:/ABSOLUTE/PATH or sftp:[USER@]HOST[:PORT]:RELATIVE/PATH, "
    "e.g. sftp:backup@example.com:2222:/srv/lifeboat (IPv6: sftp:backup@[2001:db8::1]:/srv/repo)";

Status BadUrl(std::string_view url, std::string_view why) {
  return Status(Code::kInvalidArgument,
                "invalid SFTP location 'sftp:" + std::string(url) + "': " + std::string(why),
                std::string(kUrlHint));
}

bool IsControl(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

bool IsAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool IsHexOrColon(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
         c == '.';
}

// Host names, IPv4 addresses: letters, digits, '-', '.', '_'; no leading '-'.
bool ValidHostName(std::string_view host) {
  if (host.empty() || host.size() > 255 || host[0] == '-') return false;
  for (char c : host) {
    if (!IsAlnum(c) && c != '-' && c != '.' && c != '_') return false;
  }
  return true;
}

// IPv6 literal inside brackets, optionally with a zone ("fe80::1%eth0").
bool ValidIpv6(std::string_view host) {
  if (host.size() < 2 || host.find(':') == std::string_view::npos) return false;
  const size_t zone = host.find('%');
  for (size_t i = 0; i < host.size(); ++i) {
    const char c = host[i];
    if (i < zone ? !IsHexOrColon(c) : (i > zone && !IsAlnum(c) && c != '-' && c != '_' && c != '.'))
      return false;
  }
  return zone != host.size() - 1;
}

bool ValidUser(std::string_view user) {
  if (user.empty() || user.size() > 256 || user[0] == '-') return false;
  for (char c : user) {
    if (IsControl(c) || c == ' ' || c == '@' || c == ':' || c == '/') return false;
  }
  return true;
}

// Normalises PATH: "~" and "~/x" become "" and "x"; trailing '/' removed.
Result<std::string> NormalizePath(std::string_view url, std::string_view path) {
  if (path.empty()) return BadUrl(url, "empty path");
  for (char c : path) {
    if (IsControl(c)) return BadUrl(url, "control character in path");
  }
  std::string p(path);
  if (p[0] == '~') {
    if (p == "~") return std::string();
    if (p[1] != '/') return BadUrl(url, "'~user' paths are not supported; use an absolute path");
    p.erase(0, 2);
  }
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  if (p == "/" && path[0] != '/') p.clear();  // "~/" is the login directory
  return p;
}

Result<int> ParsePort(std::string_view url, std::string_view digits) {
  if (digits.empty() || digits.size() > 5) return BadUrl(url, "invalid port");
  int port = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return BadUrl(url, "invalid port");
    port = port * 10 + (c - '0');
  }
  if (port < 1 || port > 65535) return BadUrl(url, "port out of range 1..65535");
  return port;
}

Result<int> ParseInt(const std::string& key, const std::string& value, int lo, int hi) {
  auto bad = [&] {
    return Status(Code::kInvalidArgument, "invalid value for option " + key +
                                              ": expected a whole number from " +
                                              std::to_string(lo) + " to " + std::to_string(hi));
  };
  if (value.empty() || value.size() > 9) return bad();
  int v = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return bad();
    v = v * 10 + (c - '0');
  }
  if (v < lo || v > hi) return bad();
  return v;
}

}  // namespace

Result<SftpUrl> ParseSftpUrl(std::string_view url) {
  SftpUrl out;
  const bool slash_form = url.substr(0, 2) == "//";
  std::string_view rest = slash_form ? url.substr(2) : url;

  // USER@ : an '@' before the host part (before any ':' or '[' or '/').
  const size_t first_special = rest.find_first_of(":[/");
  const size_t at = rest.find('@');
  if (at != std::string_view::npos &&
      (first_special == std::string_view::npos || at < first_special)) {
    out.user = std::string(rest.substr(0, at));
    if (!ValidUser(out.user)) return BadUrl(url, "invalid user name");
    rest.remove_prefix(at + 1);
  }

  if (!rest.empty() && rest[0] == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return BadUrl(url, "missing ']' after IPv6 address");
    out.host = std::string(rest.substr(1, close - 1));
    if (!ValidIpv6(out.host)) return BadUrl(url, "invalid IPv6 address");
    rest.remove_prefix(close + 1);
  } else {
    const size_t end = rest.find_first_of(slash_form ? ":/" : ":");
    out.host = std::string(rest.substr(0, end));
    if (out.host.empty()) return BadUrl(url, "missing host");
    if (!ValidHostName(out.host)) return BadUrl(url, "invalid host name");
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  }

  if (slash_form) {
    // //host[:port]/path ; "//host//abs" is absolute.
    if (!rest.empty() && rest[0] == ':') {
      const size_t slash = rest.find('/');
      LB_ASSIGN_OR_RETURN(out.port, ParsePort(url, rest.substr(1, slash == std::string_view::npos
                                                                      ? std::string_view::npos
                                                                      : slash - 1)));
      rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash);
    }
    if (rest.empty() || rest[0] != '/') return BadUrl(url, "missing path after the host");
    rest.remove_prefix(1);
  } else {
    if (rest.empty() || rest[0] != ':') return BadUrl(url, "missing ':' and path after the host");
    rest.remove_prefix(1);
    // An optional PORT: digits followed by ':'.
    size_t digits = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    if (digits > 0 && digits < rest.size() && rest[digits] == ':') {
      LB_ASSIGN_OR_RETURN(out.port, ParsePort(url, rest.substr(0, digits)));
      rest.remove_prefix(digits + 1);
    }
  }
  LB_ASSIGN_OR_RETURN(out.path, NormalizePath(url, rest));
  return out;
}

std::string FormatSftpUrl(const SftpUrl& url) {
  std::string s = "sftp:";
  if (!url.user.empty()) s += url.user + "@";
  s += url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  if (url.port != 22) s += ":" + std::to_string(url.port);
  s += ":" + (url.path.empty() ? std::string("~") : url.path);
  return s;
}

Result<SftpOptions> ParseSftpOptions(const std::map<std::string, std::string>& options) {
  SftpOptions out;
  for (const auto& [key, value] : options) {
    if (key.rfind("sftp.", 0) != 0) continue;
    if (key == "sftp.key") {
      if (value.empty()) return InvalidArgument("option sftp.key needs a file name");
      out.key_file = value;
    } else if (key == "sftp.known-hosts") {
      if (value.empty()) return InvalidArgument("option sftp.known-hosts needs a file name");
      out.known_hosts = value;
    } else if (key == "sftp.connections") {
      LB_ASSIGN_OR_RETURN(out.connections, ParseInt(key, value, 1, 32));
    } else if (key == "sftp.retries") {
      LB_ASSIGN_OR_RETURN(out.retries, ParseInt(key, value, 0, 20));
    } else if (key == "sftp.timeout") {
      LB_ASSIGN_OR_RETURN(out.timeout_seconds, ParseInt(key, value, 1, 3600));
    } else {
      return Status(Code::kInvalidArgument, "unknown option " + key,
                    "SFTP options are sftp.key, sftp.known-hosts, sftp.connections, "
                    "sftp.retries and sftp.timeout");
    }
  }
  return out;
}

std::string DefaultSftpUser() {
  for (const char* var : {"USER", "LOGNAME"}) {
    const char* v = std::getenv(var);
    if (v != nullptr && *v != '\0') return v;
  }
  struct passwd pw;
  struct passwd* found = nullptr;
  char buf[4096];
  if (::getpwuid_r(::getuid(), &pw, buf, sizeof(buf), &found) == 0 && found != nullptr) {
    return found->pw_name;
  }
  return "";
}

}  // namespace lifeboat
