// SftpBackend: a repository in a directory of an SFTP server, with the same
// layout as LocalBackend (config, keys/NAME, data/NN/NAME, index/NAME,
// snapshots/NAME, locks/NAME; directories 0700).
//
// Save is atomic: the object is written to `<dir>/.tmp-<random>` (created
// exclusively, mode 0400 so that nobody can reopen it for writing), fsync'ed
// (fsync@openssh.com when offered), then published under its final name:
//   1. posix-rename@openssh.com (atomic replace), when offered and allowed;
//   2. else SSH_FXP_RENAME, which OpenSSH refuses when the name exists;
//   3. else hardlink@openssh.com (also refuses an existing name), then the
//      temporary name is removed if the server allows it.
// On an append-only server (sftp-server -P denying remove, rename,
// posix-rename, setstat, ...) saves of new objects therefore succeed, saving
// over an existing object fails with kAlreadyExists (unless its content is
// identical: then the save is a no-op), and Remove fails with
// kPermissionDenied. List ignores `.`-names, so stray temporary files never
// show up as objects; a half-written one is never visible under a final name.
//
// Connections: up to `sftp.connections` SSH connections, opened on demand
// and kept in a pool; each call borrows one. An operation that loses its
// connection (server restarted, network reset, timeout) is retried on a new
// connection up to `sftp.retries` times with a growing pause (0.2 s, 0.4 s,
// ... at most 5 s). Every operation is idempotent under retry: a retried
// Save writes a new temporary file; a Remove retried after a lost reply
// counts a now-missing object as removed.
//
// Ownership: owns its connections. Thread-safety: all methods may be called
// concurrently.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backend/backend.h"
#include "sftp/sftp_config.h"
#include "sftp/sftp_connection.h"

namespace lifeboat {

class SftpBackend final : public Backend {
 public:
  // Connects once (so that host key, authentication and network problems
  // show at open) and resolves a relative path against the login directory.
  static Result<std::unique_ptr<SftpBackend>> Open(const SftpUrl& url, const SftpOptions& options);
  ~SftpBackend() override;

  // "sftp:user@host:port:/abs/path".
  std::string Location() const override { return location_; }
  BackendCapabilities Capabilities() const override {
    return {.durable = true, .local = false, .connections = max_connections_};
  }

  // mkdir -p of the root and the layout (the 256 data/NN shards included).
  // kAlreadyExists if ROOT/config exists, ROOT is not a directory, or ROOT
  // holds anything besides layout directories.
  Status Create() override;
  Status Save(const ObjectName& name, ByteView data) override;
  Result<Bytes> Load(const ObjectName& name, uint64_t offset = 0, uint64_t length = 0) override;
  Result<uint64_t> Stat(const ObjectName& name) override;
  // kPermissionDenied with an "append-only?" hint when the server refuses.
  Status Remove(const ObjectName& name) override;
  // A missing type directory is kNotFound (not a repository). Entries are
  // gathered a batch of directories at a time and `fn` is called without
  // holding a connection, so `fn` may use this backend.
  Status List(ObjectType type, const std::function<Status(const ObjectInfo&)>& fn) override;

  // Absolute path of the repository root on the server.
  const std::string& root() const { return root_; }
  // Remote path where `name` is stored. Does not validate.
  std::string PathOf(const ObjectName& name) const;

 private:
  SftpBackend(SftpConnectParams params, SftpUrl url, const SftpOptions& options);

  struct Lease {
    std::unique_ptr<SftpConnection> conn;
    bool reused = false;  // taken from the pool (may have gone stale)
  };
  Result<Lease> Acquire();
  void Release(std::unique_ptr<SftpConnection> conn);
  // Runs op(connection, retried) with retries on lost connections. `retried`
  // is true when an earlier attempt may have reached the server.
  template <typename Op>
  auto Run(Op&& op) -> decltype(op(std::declval<SftpConnection&>(), false));

  std::string DirOf(const ObjectName& name) const;
  // Publishes a written temporary file under `final_path` (see above).
  Status Publish(SftpConnection& conn, const std::string& tmp, const std::string& final_path,
                 ByteView data);
  // `final_path` exists and the server will not replace it.
  Status CompareExisting(SftpConnection& conn, const std::string& final_path, ByteView data);
  // Lists `dirs` on one connection, collecting regular non-hidden files
  // whose names are valid for `type`.
  Result<std::vector<ObjectInfo>> ListFiles(ObjectType type, const std::vector<std::string>& dirs,
                                            bool missing_ok);

  const SftpConnectParams params_;
  SftpUrl url_;
  std::string root_;
  std::string location_;
  const int max_connections_;
  const int retries_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<SftpConnection>> idle_;  // guarded by mu_
  int open_ = 0;                                       // guarded by mu_

  // Learned from the server's refusals (append-only servers).
  std::atomic<bool> posix_rename_refused_{false};
  std::atomic<bool> rename_refused_{false};
};

// Opens "sftp:" + `url_rest` with `options` (see sftp_config.h).
Result<std::unique_ptr<Backend>> OpenSftpBackend(std::string_view url_rest,
                                                 const std::map<std::string, std::string>& options);

}  // namespace lifeboat
