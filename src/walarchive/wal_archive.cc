#include "walarchive/wal_archive.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "backend/file_util.h"
#include "crypto/hash.h"
#include "repo/format.h"
#include "repo/bound_payload.h"
#include "repo/sealed_object.h"
#include "walspool/fetch_spool.h"  // WriteFileAtomically

namespace lifeboat {
namespace {

constexpr std::string_view kWalMagic = "LBW1";
constexpr std::string_view kObjectPrefix = "pg.";
// The payload must fit a sealed object (format::kMaxObjectSize); PostgreSQL's
// largest segment size is 1 GiB, so leave room for the header.
constexpr uint64_t kMaxWalFileSize = format::kMaxObjectSize - 256;

std::string Basename(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

Result<Bytes> ReadWholeFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus(errno, "unable to open " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "unable to stat " + path);
  if (!S_ISREG(st.st_mode)) return InvalidArgument(path + " is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > kMaxWalFileSize) {
    return InvalidArgument(path + " is too large for a WAL file (" + std::to_string(st.st_size) +
                           " bytes)");
  }
  Bytes out(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "unable to read " + path);
    }
    if (n == 0) {
      return IoError("unable to read " + path + ": the file shrank while being read");
    }
    got += static_cast<size_t>(n);
  }
  return out;
}

// Loads and opens the object for (system_id, wal_name); kNotFound passes through.
Result<Bytes> LoadPayload(Repository& repo, const ObjectName& object) {
  LB_ASSIGN_OR_RETURN(Bytes stored, repo.backend().Load(object));
  auto payload = OpenSealedObject(repo.keys(), ObjectType::kWal, stored);
  if (!payload.ok()) return payload.status().WithContext("archived " + object.ToString());
  return payload;
}

Status CheckIdentity(const WalHeader& header, uint64_t system_id, std::string_view wal_name,
                     const ObjectName& object) {
  if (header.system_id != system_id || header.name != wal_name) {
    return Corrupt("archived " + object.ToString() + " holds WAL file '" + header.name +
                   "' of system " + std::to_string(header.system_id) +
                   ", not the one its name says (renamed or swapped in the repository?)");
  }
  return Status::Ok();
}

}  // namespace

std::string WalObjectName(uint64_t system_id, std::string_view wal_name) {
  return std::string(kObjectPrefix) + std::to_string(system_id) + "." + std::string(wal_name);
}

Bytes EncodeWalPayload(uint64_t system_id, std::string_view wal_name, ByteView contents) {
  return EncodeBoundPayload(kWalMagic, system_id, wal_name, contents);
}

Result<WalHeader> DecodeWalPayload(ByteView payload, ByteView* contents) {
  auto h = DecodeBoundPayload(
      kWalMagic, "WAL file", payload,
      [](std::string_view name) { return ValidateWalFileName(name).ok(); }, contents);
  if (!h.ok()) return h.status();
  WalHeader out;
  out.system_id = h->owner;
  out.name = std::move(h->name);
  out.size = h->size;
  out.sha256 = h->sha256;
  return out;
}

Result<PushOutcome> PushWal(Repository& repo, uint64_t system_id, const std::string& path) {
  const std::string wal_name = Basename(path);
  LB_RETURN_IF_ERROR(ValidateWalFileName(wal_name));
  LB_ASSIGN_OR_RETURN(Bytes contents, ReadWholeFile(path));
  return PushWalContents(repo, system_id, wal_name, contents);
}

