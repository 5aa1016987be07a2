// Snapshot ⇄ JSON (docs/FORMAT.md "Snapshots") via nlohmann-json; its
// exceptions are caught here and become kCorrupt. Strings that are not valid
// UTF-8 are written with U+FFFD replacements; paths additionally keep their
// exact bytes in "paths_raw" so they survive a round trip.
// Thread-safety: pure functions.
#include "model/snapshot.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "base/bytes.h"
#include "model/time_format.h"

namespace lifeboat {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

constexpr int kSnapshotVersion = 1;

// Strict UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = cp << 6 | (p[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

Status Missing(const char* key) {
  return Corrupt(std::string("snapshot document lacks required field '") + key + "'");
}
Status WrongType(const char* key, const char* want) {
  return Corrupt(std::string("snapshot field '") + key + "' is not " + want);
}

// Each Get* leaves `out` unchanged when the key is absent and the field is optional.
Status GetString(const Json& obj, const char* key, bool required, std::string& out) {
  auto it = obj.find(key);
  if (it == obj.end()) return required ? Missing(key) : Status::Ok();
  if (!it->is_string()) return WrongType(key, "a string");
  out = it->get<std::string>();
  return Status::Ok();
}

Status GetU64(const Json& obj, const char* key, uint64_t& out) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::Ok();
  if (it->is_number_unsigned()) {
    out = it->get<uint64_t>();
  } else if (it->is_number_integer() && it->get<int64_t>() >= 0) {
    out = static_cast<uint64_t>(it->get<int64_t>());
  } else {
    return WrongType(key, "a non-negative integer");
  }
  return Status::Ok();
}

Status GetU32(const Json& obj, const char* key, uint32_t& out) {
  uint64_t v = out;
  LB_RETURN_IF_ERROR(GetU64(obj, key, v));
  if (v > UINT32_MAX) return WrongType(key, "a 32-bit integer");
  out = static_cast<uint32_t>(v);
  return Status::Ok();
}

Status GetTime(const Json& obj, const char* key, bool required, int64_t& out) {
  std::string text;
  auto it = obj.find(key);
  if (it == obj.end()) return required ? Missing(key) : Status::Ok();
  LB_RETURN_IF_ERROR(GetString(obj, key, true, text));
  auto t = ParseTimeRfc3339(text);
  if (!t.ok()) return Corrupt(std::string("snapshot field '") + key + "': " + t.status().message());
  out = *t;
  return Status::Ok();
}

Status GetId(const Json& obj, const char* key, bool required, std::optional<Id>& out) {
  std::string hex;
  auto it = obj.find(key);
  if (it == obj.end()) return required ? Missing(key) : Status::Ok();
  LB_RETURN_IF_ERROR(GetString(obj, key, true, hex));
  auto id = Id::FromHex(hex);
  if (!id.ok()) return WrongType(key, "a 64-digit hex id");
  out = *id;
  return Status::Ok();
}

Status GetStringList(const Json& obj, const char* key, std::vector<std::string>& out) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::Ok();
  if (!it->is_array()) return WrongType(key, "an array");
  out.clear();
  for (const Json& item : *it) {
    if (!item.is_string()) return WrongType(key, "an array of strings");
    out.push_back(item.get<std::string>());
  }
  return Status::Ok();
}

