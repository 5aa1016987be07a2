#include "cache/caching_backend.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <functional>

#include "backend/file_util.h"
#include "cache/cache_dirs.h"
#include "crypto/hash.h"

namespace lifeboat {
namespace {

// Temporary entries older than this are leftovers of a crashed writer (a
// live writer renames its file within moments).
constexpr time_t kStaleTempSeconds = 3600;

// Objects kept whole and named by the SHA-256 of their bytes.
bool IsWholeObjectType(ObjectType type) {
  return type == ObjectType::kIndex || type == ObjectType::kSnapshot || type == ObjectType::kKey;
}

bool IsCachedType(ObjectType type) { return IsWholeObjectType(type) || type == ObjectType::kPack; }

bool NameMatches(const std::string& name, ByteView data) { return Sha256(data).Hex() == name; }

// A cached pack the index does not name may be one another process on this
// machine stored but has not indexed yet (it indexes every 16 packs):
// entries younger than this are kept.
constexpr time_t kUnindexedPackGraceSeconds = 3600;

// Writes a small file atomically (temp + rename), mode 0600; best effort.
void WriteSmallFile(const std::string& path, std::string_view content) {
  const size_t slash = path.find_last_of('/');
  const std::string tmp = path.substr(0, slash + 1) + TempName();
  UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) return;
  if (!WriteAll(fd.get(), AsBytes(content), tmp).ok() || fd.Close() != 0 ||
      rename(tmp.c_str(), path.c_str()) != 0) {
    unlink(tmp.c_str());
  }
}

// https://bford.info/cachedir/: tells backup tools (restic, Borg, tar
// --exclude-caches) to skip the cache.
void WriteCacheDirTag(const std::string& root) {
  const std::string path = root + "/CACHEDIR.TAG";
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) return;
  WriteSmallFile(
      path,
      "Signature: 8a477f597d28d172789f06886806bc55\n"
      "# This file is a cache directory tag created by lifeboat.\n"
      "# For information about cache directory tags, see https://bford.info/cachedir/\n");
}

// Creates `path` and missing parents with mode 0700.
Status MakeDirs(const std::string& path) {
  if (path.empty() || path == "/") return Status::Ok();
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return IoError("cache path '" + path + "' is not a directory");
    return Status::Ok();
  }
  size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    LB_RETURN_IF_ERROR(MakeDirs(path.substr(0, slash)));
  }
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, "unable to create cache directory '" + path + "'");
  }
  return Status::Ok();
}

// Reads a whole regular file; nullopt if it cannot be read.
std::optional<Bytes> ReadFile(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) return std::nullopt;
  struct stat st {};
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  Bytes out(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = pread(fd.get(), out.data() + done, out.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    done += static_cast<size_t>(n);
  }
  return out;
}

Result<Bytes> Slice(const Bytes& whole, uint64_t offset, uint64_t length, const ObjectName& name) {
  if (offset > whole.size() || (length > 0 && length > whole.size() - offset)) {
    return Corrupt(name.ToString() + ": range past the end of the object");
  }
  if (offset == 0 && (length == 0 || length == whole.size())) return whole;
  const uint64_t n = length == 0 ? whole.size() - offset : length;
  return Bytes(whole.begin() + static_cast<ptrdiff_t>(offset),
               whole.begin() + static_cast<ptrdiff_t>(offset + n));
}

}  // namespace

CachingBackend::CachingBackend(std::unique_ptr<Backend> inner, std::string dir)
    : inner_(std::move(inner)), dir_(std::move(dir)) {}

CachingBackend::~CachingBackend() = default;

Result<std::unique_ptr<CachingBackend>> CachingBackend::Open(std::unique_ptr<Backend>&& inner,
                                                             std::string dir) {
  if (dir.empty() || dir[0] != '/') return InvalidArgument("cache directory must be absolute");
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  LB_RETURN_IF_ERROR(MakeDirs(dir));
  const size_t slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0) WriteCacheDirTag(dir.substr(0, slash));
  TouchLastUsed(dir);
  return std::unique_ptr<CachingBackend>(new CachingBackend(std::move(inner), std::move(dir)));
}

void CachingBackend::RecordRepositoryId(const std::string& id) {
  const std::string path = dir_ + "/" + std::string(kCacheRepositoryFile);
  if (auto current = ReadFile(path); current && AsString(*current) == id) return;
  WriteSmallFile(path, id);
}

