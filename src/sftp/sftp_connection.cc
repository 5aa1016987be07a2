// SftpConnection: SSH set-up with libssh (host key check, public key
// authentication) and a small SFTP v3 client with pipelined requests.
// Protocol reference: draft-ietf-secsh-filexfer-02 and OpenSSH's PROTOCOL
// file (extensions posix-rename@, hardlink@, fsync@, limits@openssh.com).
#include "sftp/sftp_connection.h"

#include <libssh/libssh.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <unordered_map>
#include <utility>

namespace lifeboat {

using namespace sftp;  // packet types, flags, encoders and parsers

namespace {

constexpr std::string_view kPosixRename = "posix-rename@openssh.com";
constexpr std::string_view kHardlink = "hardlink@openssh.com";
constexpr std::string_view kFsync = "fsync@openssh.com";
constexpr std::string_view kLimits = "limits@openssh.com";
constexpr std::string_view kStatvfs = "statvfs@openssh.com";

// Replies larger than this are refused (OpenSSH sends at most 256 KiB).
constexpr uint32_t kMaxReplyLength = 4u << 20;
// Read/write request sizes: 32 KiB is what every server must accept;
// limits@openssh.com may raise it (OpenSSH: 255 KiB), up to this cap.
constexpr uint32_t kDefaultChunk = 32 * 1024;
constexpr uint32_t kMaxChunk = 1u << 20;
// Requests in flight per transfer: enough to fill a long, fast link.
constexpr size_t kMaxInFlight = 32;
// Directories read at once by ListDirectories.
constexpr size_t kMaxOpenDirs = 16;

// Server text is untrusted: keep it short and printable.
std::string Sanitize(std::string_view text, size_t max = 200) {
  std::string out;
  for (char c : text.substr(0, max)) {
    out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  }
  return out;
}


bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// The host as known_hosts and ssh-keyscan name it.
std::string KnownHostsName(const SftpConnectParams& p) {
  if (p.port == 22) return p.host;
  return "[" + p.host + "]:" + std::to_string(p.port);
}

std::string Quote(const std::string& s) {
  for (char c : s) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '/' || c == '.' || c == '_' || c == '-' || c == '~';
    if (!plain) return "'" + s + "'";
  }
  return s;
}

// Frees a session that did not make it into an SftpConnection.
struct SessionCloser {
  ssh_session session;
  ~SessionCloser() {
    if (session == nullptr) return;
    ssh_disconnect(session);
    ssh_free(session);
  }
};

struct KeyCloser {
  ssh_key key = nullptr;
  ~KeyCloser() { ssh_key_free(key); }
};

Status VerifyHostKey(ssh_session session, const SftpConnectParams& p) {
  KeyCloser server_key;
  if (ssh_get_server_publickey(session, &server_key.key) != SSH_OK) {
    return Status(Code::kUnavailable, "unable to get the host key of " + KnownHostsName(p) + ": " +
                                          ssh_get_error(session));
  }
  const enum ssh_keytypes_e type = ssh_key_type(server_key.key);
  const char* type_name = ssh_key_type_to_char(type);
  std::string fingerprint = "?";
  unsigned char* hash = nullptr;
  size_t hash_len = 0;
  if (ssh_get_publickey_hash(server_key.key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hash_len) == 0) {
    char* fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hash_len);
    if (fp != nullptr) {
      fingerprint = fp;
      ssh_string_free_char(fp);
    }
    ssh_clean_pubkey_hash(&hash);
  }
  std::string keyscan_type = "rsa";
  if (type == SSH_KEYTYPE_ED25519) {
    keyscan_type = "ed25519";
  } else if (type == SSH_KEYTYPE_ECDSA_P256 || type == SSH_KEYTYPE_ECDSA_P384 ||
             type == SSH_KEYTYPE_ECDSA_P521) {
    keyscan_type = "ecdsa";
  }
  const std::string host = KnownHostsName(p);
  const std::string key_desc =
      std::string(type_name != nullptr ? type_name : "unknown") + " key " + fingerprint;
  const std::string keyscan = "ssh-keyscan " +
                              (p.port == 22 ? "" : "-p " + std::to_string(p.port) + " ") + "-t " +
                              keyscan_type + " " + p.host + " >> " + Quote(p.known_hosts);

