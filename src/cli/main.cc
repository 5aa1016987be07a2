// lifeboat's entry point: hands the command line to the CLI module.
#include <malloc.h>

#include "cli/app.h"

int main(int argc, char** argv) {
  // A fixed mmap threshold keeps glibc from raising it after large frees,
  // which would leave freed pack-sized buffers resident in the heap.
  mallopt(M_MMAP_THRESHOLD, 256 << 10);
  return lifeboat::RunCli(argc, argv);
}
