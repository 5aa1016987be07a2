#include "sources/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

extern char** environ;

namespace lifeboat {

std::string ExitStatus::Describe() const {
  if (exited) return "exit status " + std::to_string(code);
  const char* name = sigabbrev_np(signal);
  return "killed by signal " + std::to_string(signal) +
         (name != nullptr ? std::string(" (SIG") + name + ")" : std::string());
}

std::string ProgramBaseName(const std::string& program) {
  size_t slash = program.find_last_of('/');
  return slash == std::string::npos ? program : program.substr(slash + 1);
}

namespace {

// PATH lookup before fork: the child may only call async-signal-safe
// functions, so nothing is allocated there.
Result<std::string> FindProgram(const std::string& name) {
  if (name.empty()) return InvalidArgument("no command given");
  if (name.find('/') != std::string::npos) {
    if (access(name.c_str(), X_OK) != 0) {
      return ErrnoStatus(errno, "unable to run '" + name + "'");
    }
    return name;
  }
  const char* path_env = getenv("PATH");
  std::string path = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t colon = path.find(':', pos);
    if (colon == std::string::npos) colon = path.size();
    std::string dir = path.substr(pos, colon - pos);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    struct stat st {};
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    pos = colon + 1;
  }
  return Status(Code::kNotFound, "program '" + name + "' not found",
                "install it or give its full path (PATH is searched)");
}

int OpenTempFile() {
  const char* tmp = getenv("TMPDIR");
  std::string dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  int fd = open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  std::string templ = dir + "/lifeboat-stderr-XXXXXX";
  fd = mkostemp(templ.data(), O_CLOEXEC);
  if (fd >= 0) unlink(templ.c_str());
  return fd;
}

}  // namespace

Result<std::unique_ptr<ChildProcess>> ChildProcess::Start(const std::vector<std::string>& argv,
                                                          const ChildOptions& options) {
  if (argv.empty()) return InvalidArgument("no command given");
  LB_ASSIGN_OR_RETURN(std::string exe, FindProgram(argv[0]));

  // Everything the child needs, built before fork.
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string key(entry.substr(0, entry.find('=')));
    if (options.env.count(key) == 0) env_strings.emplace_back(entry);
  }
  for (const auto& [key, value] : options.env) env_strings.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  auto child = std::unique_ptr<ChildProcess>(new ChildProcess());
  child->program_ = argv[0];
  int out[2], err_pipe[2];
  if (pipe2(out, O_CLOEXEC) != 0) return ErrnoStatus(errno, "unable to create a pipe");
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    int e = errno;
    close(out[0]);
    close(out[1]);
    return ErrnoStatus(e, "unable to create a pipe");
  }
  child->stdout_fd_ = out[0];
  int stderr_fd = -1;
  if (options.capture_stderr) {
    stderr_fd = OpenTempFile();
    child->stderr_fd_ = stderr_fd;
  }
  int null_fd = options.stdin_null && !options.stdin_pipe
                    ? open("/dev/null", O_RDONLY | O_CLOEXEC)
                    : -1;
  int in[2] = {-1, -1};
  if (options.stdin_pipe && pipe2(in, O_CLOEXEC) != 0) {
    int e = errno;
    close(out[0]);
    close(out[1]);
    close(err_pipe[0]);
    close(err_pipe[1]);
    return ErrnoStatus(e, "unable to create a pipe");
  }
  child->stdin_fd_ = in[1];
  int out_null = options.stdout_null ? open("/dev/null", O_WRONLY | O_CLOEXEC) : -1;

  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(out[1]);
    close(err_pipe[0]);
    close(err_pipe[1]);
    if (null_fd >= 0) close(null_fd);
    if (in[0] >= 0) close(in[0]);
    if (out_null >= 0) close(out_null);
    return ErrnoStatus(e, "unable to start '" + argv[0] + "'");
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (dup2(out_null >= 0 ? out_null : out[1], STDOUT_FILENO) < 0) _exit(127);
    if (in[0] >= 0 && dup2(in[0], STDIN_FILENO) < 0) _exit(127);
    if (stderr_fd >= 0 && dup2(stderr_fd, STDERR_FILENO) < 0) _exit(127);
    if (null_fd >= 0 && dup2(null_fd, STDIN_FILENO) < 0) _exit(127);
    execve(exe.c_str(), args.data(), envp.data());
    int e = errno;
    ssize_t ignored = write(err_pipe[1], &e, sizeof e);
    (void)ignored;
    _exit(127);
  }
  child->pid_ = pid;
  close(out[1]);
  close(err_pipe[1]);
  if (null_fd >= 0) close(null_fd);
  if (in[0] >= 0) close(in[0]);
  if (out_null >= 0) {
    close(out_null);
    child->CloseStdout();
  }
  int exec_errno = 0;
  ssize_t n;
  do {
    n = read(err_pipe[0], &exec_errno, sizeof exec_errno);
  } while (n < 0 && errno == EINTR);
  close(err_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof exec_errno)) {
    child->Wait();
    return ErrnoStatus(exec_errno, "unable to run '" + argv[0] + "'");
  }
  return child;
}

