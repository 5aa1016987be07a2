#include "mariadb/binlog_archive.h"

#include <algorithm>
#include <utility>

#include "crypto/hash.h"
#include "repo/format.h"
#include "repo/bound_payload.h"
#include "repo/sealed_object.h"

namespace lifeboat {
namespace {

constexpr std::string_view kBinlogMagic = "LBB1";
constexpr std::string_view kObjectPrefix = "mariadb.";
constexpr size_t kMaxNameLength = 128;

Result<Bytes> LoadPayload(Repository& repo, const ObjectName& object) {
  LB_ASSIGN_OR_RETURN(Bytes stored, repo.backend().Load(object));
  auto payload = OpenSealedObject(repo.keys(), ObjectType::kWal, stored);
  if (!payload.ok()) return payload.status().WithContext("archived " + object.ToString());
  return payload;
}

Status CheckIdentity(const BinlogHeader& header, uint64_t server_id, std::string_view name,
                     const ObjectName& object) {
  if (header.server_id != server_id || header.name != name) {
    return Corrupt("archived " + object.ToString() + " holds binlog '" + header.name +
                   "' of server " + std::to_string(header.server_id) +
                   ", not the one its name says (renamed or swapped in the repository?)");
  }
  return Status::Ok();
}

bool BinlogLess(const std::string& a, const std::string& b) {
  const std::string base_a = BinlogBase(a), base_b = BinlogBase(b);
  if (base_a != base_b) return base_a < base_b;
  return BinlogSequence(a).value_or(0) < BinlogSequence(b).value_or(0);
}

// `base`.`seq` with at least as many digits as `like` has after its last '.'.
std::string BinlogNameLike(std::string_view like, uint64_t seq) {
  const size_t dot = like.rfind('.');
  const size_t width = dot == std::string_view::npos ? 6 : like.size() - dot - 1;
  std::string digits = std::to_string(seq);
  if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
  return BinlogBase(like) + "." + digits;
}

}  // namespace

Status ValidateBinlogFileName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= kMaxNameLength && name[0] != '.';
  const size_t dot = name.rfind('.');
  ok = ok && dot != std::string_view::npos && dot > 0 && dot + 1 < name.size();
  if (ok) {
    for (size_t i = 0; i < name.size() && ok; ++i) {
      const char c = name[i];
      if (i > dot) {
        ok = c >= '0' && c <= '9';
      } else {
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-' || c == '.';
      }
    }
    ok = ok && name.size() - dot - 1 <= 18;  // fits u64
  }
  if (ok) return Status::Ok();
  return Status(Code::kInvalidArgument,
                "'" + std::string(name.substr(0, kMaxNameLength)) + "' is not a binlog file name",
                "binlog files are named <base>.<number>, as SHOW BINARY LOGS lists them (e.g. "
                "mariadb-bin.000012)");
}

std::optional<uint64_t> BinlogSequence(std::string_view name) {
  if (!ValidateBinlogFileName(name).ok()) return std::nullopt;
  uint64_t seq = 0;
  for (char c : name.substr(name.rfind('.') + 1)) seq = seq * 10 + static_cast<uint64_t>(c - '0');
  return seq;
}

std::string BinlogBase(std::string_view name) {
  const size_t dot = name.rfind('.');
  return std::string(dot == std::string_view::npos ? name : name.substr(0, dot));
}

std::string BinlogObjectName(uint64_t server_id, std::string_view name) {
  return std::string(kObjectPrefix) + std::to_string(server_id) + "." + std::string(name);
}

Bytes EncodeBinlogPayload(uint64_t server_id, std::string_view name, ByteView contents) {
  return EncodeBoundPayload(kBinlogMagic, server_id, name, contents);
}

Result<BinlogHeader> DecodeBinlogPayload(ByteView payload, ByteView* contents) {
  auto h = DecodeBoundPayload(
      kBinlogMagic, "binlog file", payload,
      [](std::string_view name) { return ValidateBinlogFileName(name).ok(); }, contents);
  if (!h.ok()) return h.status();
  BinlogHeader out;
  out.server_id = h->owner;
  out.name = std::move(h->name);
  out.size = h->size;
  out.sha256 = h->sha256;
  return out;
}

Result<BinlogPushOutcome> PushBinlog(Repository& repo, uint64_t server_id, std::string_view name,
                                     ByteView contents) {
  LB_RETURN_IF_ERROR(ValidateBinlogFileName(name));
  if (contents.size() > format::kMaxObjectSize - 256) {
    return InvalidArgument("binlog " + std::string(name) + " is too large to archive (" +
                           std::to_string(contents.size()) + " bytes)");
  }
  const ObjectName object{ObjectType::kWal, BinlogObjectName(server_id, name)};
  auto existing = LoadPayload(repo, object);
  if (existing.ok()) {
    ByteView stored_contents;
    auto header = DecodeBinlogPayload(*existing, &stored_contents);
    if (!header.ok()) return header.status().WithContext(object.ToString());
    LB_RETURN_IF_ERROR(CheckIdentity(*header, server_id, name, object));
    if (header->size == contents.size() && header->sha256 == Sha256(contents)) {
      return BinlogPushOutcome::kAlreadyArchived;
    }
    return Status(Code::kAlreadyExists,
                  "binlog " + std::string(name) + " is already archived (" + object.ToString() +
                      ") with different content; refusing to overwrite it",
                  "another server with the same server_id writes to this repository, or the "
                  "server's binlogs were reset (RESET MASTER); give each server its own "
                  "server_id or repository");
  }
  if (existing.status().code() != Code::kNotFound) return existing.status();
  const Bytes payload = EncodeBinlogPayload(server_id, name, contents);
  const Bytes sealed =
      SealObject(repo.keys(), ObjectType::kWal, payload, repo.config().compression_level);
  LB_RETURN_IF_ERROR(repo.backend().Save(object, sealed));
  return BinlogPushOutcome::kStored;
}

