// SftpBackend implementation: layout, connection pool, retries and the
// publish fallbacks for append-only servers (see sftp_backend.h).
#include "sftp/sftp_backend.h"

#include "backend/file_util.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>

namespace lifeboat {
namespace {

constexpr uint32_t kDirMode = 0700;
// Read-only from creation: the write handle returned by the exclusive open
// still works, but nobody (this client included) can reopen the object for
// writing or truncate it, which is what makes an append-only server hold.
constexpr uint32_t kFileMode = 0400;
constexpr ObjectType kDirTypes[] = {ObjectType::kKey,      ObjectType::kPack, ObjectType::kIndex,
                                    ObjectType::kSnapshot, ObjectType::kLock, ObjectType::kWal};
// Shard directories listed per connection lease.
constexpr size_t kListBatch = 32;


std::string ShardName(unsigned i) {
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string{kHex[i >> 4], kHex[i & 15]};
}

// Types whose directory a repository created by an older lifeboat lacks:
// created on first write, and a missing one lists as empty.
bool IsLateType(ObjectType type) { return type == ObjectType::kWal; }

bool IsLayoutDir(std::string_view name) {
  for (ObjectType t : kDirTypes) {
    if (name == ObjectTypeName(t)) return true;
  }
  return false;
}


// "~/x" → "$HOME/x" for local file options.
std::string ExpandHome(const std::string& path) {
  if (path.rfind("~/", 0) == 0) return LocalHomeDir() + path.substr(1);
  return path;
}

const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const Result<T>& r) {
  return r.status();
}

}  // namespace

SftpBackend::SftpBackend(SftpConnectParams params, SftpUrl url, const SftpOptions& options)
    : params_(std::move(params)),
      url_(std::move(url)),
      max_connections_(options.connections),
      retries_(options.retries) {}

SftpBackend::~SftpBackend() = default;

Result<std::unique_ptr<SftpBackend>> SftpBackend::Open(const SftpUrl& url,
                                                       const SftpOptions& options) {
  SftpUrl u = url;
  if (u.user.empty()) u.user = DefaultSftpUser();
  if (u.user.empty()) {
    return Status(Code::kInvalidArgument, "no user name for " + FormatSftpUrl(url),
                  "write sftp:USER@HOST:PATH");
  }
  SftpConnectParams params;
  params.host = u.host;
  params.port = u.port;
  params.user = u.user;
  params.key_file = ExpandHome(options.key_file);
  params.known_hosts = options.known_hosts.empty() ? LocalHomeDir() + "/.ssh/known_hosts"
                                                   : ExpandHome(options.known_hosts);
  params.timeout_seconds = options.timeout_seconds;
  std::unique_ptr<SftpBackend> backend(new SftpBackend(std::move(params), u, options));

  // The first connection proves access; a relative path is resolved on it.
  std::string root = u.path;
  Status connected = backend->Run([&](SftpConnection& conn, bool) -> Status {
    if (!root.empty() && root[0] == '/') return Status::Ok();
    LB_ASSIGN_OR_RETURN(std::string home, conn.RealPath("."));
    if (home != "/") home += "/";
    root = u.path.empty() ? home : home + u.path;
    while (root.size() > 1 && root.back() == '/') root.pop_back();
    return Status::Ok();
  });
  if (!connected.ok()) return connected.WithContext("unable to open " + FormatSftpUrl(u));
  backend->root_ = root;
  backend->url_.path = root;
  backend->location_ = FormatSftpUrl(backend->url_);
  return backend;
}

Result<std::unique_ptr<Backend>> OpenSftpBackend(
    std::string_view url_rest, const std::map<std::string, std::string>& options) {
  LB_ASSIGN_OR_RETURN(SftpUrl url, ParseSftpUrl(url_rest));
  LB_ASSIGN_OR_RETURN(SftpOptions parsed, ParseSftpOptions(options));
  LB_ASSIGN_OR_RETURN(std::unique_ptr<SftpBackend> backend, SftpBackend::Open(url, parsed));
  return std::unique_ptr<Backend>(std::move(backend));
}

// ---------------------------------------------------------------------------
// Connection pool and retries.

Result<SftpBackend::Lease> SftpBackend::Acquire() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !idle_.empty() || open_ < max_connections_; });
  if (!idle_.empty()) {
    Lease lease{std::move(idle_.back()), true};
    idle_.pop_back();
    return lease;
  }
  ++open_;
  lock.unlock();
  Result<std::unique_ptr<SftpConnection>> conn = SftpConnection::Connect(params_);
  if (!conn.ok()) {
    lock.lock();
    --open_;
    cv_.notify_one();
    return conn.status();
  }
  return Lease{std::move(conn).value(), false};
}

