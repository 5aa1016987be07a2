// DumpTar: raw file content or a hand-written pax/ustar tar stream (POSIX.1-2001
// "pax" interchange format) of a snapshot path. See dump.h.
#include "restore/dump.h"

#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "restore/tree_walk.h"

namespace lifeboat {
namespace {

constexpr size_t kBlock = 512;
constexpr size_t kFlushSize = 1 << 20;

// Buffered writer to a descriptor.
class FdWriter {
 public:
  explicit FdWriter(int fd) : fd_(fd) {}

  Status Write(ByteView data) {
    if (buffer_.size() + data.size() > kFlushSize) {
      LB_RETURN_IF_ERROR(Flush());
      if (data.size() >= kFlushSize) return WriteRaw(data);
    }
    buffer_.insert(buffer_.end(), data.begin(), data.end());
    return Status::Ok();
  }
  Status Write(std::string_view s) { return Write(AsBytes(s)); }

  Status Flush() {
    Status s = WriteRaw(buffer_);
    buffer_.clear();
    return s;
  }

 private:
  Status WriteRaw(ByteView data) {
    const uint8_t* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, "unable to write the dump output");
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  int fd_;
  Bytes buffer_;
};

bool IsAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

// Writes `value` as zero-padded octal into field[0..width-2] plus a NUL.
// False if it does not fit.
bool PutOctal(char* field, size_t width, uint64_t value) {
  size_t digits = width - 1;
  char tmp[32];
  for (size_t i = digits; i-- > 0;) {
    tmp[i] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  }
  if (value != 0) return false;
  std::memcpy(field, tmp, digits);
  field[digits] = '\0';
  return true;
}

// One pax record: "<len> <key>=<value>\n", where <len> counts the whole record.
std::string PaxRecord(std::string_view key, std::string_view value) {
  size_t base = key.size() + value.size() + 3;  // ' ', '=', '\n'
  size_t len = base + 1;
  while (std::to_string(len).size() + base != len) len = std::to_string(len).size() + base;
  std::string out = std::to_string(len);
  out += ' ';
  out.append(key);
  out += '=';
  out.append(value);
  out += '\n';
  return out;
}

std::string PaxTime(int64_t ns) {
  bool negative = ns < 0;
  uint64_t abs_ns = negative ? 0 - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  std::string out = negative ? "-" : "";
  out += std::to_string(abs_ns / 1000000000);
  uint64_t frac = abs_ns % 1000000000;
  if (frac != 0) {
    std::string digits = std::to_string(frac);
    digits.insert(0, 9 - digits.size(), '0');
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    out += '.';
    out += digits;
  }
  return out;
}

struct TarEntry {
  std::string name;  // full entry name (directories end with '/')
  char type = '0';
  const Node* node = nullptr;
  uint64_t size = 0;
  std::string linkname;
};

class TarWriter {
 public:
  explicit TarWriter(FdWriter& out) : out_(out) {}

