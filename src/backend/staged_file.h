// StagedFile: an object written piece by piece to a local file before it is
// stored, so that a pack's bytes never sit in memory whole. The repository
// stages packs in the backend's StagingDir() (same filesystem as the
// objects: storing is a link + rename) or, for remote backends, in a local
// temporary directory (storing uploads the file).
//
// The file is anonymous (O_TMPFILE) where the filesystem supports it, so a
// crash leaves nothing behind; otherwise it is a named ".tmp-*" file, which
// backends' List skips and the destructor removes.
// Ownership: owns the descriptor (and the named file until published).
// Movable, not copyable. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "backend/file_util.h"
#include "base/bytes.h"
#include "base/result.h"

namespace lifeboat {

class StagedFile {
 public:
  // Creates an empty staged file (mode 0600) in `dir`.
  static Result<StagedFile> Create(const std::string& dir);

  StagedFile(StagedFile&& other) noexcept;
  StagedFile& operator=(StagedFile&& other) noexcept;
  ~StagedFile();

  Status Append(ByteView data);
  uint64_t size() const { return size_; }
  const std::string& dir() const { return dir_; }
  int fd() const { return fd_.get(); }

  // Makes the contents durable (fdatasync) and moves the file to
  // `final_path`, atomically replacing an existing file there, then syncs
  // the final directory. `final_path` must be on the staging directory's
  // filesystem: EXDEV comes back as Code::kUnsupported so the caller can
  // copy instead. The file is spent afterwards (even on failure).
  Status Publish(const std::string& final_path);

  // Maps the whole file read-only (for backends that send the bytes).
  class Mapping {
   public:
    Mapping(Mapping&& other) noexcept;
    Mapping& operator=(Mapping&&) = delete;
    ~Mapping();
    ByteView view() const { return ByteView(static_cast<const uint8_t*>(addr_), size_); }

   private:
    friend class StagedFile;
    Mapping(void* addr, size_t size) : addr_(addr), size_(size) {}
    void* addr_;
    size_t size_;
  };
  Result<Mapping> Map() const;

  // Closes the file without storing it (a named file is removed).
  void Discard();

 private:
  StagedFile(UniqueFd fd, std::string dir, std::string named_path);

  UniqueFd fd_;
  std::string dir_;
  std::string named_path_;  // empty for an anonymous (O_TMPFILE) file
  uint64_t size_ = 0;
};

}  // namespace lifeboat