Result<PushOutcome> PushWalContents(Repository& repo, uint64_t system_id,
                                    const std::string& wal_name, ByteView contents) {
  LB_RETURN_IF_ERROR(ValidateWalFileName(wal_name));
  const ObjectName object{ObjectType::kWal, WalObjectName(system_id, wal_name)};

  auto existing = LoadPayload(repo, object);
  if (existing.ok()) {
    ByteView stored_contents;
    auto header = DecodeWalPayload(*existing, &stored_contents);
    if (!header.ok()) return header.status().WithContext(object.ToString());
    LB_RETURN_IF_ERROR(CheckIdentity(*header, system_id, wal_name, object));
    if (header->sha256 == Sha256(contents) && header->size == contents.size()) {
      return PushOutcome::kAlreadyArchived;
    }
    return Status(Code::kAlreadyExists,
                  "WAL file " + wal_name + " is already archived (" + object.ToString() +
                      ") with different content; refusing to overwrite it",
                  "another cluster with the same system identifier, or a restored cluster "
                  "archiving on the old timeline, is writing to this repository; give each "
                  "cluster its own repository or check archive_command");
  }
  if (existing.status().code() != Code::kNotFound) return existing.status();

  const Bytes payload = EncodeWalPayload(system_id, wal_name, contents);
  const Bytes sealed =
      SealObject(repo.keys(), ObjectType::kWal, payload, repo.config().compression_level);
  LB_RETURN_IF_ERROR(repo.backend().Save(object, sealed));
  return PushOutcome::kStored;
}

std::string StreamPartialName(std::string_view segment, uint64_t valid_bytes) {
  char len[16];
  snprintf(len, sizeof len, "%08llX", static_cast<unsigned long long>(valid_bytes & 0xFFFFFFFFu));
  return std::string(segment) + "." + len + std::string(kStreamPartialSuffix);
}

bool ParseStreamPartialName(std::string_view name, std::string* segment, uint64_t* valid_bytes) {
  if (name.size() != 24 + 1 + 8 + 7 || name.substr(33) != kStreamPartialSuffix ||
      !ValidateWalFileName(name).ok()) {
    return false;
  }
  if (segment != nullptr) segment->assign(name.substr(0, 24));
  if (valid_bytes != nullptr) {
    *valid_bytes = std::strtoull(std::string(name.substr(25, 8)).c_str(), nullptr, 16);
  }
  return true;
}

Result<std::string> NewestStreamPartial(Repository& repo, uint64_t system_id,
                                        std::string_view segment) {
  const std::string prefix =
      std::string(kObjectPrefix) + std::to_string(system_id) + "." + std::string(segment) + ".";
  std::string best;
  uint64_t best_len = 0;
  LB_RETURN_IF_ERROR(repo.backend().ListPrefix(ObjectType::kWal, prefix, [&](const ObjectInfo& info) {
    if (info.name.size() <= prefix.size() || info.name.compare(0, prefix.size(), prefix) != 0) {
      return Status::Ok();
    }
    const std::string wal_name = info.name.substr(prefix.size() - 25);
    uint64_t len = 0;
    if (ParseStreamPartialName(wal_name, nullptr, &len) && (best.empty() || len > best_len)) {
      best = wal_name;
      best_len = len;
    }
    return Status::Ok();
  }));
  if (best.empty()) {
    return NotFound("no streamed partial of WAL segment " + std::string(segment) + " of system " +
                    std::to_string(system_id));
  }
  return best;
}

Result<int> RemoveStreamPartials(Repository& repo, uint64_t system_id, std::string_view segment,
                                 std::string_view keep) {
  const std::string prefix =
      std::string(kObjectPrefix) + std::to_string(system_id) + "." + std::string(segment) + ".";
  std::vector<std::string> names;
  LB_RETURN_IF_ERROR(repo.backend().ListPrefix(ObjectType::kWal, prefix, [&](const ObjectInfo& info) {
    if (info.name.size() > prefix.size() && info.name.compare(0, prefix.size(), prefix) == 0) {
      const std::string wal_name = info.name.substr(prefix.size() - 25);
      if (ParseStreamPartialName(wal_name, nullptr, nullptr) && wal_name != keep) {
        names.push_back(info.name);
      }
    }
    return Status::Ok();
  }));
  int removed = 0;
  for (const std::string& n : names) {
    LB_RETURN_IF_ERROR(repo.backend().Remove(ObjectName{ObjectType::kWal, n}));
    ++removed;
  }
  return removed;
}