  Status WriteHeader(const TarEntry& e) {
    const Node& node = *e.node;
    std::string pax;
    char header[kBlock];
    std::memset(header, 0, sizeof header);

    if (e.name.size() <= 100 && IsAscii(e.name)) {
      std::memcpy(header, e.name.data(), e.name.size());
    } else {
      pax += PaxRecord("path", e.name);
      std::string shortname = Sanitized(e.name).substr(0, 100);
      std::memcpy(header, shortname.data(), shortname.size());
    }
    PutOctal(header + 100, 8, node.mode & 07777);
    if (!PutOctal(header + 108, 8, node.uid)) {
      pax += PaxRecord("uid", std::to_string(node.uid));
      PutOctal(header + 108, 8, 0);
    }
    if (!PutOctal(header + 116, 8, node.gid)) {
      pax += PaxRecord("gid", std::to_string(node.gid));
      PutOctal(header + 116, 8, 0);
    }
    if (!PutOctal(header + 124, 12, e.size)) {
      pax += PaxRecord("size", std::to_string(e.size));
      PutOctal(header + 124, 12, 0);
    }
    int64_t seconds = node.mtime_ns >= 0 ? node.mtime_ns / 1000000000 : 0;
    if (node.mtime_ns < 0 || node.mtime_ns % 1000000000 != 0 ||
        !PutOctal(header + 136, 12, static_cast<uint64_t>(seconds))) {
      pax += PaxRecord("mtime", PaxTime(node.mtime_ns));
      PutOctal(header + 136, 12,
               std::min<uint64_t>(static_cast<uint64_t>(seconds), 077777777777ull));
    }
    header[156] = e.type;
    if (!e.linkname.empty()) {
      if (e.linkname.size() <= 100 && IsAscii(e.linkname)) {
        std::memcpy(header + 157, e.linkname.data(), e.linkname.size());
      } else {
        pax += PaxRecord("linkpath", e.linkname);
        std::string shortlink = Sanitized(e.linkname).substr(0, 100);
        std::memcpy(header + 157, shortlink.data(), shortlink.size());
      }
    }
    std::memcpy(header + 257, "ustar", 6);  // magic "ustar\0"
    std::memcpy(header + 263, "00", 2);
    PutName(header + 265, node.user, "uname", &pax);
    PutName(header + 297, node.group, "gname", &pax);
    if (e.type == '3' || e.type == '4') {
      auto dev = static_cast<dev_t>(node.rdev);
      if (!PutOctal(header + 329, 8, major(dev)) || !PutOctal(header + 337, 8, minor(dev))) {
        return InvalidArgument("device number of '" + e.name + "' does not fit a tar header");
      }
    }
    for (const Xattr& x : node.xattrs) {
      pax += PaxRecord("SCHILY.xattr." + x.name, AsString(x.value));
    }
    if (!pax.empty()) {
      LB_RETURN_IF_ERROR(WritePaxHeader(e, pax));
    }
    LB_RETURN_IF_ERROR(WriteBlock(header));
    return Status::Ok();
  }

  Status Pad(uint64_t size) {
    size_t rest = size % kBlock;
    if (rest == 0) return Status::Ok();
    static const uint8_t kZeros[kBlock] = {};
    return out_.Write(ByteView(kZeros, kBlock - rest));
  }

  Status Finish() {
    static const uint8_t kZeros[2 * kBlock] = {};
    LB_RETURN_IF_ERROR(out_.Write(ByteView(kZeros, sizeof kZeros)));
    return out_.Flush();
  }

 private:
  static std::string Sanitized(const std::string& s) {
    std::string out = s;
    for (char& c : out) {
      if (static_cast<unsigned char>(c) >= 0x80) c = '_';
    }
    return out;
  }

  static void PutName(char* field, const std::string& name, std::string_view key,
                      std::string* pax) {
    if (name.size() <= 31 && IsAscii(name)) {
      std::memcpy(field, name.data(), name.size());
      return;
    }
    *pax += PaxRecord(key, name);
  }

  Status WritePaxHeader(const TarEntry& e, const std::string& records) {
    char header[kBlock];
    std::memset(header, 0, sizeof header);
    std::string base = e.name;
    while (!base.empty() && base.back() == '/') base.pop_back();
    size_t slash = base.rfind('/');
    if (slash != std::string::npos) base = base.substr(slash + 1);
    std::string name = "PaxHeaders/" + Sanitized(base);
    name = name.substr(0, 99);
    std::memcpy(header, name.data(), name.size());
    PutOctal(header + 100, 8, 0644);
    PutOctal(header + 108, 8, 0);
    PutOctal(header + 116, 8, 0);
    PutOctal(header + 124, 12, records.size());
    int64_t seconds = e.node->mtime_ns > 0 ? e.node->mtime_ns / 1000000000 : 0;
    PutOctal(header + 136, 12, std::min<uint64_t>(static_cast<uint64_t>(seconds), 077777777777ull));
    header[156] = 'x';
    std::memcpy(header + 257, "ustar", 6);
    std::memcpy(header + 263, "00", 2);
    LB_RETURN_IF_ERROR(WriteBlock(header));
    LB_RETURN_IF_ERROR(out_.Write(records));
    return Pad(records.size());
  }

  Status WriteBlock(char* header) {
    std::memset(header + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < kBlock; ++i) sum += static_cast<unsigned char>(header[i]);
    char chk[8];
    PutOctal(chk, 7, sum);  // six digits and a NUL
    std::memcpy(header + 148, chk, 7);
    header[155] = ' ';
    return out_.Write(ByteView(reinterpret_cast<const uint8_t*>(header), kBlock));
  }