Status DecodeSummary(const Json& obj, SnapshotSummary& s) {
  if (!obj.is_object()) return WrongType("summary", "an object");
  LB_RETURN_IF_ERROR(GetU64(obj, "files_new", s.files_new));
  LB_RETURN_IF_ERROR(GetU64(obj, "files_changed", s.files_changed));
  LB_RETURN_IF_ERROR(GetU64(obj, "files_unmodified", s.files_unmodified));
  LB_RETURN_IF_ERROR(GetU64(obj, "dirs_new", s.dirs_new));
  LB_RETURN_IF_ERROR(GetU64(obj, "dirs_changed", s.dirs_changed));
  LB_RETURN_IF_ERROR(GetU64(obj, "dirs_unmodified", s.dirs_unmodified));
  LB_RETURN_IF_ERROR(GetU64(obj, "files_total", s.files_total));
  LB_RETURN_IF_ERROR(GetU64(obj, "bytes_total", s.bytes_total));
  LB_RETURN_IF_ERROR(GetU64(obj, "blobs_added", s.blobs_added));
  LB_RETURN_IF_ERROR(GetU64(obj, "bytes_added", s.bytes_added));
  LB_RETURN_IF_ERROR(GetU64(obj, "bytes_added_stored", s.bytes_added_stored));
  LB_RETURN_IF_ERROR(GetU64(obj, "errors", s.errors));
  if (auto it = obj.find("duration_seconds"); it != obj.end()) {
    if (!it->is_number()) return WrongType("duration_seconds", "a number");
    s.duration_seconds = it->get<double>();
  }
  LB_RETURN_IF_ERROR(GetTime(obj, "backup_start", false, s.backup_start_ns));
  LB_RETURN_IF_ERROR(GetTime(obj, "backup_end", false, s.backup_end_ns));
  return Status::Ok();
}

Result<Snapshot> DecodeSnapshotJson(const Json& doc) {
  if (!doc.is_object()) return Corrupt("snapshot document is not a JSON object");
  if (auto it = doc.find("version"); it != doc.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 1) return WrongType("version", "a version");
    if (it->get<int64_t>() > kSnapshotVersion) {
      return Corrupt("snapshot format version " + std::to_string(it->get<int64_t>()) +
                     " is newer than this program supports")
          .WithHint("upgrade lifeboat");
    }
  }
  Snapshot snap;
  LB_RETURN_IF_ERROR(GetTime(doc, "time", true, snap.time_ns));
  std::optional<Id> tree;
  LB_RETURN_IF_ERROR(GetId(doc, "tree", true, tree));
  snap.tree = *tree;
  LB_RETURN_IF_ERROR(GetId(doc, "parent", false, snap.parent));
  LB_RETURN_IF_ERROR(GetId(doc, "original", false, snap.original));
  LB_RETURN_IF_ERROR(GetString(doc, "hostname", false, snap.hostname));
  LB_RETURN_IF_ERROR(GetString(doc, "username", false, snap.username));
  LB_RETURN_IF_ERROR(GetU32(doc, "uid", snap.uid));
  LB_RETURN_IF_ERROR(GetU32(doc, "gid", snap.gid));
  LB_RETURN_IF_ERROR(GetStringList(doc, "paths", snap.paths));
  if (doc.contains("paths_raw")) {
    std::vector<std::string> raw;
    LB_RETURN_IF_ERROR(GetStringList(doc, "paths_raw", raw));
    if (raw.size() != snap.paths.size()) {
      return Corrupt("snapshot fields 'paths' and 'paths_raw' differ in length");
    }
    for (size_t i = 0; i < raw.size(); ++i) {
      auto bytes = Base64Decode(raw[i]);
      if (!bytes.ok()) return WrongType("paths_raw", "an array of base64 strings");
      snap.paths[i] = std::string(AsString(*bytes));
    }
  }
  LB_RETURN_IF_ERROR(GetStringList(doc, "tags", snap.tags));
  std::string kind;
  LB_RETURN_IF_ERROR(GetString(doc, "kind", false, kind));
  if (!kind.empty()) {
    auto parsed = ParseBackupKind(kind);
    if (!parsed.ok()) return Corrupt("snapshot has unknown kind '" + kind + "'");
    snap.kind = *parsed;
  }
  LB_RETURN_IF_ERROR(GetString(doc, "source", false, snap.source));
  LB_RETURN_IF_ERROR(GetString(doc, "program_version", false, snap.program_version));
  if (auto it = doc.find("source_info"); it != doc.end()) {
    if (!it->is_object()) return WrongType("source_info", "an object");
    for (const auto& [key, value] : it->items()) {
      if (!value.is_string()) return WrongType("source_info", "an object of strings");
      snap.source_info[key] = value.get<std::string>();
    }
  }
  if (auto it = doc.find("summary"); it != doc.end()) {
    LB_RETURN_IF_ERROR(DecodeSummary(*it, snap.summary));
  }
  return snap;
}

}  // namespace

