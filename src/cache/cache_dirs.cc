#include "cache/cache_dirs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "backend/file_util.h"

namespace lifeboat {
namespace {

constexpr int64_t kNsPerDay = 86400LL * 1000000000LL;
constexpr size_t kCacheDirNameLength = 32;  // CacheDirFor: 32 hex digits

bool IsCacheDirName(std::string_view name) {
  return name.size() == kCacheDirNameLength && std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
}

// The id in `repository`, if it looks like one (the file is not trusted).
std::string ReadRepositoryId(const std::string& dir) {
  const std::string path = dir + "/" + std::string(kCacheRepositoryFile);
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) return {};
  char buf[65];
  ssize_t n = read(fd.get(), buf, sizeof buf);
  if (n <= 0 || n > 64) return {};
  std::string id(buf, static_cast<size_t>(n));
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return {};
  }
  return id;
}

uint64_t TreeSize(const std::string& dir) {
  namespace fs = std::filesystem;
  uint64_t total = 0;
  std::error_code ec;
  // Does not follow directory links (directory_options::none).
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    struct stat st {};
    if (lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      total += static_cast<uint64_t>(st.st_size);
    }
  }
  return total;
}

}  // namespace

void TouchLastUsed(const std::string& dir) {
  const std::string path = dir + "/" + std::string(kCacheLastUsedFile);
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() >= 0) (void)futimens(fd.get(), nullptr);  // now
}

Result<std::vector<CacheDirInfo>> ListCacheDirs(const std::string& root, bool with_size) {
  std::vector<CacheDirInfo> out;
  DIR* d = opendir(root.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return ErrnoStatus(errno, "unable to list the cache directory '" + root + "'");
  }
  while (struct dirent* e = readdir(d)) {
    if (!IsCacheDirName(e->d_name)) continue;
    CacheDirInfo info;
    info.name = e->d_name;
    info.path = root + "/" + info.name;
    struct stat st {};
    if (lstat(info.path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    info.last_used_ns = MtimeNs(st);
    struct stat marker {};
    const std::string marker_path = info.path + "/" + std::string(kCacheLastUsedFile);
    if (lstat(marker_path.c_str(), &marker) == 0 && S_ISREG(marker.st_mode)) {
      info.last_used_ns = MtimeNs(marker);
    }
    info.repository_id = ReadRepositoryId(info.path);
    if (with_size) info.size = TreeSize(info.path);
    out.push_back(std::move(info));
  }
  closedir(d);
  std::sort(out.begin(), out.end(),
            [](const CacheDirInfo& a, const CacheDirInfo& b) { return a.name < b.name; });
  return out;
}

bool CacheUnusedFor(int64_t last_used_ns, int64_t now_ns, int max_unused_days) {
  return now_ns - last_used_ns > static_cast<int64_t>(max_unused_days) * kNsPerDay;
}

Result<std::vector<CacheDirInfo>> RemoveUnusedCacheDirs(const std::string& root,
                                                        int max_unused_days, int64_t now_ns) {
  if (max_unused_days < 0) return InvalidArgument("--max-unused-days must not be negative");
  LB_ASSIGN_OR_RETURN(std::vector<CacheDirInfo> dirs, ListCacheDirs(root, true));
  std::vector<CacheDirInfo> removed;
  for (CacheDirInfo& info : dirs) {
    if (!CacheUnusedFor(info.last_used_ns, now_ns, max_unused_days)) continue;
    std::error_code ec;
    std::filesystem::remove_all(info.path, ec);  // removes links, never follows them
    if (ec) {
      return Status(Code::kIoError,
                    "unable to delete the cache '" + info.path + "': " + ec.message());
    }
    removed.push_back(std::move(info));
  }
  return removed;
}

}  // namespace lifeboat
