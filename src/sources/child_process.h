// ChildProcess: runs a program directly (execvp, never through a shell) with
// its standard output on a pipe the caller reads, its standard error kept in
// an unlinked temporary file (so a failing tool's last words can be quoted
// without a second reader thread), and extra environment variables (the way
// secrets reach child tools: never in argv).
//
// Owns the pipe and the process: the destructor closes the pipe, and a child
// not yet waited for is sent SIGTERM and reaped.
// Thread-safety: one thread uses an instance.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace lifeboat {

struct ChildOptions {
  // Added to (or replacing in) the inherited environment.
  std::map<std::string, std::string> env;
  bool capture_stderr = true;  // else inherited
  bool stdin_null = false;     // else inherited
  // Standard input on a pipe the caller writes (stdin_fd; CloseStdin ends
  // the child's input). Wins over stdin_null.
  bool stdin_pipe = false;
  // Standard output to /dev/null instead of a pipe (stdout_fd is then -1).
  bool stdout_null = false;
};

// How a child ended.
struct ExitStatus {
  bool exited = false;  // else killed by `signal`
  int code = 0;
  int signal = 0;
  bool success() const { return exited && code == 0; }
  // "exit status 2", "killed by signal 9 (SIGKILL)".
  std::string Describe() const;
};

class ChildProcess {
 public:
  // Starts argv[0] (looked up in PATH) with argv. A program that cannot be
  // started is kNotFound / kPermissionDenied naming it (reported through a
  // close-on-exec pipe, not as exit status 127).
  static Result<std::unique_ptr<ChildProcess>> Start(const std::vector<std::string>& argv,
                                                     const ChildOptions& options = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The read end of the child's standard output.
  int stdout_fd() const { return stdout_fd_; }
  // Closes the read end (the child then gets SIGPIPE/EPIPE if it writes).
  void CloseStdout();
  // With ChildOptions::stdin_pipe: the write end of the child's standard
  // input (else -1), and closing it (end of input for the child).
  int stdin_fd() const { return stdin_fd_; }
  void CloseStdin();
  // Sends SIGTERM (no effect once waited for).
  void Terminate();
  // Waits for the child to end (once; later calls return the same status).
  ExitStatus Wait();
  // The end of what the child wrote to standard error (at most `max` bytes,
  // trimmed, control characters other than newline replaced), after Wait.
  std::string StderrTail(size_t max = 2000) const;

  const std::string& program() const { return program_; }

 private:
  ChildProcess() = default;
  std::string program_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int stdin_fd_ = -1;
  int stderr_fd_ = -1;
  bool waited_ = false;
  ExitStatus status_;
};

// Runs argv to completion: its exit status, standard output (at most
// `max_output` bytes; more is kInvalidArgument) and the end of its standard
// error. Fails only when it cannot be started.
struct CollectedRun {
  ExitStatus status;
  std::string out;
  std::string err_tail;
};
Result<CollectedRun> RunAndCollect(const std::vector<std::string>& argv,
                                   const ChildOptions& options = {}, size_t max_output = 16 << 20);

// Runs argv to completion and returns its standard output (at most
// `max_output` bytes; more is kInvalidArgument). A non-zero exit is kIoError
// naming the program, its status and the end of its standard error.
Result<std::string> RunAndCapture(const std::vector<std::string>& argv,
                                  const ChildOptions& options = {}, size_t max_output = 16 << 20);

// The last path component of a program name ("/usr/bin/pg_dump" → "pg_dump").
std::string ProgramBaseName(const std::string& program);

}  // namespace lifeboat
