// Local filesystem metadata: lstat/readlink/xattrs into a Node, and the
// reverse for restore. POSIX + Linux xattr calls only; every call works on the
// path itself (l* variants, AT_SYMLINK_NOFOLLOW) so symlinks are never followed.
#include "env/fs_meta.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace lifeboat {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;

std::string Quote(const std::string& path) { return "'" + path + "'"; }

int64_t TimespecNs(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * kNsPerSecond + ts.tv_nsec;
}

struct timespec NsTimespec(int64_t ns) {
  struct timespec ts;
  int64_t sec = ns / kNsPerSecond, nsec = ns % kNsPerSecond;
  if (nsec < 0) {
    nsec += kNsPerSecond;
    sec -= 1;
  }
  ts.tv_sec = static_cast<time_t>(sec);
  ts.tv_nsec = static_cast<long>(nsec);
  return ts;
}

size_t InitialNssBufferSize() {
  long n = sysconf(_SC_GETPW_R_SIZE_MAX);
  return n > 0 ? static_cast<size_t>(n) : 16384;
}

std::string LookupUserName(uint32_t uid) {
  std::vector<char> buf(InitialNssBufferSize());
  for (;;) {
    struct passwd pw, *found = nullptr;
    int rc = getpwuid_r(uid, &pw, buf.data(), buf.size(), &found);
    if (rc == ERANGE && buf.size() < (1u << 24)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    return rc == 0 && found ? std::string(pw.pw_name) : std::string();
  }
}

std::string LookupGroupName(uint32_t gid) {
  std::vector<char> buf(InitialNssBufferSize());
  for (;;) {
    struct group gr, *found = nullptr;
    int rc = getgrgid_r(gid, &gr, buf.data(), buf.size(), &found);
    if (rc == ERANGE && buf.size() < (1u << 24)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    return rc == 0 && found ? std::string(gr.gr_name) : std::string();
  }
}

std::optional<uint32_t> LookupUserId(const std::string& name) {
  std::vector<char> buf(InitialNssBufferSize());
  for (;;) {
    struct passwd pw, *found = nullptr;
    int rc = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
    if (rc == ERANGE && buf.size() < (1u << 24)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (rc == 0 && found) return static_cast<uint32_t>(pw.pw_uid);
    return std::nullopt;
  }
}

std::optional<uint32_t> LookupGroupId(const std::string& name) {
  std::vector<char> buf(InitialNssBufferSize());
  for (;;) {
    struct group gr, *found = nullptr;
    int rc = getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found);
    if (rc == ERANGE && buf.size() < (1u << 24)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (rc == 0 && found) return static_cast<uint32_t>(gr.gr_gid);
    return std::nullopt;
  }
}

bool XattrUnsupported(int err) { return err == ENOTSUP || err == ENOSYS; }

// The target of the symlink `rel` (relative to dir_fd, or AT_FDCWD), whose
// full path `path` names it in messages.
Result<std::string> ReadLinkTarget(int dir_fd, const std::string& rel, const std::string& path,
                                   size_t size_hint) {
  std::string buf(std::max<size_t>(size_hint + 1, 256), '\0');
  for (;;) {
    ssize_t n = readlinkat(dir_fd, rel.c_str(), buf.data(), buf.size());
    if (n < 0) return ErrnoStatus(errno, "unable to read symlink " + Quote(path));
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    if (buf.size() >= (1u << 20)) return IoError("symlink " + Quote(path) + " target too long");
    buf.resize(buf.size() * 2);  // possibly truncated: grow and retry
  }
}

// Reads all extended attributes of `path` (not following symlinks), sorted by
// name. Filesystems without xattr support yield an empty list.
Result<std::vector<Xattr>> ReadXattrs(const std::string& path) {
  std::vector<Xattr> out;
  std::string names;
  for (int attempt = 0;; ++attempt) {
    ssize_t size = llistxattr(path.c_str(), nullptr, 0);
    if (size < 0) {
      if (XattrUnsupported(errno)) return out;
      return ErrnoStatus(errno, "unable to list xattrs of " + Quote(path));
    }
    if (size == 0) return out;
    names.assign(static_cast<size_t>(size), '\0');
    ssize_t got = llistxattr(path.c_str(), names.data(), names.size());
    if (got >= 0) {
      names.resize(static_cast<size_t>(got));
      break;
    }
    if (errno != ERANGE || attempt >= 16) {  // ERANGE: the list grew meanwhile
      return ErrnoStatus(errno, "unable to list xattrs of " + Quote(path));
    }
  }
  size_t start = 0;
  while (start < names.size()) {
    size_t end = names.find('\0', start);
    if (end == std::string::npos) end = names.size();
    std::string name = names.substr(start, end - start);
    start = end + 1;
    if (name.empty()) continue;
    Bytes value;
    bool present = true;
    for (int attempt = 0;; ++attempt) {
      ssize_t size = lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
      if (size < 0) {
        if (errno == ENODATA || XattrUnsupported(errno)) {  // removed since listing
          present = false;
          break;
        }
        return ErrnoStatus(errno, "unable to read xattr '" + name + "' of " + Quote(path));
      }
      value.resize(static_cast<size_t>(size));
      ssize_t got = lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
      if (got >= 0) {
        value.resize(static_cast<size_t>(got));
        break;
      }
      if (errno == ENODATA) {
        present = false;
        break;
      }
      if (errno != ERANGE || attempt >= 16) {  // ERANGE: the value grew meanwhile
        return ErrnoStatus(errno, "unable to read xattr '" + name + "' of " + Quote(path));
      }
    }
    if (present) out.push_back(Xattr{std::move(name), std::move(value)});
  }
  std::sort(out.begin(), out.end(),
            [](const Xattr& a, const Xattr& b) { return a.name < b.name; });
  return out;
}

void KeepFirstError(Status& first, Status s) {
  if (first.ok() && !s.ok()) first = std::move(s);
}

}  // namespace

std::string UserGroupNames::UserName(uint32_t uid) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = users_.find(uid); it != users_.end()) return it->second;
  }
  std::string name = LookupUserName(uid);  // NSS may be slow: not under the lock
  std::lock_guard<std::mutex> lock(mu_);
  return users_.emplace(uid, std::move(name)).first->second;
}