namespace {

// A WAL file's verified payload: the contents are payload[offset, offset+size).
struct LoadedWal {
  Bytes payload;
  size_t offset = 0, size = 0;
  std::string from;  // the archived name it came from (a stream partial, or wal_name)
  ByteView contents() const { return ByteView(payload.data() + offset, size); }
};

Result<LoadedWal> LoadWalPayload(Repository& repo, uint64_t system_id, std::string_view wal_name) {
  LB_RETURN_IF_ERROR(ValidateWalFileName(wal_name));
  std::string from(wal_name);
  ObjectName object{ObjectType::kWal, WalObjectName(system_id, wal_name)};
  auto payload = LoadPayload(repo, object);
  if (!payload.ok() && payload.status().code() == Code::kNotFound && wal_name.size() == 24) {
    // The segment was not archived whole: the newest partial stream-wal
    // stored stands in for it (zero-filled to the segment size, as
    // PostgreSQL expects; recovery ends at the first zero record).
    auto partial = NewestStreamPartial(repo, system_id, wal_name);
    if (partial.ok()) {
      from = *partial;
      object = ObjectName{ObjectType::kWal, WalObjectName(system_id, *partial)};
      payload = LoadPayload(repo, object);
      if (!payload.ok()) return payload.status().WithContext(object.ToString());
    } else if (partial.status().code() != Code::kNotFound) {
      return partial.status();
    }
  }
  if (!payload.ok()) {
    if (payload.status().code() == Code::kNotFound) {
      return NotFound("WAL file " + std::string(wal_name) + " of system " +
                      std::to_string(system_id) + " is not in the archive");
    }
    return payload.status();
  }
  ByteView contents;
  auto header = DecodeWalPayload(*payload, &contents);
  if (!header.ok()) return header.status().WithContext(object.ToString());
  LB_RETURN_IF_ERROR(CheckIdentity(*header, system_id, from, object));
  LoadedWal out;
  out.offset = static_cast<size_t>(contents.data() - payload->data());
  out.size = contents.size();
  out.payload = std::move(*payload);
  out.from = std::move(from);
  return out;
}

}  // namespace

Status GetWal(Repository& repo, uint64_t system_id, std::string_view wal_name,
              const std::string& dest, bool durable, std::string* served_from) {
  LB_ASSIGN_OR_RETURN(LoadedWal wal, LoadWalPayload(repo, system_id, wal_name));
  if (served_from != nullptr) *served_from = wal.from;
  const std::string via = wal.from == wal_name ? "" : " (from " + wal.from + ")";
  return WriteFileAtomically(dest, wal.contents(), durable)
      .WithContext("unable to restore WAL file " + std::string(wal_name) + via + " to " + dest);
}

Result<Bytes> LoadWal(Repository& repo, uint64_t system_id, std::string_view wal_name) {
  LB_ASSIGN_OR_RETURN(LoadedWal wal, LoadWalPayload(repo, system_id, wal_name));
  const ByteView c = wal.contents();
  return Bytes(c.begin(), c.end());
}

Result<std::vector<WalEntry>> ListWal(Repository& repo, uint64_t system_id) {
  const std::string prefix = std::string(kObjectPrefix) + std::to_string(system_id) + ".";
  std::vector<WalEntry> out;
  LB_RETURN_IF_ERROR(repo.backend().ListPrefix(ObjectType::kWal, prefix, [&](const ObjectInfo& info) {
    if (info.name.size() > prefix.size() && info.name.compare(0, prefix.size(), prefix) == 0) {
      std::string wal_name = info.name.substr(prefix.size());
      if (ValidateWalFileName(wal_name).ok()) out.push_back({std::move(wal_name), info.size});
    }
    return Status::Ok();
  }));
  std::sort(out.begin(), out.end(),
            [](const WalEntry& a, const WalEntry& b) { return a.name < b.name; });
  return out;
}

}  // namespace lifeboat
