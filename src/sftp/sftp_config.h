// Parsing of SFTP repository locations and `sftp.*` options: pure functions
// over strings, no I/O (the login name default is read from the environment
// by DefaultSftpUser, called by the backend, not by the parser).
//
//   URL (what follows "sftp:"):   [USER@]HOST[:PORT]:PATH
//                                 //[USER@]HOST[:PORT]/PATH   (restic style)
//   HOST may be a name, an IPv4 address or a bracketed IPv6 address
//   ("[::1]"). PATH is absolute ("/srv/repo"), or relative to the login
//   directory ("repo", "~/repo", "~"). In the "//" form one slash after the
//   host separates it from PATH, so "//host/repo" is relative and
//   "//host//srv/repo" absolute. A PORT is only recognised as digits followed
//   by ':' (so "host:123" is the relative path "123").
//
//   Options (all optional; any other "sftp.*" key is an error, keys of other
//   backends are ignored):
//     sftp.key=PATH          OpenSSH private key; passphrase (if any) from the
//                            environment variable LIFEBOAT_SSH_KEY_PASSPHRASE
//     sftp.known-hosts=PATH  known_hosts file (default ~/.ssh/known_hosts)
//     sftp.connections=N     SSH connections for concurrent callers (1..32, 2)
//     sftp.retries=N         retries after a lost connection (0..20, 3)
//     sftp.timeout=SECONDS   connect and I/O timeout (1..3600, 30)
//
// Thread-safety: value types and pure functions.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "base/result.h"

namespace lifeboat {

struct SftpUrl {
  std::string user;  // empty: the local login name (DefaultSftpUser)
  std::string host;  // without brackets
  int port = 22;
  // Absolute ("/srv/repo") or relative to the login directory ("repo"; empty
  // means the login directory itself). No trailing '/' except for "/".
  std::string path;
};

// On failure: kInvalidArgument naming what is wrong, with a hint showing the
// expected form.
Result<SftpUrl> ParseSftpUrl(std::string_view url_rest);

// "sftp:user@host:port:/path" ("[::1]" for IPv6), for messages and Location().
std::string FormatSftpUrl(const SftpUrl& url);

struct SftpOptions {
  std::string key_file;     // empty: ssh-agent, then ~/.ssh/id_{ed25519,ecdsa,rsa}
  std::string known_hosts;  // empty: ~/.ssh/known_hosts
  int connections = 2;
  int retries = 3;
  int timeout_seconds = 30;
};

// On failure: kInvalidArgument naming the key (never echoing values of keys
// that are not ours).
Result<SftpOptions> ParseSftpOptions(const std::map<std::string, std::string>& options);

// $USER, else $LOGNAME, else the passwd entry of the real uid; "" if none.
std::string DefaultSftpUser();

}  // namespace lifeboat
