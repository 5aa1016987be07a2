// lifeboat's entry point: hands the command line to the CLI module.
#include "cli/app.h"

int main(int argc, char** argv) { return lifeboat::RunCli(argc, argv); }