std::string_view BackupKindName(BackupKind kind) {
  switch (kind) {
    case BackupKind::kIncremental: return "incremental";
    case BackupKind::kDifferential: return "differential";
    case BackupKind::kFull: return "full";
  }
  return "unknown";
}

Result<BackupKind> ParseBackupKind(std::string_view name) {
  if (name == "incremental") return BackupKind::kIncremental;
  if (name == "differential") return BackupKind::kDifferential;
  if (name == "full") return BackupKind::kFull;
  return InvalidArgument("unknown backup kind '" + std::string(name) +
                         "' (expected incremental, differential or full)");
}

std::string EncodeSnapshot(const Snapshot& snapshot) {
  OrderedJson doc;
  doc["version"] = kSnapshotVersion;
  doc["time"] = FormatTimeRfc3339(snapshot.time_ns);
  doc["tree"] = snapshot.tree.Hex();
  if (snapshot.parent) doc["parent"] = snapshot.parent->Hex();
  if (snapshot.original) doc["original"] = snapshot.original->Hex();
  doc["kind"] = std::string(BackupKindName(snapshot.kind));
  doc["source"] = snapshot.source;
  doc["hostname"] = snapshot.hostname;
  doc["username"] = snapshot.username;
  doc["uid"] = snapshot.uid;
  doc["gid"] = snapshot.gid;
  doc["paths"] = snapshot.paths;
  bool all_utf8 = true;
  for (const std::string& p : snapshot.paths) all_utf8 = all_utf8 && IsValidUtf8(p);
  if (!all_utf8) {
    OrderedJson raw = OrderedJson::array();
    for (const std::string& p : snapshot.paths) raw.push_back(Base64Encode(AsBytes(p)));
    doc["paths_raw"] = std::move(raw);
  }
  doc["tags"] = snapshot.tags;
  doc["program_version"] = snapshot.program_version;
  if (!snapshot.source_info.empty()) {
    OrderedJson info = OrderedJson::object();
    for (const auto& [key, value] : snapshot.source_info) info[key] = value;
    doc["source_info"] = std::move(info);
  }
  const SnapshotSummary& s = snapshot.summary;
  doc["summary"] = {
      {"files_new", s.files_new},
      {"files_changed", s.files_changed},
      {"files_unmodified", s.files_unmodified},
      {"dirs_new", s.dirs_new},
      {"dirs_changed", s.dirs_changed},
      {"dirs_unmodified", s.dirs_unmodified},
      {"files_total", s.files_total},
      {"bytes_total", s.bytes_total},
      {"blobs_added", s.blobs_added},
      {"bytes_added", s.bytes_added},
      {"bytes_added_stored", s.bytes_added_stored},
      {"errors", s.errors},
      // JSON has no NaN/infinity (nlohmann would write null).
      {"duration_seconds", std::isfinite(s.duration_seconds) ? s.duration_seconds : 0.0},
      {"backup_start", FormatTimeRfc3339(s.backup_start_ns)},
      {"backup_end", FormatTimeRfc3339(s.backup_end_ns)},
  };
  // error_handler_t::replace: invalid UTF-8 becomes U+FFFD instead of throwing.
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<Snapshot> DecodeSnapshot(std::string_view json) {
  try {
    Json doc = Json::parse(json.begin(), json.end());
    return DecodeSnapshotJson(doc);
  } catch (const nlohmann::json::exception& e) {
    return Corrupt(std::string("snapshot document is not valid JSON: ") + e.what());
  }
}

}  // namespace lifeboat