void SftpBackend::Release(std::unique_ptr<SftpConnection> conn) {
  if (conn->broken()) {
    conn.reset();  // outside the lock: closing may touch the network
    std::lock_guard lock(mu_);
    --open_;
  } else {
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(conn));
  }
  cv_.notify_one();
}

template <typename Op>
auto SftpBackend::Run(Op&& op) -> decltype(op(std::declval<SftpConnection&>(), false)) {
  using R = decltype(op(std::declval<SftpConnection&>(), false));
  Status last;
  bool retried = false;
  int attempts = 0;
  while (true) {
    Result<Lease> lease = Acquire();
    if (!lease.ok()) {
      last = lease.status();
      if (last.code() != Code::kUnavailable) return R(last);
    } else {
      const bool reused = lease->reused;
      R result = op(*lease->conn, retried);
      const bool broken = lease->conn->broken();
      Release(std::move(lease->conn));
      if (!broken || StatusOf(result).ok()) return result;
      last = StatusOf(result);
      retried = true;
      // A pooled connection that died while idle (server restarted) does
      // not count as an attempt: there are at most max_connections_ of them.
      if (reused) continue;
    }
    if (attempts++ >= retries_) break;
    const auto pause = std::chrono::milliseconds(std::min(200 << std::min(attempts - 1, 5), 5000));
    std::this_thread::sleep_for(pause);
  }
  return R(Status(last.code(),
                  last.message() + " (gave up after " + std::to_string(attempts) +
                      (attempts == 1 ? " attempt)" : " attempts)"),
                  last.hint()));
}

// ---------------------------------------------------------------------------
// Layout.

std::string SftpBackend::DirOf(const ObjectName& name) const {
  if (name.type == ObjectType::kConfig) return root_;
  std::string dir = root_ + "/" + std::string(ObjectTypeName(name.type));
  if (name.type == ObjectType::kPack) dir += "/" + name.name.substr(0, 2);
  return dir;
}

std::string SftpBackend::PathOf(const ObjectName& name) const {
  if (name.type == ObjectType::kConfig) return root_ + "/config";
  return DirOf(name) + "/" + name.name;
}

Status SftpBackend::Create() {
  const std::string what = "unable to create repository at " + location_;
  Status s = Run([&](SftpConnection& conn, bool) -> Status {
    Result<SftpAttrs> root = conn.Stat(root_);
    if (root.ok()) {
      if (!root->IsDirectory()) return AlreadyExists(root_ + " exists and is not a directory");
      Result<SftpAttrs> config = conn.Stat(root_ + "/config");
      if (config.ok()) {
        return Status(Code::kAlreadyExists, "a repository already exists there",
                      "use the existing repository or choose another location");
      }
      if (config.status().code() != Code::kNotFound) return config.status();
      std::string stranger;
      LB_RETURN_IF_ERROR(conn.ListDirectories(
          {root_}, false, [&](size_t, const std::string& name, const SftpAttrs&) {
            if (name != "." && name != ".." && !IsLayoutDir(name) && stranger.empty()) {
              stranger = name;
            }
            return Status::Ok();
          }));
      if (!stranger.empty()) {
        return Status(Code::kAlreadyExists, "directory is not empty (found '" + stranger + "')",
                      "choose an empty or new directory");
      }
    } else if (root.status().code() == Code::kNotFound) {
      // mkdir -p, one level at a time (parents before children).
      for (size_t pos = 1; pos <= root_.size(); ++pos) {
        if (pos == root_.size() || root_[pos] == '/') {
          LB_RETURN_IF_ERROR(conn.MakeDirectories({root_.substr(0, pos)}, kDirMode));
        }
      }
    } else {
      return root.status();
    }
    std::vector<std::string> dirs;
    for (ObjectType t : kDirTypes) dirs.push_back(root_ + "/" + std::string(ObjectTypeName(t)));
    LB_RETURN_IF_ERROR(conn.MakeDirectories(dirs, kDirMode));
    std::vector<std::string> shards;
    const std::string data = root_ + "/" + std::string(ObjectTypeName(ObjectType::kPack));
    for (unsigned i = 0; i < 256; ++i) shards.push_back(data + "/" + ShardName(i));
    return conn.MakeDirectories(shards, kDirMode);
  });
  return s.WithContext(what);
}

// ---------------------------------------------------------------------------
// Objects.