  FdWriter& out_;
};

// Sizes of a file's chunks from the index; kNotFound for a missing blob.
Result<uint64_t> ContentSize(Repository& repo, const Node& node, const std::string& path) {
  uint64_t size = 0;
  for (const Id& id : node.content) {
    auto loc = repo.index().Find(format::BlobType::kData, id);
    if (!loc) {
      return Status(Code::kNotFound,
                    "unable to dump '" + path + "': data blob " + id.Hex() +
                        " is not in the repository index",
                    "run 'lifeboat check' on the repository");
    }
    size += loc->blob.raw_length;
  }
  return size;
}

Status WriteContent(Repository& repo, const Node& node, const std::string& path, FdWriter& out) {
  for (const Id& id : node.content) {
    auto data = repo.LoadBlob(format::BlobType::kData, id);
    if (!data.ok()) return data.status().WithContext("unable to dump '" + path + "'");
    LB_RETURN_IF_ERROR(out.Write(*data));
  }
  return Status::Ok();
}

class TarDumper {
 public:
  TarDumper(Repository& repo, FdWriter& out) : repo_(repo), out_(out), tar_(out) {}

  Status Entry(const std::string& abs_path, const Node& node) {
    TarEntry e;
    e.name = abs_path.substr(abs_path.find_first_not_of('/') == std::string::npos
                                 ? abs_path.size()
                                 : abs_path.find_first_not_of('/'));
    e.node = &node;
    switch (node.type) {
      case NodeType::kDir:
        e.type = '5';
        e.name += '/';
        return tar_.WriteHeader(e);
      case NodeType::kSymlink:
        e.type = '2';
        e.linkname = node.link_target;
        return tar_.WriteHeader(e);
      case NodeType::kFifo:
        e.type = '6';
        return tar_.WriteHeader(e);
      case NodeType::kCharDev:
        e.type = '3';
        return tar_.WriteHeader(e);
      case NodeType::kBlockDev:
        e.type = '4';
        return tar_.WriteHeader(e);
      case NodeType::kSocket:
        return Status::Ok();
      case NodeType::kFile:
        break;
    }
    if (node.links > 1 && node.inode != 0) {
      auto key = std::make_pair(node.device_id, node.inode);
      auto it = hardlinks_.find(key);
      if (it != hardlinks_.end() && it->second.content == node.content) {
        e.type = '1';
        e.linkname = it->second.name;
        return tar_.WriteHeader(e);
      }
      if (it == hardlinks_.end()) hardlinks_.emplace(key, FirstLink{e.name, node.content});
    }
    LB_ASSIGN_OR_RETURN(e.size, ContentSize(repo_, node, abs_path));
    e.type = '0';
    LB_RETURN_IF_ERROR(tar_.WriteHeader(e));
    LB_RETURN_IF_ERROR(WriteContent(repo_, node, abs_path, out_));
    return tar_.Pad(e.size);
  }

  Status Finish() { return tar_.Finish(); }

 private:
  struct FirstLink {
    std::string name;
    std::vector<Id> content;
  };
  Repository& repo_;
  FdWriter& out_;
  TarWriter tar_;
  std::map<std::pair<uint64_t, uint64_t>, FirstLink> hardlinks_;
};

}  // namespace

Status DumpTar(Repository& repo, const Id& root_tree, std::string_view path, int out_fd) {
  LB_ASSIGN_OR_RETURN(std::string clean, CleanSnapshotPath(path));
  LB_ASSIGN_OR_RETURN(std::optional<Node> node, FindNode(repo, root_tree, clean));
  if (!node) return NotFound("path '" + clean + "' is not in the snapshot");
  FdWriter out(out_fd);
  if (node->type == NodeType::kFile) {
    LB_RETURN_IF_ERROR(WriteContent(repo, *node, clean, out));
    return out.Flush();
  }
  TarDumper dumper(repo, out);
  if (clean != "/") LB_RETURN_IF_ERROR(dumper.Entry(clean, *node));
  if (node->type == NodeType::kDir && node->subtree) {
    LB_RETURN_IF_ERROR(WalkSubtree(
        repo, *node->subtree, clean,
        [&](const std::string& abs, const Node& child) { return dumper.Entry(abs, child); }));
  }
  return dumper.Finish();
}

}  // namespace lifeboat