Result<Bytes> GetBinlog(Repository& repo, uint64_t server_id, std::string_view name) {
  LB_RETURN_IF_ERROR(ValidateBinlogFileName(name));
  const ObjectName object{ObjectType::kWal, BinlogObjectName(server_id, name)};
  auto payload = LoadPayload(repo, object);
  if (!payload.ok()) {
    if (payload.status().code() == Code::kNotFound) {
      return NotFound("binlog " + std::string(name) + " of server " + std::to_string(server_id) +
                      " is not in the archive");
    }
    return payload.status();
  }
  ByteView contents;
  auto header = DecodeBinlogPayload(*payload, &contents);
  if (!header.ok()) return header.status().WithContext(object.ToString());
  LB_RETURN_IF_ERROR(CheckIdentity(*header, server_id, name, object));
  return Bytes(contents.begin(), contents.end());
}

Result<std::vector<BinlogEntry>> ListBinlogs(Repository& repo, uint64_t server_id) {
  const std::string prefix = std::string(kObjectPrefix) + std::to_string(server_id) + ".";
  std::vector<BinlogEntry> out;
  LB_RETURN_IF_ERROR(repo.backend().ListPrefix(ObjectType::kWal, prefix, [&](const ObjectInfo& info) {
    if (info.name.size() > prefix.size() && info.name.compare(0, prefix.size(), prefix) == 0) {
      std::string name = info.name.substr(prefix.size());
      if (ValidateBinlogFileName(name).ok()) out.push_back({std::move(name), info.size});
    }
    return Status::Ok();
  }));
  std::sort(out.begin(), out.end(),
            [](const BinlogEntry& a, const BinlogEntry& b) { return BinlogLess(a.name, b.name); });
  return out;
}

Result<std::vector<std::string>> BinlogReplayChain(const std::vector<BinlogEntry>& archived,
                                                   std::string_view start_file,
                                                   std::optional<std::string> last_needed) {
  LB_RETURN_IF_ERROR(ValidateBinlogFileName(start_file));
  const std::string base = BinlogBase(start_file);
  const uint64_t start_seq = *BinlogSequence(start_file);
  std::optional<uint64_t> last_seq;
  if (last_needed) {
    LB_RETURN_IF_ERROR(ValidateBinlogFileName(*last_needed));
    if (BinlogBase(*last_needed) != base || *BinlogSequence(*last_needed) < start_seq) {
      return InvalidArgument("binlog " + *last_needed + " does not come at or after " +
                             std::string(start_file) + " (where the dump's position is)");
    }
    last_seq = BinlogSequence(*last_needed);
  }
  std::vector<std::pair<uint64_t, std::string>> seqs;  // of this base, from start_seq on
  for (const BinlogEntry& e : archived) {
    if (BinlogBase(e.name) != base) continue;
    const uint64_t seq = *BinlogSequence(e.name);
    if (seq >= start_seq) seqs.emplace_back(seq, e.name);
  }
  std::sort(seqs.begin(), seqs.end());
  if (seqs.empty() || seqs[0].first != start_seq) {
    return Status(Code::kNotFound,
                  "binlog " + std::string(start_file) +
                      " (where the dump's position is) is not in the archive",
                  "run 'lifeboat mariadb archive-binlogs --flush' against the server");
  }
  std::vector<std::string> out;
  uint64_t expect = start_seq;
  for (const auto& [seq, name] : seqs) {
    if (last_seq && seq > *last_seq) break;
    if (seq < expect) continue;  // the same number written with other padding
    if (seq != expect) {
      return Status(Code::kNotFound,
                    "binlog " + BinlogNameLike(start_file, expect) +
                        " is missing from the archive (later binlogs are there)",
                    "replaying past a missing binlog would silently lose transactions; fetch "
                    "it with 'lifeboat mariadb archive-binlogs' while the server still has it, "
                    "or recover to a point before it with --to-position");
    }
    out.push_back(name);
    ++expect;
  }
  if (last_seq && expect <= *last_seq) {
    return Status(Code::kNotFound,
                  "binlog " + BinlogNameLike(start_file, expect) + " is not in the archive",
                  "run 'lifeboat mariadb archive-binlogs --flush' against the server");
  }
  return out;
}

}  // namespace lifeboat