  switch (ssh_session_is_known_server(session)) {
    case SSH_KNOWN_HOSTS_OK:
      return Status::Ok();
    case SSH_KNOWN_HOSTS_CHANGED:
      return Status(Code::kPermissionDenied,
                    "WARNING: the host key of " + host + " has CHANGED (it now presents " +
                        key_desc + ", which does not match " + p.known_hosts +
                        "); someone may be intercepting the connection (man-in-the-middle "
                        "attack), so lifeboat refuses to connect",
                    "if the server's key was changed on purpose, confirm the new fingerprint "
                    "with its administrator, remove the old entry (ssh-keygen -R '" +
                        host + "' -f " + Quote(p.known_hosts) + ") and add the new one (" +
                        keyscan + ")");
    case SSH_KNOWN_HOSTS_OTHER:
      return Status(
          Code::kPermissionDenied,
          "WARNING: " + host + " presents a " + key_desc + " but " + p.known_hosts +
              " records a key of another type for it; this can be a "
              "man-in-the-middle attack, so lifeboat refuses to connect",
          "confirm the fingerprint with the server's administrator, then add the key: " + keyscan);
    case SSH_KNOWN_HOSTS_UNKNOWN:
    case SSH_KNOWN_HOSTS_NOT_FOUND:
      return Status(Code::kPermissionDenied,
                    "the host key of " + host + " (" + key_desc + ") is not in " + p.known_hosts +
                        "; lifeboat never accepts unknown host keys",
                    "confirm the fingerprint " + fingerprint +
                        " with the server's administrator (ssh-keygen -lf "
                        "/etc/ssh/ssh_host_" +
                        keyscan_type + "_key.pub on the server), then run: " + keyscan);
    case SSH_KNOWN_HOSTS_ERROR:
      break;
  }
  return Status(Code::kIoError, "unable to check the host key of " + host + " against " +
                                    p.known_hosts + ": " + ssh_get_error(session));
}

// Tries public keys: sftp.key if given; else the agent, then the default
// identities. Records what was tried for the error message.
Status Authenticate(ssh_session session, const SftpConnectParams& p, const std::string& peer) {
  int rc = ssh_userauth_none(session, nullptr);
  if (rc == SSH_AUTH_SUCCESS) return Status::Ok();
  if (rc == SSH_AUTH_ERROR) {
    return Status(Code::kUnavailable, "connection to " + peer + " failed during authentication: " +
                                          ssh_get_error(session));
  }
  const int methods = ssh_userauth_list(session, nullptr);
  std::string offered;
  for (auto [bit, name] : {std::pair{SSH_AUTH_METHOD_PUBLICKEY, "publickey"},
                           std::pair{SSH_AUTH_METHOD_PASSWORD, "password"},
                           std::pair{SSH_AUTH_METHOD_INTERACTIVE, "keyboard-interactive"},
                           std::pair{SSH_AUTH_METHOD_HOSTBASED, "hostbased"},
                           std::pair{SSH_AUTH_METHOD_GSSAPI_MIC, "gssapi-with-mic"}}) {
    if (methods & static_cast<int>(bit))
      offered += (offered.empty() ? "" : ", ") + std::string(name);
  }
  if (!(methods & static_cast<int>(SSH_AUTH_METHOD_PUBLICKEY))) {
    return Status(Code::kPermissionDenied,
                  "authentication to " + peer +
                      " impossible: the server does not accept public "
                      "keys (it offers: " +
                      (offered.empty() ? "nothing" : offered) + ")",
                  "lifeboat authenticates with SSH keys only; enable PubkeyAuthentication");
  }

  std::vector<std::string> tried;
  const char* passphrase = std::getenv("LIFEBOAT_SSH_KEY_PASSPHRASE");
  if (passphrase != nullptr && *passphrase == '\0') passphrase = nullptr;

  // Returns OK on success, kNotFound when the key was refused (go on).
  auto try_key_file = [&](const std::string& path, bool must_exist) -> Status {
    if (!FileExists(path)) {
      if (must_exist) {
        return Status(Code::kInvalidArgument,
                      "SSH private key " + path + " (sftp.key) does not exist");
      }
      return NotFound("absent");
    }
    KeyCloser key;
    if (ssh_pki_import_privkey_file(path.c_str(), passphrase, nullptr, nullptr, &key.key) !=
        SSH_OK) {
      const std::string why =
          passphrase == nullptr
              ? "unreadable, or encrypted and LIFEBOAT_SSH_KEY_PASSPHRASE is not set"
              : "unreadable, or the passphrase in LIFEBOAT_SSH_KEY_PASSPHRASE is wrong";
      if (must_exist) {
        return Status(Code::kInvalidArgument,
                      "unable to load SSH private key " + path + ": " + why);
      }
      tried.push_back("key " + path + " (" + why + ")");
      return NotFound("unusable");
    }
    const int auth = ssh_userauth_publickey(session, nullptr, key.key);
    if (auth == SSH_AUTH_SUCCESS) return Status::Ok();
    if (auth == SSH_AUTH_ERROR) {
      return Status(
          Code::kUnavailable,
          "connection to " + peer + " failed during authentication: " + ssh_get_error(session));
    }
    tried.push_back("key " + path +
                    (auth == SSH_AUTH_PARTIAL ? " (accepted, but the server "
                                                "demands a second factor)"
                                              : " (refused)"));
    return NotFound("refused");
  };

  if (!p.key_file.empty()) {
    Status s = try_key_file(p.key_file, /*must_exist=*/true);
    if (s.code() != Code::kNotFound) return s;
  } else {
    const char* agent = std::getenv("SSH_AUTH_SOCK");
    if (agent != nullptr && *agent != '\0') {
      rc = ssh_userauth_agent(session, nullptr);
      if (rc == SSH_AUTH_SUCCESS) return Status::Ok();
      if (!ssh_is_connected(session)) {
        return Status(
            Code::kUnavailable,
            "connection to " + peer + " failed during authentication: " + ssh_get_error(session));
      }
      tried.push_back("ssh-agent keys (refused or none)");
    }
    const std::string home = LocalHomeDir();
    for (const char* id : {"id_ed25519", "id_ecdsa", "id_rsa"}) {
      if (home.empty()) break;
      Status s = try_key_file(home + "/.ssh/" + id, /*must_exist=*/false);
      if (s.code() != Code::kNotFound) return s;
    }
  }
  std::string list;
  for (const std::string& t : tried) list += (list.empty() ? "" : "; ") + t;
  return Status(Code::kPermissionDenied,
                "authentication as " + peer + " refused (server offers: " + offered + "; tried: " +
                    (list.empty() ? "nothing: no sftp.key option, no ssh-agent and no "
                                    "~/.ssh/id_ed25519, id_ecdsa or id_rsa"
                                  : list) +
                    ")",
                "add the public key to ~/.ssh/authorized_keys of that user on the server, or "
                "choose the key with -o sftp.key=PATH");
}

}  // namespace