size_t CachingBackend::DropPacksNotIn(const std::function<bool(const Id&)>& indexed) {
  const std::string type_dir = dir_ + "/" + std::string(ObjectTypeName(ObjectType::kPack));
  DIR* d = opendir(type_dir.c_str());
  if (d == nullptr) return 0;
  const time_t now = time(nullptr);
  std::vector<std::string> stale;
  while (struct dirent* e = readdir(d)) {
    const std::string entry = e->d_name;
    auto id = Id::FromHex(entry);
    if (!id.ok() || indexed(*id)) continue;  // temp files: DropStaleEntries' business
    struct stat st {};
    if (lstat((type_dir + "/" + entry).c_str(), &st) != 0) continue;
    if (now - st.st_mtime < kUnindexedPackGraceSeconds) continue;
    stale.push_back(entry);
  }
  closedir(d);
  for (const std::string& entry : stale) DropEntry({ObjectType::kPack, entry});
  stats_.dropped += stale.size();
  return stale.size();
}

void CachingBackend::SetPackClassifier(std::unique_ptr<PackClassifier> classifier) {
  std::lock_guard lock(mu_);
  classifier_ = std::move(classifier);
}

std::shared_ptr<PackClassifier> CachingBackend::classifier() const {
  std::lock_guard lock(mu_);
  return classifier_;
}

std::string CachingBackend::EntryPath(const ObjectName& name) const {
  return dir_ + "/" + std::string(ObjectTypeName(name.type)) + "/" + name.name;
}

std::optional<Bytes> CachingBackend::ReadWholeEntry(const ObjectName& name) {
  auto data = ReadFile(EntryPath(name));
  if (!data) return std::nullopt;
  if (!NameMatches(name.name, *data)) {
    stats_.damaged++;
    DropEntry(name);
    return std::nullopt;
  }
  return data;
}

void CachingBackend::WriteEntry(const ObjectName& name, ByteView data) {
  const std::string type_dir = dir_ + "/" + std::string(ObjectTypeName(name.type));
  if (!MakeDirs(type_dir).ok()) {
    stats_.write_errors++;
    return;
  }
  const std::string tmp = type_dir + "/" + TempName();
  UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) {
    stats_.write_errors++;
    return;
  }
  // No fsync: an entry cut short by a power loss fails verification and is
  // fetched again, so durability buys nothing here.
  if (!WriteAll(fd.get(), data, tmp).ok() || fd.Close() != 0 ||
      rename(tmp.c_str(), EntryPath(name).c_str()) != 0) {
    unlink(tmp.c_str());
    stats_.write_errors++;
  }
}

void CachingBackend::DropEntry(const ObjectName& name) {
  unlink(EntryPath(name).c_str());
  if (name.type == ObjectType::kPack) {
    std::lock_guard lock(mu_);
    verified_packs_.erase(name.name);
  }
}

// ---------------------------------------------------------------- reads

Result<Bytes> CachingBackend::Load(const ObjectName& name, uint64_t offset, uint64_t length) {
  LB_RETURN_IF_ERROR(ValidateObjectName(name));
  if (name.type == ObjectType::kPack) return LoadPack(name, offset, length);
  if (!IsWholeObjectType(name.type)) return inner_->Load(name, offset, length);
  if (auto cached = ReadWholeEntry(name)) {
    stats_.hits++;
    return Slice(*cached, offset, length, name);
  }
  stats_.misses++;
  // Metadata objects are small: fetch them whole even for a range, so the
  // entry can be verified and reused.
  LB_ASSIGN_OR_RETURN(Bytes whole, inner_->Load(name));
  if (NameMatches(name.name, whole)) WriteEntry(name, whole);
  return Slice(whole, offset, length, name);
}

std::optional<Result<Bytes>> CachingBackend::ReadPackRange(const ObjectName& name, uint64_t offset,
                                                           uint64_t length) {
  const std::string path = EntryPath(name);
  bool verified;
  {
    std::lock_guard lock(mu_);
    verified = verified_packs_.count(name.name) > 0;
  }
  if (!verified) {
    auto whole = ReadWholeEntry(name);  // hashes it; drops a damaged entry
    if (!whole) return std::nullopt;
    {
      std::lock_guard lock(mu_);
      verified_packs_.insert(name.name);
    }
    return Slice(*whole, offset, length, name);
  }
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  struct stat st {};
  if (fd.get() < 0 || fstat(fd.get(), &st) != 0) {
    DropEntry(name);  // deleted under us: forget it was verified
    return std::nullopt;
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (offset > size || (length > 0 && length > size - offset)) {
    return Result<Bytes>(Corrupt(name.ToString() + ": range past the end of the object"));
  }
  Bytes out(length == 0 ? size - offset : length);
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n =
        pread(fd.get(), out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      DropEntry(name);
      return std::nullopt;
    }
    done += static_cast<size_t>(n);
  }
  // A byte changed since the pack was hashed is still caught: every blob
  // read from it is authenticated by the repository.
  return Result<Bytes>(std::move(out));
}