Status SftpBackend::CompareExisting(SftpConnection& conn, const std::string& final_path,
                                    ByteView data) {
  Result<SftpAttrs> attrs = conn.Stat(final_path);
  if (!attrs.ok()) return attrs.status();
  if (attrs->has_size && attrs->size == data.size()) {
    Result<Bytes> existing = conn.ReadFile(final_path, 0, 0);
    if (!existing.ok() && conn.broken()) return existing.status();
    if (existing.ok() && std::equal(existing->begin(), existing->end(), data.begin(), data.end())) {
      return Status::Ok();  // already stored, e.g. by an attempt whose reply was lost
    }
  }
  return Status(Code::kAlreadyExists,
                "the server refuses to replace the existing " + final_path +
                    " (posix-rename is not available or denied)",
                "the server appears to be append-only: objects there can be added but never "
                "replaced or deleted");
}

Status SftpBackend::Publish(SftpConnection& conn, const std::string& tmp,
                            const std::string& final_path, ByteView data) {
  bool posix_denied = false;
  bool rename_denied = false;
  auto refused = [&] {
    return conn.last_status() == SftpCode::kPermissionDenied ||
           conn.last_status() == SftpCode::kOpUnsupported;
  };
  Status s;
  if (!posix_rename_refused_ && conn.HasExtension("posix-rename@openssh.com")) {
    s = conn.PosixRename(tmp, final_path);
    if (s.ok() || conn.broken() || !refused()) return s;
    posix_denied = true;
  }
  if (!rename_refused_) {
    s = conn.Rename(tmp, final_path);
    if (s.ok()) {
      if (posix_denied) posix_rename_refused_ = true;
      return s;
    }
    if (conn.broken()) return s;
    if (!refused()) {
      Result<SftpAttrs> exists = conn.Stat(final_path);
      if (exists.ok()) return CompareExisting(conn, final_path, data);
      return s;
    }
    rename_denied = true;
  }
  if (conn.HasExtension("hardlink@openssh.com")) {
    s = conn.Hardlink(tmp, final_path);
    if (s.ok()) {
      if (posix_denied) posix_rename_refused_ = true;
      if (rename_denied) rename_refused_ = true;
      // On an append-only server this is refused and the temporary name
      // stays as a second, hidden link to the object.
      conn.Remove(tmp).IgnoreError();
      return Status::Ok();
    }
    if (conn.broken()) return s;
    Result<SftpAttrs> exists = conn.Stat(final_path);
    if (exists.ok()) return CompareExisting(conn, final_path, data);
    return s;
  }
  return s.WithHint(
      "the server allows neither rename nor hardlink@openssh.com, so objects cannot be "
      "published atomically");
}

Status SftpBackend::Save(const ObjectName& name, ByteView data) {
  LB_RETURN_IF_ERROR(ValidateObjectName(name));
  const std::string dir = DirOf(name);
  const std::string final_path = PathOf(name);
  Status s = Run([&](SftpConnection& conn, bool) -> Status {
    std::string tmp = dir + "/" + TempName();
    Status written = conn.WriteNewFile(tmp, kFileMode, data);
    if (!written.ok() && !conn.broken() && conn.last_status() == SftpCode::kNoSuchFile &&
        name.type == ObjectType::kPack) {
      // A missing data/NN shard (removed by hand): recreate it, but only
      // inside an existing data/ directory.
      Result<SftpAttrs> parent = conn.Stat(root_ + "/data");
      if (parent.ok() && parent->IsDirectory() && conn.MakeDirectories({dir}, kDirMode).ok()) {
        tmp = dir + "/" + TempName();
        written = conn.WriteNewFile(tmp, kFileMode, data);
      }
    }
    if (!written.ok() && !conn.broken() && conn.last_status() == SftpCode::kNoSuchFile &&
        IsLateType(name.type)) {
      // wal/ in a repository created before it existed: create it inside
      // the existing repository root.
      Result<SftpAttrs> parent = conn.Stat(root_ + "/config");
      if (parent.ok() && conn.MakeDirectories({dir}, kDirMode).ok()) {
        tmp = dir + "/" + TempName();
        written = conn.WriteNewFile(tmp, kFileMode, data);
      }
    }
    if (!written.ok()) {
      if (!conn.broken()) conn.Remove(tmp).IgnoreError();
      return written;
    }
    Status published = Publish(conn, tmp, final_path, data);
    if (!published.ok() && !conn.broken()) conn.Remove(tmp).IgnoreError();
    return published;
  });
  return s.WithContext("unable to save " + name.ToString() + " to " + location_);
}

Result<Bytes> SftpBackend::Load(const ObjectName& name, uint64_t offset, uint64_t length) {
  LB_RETURN_IF_ERROR(ValidateObjectName(name));
  const std::string path = PathOf(name);
  Result<Bytes> r = Run([&](SftpConnection& conn, bool) -> Result<Bytes> {
    return conn.ReadFile(path, offset, length);
  });
  if (!r.ok())
    return r.status().WithContext("unable to load " + name.ToString() + " from " + location_);
  return r;
}