std::string LocalHomeDir() {
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') return home;
  struct passwd pw;
  struct passwd* found = nullptr;
  char buf[4096];
  if (::getpwuid_r(::getuid(), &pw, buf, sizeof(buf), &found) == 0 && found != nullptr) {
    return found->pw_dir;
  }
  return "";
}


// ---------------------------------------------------------------------------
// Connection set-up.

Result<std::unique_ptr<SftpConnection>> SftpConnection::Connect(const SftpConnectParams& p) {
  const std::string host_part = p.host.find(':') != std::string::npos ? "[" + p.host + "]" : p.host;
  const std::string peer = p.user + "@" + host_part + ":" + std::to_string(p.port);

  SessionCloser guard{ssh_new()};
  ssh_session s = guard.session;
  if (s == nullptr) return Internal("unable to allocate an SSH session");

  // PROCESS_CONFIG first: ~/.ssh/config must not change what we connect to.
  const bool no = false;
  const int verbosity = SSH_LOG_NOLOG;
  const int port = p.port;
  const long timeout = p.timeout_seconds;
  const int yes = 1;
  if (ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &no) != 0 ||
      ssh_options_set(s, SSH_OPTIONS_LOG_VERBOSITY, &verbosity) != 0 ||
      ssh_options_set(s, SSH_OPTIONS_HOST, p.host.c_str()) != 0 ||
      ssh_options_set(s, SSH_OPTIONS_PORT, &port) != 0 ||
      ssh_options_set(s, SSH_OPTIONS_USER, p.user.c_str()) != 0 ||
      ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout) != 0 ||
      ssh_options_set(s, SSH_OPTIONS_NODELAY, &yes) != 0 ||
      ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, p.known_hosts.c_str()) != 0 ||
      ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, p.global_known_hosts.c_str()) != 0) {
    return Status(Code::kInvalidArgument,
                  "unable to configure the SSH connection to " + peer + ": " + ssh_get_error(s));
  }
  if (ssh_connect(s) != SSH_OK) {
    return Status(Code::kUnavailable, "unable to connect to " + peer + ": " + ssh_get_error(s),
                  "check that the host is reachable and runs an SSH server on port " +
                      std::to_string(p.port));
  }
  LB_RETURN_IF_ERROR(VerifyHostKey(s, p));
  LB_RETURN_IF_ERROR(Authenticate(s, p, peer));

  ssh_channel channel = ssh_channel_new(s);
  if (channel == nullptr) return Internal("unable to allocate an SSH channel");
  if (ssh_channel_open_session(channel) != SSH_OK || ssh_channel_request_sftp(channel) != SSH_OK) {
    const bool connected = ssh_is_connected(s) != 0;
    Status st(connected ? Code::kIoError : Code::kUnavailable,
              "unable to start SFTP on " + peer + ": " + ssh_get_error(s),
              connected ? "the server must enable the sftp subsystem" : "");
    ssh_channel_free(channel);
    return st;
  }
  std::unique_ptr<SftpConnection> conn(new SftpConnection(s, channel, peer, p.timeout_seconds));
  guard.session = nullptr;  // owned by conn now
  LB_RETURN_IF_ERROR(conn->Init());
  return conn;
}

