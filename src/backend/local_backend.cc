// LocalBackend implementation: see local_backend.h for the layout and the
// atomic-save discipline. Plain POSIX calls (no std::filesystem) so that every
// failure is an errno mapped through ErrnoStatus, never an exception.
#include "backend/local_backend.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include "backend/file_util.h"

namespace lifeboat {
namespace {

constexpr mode_t kDirMode = 0700;
constexpr mode_t kFileMode = 0600;
constexpr ObjectType kDirTypes[] = {ObjectType::kKey,      ObjectType::kPack, ObjectType::kIndex,
                                    ObjectType::kSnapshot, ObjectType::kLock, ObjectType::kWal};

// Types added after format version 1 was first written: repositories created
// before them have no directory for them, so Save creates it on first use and
// List treats a missing one as empty.
bool IsLateType(ObjectType type) { return type == ObjectType::kWal; }

// Owns a DIR*.
class UniqueDir {
 public:
  explicit UniqueDir(DIR* dir) : dir_(dir) {}
  ~UniqueDir() {
    if (dir_ != nullptr) ::closedir(dir_);
  }
  UniqueDir(const UniqueDir&) = delete;
  UniqueDir& operator=(const UniqueDir&) = delete;
  DIR* get() const { return dir_; }

 private:
  DIR* dir_;
};

// Reads exactly `len` bytes at `offset`; a premature end of file is kCorrupt.
Status ReadAll(int fd, uint8_t* out, uint64_t len, uint64_t offset, const std::string& path) {
  uint64_t done = 0;
  while (done < len) {
    const ssize_t n = ::pread(fd, out + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "unable to read " + path);
    }
    if (n == 0) {
      return Corrupt("unable to read " + path + ": file ended after " + std::to_string(done) +
                     " of " + std::to_string(len) + " bytes at offset " + std::to_string(offset));
    }
    done += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

// mkdir with kDirMode; an existing directory is fine.
Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), kDirMode) == 0) return Status::Ok();
  const int err = errno;
  if (err == EEXIST) {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Status::Ok();
    return AlreadyExists("unable to create directory " + path + ": exists and is not a directory");
  }
  return ErrnoStatus(err, "unable to create directory " + path);
}

// mkdir -p; every directory created gets kDirMode.
Status MakeDirs(const std::string& path) {
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos == path.size() || path[pos] == '/') {
      if (path[pos - 1] == '/') continue;
      LB_RETURN_IF_ERROR(MakeDir(path.substr(0, pos)));
    }
  }
  return Status::Ok();
}

std::string ParentOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool IsLayoutDir(std::string_view name) {
  for (ObjectType t : kDirTypes) {
    if (name == ObjectTypeName(t)) return true;
  }
  return false;
}

std::string ShardName(unsigned i) {
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string{kHex[i >> 4], kHex[i & 15]};
}

// Calls fn for every regular, non-hidden file in `dir`. A missing directory
// is OK when `missing_ok`, else kNotFound.
Status ListFiles(const std::string& dir, bool missing_ok,
                 const std::function<Status(const ObjectInfo&)>& fn) {
  UniqueDir d(::opendir(dir.c_str()));
  if (d.get() == nullptr) {
    if (errno == ENOENT && missing_ok) return Status::Ok();
    return ErrnoStatus(errno, "unable to list " + dir);
  }
  while (true) {
    errno = 0;
    const dirent* entry = ::readdir(d.get());
    if (entry == nullptr) {
      if (errno != 0) return ErrnoStatus(errno, "unable to list " + dir);
      return Status::Ok();
    }
    if (entry->d_name[0] == '.') continue;  // ".", "..", ".tmp-*"
    if (entry->d_type != DT_REG && entry->d_type != DT_UNKNOWN) continue;
    struct stat st;
    if (::fstatat(::dirfd(d.get()), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed while listing
      return ErrnoStatus(errno, "unable to stat " + dir + "/" + entry->d_name);
    }
    if (!S_ISREG(st.st_mode)) continue;
    LB_RETURN_IF_ERROR(fn(ObjectInfo{entry->d_name, static_cast<uint64_t>(st.st_size)}));
  }
}

}  // namespace

LocalBackend::LocalBackend(std::string root) : root_(std::move(root)) {}

std::string LocalBackend::DirOf(const ObjectName& name) const {
  if (name.type == ObjectType::kConfig) return root_;
  std::string dir = root_ + "/" + std::string(ObjectTypeName(name.type));
  if (name.type == ObjectType::kPack) dir += "/" + name.name.substr(0, 2);
  return dir;
}

std::string LocalBackend::PathOf(const ObjectName& name) const {
  if (name.type == ObjectType::kConfig) return root_ + "/config";
  return DirOf(name) + "/" + name.name;
}