std::string UserGroupNames::GroupName(uint32_t gid) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = groups_.find(gid); it != groups_.end()) return it->second;
  }
  std::string name = LookupGroupName(gid);
  std::lock_guard<std::mutex> lock(mu_);
  return groups_.emplace(gid, std::move(name)).first->second;
}

std::optional<uint32_t> UserGroupNames::UserId(const std::string& name) {
  if (name.empty()) return std::nullopt;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = user_ids_.find(name); it != user_ids_.end()) return it->second;
  }
  std::optional<uint32_t> id = LookupUserId(name);
  std::lock_guard<std::mutex> lock(mu_);
  return user_ids_.emplace(name, id).first->second;
}

std::optional<uint32_t> UserGroupNames::GroupId(const std::string& name) {
  if (name.empty()) return std::nullopt;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = group_ids_.find(name); it != group_ids_.end()) return it->second;
  }
  std::optional<uint32_t> id = LookupGroupId(name);
  std::lock_guard<std::mutex> lock(mu_);
  return group_ids_.emplace(name, id).first->second;
}

Result<Node> StatNode(const std::string& path, std::string name, UserGroupNames& names,
                      const StatOptions& options) {
  return StatNodeAt(AT_FDCWD, path, std::move(name), names, options);
}

Result<Node> StatNodeAt(int dir_fd, const std::string& path, std::string name,
                        UserGroupNames& names, const StatOptions& options) {
  // Relative to the directory's descriptor, the kernel looks up one name
  // instead of every component of the path.
  struct stat st;
  const char* rel = dir_fd == AT_FDCWD ? path.c_str() : name.c_str();
  if (fstatat(dir_fd, rel, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(errno, "unable to stat " + Quote(path));
  }
  Node node;
  node.name = std::move(name);
  switch (st.st_mode & S_IFMT) {
    case S_IFREG: node.type = NodeType::kFile; break;
    case S_IFDIR: node.type = NodeType::kDir; break;
    case S_IFLNK: node.type = NodeType::kSymlink; break;
    case S_IFBLK: node.type = NodeType::kBlockDev; break;
    case S_IFCHR: node.type = NodeType::kCharDev; break;
    case S_IFIFO: node.type = NodeType::kFifo; break;
    case S_IFSOCK: node.type = NodeType::kSocket; break;
    default:
      return InvalidArgument("unable to back up " + Quote(path) + ": unknown file type");
  }
  node.mode = st.st_mode & 07777;
  node.uid = st.st_uid;
  node.gid = st.st_gid;
  node.user = names.UserName(st.st_uid);
  node.group = names.GroupName(st.st_gid);
  node.mtime_ns = TimespecNs(st.st_mtim);
  node.atime_ns = TimespecNs(st.st_atim);
  node.ctime_ns = TimespecNs(st.st_ctim);
  node.size = node.type == NodeType::kFile ? static_cast<uint64_t>(st.st_size) : 0;
  node.inode = st.st_ino;
  node.device_id = st.st_dev;
  node.links = static_cast<uint32_t>(st.st_nlink);
  if (node.type == NodeType::kBlockDev || node.type == NodeType::kCharDev) node.rdev = st.st_rdev;
  if (node.type == NodeType::kSymlink) {
    LB_ASSIGN_OR_RETURN(node.link_target,
                        ReadLinkTarget(dir_fd, dir_fd == AT_FDCWD ? path : node.name, path,
                                       static_cast<size_t>(std::max<off_t>(st.st_size, 0))));
  }
  if (options.read_xattrs) {
    const Node* prev = options.previous;
    if (prev != nullptr && prev->type == node.type && prev->device_id == node.device_id &&
        prev->inode == node.inode && prev->ctime_ns == node.ctime_ns) {
      node.xattrs = prev->xattrs;
    } else {
      LB_ASSIGN_OR_RETURN(node.xattrs, ReadXattrs(path));
    }
  }
  return node;
}

Result<std::vector<std::string>> ListDirectory(const std::string& path, int* dir_fd) {
  if (dir_fd != nullptr) *dir_fd = -1;
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "unable to open directory " + Quote(path));
  // A duplicate outlives closedir (cheaper than opening the path again).
  if (dir_fd != nullptr) *dir_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    int err = errno;
    close(fd);
    return ErrnoStatus(err, "unable to open directory " + Quote(path));
  }
  std::vector<std::string> entries;
  for (;;) {
    errno = 0;
    struct dirent* entry = readdir(dir);
    if (entry == nullptr) {
      int err = errno;
      closedir(dir);
      if (err != 0) return ErrnoStatus(err, "unable to read directory " + Quote(path));
      break;
    }
    const char* n = entry->d_name;
    if (std::strcmp(n, ".") == 0 || std::strcmp(n, "..") == 0) continue;
    entries.emplace_back(n);
  }
  // std::string's operator< compares chars as unsigned (char_traits<char>),
  // i.e. bytewise like memcmp — the tree order.
  std::sort(entries.begin(), entries.end());
  return entries;
}

