#include "mariadb/client.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "backend/file_util.h"

extern char** environ;

namespace lifeboat {
namespace {

bool HasControl(const std::string& s) {
  return s.find('\n') != std::string::npos || s.find('\r') != std::string::npos ||
         s.find('\0') != std::string::npos;
}

// An option file value: double-quoted, with \ and " escaped (the client
// library strips the quotes and undoes \\ and \").
std::string OptionValue(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out + "\"";
}

bool InPath(const std::string& name) {
  const char* path = getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t pos = 0;
  while (pos <= dirs.size()) {
    size_t colon = dirs.find(':', pos);
    if (colon == std::string::npos) colon = dirs.size();
    std::string dir = dirs.substr(pos, colon - pos);
    if (dir.empty()) dir = ".";
    if (::access((dir + "/" + name).c_str(), X_OK) == 0) return true;
    pos = colon + 1;
  }
  return false;
}

}  // namespace

std::string MariaDbConnection::Describe() const {
  if (!socket.empty()) return socket;
  std::string h = host.empty() ? "localhost" : host;
  return port > 0 ? h + ":" + std::to_string(port) : h;
}

Result<std::string> FindTool(const std::vector<std::string>& names) {
  for (const std::string& n : names) {
    if (InPath(n)) return n;
  }
  return Status(Code::kNotFound, "'" + names.front() + "' was not found in PATH",
                "install the MariaDB client tools (Debian: apt-get install mariadb-client)");
}

Status MakePipe(int fds[2]) {
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "unable to create a pipe");
  return Status::Ok();
}

Result<std::unique_ptr<Child>> Child::Spawn(const ChildSpec& spec) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (spec.stdin_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, spec.stdin_fd, STDIN_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  if (spec.stdout_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, spec.stdout_fd, STDOUT_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  }
  const std::string err = spec.stderr_path.empty() ? "/dev/null" : spec.stderr_path;
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  // The child must not inherit our SIGPIPE disposition (restore ignores it).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> argv;
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; e && *e; ++e) {
    std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const std::string& extra : spec.env) {
      overridden = overridden || extra.substr(0, extra.find('=')) == name;
    }
    // MYSQL_PWD would override the option file's password.
    if (!overridden && name != "MYSQL_PWD") env_store.push_back(std::move(entry));
  }
  for (const std::string& extra : spec.env) env_store.push_back(extra);
  std::vector<char*> envp;
  for (std::string& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return ErrnoStatus(rc, "unable to run " + spec.argv[0]);
  return std::unique_ptr<Child>(new Child(pid));
}

Child::~Child() {
  if (!reaped_) {
    ::kill(pid_, SIGKILL);
    Wait();
  }
}

int Child::Wait() {
  if (reaped_) return status_;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) {
      status = 0x7f00;  // reported below as exit 127
      break;
    }
  }
  reaped_ = true;
  if (WIFEXITED(status))
    status_ = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    status_ = 128 + WTERMSIG(status);
  else
    status_ = 127;
  return status_;
}

void Child::Terminate() {
  if (!reaped_) ::kill(pid_, SIGTERM);
}

std::string TailOfFile(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (all.size() > max_bytes) all = all.substr(all.size() - max_bytes);
  std::string out;
  size_t pos = 0;
  while (pos < all.size()) {
    size_t nl = all.find('\n', pos);
    if (nl == std::string::npos) nl = all.size();
    std::string line = all.substr(pos, nl - pos);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) out += (out.empty() ? "" : " | ") + line;
    pos = nl + 1;
  }
  return out.empty() ? "(no message)" : out;
}

Result<std::unique_ptr<ClientEnv>> ClientEnv::Create(const MariaDbConnection& conn) {
  for (const std::string* s : {&conn.host, &conn.socket, &conn.user, &conn.password}) {
    if (HasControl(*s)) {
      return InvalidArgument(
          "MariaDB connection settings and passwords may not contain line "
          "breaks or NUL bytes");
    }
  }
  const char* tmp = getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/lifeboat-mariadb-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    return ErrnoStatus(errno, "unable to create a private temporary directory");
  }
  std::unique_ptr<ClientEnv> env(new ClientEnv(conn, templ));
  ::chmod(env->dir_.c_str(), 0700);
  std::string text = "[client]\n";
  if (!conn.user.empty()) text += "user=" + OptionValue(conn.user) + "\n";
  if (conn.has_password) text += "password=" + OptionValue(conn.password) + "\n";
  if (!conn.socket.empty()) {
    text += "socket=" + OptionValue(conn.socket) + "\n";
  } else {
    if (!conn.host.empty()) text += "host=" + OptionValue(conn.host) + "\n";
    if (conn.port > 0) text += "port=" + std::to_string(conn.port) + "\n";
  }
  const std::string path = env->dir_ + "/client.cnf";
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) return ErrnoStatus(errno, "unable to create " + path);
  LB_RETURN_IF_ERROR(WriteAll(fd.get(), AsBytes(text), path));
  if (const int e = fd.Close(); e != 0) return ErrnoStatus(e, "unable to write " + path);
  LB_ASSIGN_OR_RETURN(env->client_, FindTool({"mariadb", "mysql"}));
  return env;
}

ClientEnv::~ClientEnv() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

Result<std::string> ClientEnv::Query(const std::string& sql, const std::string& what) const {
  const std::string out_path = dir_ + "/query.out";
  const std::string err_path = dir_ + "/query.err";
  UniqueFd out(::open(out_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (out.get() < 0) return ErrnoStatus(errno, "unable to create " + out_path);
  ChildSpec spec;
  spec.argv = {client_, DefaultsArg(), "-N", "-B", "-e", sql};
  spec.stdout_fd = out.get();
  spec.stderr_path = err_path;
  LB_ASSIGN_OR_RETURN(auto child, Child::Spawn(spec));
  const int rc = child->Wait();
  if (rc != 0) {
    return Status(Code::kIoError,
                  "unable to " + what + " on MariaDB server " + conn_.Describe() + ": " +
                      TailOfFile(err_path),
                  "check --host/--port/--socket, --user and the password "
                  "(--mariadb-password-file or LIFEBOAT_MARIADB_PASSWORD)");
  }
  std::ifstream in(out_path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<std::vector<std::string>> ParseRows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) continue;
    std::vector<std::string> cols;
    size_t c = 0;
    while (true) {
      size_t tab = line.find('\t', c);
      cols.push_back(line.substr(c, tab == std::string::npos ? std::string::npos : tab - c));
      if (tab == std::string::npos) break;
      c = tab + 1;
    }
    rows.push_back(std::move(cols));
  }
  return rows;
}

}  // namespace lifeboat