SftpConnection::SftpConnection(ssh_session_struct* session, ssh_channel_struct* channel,
                               std::string peer, int timeout_seconds)
    : session_(session),
      channel_(channel),
      peer_(std::move(peer)),
      timeout_ms_(timeout_seconds * 1000),
      splitter_(kMaxReplyLength) {}

SftpConnection::~SftpConnection() {
  if (broken_) {
    // A dead or hung peer must not make the goodbye messages below block
    // for a whole timeout.
    const socket_t fd = ssh_get_fd(session_);
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
  }
  ssh_channel_free(channel_);
  ssh_disconnect(session_);
  ssh_free(session_);
}

Status SftpConnection::Init() {
  LB_RETURN_IF_ERROR(Send(EncodeInit(3)));
  LB_ASSIGN_OR_RETURN(Reply reply, Receive());
  if (reply.type != kFxpVersion) return Broken("expected the SFTP version reply");
  if (reply.id < 3) {
    return Status(Code::kIoError, "SFTP server of " + peer_ + " speaks version " +
                                      std::to_string(reply.id) + "; version 3 is required");
  }
  Result<SftpVersion> version = ParseVersion(reply);
  if (!version.ok()) return Broken(version.status().message());
  extensions_ = std::move(version->extensions);

  if (HasExtension(kLimits)) {
    const uint32_t id = NextId();
    LB_ASSIGN_OR_RETURN(Reply reply, Call(EncodeExtended(id, kLimits, {}), id));
    if (reply.type == kFxpExtendedReply) {
      Result<SftpLimits> limits = ParseLimits(reply);
      if (!limits.ok()) return Broken("limits@openssh.com: " + limits.status().message());
      const uint64_t max_read = limits->max_read_length;
      const uint64_t max_write = limits->max_write_length;
      auto clamp = [](uint64_t v) {
        return v == 0 ? kDefaultChunk
                      : static_cast<uint32_t>(std::clamp<uint64_t>(v, 1024, kMaxChunk));
      };
      read_chunk_ = clamp(max_read);
      write_chunk_ = clamp(max_write);
    }
  }
  return Status::Ok();
}

bool SftpConnection::HasExtension(std::string_view name) const {
  return std::any_of(extensions_.begin(), extensions_.end(),
                     [&](const auto& e) { return e.first == name; });
}

// ---------------------------------------------------------------------------
// Packet I/O.

uint32_t SftpConnection::NextId() { return next_id_++; }

Status SftpConnection::Broken(const std::string& why) {
  broken_ = true;
  last_status_ = SftpCode::kOk;
  return Status(Code::kUnavailable, "connection to " + peer_ + " lost: " + why,
                "the operation is retried on a new connection (sftp.retries)");
}

Status SftpConnection::Send(const Bytes& packet) {
  if (broken_) return Broken("used after an earlier failure");
  const int n = ssh_channel_write(channel_, packet.data(), static_cast<uint32_t>(packet.size()));
  if (n == static_cast<int>(packet.size())) return Status::Ok();
  std::string detail = ssh_get_error(session_);
  if (n >= 0 && detail.empty()) {
    // libssh ends a blocking write that waited sftp.timeout for the server
    // to open its receive window with a short count and no error: the
    // server is alive on TCP but has stopped reading (hung or overloaded).
    return Broken("the server stopped taking data: timed out after " +
                  std::to_string(timeout_ms_ / 1000) + " s (sftp.timeout) with " +
                  std::to_string(n) + " of " + std::to_string(packet.size()) + " bytes sent");
  }
  if (detail.empty()) detail = "no detail from libssh";
  return Broken("unable to send: " + detail);
}

Status SftpConnection::ReadMore() {
  const int avail = ssh_channel_poll_timeout(channel_, timeout_ms_, 0);
  if (avail == 0) {
    return Broken("no reply within " + std::to_string(timeout_ms_ / 1000) + " s (sftp.timeout)");
  }
  if (avail == SSH_EOF) return Broken("the server closed the SFTP session");
  if (avail < 0) return Broken(ssh_get_error(session_));
  // What is available, in pieces of at most a largest reply.
  const size_t want = std::min<size_t>(static_cast<size_t>(avail), kMaxReplyLength);
  read_buf_.resize(want);
  const int n = ssh_channel_read(channel_, read_buf_.data(), static_cast<uint32_t>(want), 0);
  if (n < 0) return Broken(ssh_get_error(session_));
  if (n == 0) return Broken("the server closed the SFTP session");
  splitter_.Feed(ByteView(read_buf_).first(static_cast<size_t>(n)));
  return Status::Ok();
}