Status LocalBackend::Create() {
  struct stat st;
  if (::stat(root_.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return AlreadyExists("unable to create repository at " + root_ +
                           ": exists and is not a directory");
    }
    const std::string config = root_ + "/config";
    if (::lstat(config.c_str(), &st) == 0) {
      return Status(
          Code::kAlreadyExists,
          "unable to create repository at " + root_ + ": a repository already exists there",
          "use the existing repository or choose another location");
    }
    UniqueDir d(::opendir(root_.c_str()));
    if (d.get() == nullptr) return ErrnoStatus(errno, "unable to read directory " + root_);
    while (const dirent* entry = ::readdir(d.get())) {
      const std::string_view n = entry->d_name;
      if (n == "." || n == ".." || IsLayoutDir(n)) continue;
      return Status(Code::kAlreadyExists,
                    "unable to create repository at " + root_ +
                        ": directory is not empty (found '" + std::string(n) + "')",
                    "choose an empty or new directory");
    }
  } else if (errno == ENOENT) {
    LB_RETURN_IF_ERROR(MakeDirs(root_));
  } else {
    return ErrnoStatus(errno, "unable to create repository at " + root_);
  }

  for (ObjectType t : kDirTypes) {
    LB_RETURN_IF_ERROR(MakeDir(root_ + "/" + std::string(ObjectTypeName(t))));
  }
  const std::string data = root_ + "/" + std::string(ObjectTypeName(ObjectType::kPack));
  for (unsigned i = 0; i < 256; ++i) LB_RETURN_IF_ERROR(MakeDir(data + "/" + ShardName(i)));
  LB_RETURN_IF_ERROR(SyncDirectory(data));
  LB_RETURN_IF_ERROR(SyncDirectory(root_));
  return SyncDirectory(ParentOf(root_));
}

Status LocalBackend::Save(const ObjectName& name, ByteView data) {
  LB_RETURN_IF_ERROR(ValidateObjectName(name));
  const std::string dir = DirOf(name);
  const std::string final_path = PathOf(name);
  const std::string what = "unable to save " + name.ToString() + " to " + root_;

  std::string tmp;
  int fd = -1;
  bool made_dir = false;  // recreated a missing directory once already
  for (int attempt = 0; fd < 0; ++attempt) {
    tmp = dir + "/" + TempName();
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kFileMode);
    if (fd >= 0) break;
    const int err = errno;
    if (err == EINTR || (err == EEXIST && attempt < 8)) continue;
    if (err == ENOENT && name.type == ObjectType::kPack && !made_dir) {
      // A missing data/NN shard (e.g. removed by hand): recreate it, but
      // only inside an existing data/ directory.
      made_dir = true;
      if (::mkdir(dir.c_str(), kDirMode) == 0 || errno == EEXIST) continue;
    }
    if (err == ENOENT && IsLateType(name.type) && !made_dir) {
      // wal/ in a repository created before it existed. mkdir (not -p): the
      // root itself must exist, or this is no repository.
      made_dir = true;
      if (::mkdir(dir.c_str(), kDirMode) == 0 || errno == EEXIST) {
        LB_RETURN_IF_ERROR(SyncDirectory(root_).WithContext(what));
        continue;
      }
    }
    return ErrnoStatus(err, what + ": unable to create temporary file in " + dir);
  }
  UniqueFd file(fd);

  Status status = WriteAll(file.get(), data, tmp);
  if (status.ok() && ::fdatasync(file.get()) != 0) {
    status = ErrnoStatus(errno, "unable to sync " + tmp);
  }
  if (const int err = file.Close(); status.ok() && err != 0) {
    status = ErrnoStatus(err, "unable to close " + tmp);
  }
  if (status.ok() && ::rename(tmp.c_str(), final_path.c_str()) != 0) {
    status = ErrnoStatus(errno, "unable to rename " + tmp + " to " + final_path);
  }
  if (!status.ok()) {
    ::unlink(tmp.c_str());
    return status.WithContext(what);
  }
  return SyncDirectory(dir).WithContext(what);
}

std::string LocalBackend::StagingDir() const {
  return root_ + "/" + std::string(ObjectTypeName(ObjectType::kPack));
}

Status LocalBackend::SaveStaged(const ObjectName& name, StagedFile& file) {
  if (file.dir() != StagingDir()) return Backend::SaveStaged(name, file);
  Status valid = ValidateObjectName(name);
  if (!valid.ok()) {
    file.Discard();
    return valid;
  }
  const std::string dir = DirOf(name);
  // Recreate a missing data/NN shard (e.g. removed by hand), like Save.
  if (name.type == ObjectType::kPack && ::mkdir(dir.c_str(), kDirMode) != 0 && errno != EEXIST) {
    Status s = ErrnoStatus(errno, "unable to create directory " + dir);
    file.Discard();
    return s;
  }
  return file.Publish(PathOf(name))
      .WithContext("unable to save " + name.ToString() + " to " + root_);
}