Status CreateSpecialNode(const std::string& path, const Node& node) {
  switch (node.type) {
    case NodeType::kDir: {
      if (mkdir(path.c_str(), 0700) == 0) return Status::Ok();
      int err = errno;
      struct stat st;
      if (err == EEXIST && lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        return Status::Ok();
      }
      return ErrnoStatus(err, "unable to create directory " + Quote(path));
    }
    case NodeType::kSymlink:
      if (symlink(node.link_target.c_str(), path.c_str()) != 0) {
        return ErrnoStatus(errno, "unable to create symlink " + Quote(path));
      }
      return Status::Ok();
    case NodeType::kFifo:
      if (mkfifo(path.c_str(), 0600) != 0) {
        return ErrnoStatus(errno, "unable to create FIFO " + Quote(path));
      }
      return Status::Ok();
    case NodeType::kBlockDev:
    case NodeType::kCharDev: {
      mode_t kind = node.type == NodeType::kBlockDev ? S_IFBLK : S_IFCHR;
      if (mknod(path.c_str(), kind | 0600, static_cast<dev_t>(node.rdev)) != 0) {
        return ErrnoStatus(errno, "unable to create device node " + Quote(path));
      }
      return Status::Ok();
    }
    case NodeType::kSocket:
      return Status::Ok();  // sockets belong to a running process: nothing to restore
    case NodeType::kFile:
      break;
  }
  return InvalidArgument("unable to create " + Quote(path) + ": " +
                         std::string(NodeTypeName(node.type)) + " is not a special node");
}