Result<SftpConnection::Reply> SftpConnection::Receive() {
  if (broken_) return Broken("used after an earlier failure");
  while (true) {
    Result<std::optional<ByteView>> packet = splitter_.Next();
    if (!packet.ok()) return Broken("malformed reply: " + packet.status().message());
    if (packet->has_value()) {
      Result<Reply> reply = ParseReply(**packet);
      if (!reply.ok()) return Broken("malformed reply: " + reply.status().message());
      return *reply;
    }
    LB_RETURN_IF_ERROR(ReadMore());
  }
}

Result<SftpConnection::Reply> SftpConnection::Call(const Bytes& packet, uint32_t id) {
  LB_RETURN_IF_ERROR(Send(packet));
  LB_ASSIGN_OR_RETURN(Reply reply, Receive());
  if (reply.id != id) return Broken("reply to an unknown request");
  return reply;
}

Status SftpConnection::StatusOf(const Reply& reply, const std::string& what) {
  if (reply.type != kFxpStatus) return Broken("unexpected reply type to " + what);
  Result<SftpStatus> parsed = ParseStatus(reply);
  if (!parsed.ok()) return Broken("malformed status reply to " + what);
  const uint32_t code = parsed->code;
  const std::string& message = parsed->message;
  last_status_ = static_cast<SftpCode>(code);
  const std::string server_says = message.empty() ? "" : " (server: " + Sanitize(message) + ")";
  switch (static_cast<SftpCode>(code)) {
    case SftpCode::kOk:
      last_status_ = SftpCode::kOk;
      return Status::Ok();
    case SftpCode::kEof:
      return Status(Code::kCorrupt, what + ": unexpected end of file");
    case SftpCode::kNoSuchFile:
      return NotFound(what + ": no such file or directory");
    case SftpCode::kPermissionDenied:
      return Status(Code::kPermissionDenied,
                    what + ": permission denied by " + peer_ + server_says);
    case SftpCode::kFailure:
      return IoError(what + ": the server reports a failure" + server_says);
    case SftpCode::kOpUnsupported:
      return IoError(what + ": operation not supported by the server" + server_says);
    case SftpCode::kNoConnection:
    case SftpCode::kConnectionLost:
      return Broken("the server reports a lost connection" + server_says);
    case SftpCode::kBadMessage:
      break;
  }
  return IoError(what + ": the server rejected the request (status " + std::to_string(code) + ")" +
                 server_says);
}

Status SftpConnection::ExpectOk(const Bytes& packet, uint32_t id, const std::string& what) {
  LB_ASSIGN_OR_RETURN(Reply reply, Call(packet, id));
  return StatusOf(reply, what);
}

Result<std::string> SftpConnection::OpenHandle(uint8_t type, const std::string& path,
                                               uint32_t pflags, uint32_t mode,
                                               const std::string& what) {
  const uint32_t id = NextId();
  const Bytes request =
      type == kFxpOpen ? EncodeOpen(id, path, pflags, mode) : EncodeOpendir(id, path);
  LB_ASSIGN_OR_RETURN(Reply reply, Call(request, id));
  if (reply.type != kFxpHandle) {
    LB_RETURN_IF_ERROR(StatusOf(reply, what));
    return Broken("unexpected reply to " + what);
  }
  Result<std::string> handle = ParseHandle(reply);
  if (!handle.ok()) return Broken("malformed handle for " + what);
  return std::move(handle).value();
}

Status SftpConnection::CloseHandle(const std::string& handle, const std::string& what) {
  const uint32_t id = NextId();
  return ExpectOk(EncodeClose(id, handle), id, what);
}

// ---------------------------------------------------------------------------
// Simple requests.

Result<std::string> SftpConnection::RealPath(const std::string& path) {
  const uint32_t id = NextId();
  const std::string what = "resolve " + path;
  LB_ASSIGN_OR_RETURN(Reply reply, Call(EncodeRealpath(id, path), id));
  if (reply.type != kFxpName) {
    LB_RETURN_IF_ERROR(StatusOf(reply, what));
    return Broken("unexpected reply to " + what);
  }
  Result<std::vector<SftpNameEntry>> names = ParseName(reply);
  if (!names.ok() || names->size() != 1 || (*names)[0].name.empty() ||
      (*names)[0].name[0] != '/') {
    return Broken("malformed reply to " + what);
  }
  return std::move((*names)[0].name);
}