ChildProcess::~ChildProcess() {
  CloseStdin();
  CloseStdout();
  if (pid_ > 0 && !waited_) {
    Terminate();
    Wait();
  }
  if (stderr_fd_ >= 0) close(stderr_fd_);
}

void ChildProcess::CloseStdout() {
  if (stdout_fd_ >= 0) close(stdout_fd_);
  stdout_fd_ = -1;
}

void ChildProcess::CloseStdin() {
  if (stdin_fd_ >= 0) close(stdin_fd_);
  stdin_fd_ = -1;
}

void ChildProcess::Terminate() {
  if (pid_ > 0 && !waited_) kill(pid_, SIGTERM);
}

ExitStatus ChildProcess::Wait() {
  if (waited_ || pid_ <= 0) return status_;
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  waited_ = true;
  if (r < 0) {
    status_.exited = true;
    status_.code = -1;
  } else if (WIFEXITED(status)) {
    status_.exited = true;
    status_.code = WEXITSTATUS(status);
  } else {
    status_.exited = false;
    status_.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  }
  return status_;
}

std::string ChildProcess::StderrTail(size_t max) const {
  if (stderr_fd_ < 0) return {};
  struct stat st {};
  if (fstat(stderr_fd_, &st) != 0 || st.st_size <= 0) return {};
  size_t size = static_cast<size_t>(st.st_size);
  size_t len = std::min(size, max);
  std::string buf(len, '\0');
  ssize_t n = pread(stderr_fd_, buf.data(), len, static_cast<off_t>(size - len));
  if (n <= 0) return {};
  buf.resize(static_cast<size_t>(n));
  for (char& c : buf) {
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\n') || c == 0x7f) c = ' ';
  }
  size_t b = buf.find_first_not_of(" \n");
  size_t e = buf.find_last_not_of(" \n");
  if (b == std::string::npos) return {};
  return buf.substr(b, e - b + 1);
}

Result<CollectedRun> RunAndCollect(const std::vector<std::string>& argv,
                                   const ChildOptions& options, size_t max_output) {
  LB_ASSIGN_OR_RETURN(auto child, ChildProcess::Start(argv, options));
  CollectedRun r;
  char buf[65536];
  bool too_long = false;
  for (;;) {
    ssize_t n = read(child->stdout_fd(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (r.out.size() + static_cast<size_t>(n) > max_output) {
      too_long = true;
      break;
    }
    r.out.append(buf, static_cast<size_t>(n));
  }
  child->CloseStdout();
  r.status = child->Wait();
  r.err_tail = child->StderrTail(600);
  if (too_long) {
    return InvalidArgument("'" + ProgramBaseName(argv[0]) + "' wrote more than " +
                           std::to_string(max_output) + " bytes");
  }
  return r;
}

Result<std::string> RunAndCapture(const std::vector<std::string>& argv,
                                  const ChildOptions& options, size_t max_output) {
  LB_ASSIGN_OR_RETURN(CollectedRun r, RunAndCollect(argv, options, max_output));
  if (!r.status.success()) {
    return Status(Code::kIoError, "'" + ProgramBaseName(argv[0]) + "' failed with " +
                                      r.status.Describe() +
                                      (r.err_tail.empty() ? "" : ": " + r.err_tail));
  }
  return std::move(r.out);
}

}  // namespace lifeboat
