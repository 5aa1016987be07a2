// MariaDB / MySQL client tools as child processes: a private option file
// that carries the connection settings and the password (never argv or the
// environment), process spawning with pipes, and small queries through the
// `mariadb` client.
//
// ClientEnv owns a private temporary directory (0700) holding the option
// file (0600, read by the tools with --defaults-file=, which also keeps
// /etc/mysql/my.cnf and ~/.my.cnf out) and whatever the caller puts there
// (stderr captures, fetched binlogs); the directory is removed when the
// ClientEnv is destroyed.
//
// Thread-safety: none needed (used from one thread per command).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace lifeboat {

struct MariaDbConnection {
  std::string host;    // empty: the client's default (the local socket)
  int port = 0;        // 0: the client's default (3306)
  std::string socket;  // a Unix socket path, instead of host/port
  std::string user;    // empty: the client's default
  std::string password;
  bool has_password = false;

  // "127.0.0.1:3306", "/run/mysqld/mysqld.sock" or "localhost" (no secrets).
  std::string Describe() const;
};

// The first of `names` found in PATH ("mariadb-dump", "mysqldump"), or
// kNotFound with an install hint.
Result<std::string> FindTool(const std::vector<std::string>& names);

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH
  int stdin_fd = -1;              // -1: /dev/null
  int stdout_fd = -1;             // -1: /dev/null
  std::string stderr_path;        // empty: /dev/null; else created 0600
  std::vector<std::string> env;   // extra "NAME=value" entries
};

// A spawned child process; Wait() reaps it. Destroying an unreaped child
// kills (SIGKILL) and reaps it.
class Child {
 public:
  static Result<std::unique_ptr<Child>> Spawn(const ChildSpec& spec);
  ~Child();
  // The exit status (0-255), or 128 + signal number when killed by a signal.
  int Wait();
  void Terminate();  // SIGTERM
  pid_t pid() const { return pid_; }

 private:
  explicit Child(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  bool reaped_ = false;
  int status_ = 0;
};

// pipe2(O_CLOEXEC): fds[0] read end, fds[1] write end.
Status MakePipe(int fds[2]);

// The last lines of a file (at most max_bytes), trimmed, on one line each
// separated by " | "; for error messages from a tool's stderr.
std::string TailOfFile(const std::string& path, size_t max_bytes = 600);

class ClientEnv {
 public:
  // Creates the private directory and the option file for `conn`.
  // kInvalidArgument when a setting holds a newline or NUL.
  static Result<std::unique_ptr<ClientEnv>> Create(const MariaDbConnection& conn);
  ~ClientEnv();
  ClientEnv(const ClientEnv&) = delete;
  ClientEnv& operator=(const ClientEnv&) = delete;

  const std::string& dir() const { return dir_; }
  // "--defaults-file=<dir>/client.cnf": must be a tool's first argument.
  std::string DefaultsArg() const { return "--defaults-file=" + dir_ + "/client.cnf"; }
  const MariaDbConnection& connection() const { return conn_; }

  // Runs `sql` with `mariadb -N -B` and returns its standard output: one
  // line per row, columns separated by tabs. On failure the error names
  // what was being done (`what`) and quotes the client's message.
  Result<std::string> Query(const std::string& sql, const std::string& what) const;

 private:
  ClientEnv(MariaDbConnection conn, std::string dir)
      : conn_(std::move(conn)), dir_(std::move(dir)) {}
  MariaDbConnection conn_;
  std::string dir_;
  std::string client_;  // the mariadb (or mysql) client
};

// Splits `mariadb -N -B` output into rows of tab-separated columns.
std::vector<std::vector<std::string>> ParseRows(const std::string& text);

}  // namespace lifeboat
