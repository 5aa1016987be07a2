#include "app/process.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>

namespace lifeboat {

std::string ProcessResult::LastLine() const {
  for (const std::string* text : {&err, &out}) {
    size_t end = text->size();
    while (end > 0) {
      size_t start = text->rfind('\n', end - 1);
      start = start == std::string::npos ? 0 : start + 1;
      std::string line = text->substr(start, end - start);
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (!line.empty()) return line;
      if (start == 0) break;
      end = start - 1;
    }
  }
  return {};
}

Result<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                 const ProcessOptions& options) {
  if (argv.empty()) return InvalidArgument("no program to run");
  if (options.stop != nullptr && options.stop->load()) {
    return Status(Code::kCancelled, "interrupted before " + argv[0] + " was started");
  }
  // A child that exits without reading its stdin must not kill us with SIGPIPE.
  if (!options.stdin_data.empty()) signal(SIGPIPE, SIG_IGN);
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]), close(in[1]);
    return ErrnoStatus(errno, "pipe");
  }
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(in[0]), close(in[1]), close(out[0]), close(out[1]);
    return ErrnoStatus(errno, "pipe");
  }
  std::vector<char*> cargv;
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
    return ErrnoStatus(e, "fork");
  }
  if (pid == 0) {
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    for (const auto& [key, value] : options.env) setenv(key.c_str(), value.c_str(), 1);
    signal(SIGPIPE, SIG_DFL);
    execvp(cargv[0], cargv.data());
    const char msg[] = "unable to start the program\n";
    (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  // The child may not read its stdin at all: never block or die on it.
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  ProcessResult result;
  size_t written = 0;
  int in_fd = options.stdin_data.empty() ? -1 : in[1];
  if (in_fd < 0) close(in[1]);
  int out_fd = out[0], err_fd = err[0];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_seconds);
  bool killed = false;
  // Passing the stop on waits one poll round (>= 200 ms) after it was seen:
  // a signal sent to the process group may wake us (EINTR) before the kernel
  // has delivered it to the child too, and the child must get that one
  // first, or it would count it as a second signal and die at once.
  std::optional<std::chrono::steady_clock::time_point> stop_seen;
  bool stop_sent = false;
  while (out_fd >= 0 || err_fd >= 0) {
    if (options.stop != nullptr && !stop_sent && options.stop->load()) {
      const auto now = std::chrono::steady_clock::now();
      if (!stop_seen) {
        stop_seen = now;
      } else if (now - *stop_seen >= std::chrono::milliseconds(200)) {
        union sigval value {};
        value.sival_int = kStopRequestValue;
        sigqueue(pid, SIGTERM, value);
        stop_sent = true;
      }
    }
    struct pollfd fds[3];
    int n = 0;
    if (out_fd >= 0) fds[n++] = {out_fd, POLLIN, 0};
    if (err_fd >= 0) fds[n++] = {err_fd, POLLIN, 0};
    if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
    int rc = poll(fds, static_cast<nfds_t>(n), 200);
    if (rc < 0 && errno != EINTR) break;
    if (options.timeout_seconds > 0 && !killed && std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      killed = true;
    }
    // What the child started (`sh -c "a | b"`) may hold the pipes open after
    // the child is gone: past the deadline, stop waiting for them.
    if (killed && std::chrono::steady_clock::now() > deadline + std::chrono::seconds(2)) break;
    for (int i = 0; i < n && rc > 0; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in_fd) {
        ssize_t w = write(in_fd, options.stdin_data.data() + written,
                          options.stdin_data.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN && errno != EINTR) written = options.stdin_data.size();
        if (written >= options.stdin_data.size()) {
          close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      char buf[65536];
      ssize_t r = read(fds[i].fd, buf, sizeof buf);
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      std::string& sink = fds[i].fd == out_fd ? result.out : result.err;
      if (r <= 0) {
        close(fds[i].fd);
        (fds[i].fd == out_fd ? out_fd : err_fd) = -1;
        continue;
      }
      if (sink.size() < kMaxCapture) sink.append(buf, static_cast<size_t>(r));
    }
  }
  if (in_fd >= 0) close(in_fd);
  if (out_fd >= 0) close(out_fd);
  if (err_fd >= 0) close(err_fd);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (killed) result.err += "\nkilled after " + std::to_string(options.timeout_seconds) + " s\n";
  return result;
}

Result<ProcessResult> RunShell(const std::string& command, const ProcessOptions& options) {
  return RunProcess({"/bin/sh", "-c", command}, options);
}

std::string ShellQuote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                         "0123456789_/.:=@%+,-") == std::string::npos) {
    return s;
  }
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string ShellJoin(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) out += (out.empty() ? "" : " ") + ShellQuote(a);
  return out;
}

std::string SelfExecutable() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "lifeboat";
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace lifeboat