Result<SftpAttrs> SftpConnection::Stat(const std::string& path) {
  const uint32_t id = NextId();
  const std::string what = "stat " + path;
  LB_ASSIGN_OR_RETURN(Reply reply, Call(EncodeStat(id, path), id));
  if (reply.type != kFxpAttrs) {
    LB_RETURN_IF_ERROR(StatusOf(reply, what));
    return Broken("unexpected reply to " + what);
  }
  Result<SftpAttrs> attrs = ParseAttrs(reply);
  if (!attrs.ok()) return Broken("malformed attributes for " + path);
  return attrs;
}

Status SftpConnection::Remove(const std::string& path) {
  const uint32_t id = NextId();
  return ExpectOk(EncodeRemove(id, path), id, "remove " + path);
}

Status SftpConnection::Rename(const std::string& from, const std::string& to) {
  const uint32_t id = NextId();
  return ExpectOk(EncodeRename(id, from, to), id, "rename " + from + " to " + to);
}

Status SftpConnection::Extended2(std::string_view ext, const std::string& a, const std::string& b,
                                 const std::string& what) {
  const uint32_t id = NextId();
  return ExpectOk(EncodeExtended(id, ext, {a, b}), id, what);
}

Result<uint64_t> SftpConnection::FreeBytes(const std::string& path) {
  if (!HasExtension(kStatvfs)) return IoError("statvfs@openssh.com is not offered");
  const uint32_t id = NextId();
  LB_ASSIGN_OR_RETURN(Reply reply, Call(EncodeExtended(id, kStatvfs, {path}), id));
  if (reply.type != kFxpExtendedReply) {
    Status s = StatusOf(reply, "statvfs " + path);
    return s.ok() ? Broken("unexpected reply to statvfs") : s;
  }
  Result<SftpStatvfs> statvfs = ParseStatvfs(reply);
  if (!statvfs.ok()) return Broken("malformed statvfs reply");
  return statvfs->AvailableBytes();
}

Status SftpConnection::PosixRename(const std::string& from, const std::string& to) {
  return Extended2(kPosixRename, from, to, "rename " + from + " to " + to);
}

Status SftpConnection::Hardlink(const std::string& from, const std::string& to) {
  return Extended2(kHardlink, from, to, "link " + from + " to " + to);
}

