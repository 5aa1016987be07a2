// The command-line interface: parses options, runs one command, maps its
// outcome to an exit code (0 success, 1 fatal error, 3 backup incomplete).
#pragma once

namespace lifeboat {
int RunCli(int argc, char** argv);
}