namespace {

// Whether this process may change owners (chown needs root). The effective
// uid does not change while lifeboat runs; asked once, not once per file.
bool RunningAsRoot() {
  static const bool root = geteuid() == 0;
  return root;
}

}  // namespace

Status ApplyMetadata(const std::string& path, const Node& node, UserGroupNames& names,
                     const RestoreOptions& options) {
  Status first;
  const bool is_symlink = node.type == NodeType::kSymlink;

  if (options.restore_owner && RunningAsRoot()) {
    uid_t uid = names.UserId(node.user).value_or(node.uid);
    gid_t gid = names.GroupId(node.group).value_or(node.gid);
    if (lchown(path.c_str(), uid, gid) != 0) {
      KeepFirstError(first, ErrnoStatus(errno, "unable to set owner of " + Quote(path)));
    }
  }

  if (options.restore_xattrs) {
    for (const Xattr& x : node.xattrs) {
      if (lsetxattr(path.c_str(), x.name.c_str(), x.value.data(), x.value.size(), 0) == 0) {
        continue;
      }
      int err = errno;
      // Linux refuses user.* xattrs on symlinks (EPERM); not an error worth reporting.
      if (is_symlink && (err == EPERM || XattrUnsupported(err))) continue;
      KeepFirstError(first, ErrnoStatus(err, "unable to set xattr '" + x.name + "' on " +
                                                 Quote(path)));
    }
  }

  // After chown, which clears setuid/setgid bits.
  if (!is_symlink && chmod(path.c_str(), node.mode & 07777) != 0) {
    KeepFirstError(first, ErrnoStatus(errno, "unable to set mode of " + Quote(path)));
  }

  struct timespec times[2] = {NsTimespec(node.atime_ns), NsTimespec(node.mtime_ns)};
  if (utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    KeepFirstError(first, ErrnoStatus(errno, "unable to set times of " + Quote(path)));
  }
  return first;
}

Status ApplyFileMetadata(int fd, const std::string& path, const Node& node, UserGroupNames& names,
                         const RestoreOptions& options) {
  Status first;
  struct stat st;
  const bool have_stat = fstat(fd, &st) == 0;

  if (options.restore_owner && RunningAsRoot()) {
    uid_t uid = names.UserId(node.user).value_or(node.uid);
    gid_t gid = names.GroupId(node.group).value_or(node.gid);
    // A file this process just created is usually owned right already; a
    // chown that changes nothing would still dirty the inode.
    if ((!have_stat || st.st_uid != uid || st.st_gid != gid) && fchown(fd, uid, gid) != 0) {
      KeepFirstError(first, ErrnoStatus(errno, "unable to set owner of " + Quote(path)));
    }
  }

  if (options.restore_xattrs) {
    for (const Xattr& x : node.xattrs) {
      if (fsetxattr(fd, x.name.c_str(), x.value.data(), x.value.size(), 0) != 0) {
        KeepFirstError(first, ErrnoStatus(errno, "unable to set xattr '" + x.name + "' on " +
                                                     Quote(path)));
      }
    }
  }

  // After chown, which clears setuid/setgid bits.
  if (fchmod(fd, node.mode & 07777) != 0) {
    KeepFirstError(first, ErrnoStatus(errno, "unable to set mode of " + Quote(path)));
  }

  struct timespec times[2] = {NsTimespec(node.atime_ns), NsTimespec(node.mtime_ns)};
  if (futimens(fd, times) != 0) {
    KeepFirstError(first, ErrnoStatus(errno, "unable to set times of " + Quote(path)));
  }
  return first;
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  size_t dir_end = dir.find_last_not_of('/');
  size_t name_start = name.find_first_not_of('/');
  std::string out = dir_end == std::string::npos ? std::string() : dir.substr(0, dir_end + 1);
  out += '/';
  if (name_start != std::string::npos) out.append(name, name_start, std::string::npos);
  return out;
}

}  // namespace lifeboat
