#!/usr/bin/env python3
"""Exact comparison of two file trees for the lifeboat end-to-end tests.

Usage: treecmp.py [options] EXPECTED ACTUAL

Compares, for every entry below (and including) the two roots: type, permission
bits (incl. setuid/setgid/sticky), owner uid/gid, size, mtime to the nanosecond,
symlink target, device numbers, extended attributes, content (SHA-256) and
hardlink grouping (which paths share an inode within each tree). Regular files
must also keep their holes: the actual tree may not allocate much more than the
expected one (see --no-blocks). Names are handled as raw bytes, so names that
are not UTF-8 or contain newlines are fine. Prints every difference and exits 1
when there is one, 0 when the trees are equal.

Options:
  --no-blocks          do not compare allocated blocks (sparseness)
  --no-xattrs          do not compare extended attributes
  --no-root-meta       ignore the metadata of the two roots themselves
  --mtime-types=TYPES  compare mtimes only for these types (default: all,
                       letters as in `find -printf %y`: f d l p c b s)
"""

import hashlib
import os
import stat
import sys


def type_letter(mode):
    if stat.S_ISREG(mode):
        return "f"
    if stat.S_ISDIR(mode):
        return "d"
    if stat.S_ISLNK(mode):
        return "l"
    if stat.S_ISFIFO(mode):
        return "p"
    if stat.S_ISCHR(mode):
        return "c"
    if stat.S_ISBLK(mode):
        return "b"
    if stat.S_ISSOCK(mode):
        return "s"
    return "?"


def show(rel):
    return repr(rel)[1:] if rel else "'.'"


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def xattrs(path):
    out = {}
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return out
    for n in sorted(names):
        try:
            out[n] = os.getxattr(path, n, follow_symlinks=False).hex()
        except OSError as e:
            out[n] = "<error %s>" % e.errno
    return out


def scan(root, opts):
    """Returns {relative bytes path: dict of properties} and blocks per file."""
    root = os.fsencode(root)
    entries = {}
    blocks = {}
    inode_first = {}
    paths = [b""]
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = b"" if rel_dir == b"." else rel_dir
        for name in dirnames + filenames:
            paths.append(os.path.join(rel_dir, name) if rel_dir else name)
    for rel in sorted(paths):
        full = os.path.join(root, rel) if rel else root
        st = os.lstat(full)
        t = type_letter(st.st_mode)
        e = {"type": t}
        if not (rel == b"" and opts["no_root_meta"]):
            if t != "l":
                e["mode"] = "%04o" % stat.S_IMODE(st.st_mode)
            e["owner"] = "%d:%d" % (st.st_uid, st.st_gid)
            if t in opts["mtime_types"]:
                e["mtime_ns"] = st.st_mtime_ns
        if t == "f":
            e["size"] = st.st_size
            e["sha256"] = sha256(full)
            blocks[rel] = (st.st_blocks, st.st_size)
            if st.st_nlink > 1:
                key = (st.st_dev, st.st_ino)
                first = inode_first.setdefault(key, rel)
                e["hardlink_group"] = show(first)
            e["nlink"] = st.st_nlink
        elif t == "l":
            e["target"] = repr(os.readlink(full))
        elif t in "cb":
            e["rdev"] = "%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
        if opts["xattrs"] and t != "l":
            x = xattrs(full)
            if x:
                e["xattrs"] = x
        entries[rel] = e
    return entries, blocks


def main(argv):
    opts = {"blocks": True, "xattrs": True, "no_root_meta": False, "mtime_types": "fdlpcbs"}
    args = []
    for a in argv[1:]:
        if a == "--no-blocks":
            opts["blocks"] = False
        elif a == "--no-xattrs":
            opts["xattrs"] = False
        elif a == "--no-root-meta":
            opts["no_root_meta"] = True
        elif a.startswith("--mtime-types="):
            opts["mtime_types"] = a.split("=", 1)[1]
        else:
            args.append(a)
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    expected, actual = args
    for d in (expected, actual):
        if not os.path.lexists(d):
            print("treecmp: %s does not exist" % d)
            return 1
    a, ablocks = scan(expected, opts)
    b, bblocks = scan(actual, opts)
    problems = []
    for rel in sorted(set(a) | set(b)):
        if rel not in b:
            problems.append("missing in %s: %s (%s)" % (actual, show(rel), a[rel]["type"]))
            continue
        if rel not in a:
            problems.append("unexpected in %s: %s (%s)" % (actual, show(rel), b[rel]["type"]))
            continue
        ea, eb = a[rel], b[rel]
        for k in sorted(set(ea) | set(eb)):
            if ea.get(k) != eb.get(k):
                problems.append("%s: %s differs: expected %s, got %s"
                                % (show(rel), k, ea.get(k), eb.get(k)))
        if opts["blocks"] and rel in ablocks and rel in bblocks:
            want, size = ablocks[rel]
            got, _ = bblocks[rel]
            # Holes may be kept at chunk granularity (a chunk holding any
            # data is written whole; lifeboat's chunks are at most 8 MiB), so
            # allow two maximum-size chunks of slack: a file whose holes were
            # filled in (restored dense) still fails.
            if got > want * 5 // 4 + 2 * 8 * 2048:
                problems.append("%s: allocated blocks: expected about %d (size %d), got %d "
                                "(holes not kept?)" % (show(rel), want, size, got))
    if problems:
        print("treecmp: %s and %s differ (%d problems):" % (expected, actual, len(problems)))
        for p in problems[:200]:
            print("  " + p)
        if len(problems) > 200:
            print("  ... and %d more" % (len(problems) - 200))
        return 1
    print("treecmp: %s and %s are equal (%d entries)" % (expected, actual, len(a)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
