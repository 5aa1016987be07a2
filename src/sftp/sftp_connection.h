// SftpConnection: one authenticated SSH connection (a libssh session) with
// one SFTP version 3 channel. libssh provides the transport, host key check
// and authentication; the SFTP protocol (draft-ietf-secsh-filexfer-02) is
// spoken here because libssh 0.10's sftp API has neither pipelined writes nor
// the OpenSSH extensions lifeboat needs (posix-rename, hardlink, fsync,
// limits).
//
// Errors: a reply from the server maps to a Status (NO_SUCH_FILE →
// kNotFound, PERMISSION_DENIED → kPermissionDenied, others → kIoError) and
// leaves the connection usable; last_status() tells which SFTP code it was.
// A transport failure, a timeout or a malformed reply marks the connection
// broken() (kUnavailable): it must then be discarded, never reused.
//
// Every byte from the server is untrusted: lengths and counts are checked
// against what was received and against what was asked for.
//
// Ownership: owns its libssh session and channel. Thread-safety: none; one
// thread at a time (libssh sessions are not thread-safe). SftpBackend keeps a
// pool of them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "sftp/sftp_protocol.h"

// libssh handles (from <libssh/libssh.h>), kept out of this header.
struct ssh_session_struct;
struct ssh_channel_struct;

namespace lifeboat {

struct SftpConnectParams {
  std::string host;  // name or address; IPv6 without brackets
  int port = 22;
  std::string user;
  std::string key_file;     // empty: ssh-agent, then the default identities
  std::string known_hosts;  // REQUIRES: non-empty (the caller applies the default)
  std::string global_known_hosts = "/etc/ssh/ssh_known_hosts";
  int timeout_seconds = 30;  // connect, and the longest wait for any reply
};

class SftpConnection {
 public:
  // Connects, verifies the host key against known_hosts (never adding to it),
  // authenticates with a public key and starts SFTP. On failure:
  // kUnavailable for network failures (worth retrying), kPermissionDenied for
  // an unknown or changed host key and for refused authentication,
  // kInvalidArgument for an unreadable key file; messages name the host.
  // Secrets (passphrases) never appear in messages.
  static Result<std::unique_ptr<SftpConnection>> Connect(const SftpConnectParams& params);
  ~SftpConnection();
  SftpConnection(const SftpConnection&) = delete;
  SftpConnection& operator=(const SftpConnection&) = delete;

  // "user@host:port", for messages.
  const std::string& peer() const { return peer_; }
  bool broken() const { return broken_; }
  // The SFTP status code of the last request that failed with a server
  // reply; kOk after a transport failure or a local check.
  SftpCode last_status() const { return last_status_; }
  bool HasExtension(std::string_view name) const;

  Result<std::string> RealPath(const std::string& path);
  // Follows symlinks (SSH_FXP_STAT).
  Result<SftpAttrs> Stat(const std::string& path);
  Status Remove(const std::string& path);
  // Creates every directory in `paths` (pipelined, in order); a directory
  // that already exists counts as success, anything else there is an error.
  Status MakeDirectories(const std::vector<std::string>& paths, uint32_t mode);
  // SSH_FXP_RENAME: OpenSSH refuses when `to` exists.
  Status Rename(const std::string& from, const std::string& to);
  // posix-rename@openssh.com: atomically replaces `to`. REQUIRES: the
  // extension is offered (HasExtension).
  Status PosixRename(const std::string& from, const std::string& to);
  // hardlink@openssh.com: fails when `to` exists. REQUIRES: offered.
  Status Hardlink(const std::string& from, const std::string& to);

  // Bytes available to unprivileged users on the filesystem holding `path`
  // (statvfs@openssh.com); kIoError when the server does not offer it.
  Result<uint64_t> FreeBytes(const std::string& path);

  // Creates `path` exclusively (it must not exist) with `mode`, writes
  // `data` with many requests in flight, fsyncs it when the server offers
  // fsync@openssh.com, and closes it. On failure the file may remain; a
  // full disk is kNoSpace (else a failure gets a "full disk or quota" hint).
  Status WriteNewFile(const std::string& path, uint32_t mode, ByteView data);
  // Reads `length` bytes at `offset` of a regular file (length 0: to the
  // end), with many requests in flight. A range past the end, or a file that
  // ends early while being read, is kCorrupt. Never returns short data.
  Result<Bytes> ReadFile(const std::string& path, uint64_t offset, uint64_t length);

  // Calls fn(i, name, attrs) for every entry of dirs[i] ("." and ".."
  // included, as the server sends them), reading several directories at
  // once. A missing directory is skipped when `missing_ok`, else kNotFound.
  // A non-OK status from fn stops the listing and is returned.
  using DirEntryFn =
      std::function<Status(size_t index, const std::string& name, const SftpAttrs& attrs)>;
  Status ListDirectories(const std::vector<std::string>& dirs, bool missing_ok,
                         const DirEntryFn& fn);

 private:
  // A reply; `body` points into the frame splitter's buffer and is valid
  // until the next Receive.
  using Reply = sftp::SftpReply;

  SftpConnection(ssh_session_struct* session, ssh_channel_struct* channel, std::string peer,
                 int timeout_seconds);
  Status Init();
  uint32_t NextId();
  // Marks the connection broken; returns kUnavailable naming the peer.
  Status Broken(const std::string& why);
  Status Send(const Bytes& packet);
  // Waits for bytes from the channel and feeds them to splitter_.
  Status ReadMore();
  Result<Reply> Receive();
  // Sends one request and returns its reply (no other request in flight).
  Result<Reply> Call(const Bytes& packet, uint32_t id);
  // Maps a STATUS reply to a Status and records last_status_.
  Status StatusOf(const Reply& reply, const std::string& what);
  Status ExpectOk(const Bytes& packet, uint32_t id, const std::string& what);
  Status Extended2(std::string_view ext, const std::string& a, const std::string& b,
                   const std::string& what);
  Result<std::string> OpenHandle(uint8_t type, const std::string& path, uint32_t pflags,
                                 uint32_t mode, const std::string& what);
  Status CloseHandle(const std::string& handle, const std::string& what);

  ssh_session_struct* session_;
  ssh_channel_struct* channel_;
  std::string peer_;
  int timeout_ms_;
  bool broken_ = false;
  SftpCode last_status_ = SftpCode::kOk;
  uint32_t next_id_ = 1;
  uint32_t read_chunk_ = 32 * 1024;
  uint32_t write_chunk_ = 32 * 1024;
  std::vector<SftpExtension> extensions_;
  sftp::FrameSplitter splitter_;
  Bytes read_buf_;  // bytes from the channel on their way to splitter_
};

// The local user's home directory ($HOME, else the password database; "" if
// neither), for ~/.ssh defaults.
std::string LocalHomeDir();

}  // namespace lifeboat
