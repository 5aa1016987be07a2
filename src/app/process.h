// Child processes for the application layer: lifeboat's own subcommands
// (run, drill), verify commands and the alert command. argv is passed to
// execvp as is (no shell) unless a caller asks for /bin/sh -c explicitly.
// Secrets never go into argv: callers pass password files/commands by name.
//
// Thread-safety: free functions; each call forks its own child.
#pragma once

#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"

namespace lifeboat {

struct ProcessResult {
  int exit_code = -1;   // -1 when killed by a signal or not started
  std::string out;      // standard output (capped at kMaxCapture)
  std::string err;      // standard error (capped at kMaxCapture)
  bool ok() const { return exit_code == 0; }
  // The last non-empty line of `err` (else of `out`), for one-line messages.
  std::string LastLine() const;
};

inline constexpr size_t kMaxCapture = 4 << 20;

struct ProcessOptions {
  std::string stdin_data;                  // written to the child's stdin, then closed
  std::map<std::string, std::string> env;  // added to (or replacing in) the environment
  // 0: none; else the child is killed (SIGKILL) and, 2 s later, what it
  // started and still holds its output open is no longer waited for.
  int timeout_seconds = 0;
  // The caller's stop flag (set by its SIGINT/SIGTERM handler), or null. Set
  // before the child starts: it is not started (kCancelled). Set while it
  // runs: the child gets SIGTERM once, 200-400 ms later, sent with sigqueue
  // and the value kStopRequestValue. A signal sent to the process group just
  // before the fork reaches the caller but not the child; this passes it on
  // (late enough for the group's signal, when the child did get it, to come
  // first).
  const std::atomic<bool>* stop = nullptr;
};

// si_value of a SIGTERM passed on to a child by RunProcess (`stop`). Such a
// signal may be the same event as one the child got through its process
// group: lifeboat's handler never counts it as a second signal.
inline constexpr int kStopRequestValue = 0x6c625354;  // "lbST"

// Runs argv[0] (searched in PATH) with the arguments; waits. Fails only when
// the child cannot be started (kIoError naming argv[0]; kCancelled when
// options.stop was set); a non-zero exit is a ProcessResult with that exit
// code.
Result<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                 const ProcessOptions& options = {});

// "/bin/sh -c COMMAND".
Result<ProcessResult> RunShell(const std::string& command, const ProcessOptions& options = {});

// Quotes for /bin/sh: plain words stay as they are, others in '...'.
std::string ShellQuote(const std::string& s);
// Each element quoted, joined with spaces.
std::string ShellJoin(const std::vector<std::string>& argv);

// The running executable (/proc/self/exe), else "lifeboat".
std::string SelfExecutable();

}  // namespace lifeboat