Result<uint64_t> SftpBackend::Stat(const ObjectName& name) {
  LB_RETURN_IF_ERROR(ValidateObjectName(name));
  const std::string path = PathOf(name);
  Result<uint64_t> r = Run([&](SftpConnection& conn, bool) -> Result<uint64_t> {
    LB_ASSIGN_OR_RETURN(SftpAttrs attrs, conn.Stat(path));
    if (!attrs.IsRegular()) return IoError(path + " is not a regular file");
    if (!attrs.has_size) return IoError("the server did not report the size of " + path);
    return attrs.size;
  });
  if (!r.ok())
    return r.status().WithContext("unable to stat " + name.ToString() + " at " + location_);
  return r;
}

Status SftpBackend::Remove(const ObjectName& name) {
  LB_RETURN_IF_ERROR(ValidateObjectName(name));
  const std::string path = PathOf(name);
  Status s = Run([&](SftpConnection& conn, bool retried) -> Status {
    Status removed = conn.Remove(path);
    if (removed.code() == Code::kNotFound && retried) {
      return Status::Ok();  // an attempt whose reply was lost removed it
    }
    if (removed.code() == Code::kPermissionDenied) {
      return Status(
          Code::kPermissionDenied,
          "the server refuses deletion of " + path + " (append-only?): " + removed.message(),
          "an append-only server (sftp-server -P remove,...) keeps every object; run "
          "forget/prune and lock clean-up against a server that allows deletion");
    }
    return removed;
  });
  return s.WithContext("unable to remove " + name.ToString() + " from " + location_);
}

Result<std::vector<ObjectInfo>> SftpBackend::ListFiles(ObjectType type,
                                                       const std::vector<std::string>& dirs,
                                                       bool missing_ok) {
  return Run([&](SftpConnection& conn, bool) -> Result<std::vector<ObjectInfo>> {
    std::vector<ObjectInfo> found;
    Status s = conn.ListDirectories(
        dirs, missing_ok, [&](size_t index, const std::string& name, const SftpAttrs& attrs) {
          // Temporary files, non-files and names no object can have (a
          // listing is untrusted input) are not objects.
          if (name.empty() || name[0] == '.' || !attrs.IsRegular() ||
              !ValidateObjectName({type, name}).ok()) {
            return Status::Ok();
          }
          if (!attrs.has_size) {
            return IoError("the server did not report the size of " + dirs[index] + "/" + name);
          }
          found.push_back(ObjectInfo{name, attrs.size});
          return Status::Ok();
        });
    if (!s.ok()) return s;
    return found;
  });
}

Status SftpBackend::List(ObjectType type, const std::function<Status(const ObjectInfo&)>& fn) {
  const std::string what =
      "unable to list " + std::string(ObjectTypeName(type)) + " in " + location_;
  if (type == ObjectType::kConfig) {
    Result<uint64_t> size = Stat({ObjectType::kConfig, "config"});
    if (!size.ok()) {
      if (size.status().code() == Code::kNotFound) return Status::Ok();
      return size.status();
    }
    return fn(ObjectInfo{"config", *size});
  }
  const std::string dir = root_ + "/" + std::string(ObjectTypeName(type));
  if (type != ObjectType::kPack) {
    Result<std::vector<ObjectInfo>> files = ListFiles(type, {dir}, /*missing_ok=*/IsLateType(type));
    if (!files.ok()) return files.status().WithContext(what);
    for (const ObjectInfo& info : *files) LB_RETURN_IF_ERROR(fn(info));
    return Status::Ok();
  }

  // data/: the shard directories, then their files a batch at a time.
  Result<std::vector<std::string>> shards =
      Run([&](SftpConnection& conn, bool) -> Result<std::vector<std::string>> {
        std::vector<std::string> found;
        Status s = conn.ListDirectories(
            {dir}, false, [&](size_t, const std::string& name, const SftpAttrs& attrs) {
              if (!name.empty() && name[0] != '.' && attrs.IsDirectory()) {
                found.push_back(dir + "/" + name);
              }
              return Status::Ok();
            });
        if (!s.ok()) return s;
        return found;
      });
  if (!shards.ok()) return shards.status().WithContext(what);
  for (size_t begin = 0; begin < shards->size(); begin += kListBatch) {
    const size_t end = std::min(shards->size(), begin + kListBatch);
    const std::vector<std::string> batch(shards->begin() + static_cast<ptrdiff_t>(begin),
                                         shards->begin() + static_cast<ptrdiff_t>(end));
    Result<std::vector<ObjectInfo>> files = ListFiles(type, batch, /*missing_ok=*/true);
    if (!files.ok()) return files.status().WithContext(what);
    for (const ObjectInfo& info : *files) LB_RETURN_IF_ERROR(fn(info));
  }
  return Status::Ok();
}

}  // namespace lifeboat
