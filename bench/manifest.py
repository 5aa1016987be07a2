#!/usr/bin/env python3
"""Prints a sorted manifest of a directory tree, to verify restores.

One line per entry below DIR (DIR itself excluded), sorted by path:
  f PATH MODE SIZE MTIME SHA256   regular file (mtime in whole seconds)
  d PATH MODE                     directory
  l PATH -> TARGET                symbolic link
Two trees hold the same data, names, permissions and file mtimes exactly when
their manifests are equal. Directory mtimes are left out (restoring files into
a directory changes it). Standard library only; hashing uses hashlib (OpenSSL).

  manifest.py DIR > FILE
  manifest.py --compare DIR_A DIR_B   exit 0 if equal, else prints differences
"""

import hashlib
import os
import stat
import sys


def entries(root):
    out = []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for name in dirs + sorted(files):
            p = os.path.join(d, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                out.append(f"l {rel} -> {os.readlink(p)}")
            elif stat.S_ISDIR(st.st_mode):
                out.append(f"d {rel} {mode:o}")
            elif stat.S_ISREG(st.st_mode):
                h = hashlib.sha256()
                with open(p, "rb") as f:
                    while True:
                        b = f.read(1 << 20)
                        if not b:
                            break
                        h.update(b)
                out.append(f"f {rel} {mode:o} {st.st_size} {int(st.st_mtime)} "
                           f"{h.hexdigest()}")
            else:
                out.append(f"o {rel} {mode:o}")
    out.sort()
    return out


def main():
    args = sys.argv[1:]
    if len(args) == 1:
        sys.stdout.write("".join(line + "\n" for line in entries(args[0])))
        return 0
    if len(args) == 3 and args[0] == "--compare":
        a, b = entries(args[1]), entries(args[2])
        if a == b:
            print(f"identical: {len(a)} entries")
            return 0
        sa, sb = set(a), set(b)
        only_a = [x for x in a if x not in sb]
        only_b = [x for x in b if x not in sa]
        print(f"DIFFERENT: {len(only_a)} entries only in {args[1]}, "
              f"{len(only_b)} only in {args[2]}")
        for x in only_a[:10]:
            print(f"  - {x}")
        for x in only_b[:10]:
            print(f"  + {x}")
        return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
