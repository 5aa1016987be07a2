// The SIGINT/SIGTERM handler: a first signal asks for a clean stop, a second
// ends the process at once, except that the SIGTERM a parent lifeboat passes
// on (RunProcess's `stop`) never counts as the second: the child may have
// got the same signal through its process group already.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "app/process.h"
#include "cli/global.h"

namespace lifeboat {
namespace {

// Forks a child that installs the handler, says so, waits for its first
// signal, says so, then lives 2 s more and exits 0. Sends it a plain
// SIGTERM, waits for the child to have seen it, then sends the second one
// (plain, or passed on as RunProcess does). Returns the child's wait status.
int SecondSignalOutcome(bool second_passed_on) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(pipefd[0]);
    InstallInterruptHandler();
    (void)!write(pipefd[1], "r", 1);
    for (int i = 0; i < 500 && !Interrupted(); ++i) usleep(10000);
    (void)!write(pipefd[1], Interrupted() ? "i" : "n", 1);
    for (int i = 0; i < 200; ++i) usleep(10000);
    _exit(0);
  }
  close(pipefd[1]);
  char c = 0;
  EXPECT_EQ(read(pipefd[0], &c, 1), 1);
  EXPECT_EQ(c, 'r');
  kill(pid, SIGTERM);
  EXPECT_EQ(read(pipefd[0], &c, 1), 1);
  EXPECT_EQ(c, 'i') << "the first SIGTERM did not set the flag";
  if (second_passed_on) {
    union sigval value {};
    value.sival_int = kStopRequestValue;
    sigqueue(pid, SIGTERM, value);
  } else {
    kill(pid, SIGTERM);
  }
  close(pipefd[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

TEST(InterruptHandlerTest, ASecondSignalEndsTheProcessAtOnce) {
  int status = SecondSignalOutcome(/*second_passed_on=*/false);
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
}

TEST(InterruptHandlerTest, ASignalTheParentPassedOnIsNeverTheSecond) {
  int status = SecondSignalOutcome(/*second_passed_on=*/true);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace lifeboat
