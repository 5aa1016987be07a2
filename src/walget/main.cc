// lifeboat-wal-get: the restore_command that `lifeboat restore postgres`
// writes while it prefetches WAL into a spool (walspool/fetch_spool.h).
//
//   lifeboat-wal-get --spool DIR --system-id N WALFILE DEST -- LIFEBOAT ARGS...
//
// It records the ask, waits for the running fetch worker to bring WALFILE
// and copies it to DEST. When no worker runs (none was started, or it went
// idle) it executes the full command after `--` (`lifeboat ... postgres
// archive-get WALFILE DEST --spool DIR`), which starts one. Exit codes are
// archive-get's: 0 restored, 1 not in the archive, 2 any other failure.
// Its arguments come from restore, not from people: it checks them all the
// same, since WALFILE becomes part of a path.
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "walspool/fetch_spool.h"
#include "walspool/wal_name.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitNotFound = 1;
constexpr int kExitError = 2;

int Fail(const std::string& message) {
  std::cerr << "lifeboat-wal-get: " << message << "\n";
  return kExitError;
}

bool ParseSystemId(const std::string& text, uint64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  *out = v;
  return v != 0;
}

int Run(int argc, char** argv) {
  std::string spool_root, system_text, wal_name, dest;
  double timeout = 60;
  std::vector<char*> fallback;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      for (int j = i + 1; j < argc; ++j) fallback.push_back(argv[j]);
      break;
    }
    const bool has_value = i + 1 < argc;
    if (arg == "--spool" && has_value) {
      spool_root = argv[++i];
    } else if (arg == "--system-id" && has_value) {
      system_text = argv[++i];
    } else if (arg == "--timeout" && has_value) {
      timeout = std::atof(argv[++i]);
    } else if (arg.rfind("--", 0) == 0) {
      return Fail("unknown option " + arg);
    } else {
      positional.push_back(arg);
    }
  }
  uint64_t system_id = 0;
  if (positional.size() != 2 || spool_root.empty() || !ParseSystemId(system_text, &system_id) ||
      fallback.empty() || timeout <= 0) {
    return Fail(
        "usage: lifeboat-wal-get --spool DIR --system-id N WALFILE DEST -- LIFEBOAT ARGS... "
        "(written into restore_command by 'lifeboat restore postgres')");
  }
  wal_name = positional[0];
  dest = positional[1];
  if (lifeboat::Status s = lifeboat::ValidateWalFileName(wal_name); !s.ok()) {
    return Fail(s.ToString());
  }
  fallback.push_back(nullptr);

  lifeboat::WalFetchSpool spool(spool_root, system_id);
  lifeboat::Status s = spool.Prepare();
  if (s.ok()) {
    s = spool.Await(wal_name, dest, timeout, [&](int lock_fd) {
      // No worker: the full binary starts one (and waits for it).
      ::close(lock_fd);
      ::execv(fallback[0], fallback.data());
      std::exit(Fail(std::string("unable to run ") + fallback[0] + ": " + std::strerror(errno)));
    });
  }
  if (s.code() == lifeboat::Code::kNotFound) {
    std::cerr << "lifeboat: " << s.message() << " (system " << system_id << ")\n";
    return kExitNotFound;
  }
  return s.ok() ? kExitOk : Fail(s.ToString());
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