Result<uint64_t> LocalBackend::OpenRange(const ObjectName& name, uint64_t offset, uint64_t length,
                                         UniqueFd* fd_out, std::string* path_out) {
  LB_RETURN_IF_ERROR(ValidateObjectName(name));
  const std::string path = PathOf(name);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0)
    return ErrnoStatus(errno, "unable to load " + name.ToString() + " from " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "unable to stat " + path);
  if (!S_ISREG(st.st_mode)) {
    return IoError("unable to load " + name.ToString() + ": " + path + " is not a regular file");
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (offset > size || length > size - offset) {
    return Corrupt("unable to load " + name.ToString() + " from " + path + ": range at offset " +
                   std::to_string(offset) + " length " + std::to_string(length) +
                   " is past the end of the object (" + std::to_string(size) + " bytes)");
  }
  const uint64_t n = length == 0 ? size - offset : length;
  if (offset == 0 && length == 0 && n > 0) {
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);  // advisory; errors do not matter
  }
  *fd_out = std::move(fd);
  *path_out = path;
  return n;
}

Result<Bytes> LocalBackend::Load(const ObjectName& name, uint64_t offset, uint64_t length) {
  UniqueFd fd;
  std::string path;
  LB_ASSIGN_OR_RETURN(uint64_t n, OpenRange(name, offset, length, &fd, &path));
  Bytes out(n);
  LB_RETURN_IF_ERROR(ReadAll(fd.get(), out.data(), n, offset, path));
  return out;
}

Status LocalBackend::LoadInto(const ObjectName& name, uint64_t offset, uint64_t length,
                              RawBuffer* out) {
  UniqueFd fd;
  std::string path;
  LB_ASSIGN_OR_RETURN(uint64_t n, OpenRange(name, offset, length, &fd, &path));
  out->Clear();
  out->Resize(n);  // uninitialized: ReadAll fills every byte or fails
  Status read = ReadAll(fd.get(), out->data(), n, offset, path);
  if (!read.ok()) out->Clear();
  return read;
}

Status LocalBackend::LoadInPieces(const ObjectName& name, RawBuffer* out,
                                  const std::function<Status(size_t loaded)>& on_loaded) {
  constexpr uint64_t kPiece = 512 << 10;
  UniqueFd fd;
  std::string path;
  LB_ASSIGN_OR_RETURN(uint64_t n, OpenRange(name, 0, 0, &fd, &path));
  out->Clear();
  out->Resize(n);  // uninitialized: each piece is read in before on_loaded sees it
  for (uint64_t done = 0; done < n;) {
    const uint64_t piece = std::min(kPiece, n - done);
    Status read = ReadAll(fd.get(), out->data() + done, piece, done, path);
    if (!read.ok()) {
      out->Clear();
      return read;
    }
    done += piece;
    LB_RETURN_IF_ERROR(on_loaded(done));
  }
  return Status::Ok();
}

Result<uint64_t> LocalBackend::Stat(const ObjectName& name) {
  LB_RETURN_IF_ERROR(ValidateObjectName(name));
  const std::string path = PathOf(name);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return ErrnoStatus(errno, "unable to stat " + name.ToString() + " at " + path);
  }
  if (!S_ISREG(st.st_mode)) {
    return IoError("unable to stat " + name.ToString() + ": " + path + " is not a regular file");
  }
  return static_cast<uint64_t>(st.st_size);
}

Status LocalBackend::Remove(const ObjectName& name) {
  LB_RETURN_IF_ERROR(ValidateObjectName(name));
  const std::string path = PathOf(name);
  if (::unlink(path.c_str()) != 0) {
    return ErrnoStatus(errno, "unable to remove " + name.ToString() + " at " + path);
  }
  return Status::Ok();
}

Status LocalBackend::List(ObjectType type, const std::function<Status(const ObjectInfo&)>& fn) {
  if (type == ObjectType::kConfig) {
    const std::string path = root_ + "/config";
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return Status::Ok();
      return ErrnoStatus(errno, "unable to stat " + path);
    }
    if (!S_ISREG(st.st_mode)) return Status::Ok();
    return fn(ObjectInfo{"config", static_cast<uint64_t>(st.st_size)});
  }
  const std::string dir = root_ + "/" + std::string(ObjectTypeName(type));
  if (type != ObjectType::kPack) return ListFiles(dir, /*missing_ok=*/IsLateType(type), fn);

  UniqueDir d(::opendir(dir.c_str()));
  if (d.get() == nullptr) return ErrnoStatus(errno, "unable to list " + dir);
  while (true) {
    errno = 0;
    const dirent* entry = ::readdir(d.get());
    if (entry == nullptr) {
      if (errno != 0) return ErrnoStatus(errno, "unable to list " + dir);
      return Status::Ok();
    }
    if (entry->d_name[0] == '.') continue;
    if (entry->d_type != DT_DIR && entry->d_type != DT_UNKNOWN) continue;
    const std::string shard = dir + "/" + entry->d_name;
    if (entry->d_type == DT_UNKNOWN) {
      struct stat st;
      if (::lstat(shard.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    }
    LB_RETURN_IF_ERROR(ListFiles(shard, /*missing_ok=*/true, fn));
  }
}

}  // namespace lifeboat