Status SftpConnection::MakeDirectories(const std::vector<std::string>& paths, uint32_t mode) {
  // Pipelined MKDIRs; failures are checked afterwards with STAT (OpenSSH
  // answers a plain FAILURE for "exists").
  std::unordered_map<uint32_t, size_t> in_flight;
  std::vector<std::pair<size_t, Status>> failed;
  size_t next = 0;
  while (next < paths.size() || !in_flight.empty()) {
    while (next < paths.size() && in_flight.size() < 4 * kMaxInFlight) {
      const uint32_t id = NextId();
      LB_RETURN_IF_ERROR(Send(EncodeMkdir(id, paths[next], mode)));
      in_flight.emplace(id, next++);
    }
    LB_ASSIGN_OR_RETURN(Reply reply, Receive());
    auto it = in_flight.find(reply.id);
    if (it == in_flight.end()) return Broken("reply to an unknown request");
    const size_t index = it->second;
    in_flight.erase(it);
    Status s = StatusOf(reply, "create directory " + paths[index]);
    if (broken_) return s;
    if (!s.ok()) failed.emplace_back(index, s);
  }
  std::sort(failed.begin(), failed.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [index, mkdir_status] : failed) {
    Result<SftpAttrs> attrs = Stat(paths[index]);
    if (attrs.ok() && attrs->IsDirectory()) continue;
    if (broken_) return attrs.status();
    if (attrs.ok()) {
      return Status(Code::kAlreadyExists,
                    "create directory " + paths[index] + ": exists and is not a directory");
    }
    return mkdir_status;
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Transfers.

Status SftpConnection::WriteNewFile(const std::string& path, uint32_t mode, ByteView data) {
  const std::string what = "write " + path;
  LB_ASSIGN_OR_RETURN(
      std::string handle,
      OpenHandle(kFxpOpen, path, kFxfWrite | kFxfCreat | kFxfExcl, mode, "create " + path));
  // A failed write, fsync or close on OpenSSH is a bare FAILURE; ENOSPC and
  // EDQUOT are the usual causes. statvfs tells a full disk apart (a quota
  // cannot be seen from here).
  auto with_hint = [&](Status s) {
    if (s.ok() || s.code() != Code::kIoError || broken_) return s;
    const size_t slash = path.find_last_of('/');
    Result<uint64_t> free_bytes =
        FreeBytes(slash == std::string::npos ? "." : path.substr(0, slash + 1));
    if (free_bytes.ok() && *free_bytes < data.size()) {
      return Status(Code::kNoSpace,
                    s.message() + ": no space left on the server's filesystem (" +
                        std::to_string(*free_bytes) + " bytes free, " +
                        std::to_string(data.size()) + " needed)",
                    "free space on the server and run again");
    }
    return s.WithHint("this may be a full disk or an exhausted quota on the server");
  };

  Status status;
  std::unordered_map<uint32_t, bool> in_flight;
  uint64_t offset = 0;
  while ((status.ok() && offset < data.size()) || !in_flight.empty()) {
    while (status.ok() && offset < data.size() && in_flight.size() < kMaxInFlight) {
      const size_t n = std::min<size_t>(write_chunk_, data.size() - offset);
      const uint32_t id = NextId();
      LB_RETURN_IF_ERROR(Send(EncodeWrite(id, handle, offset, data.subspan(offset, n))));
      in_flight.emplace(id, true);
      offset += n;
    }
    if (in_flight.empty()) break;
    LB_ASSIGN_OR_RETURN(Reply reply, Receive());
    if (in_flight.erase(reply.id) != 1) return Broken("reply to an unknown request");
    Status s = StatusOf(reply, what);
    if (broken_) return s;
    if (!s.ok() && status.ok()) status = s;
  }
  if (status.ok() && HasExtension(kFsync)) {
    const uint32_t id = NextId();
    status = ExpectOk(EncodeExtended(id, kFsync, {handle}), id, "sync " + path);
    if (broken_) return status;
  }
  Status closed = CloseHandle(handle, "close " + path);
  if (broken_) return closed;
  if (status.ok()) status = closed;
  return with_hint(status);  // only now: no request is in flight
}

Result<Bytes> SftpConnection::ReadFile(const std::string& path, uint64_t offset, uint64_t length) {
  LB_ASSIGN_OR_RETURN(std::string handle, OpenHandle(kFxpOpen, path, kFxfRead, 0, "open " + path));
  // Closes the handle on every exit where the connection is still usable.
  auto finish = [&](Status s) -> Status {
    if (broken_) return s;
    Status closed = CloseHandle(handle, "close " + path);
    if (broken_) return closed;
    return s;
  };

  const uint32_t stat_id = NextId();
  LB_ASSIGN_OR_RETURN(Reply reply, Call(EncodeFstat(stat_id, handle), stat_id));
  if (reply.type != kFxpAttrs) {
    Status s = StatusOf(reply, "stat " + path);
    return finish(s.ok() ? Broken("unexpected reply to stat " + path) : s);
  }
  Result<SftpAttrs> parsed_attrs = ParseAttrs(reply);
  if (!parsed_attrs.ok()) return Broken("malformed attributes for " + path);
  const SftpAttrs& attrs = *parsed_attrs;
  if (!attrs.IsRegular()) return finish(IoError("read " + path + ": not a regular file"));
  if (!attrs.has_size)
    return finish(IoError("read " + path + ": the server did not report its size"));
  const uint64_t size = attrs.size;
  if (offset > size || length > size - offset) {
    return finish(Corrupt("read " + path + ": range at offset " + std::to_string(offset) +
                          " length " + std::to_string(length) + " is past the end of the object (" +
                          std::to_string(size) + " bytes)"));
  }
  const uint64_t total = length == 0 ? size - offset : length;
  if (total > SIZE_MAX / 2) return finish(IoError("read " + path + ": object too large"));
  Bytes out(static_cast<size_t>(total));

  struct Piece {
    uint64_t at;  // relative to `offset`
    uint32_t len;
  };
  std::deque<Piece> retry;  // remainders of short reads
  std::unordered_map<uint32_t, Piece> in_flight;
  uint64_t next = 0;
  int empty_replies = 0;
  Status status;
  while (true) {
    while (status.ok() && in_flight.size() < kMaxInFlight) {
      Piece piece;
      if (!retry.empty()) {
        piece = retry.front();
        retry.pop_front();
      } else if (next < total) {
        piece = {next, static_cast<uint32_t>(std::min<uint64_t>(read_chunk_, total - next))};
        next += piece.len;
      } else {
        break;
      }
      const uint32_t id = NextId();
      LB_RETURN_IF_ERROR(Send(EncodeRead(id, handle, offset + piece.at, piece.len)));
      in_flight.emplace(id, piece);
    }
    if (in_flight.empty()) break;
    LB_ASSIGN_OR_RETURN(Reply data, Receive());
    auto it = in_flight.find(data.id);
    if (it == in_flight.end()) return Broken("reply to an unknown request");
    const Piece piece = it->second;
    in_flight.erase(it);
    if (data.type == kFxpData) {
      Result<ByteView> parsed = ParseData(data, piece.len);
      if (!parsed.ok()) return Broken("malformed data reply for " + path);
      const ByteView got = *parsed;
      std::memcpy(out.data() + piece.at, got.data(), got.size());
      if (got.size() < piece.len && status.ok()) {
        // Servers may answer with less than asked; ask for the rest, but
        // do not loop forever on a server that keeps sending nothing.
        if (got.empty() && ++empty_replies > 16) {
          status = IoError("read " + path + ": the server keeps returning no data");
        } else {
          retry.push_back({piece.at + got.size(), static_cast<uint32_t>(piece.len - got.size())});
        }
      }
      continue;
    }
    Status s = StatusOf(data, "read " + path);
    if (broken_) return s;
    if (status.ok()) {
      status = s.code() == Code::kCorrupt
                   ? Corrupt("read " + path + ": the file ended before offset " +
                             std::to_string(offset + piece.at) + " (it shrank while being read)")
                   : s;
      if (status.ok()) status = Broken("unexpected OK status to a read of " + path);
    }
  }
  LB_RETURN_IF_ERROR(finish(status));
  return out;
}

// ---------------------------------------------------------------------------
// Directory listing: up to kMaxOpenDirs directories in flight, one READDIR
// outstanding per handle.

Status SftpConnection::ListDirectories(const std::vector<std::string>& dirs, bool missing_ok,
                                       const DirEntryFn& fn) {
  enum class Op { kOpen, kRead, kClose };
  struct Pending {
    size_t dir;
    Op op;
  };
  std::vector<std::string> handles(dirs.size());
  std::unordered_map<uint32_t, Pending> in_flight;
  size_t next_dir = 0;
  size_t active = 0;  // directories opened or being opened, not yet closed
  Status status;

  auto send = [&](Op op, size_t dir) -> Status {
    const uint32_t id = NextId();
    LB_RETURN_IF_ERROR(Send(op == Op::kOpen   ? EncodeOpendir(id, dirs[dir])
                            : op == Op::kRead ? EncodeReaddir(id, handles[dir])
                                              : EncodeClose(id, handles[dir])));
    in_flight.emplace(id, Pending{dir, op});
    return Status::Ok();
  };

  while (true) {
    while (status.ok() && next_dir < dirs.size() && active < kMaxOpenDirs) {
      LB_RETURN_IF_ERROR(send(Op::kOpen, next_dir++));
      ++active;
    }
    if (in_flight.empty()) break;
    LB_ASSIGN_OR_RETURN(Reply reply, Receive());
    auto it = in_flight.find(reply.id);
    if (it == in_flight.end()) return Broken("reply to an unknown request");
    const Pending pending = it->second;
    in_flight.erase(it);
    const std::string& dir = dirs[pending.dir];

    switch (pending.op) {
      case Op::kOpen: {
        if (reply.type == kFxpHandle) {
          Result<std::string> handle = ParseHandle(reply);
          if (!handle.ok()) return Broken("malformed handle for " + dir);
          handles[pending.dir] = std::move(handle).value();
          LB_RETURN_IF_ERROR(send(status.ok() ? Op::kRead : Op::kClose, pending.dir));
          break;
        }
        --active;
        Status s = StatusOf(reply, "list " + dir);
        if (broken_) return s;
        if (s.ok()) return Broken("unexpected reply to opening " + dir);
        if (s.code() == Code::kNotFound && missing_ok) break;
        if (status.ok()) status = s;
        break;
      }
      case Op::kRead: {
        if (reply.type == kFxpName) {
          Result<std::vector<SftpNameEntry>> entries = ParseName(reply);
          if (!entries.ok()) return Broken("malformed directory listing of " + dir);
          for (const SftpNameEntry& e : *entries) {
            if (status.ok()) status = fn(pending.dir, e.name, e.attrs);
          }
          LB_RETURN_IF_ERROR(send(status.ok() ? Op::kRead : Op::kClose, pending.dir));
          break;
        }
        Status s = StatusOf(reply, "list " + dir);
        if (broken_) return s;
        if (s.code() != Code::kCorrupt && status.ok()) status = s;  // kCorrupt here = EOF: done
        LB_RETURN_IF_ERROR(send(Op::kClose, pending.dir));
        break;
      }
      case Op::kClose: {
        --active;
        Status s = StatusOf(reply, "close " + dir);
        if (broken_) return s;
        break;  // a failed close of a directory loses nothing
      }
    }
  }
  return status;
}

}  // namespace lifeboat
