// TestTempDir: a fresh directory under /tmp for one test, removed (with all
// its contents) on destruction. Test-only helper for backend tests.
// Thread-safety: not shared between threads.
#pragma once

#include <stdlib.h>

#include <filesystem>
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

}  // namespace lifeboat
