// TestTempDir: a fresh directory under /tmp for one test, removed (with all
// its contents) on destruction; Entries lists a directory. Test-only helpers
// for backend tests.
// Thread-safety: not shared between threads.
#pragma once

#include <dirent.h>
#include <stdlib.h>

#include <filesystem>
#include <set>
#include <string>

namespace lifeboat {

class TestTempDir {
 public:
  TestTempDir() {
    std::string tmpl = "/tmp/lifeboat-backend-XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TestTempDir() {
    if (path_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TestTempDir(const TestTempDir&) = delete;
  TestTempDir& operator=(const TestTempDir&) = delete;

  // Empty if the directory could not be created.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The names in a directory, without "." and ".." (empty if it cannot be read).
inline std::set<std::string> Entries(const std::string& dir) {
  std::set<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (const dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.insert(n);
  }
  ::closedir(d);
  return out;
}

}  // namespace lifeboat