Result<Bytes> CachingBackend::LoadPack(const ObjectName& name, uint64_t offset, uint64_t length) {
  if (auto cached = ReadPackRange(name, offset, length)) {
    stats_.hits++;
    return std::move(*cached);
  }
  auto classify = classifier();
  if (!classify || !classify->IsTreePack(name.name)) return inner_->Load(name, offset, length);

  // One download per pack even when several threads want its blobs at once.
  std::lock_guard fetch_lock(
      pack_fetch_mu_[std::hash<std::string>{}(name.name) % pack_fetch_mu_.size()]);
  if (auto cached = ReadPackRange(name, offset, length)) {
    stats_.hits++;
    return std::move(*cached);
  }
  stats_.misses++;
  LB_ASSIGN_OR_RETURN(Bytes whole, inner_->Load(name));
  if (NameMatches(name.name, whole)) {
    WriteEntry(name, whole);
    std::lock_guard lock(mu_);
    verified_packs_.insert(name.name);
  }
  return Slice(whole, offset, length, name);
}

// ---------------------------------------------------------------- writes

Status CachingBackend::Save(const ObjectName& name, ByteView data) {
  LB_RETURN_IF_ERROR(inner_->Save(name, data));
  if (IsWholeObjectType(name.type)) {
    if (NameMatches(name.name, data)) WriteEntry(name, data);
  } else if (name.type == ObjectType::kPack) {
    auto classify = classifier();
    if (classify && classify->IsTreePackData(data) && NameMatches(name.name, data)) {
      WriteEntry(name, data);
    }
  }
  return Status::Ok();
}

Status CachingBackend::SaveStaged(const ObjectName& name, StagedFile& file) {
  auto classify = classifier();
  if (name.type != ObjectType::kPack || !classify) return inner_->SaveStaged(name, file);
  // The mapping outlives the staged file (it holds the inode), so a tree pack
  // is cached from local bytes after the upload, never downloaded again.
  auto mapping = file.Map();
  if (!mapping.ok()) return inner_->SaveStaged(name, file);
  const bool tree_pack = classify->IsTreePackData(mapping->view());
  LB_RETURN_IF_ERROR(inner_->SaveStaged(name, file));
  if (tree_pack && NameMatches(name.name, mapping->view())) {
    WriteEntry(name, mapping->view());
    std::lock_guard lock(mu_);
    verified_packs_.insert(name.name);
  }
  return Status::Ok();
}

Status CachingBackend::Remove(const ObjectName& name) {
  Status removed = inner_->Remove(name);
  if (IsCachedType(name.type) && ValidateObjectName(name).ok()) DropEntry(name);
  return removed;
}

// ---------------------------------------------------------------- listing

Status CachingBackend::List(ObjectType type, const std::function<Status(const ObjectInfo&)>& fn) {
  if (!IsCachedType(type)) return inner_->List(type, fn);
  std::unordered_set<std::string> live;
  LB_RETURN_IF_ERROR(inner_->List(type, [&](const ObjectInfo& info) {
    live.insert(info.name);
    return fn(info);
  }));
  // Only a complete listing says what no longer exists.
  DropStaleEntries(type, live);
  return Status::Ok();
}

void CachingBackend::DropStaleEntries(ObjectType type,
                                      const std::unordered_set<std::string>& live) {
  const std::string type_dir = dir_ + "/" + std::string(ObjectTypeName(type));
  DIR* d = opendir(type_dir.c_str());
  if (d == nullptr) return;
  const time_t now = time(nullptr);
  std::vector<std::string> stale;
  while (struct dirent* e = readdir(d)) {
    std::string entry = e->d_name;
    if (entry == "." || entry == "..") continue;
    if (entry.rfind(kTempPrefix, 0) == 0) {
      struct stat st {};
      if (stat((type_dir + "/" + entry).c_str(), &st) == 0 && now - st.st_mtime > kStaleTempSeconds)
        stale.push_back(entry);
      continue;
    }
    if (live.count(entry) == 0) stale.push_back(entry);
  }
  closedir(d);
  for (const std::string& entry : stale) {
    if (entry.rfind(kTempPrefix, 0) != 0) {
      stats_.dropped++;
      std::lock_guard lock(mu_);
      verified_packs_.erase(entry);
    }
    unlink((type_dir + "/" + entry).c_str());
  }
}

// ---------------------------------------------------------------- locations

std::string DefaultCacheRoot() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/lifeboat";
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] == '/') return std::string(home) + "/.cache/lifeboat";
  return {};
}

std::string CacheDirFor(const std::string& root, const std::string& location) {
  return root + "/" + Sha256(AsBytes(location)).Hex().substr(0, 32);
}

}  // namespace lifeboat
