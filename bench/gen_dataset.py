#!/usr/bin/env python3
"""Generates the reproducible benchmark datasets (standard library only).

Three modes, all deterministic for a given --seed:

  gen_dataset.py DIR [--scale S]        "web app" tree: ~2 GB, ~45k files at scale 1
  gen_dataset.py DIR --mutate PCT       changes ~PCT% of the files of an existing tree
  gen_dataset.py DIR --small-files N    N files of ~100 bytes in a nested tree

The web app tree holds a source tree (small code-like text files), a
node_modules-like tree (many tiny files, packages duplicated verbatim),
uploads (JPEG/PNG-like incompressible files of 50 KB - 5 MB and a few large
incompressible "videos"), a compressible SQL dump, log files, verbatim copies
of files in several places, empty files and empty directories.

Incompressible data comes from random.Random.randbytes (seeded, so every file
is reproducible and no two files share content by accident); text is built
from pools of lines and values picked with repetition, so it compresses like
real code/SQL/logs. Single-threaded; writes ~2 GB in well under a minute.
"""

import argparse
import base64
import operator
import os
import random
import shutil
import sys
import time
from array import array

MiB = 1 << 20
BLOCK = 16 * MiB
TEXT_EXTS = {".py", ".js", ".ts", ".css", ".html", ".md", ".json", ".sql",
             ".log", ".txt", ".yml", ""}
# Deterministic mtimes: 2023-01-01 .. 2024-06-30 (UTC).
MTIME_LO, MTIME_HI = 1672531200, 1719705600

WORDS = """user account order item price cart session token config handler request
response render fetch update delete create list index value key data cache queue
worker job task event message payload header body status error result client
server router route middleware auth login logout password email address phone
name title description image upload file path url query param filter sort page
limit offset count total amount currency payment invoice customer product
category tag comment post author content draft publish schedule notify mail
template view model schema field column table record row entity service
repository controller factory builder manager provider adapter context state
store action reducer effect hook component props style theme layout grid
button form input select option modal dialog menu nav footer sidebar panel
chart metric report export import sync async retry timeout interval delay
batch stream buffer chunk offset cursor lock mutex pool connection database
transaction commit rollback migration seed backup restore archive compress
encrypt decrypt hash sign verify certificate secret env debug info warn trace
""".split()

FIRST = """James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth
William Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel
Nancy Matthew Lisa Anthony Betty Mark Sandra Donald Ashley Steven Kimberly Paul
Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa
George Deborah Timothy Stephanie Ronald Rebecca Jason Laura Edward Sharon Jeffrey
Cynthia Ryan Kathleen Jacob Amy Gary Angela Nicholas Shirley Eric Anna Jonathan
Brenda Stephen Pamela Larry Emma Justin Nicole Scott Helen Brandon Samantha""".split()

LAST = """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez
Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee
Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young
Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall
Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker
Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez""".split()

DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "example.org", "proton.me",
           "hotmail.com", "icloud.com", "company.io", "mail.de", "free.fr"]


def log_uniform(rng, lo, hi):
    return int(lo * (hi / lo) ** rng.random())


def fit(pool, size=65536):
    """The pool repeated cyclically to exactly `size` (256 or 65536) entries."""
    return [pool[i % len(pool)] for i in range(size)]


def pick(rng, pool, n):
    """n uniform picks from a pool of 256 or 65536 entries (C-speed)."""
    if len(pool) == 256:
        idx = rng.randbytes(n)
    elif len(pool) == 65536:
        idx = array("H", rng.randbytes(2 * n))
    else:
        raise ValueError("pick: pool must have 256 or 65536 entries")
    if n == 1:
        return (pool[idx[0]],)
    return operator.itemgetter(*idx)(pool)


def u16(rng, n):
    """n uniform integers in [0, 65536)."""
    return array("H", rng.randbytes(2 * n))


class Writer:
    """Writes files and keeps count; sets deterministic mtimes."""

    def __init__(self, root, rng):
        self.root = root
        self.rng = rng
        self.files = 0
        self.bytes = 0
        self.dirs = set()

    def path(self, rel):
        return os.path.join(self.root, rel)

    def _mkdir(self, d):
        if d not in self.dirs:
            os.makedirs(d, exist_ok=True)
            self.dirs.add(d)

    def write(self, rel, data):
        p = self.path(rel)
        self._mkdir(os.path.dirname(p))
        with open(p, "wb") as f:
            f.write(data)
        self._done(p, len(data))

    def write_stream(self, rel, blocks):
        """Writes an iterable of bytes blocks."""
        p = self.path(rel)
        self._mkdir(os.path.dirname(p))
        n = 0
        with open(p, "wb") as f:
            for b in blocks:
                f.write(b)
                n += len(b)
        self._done(p, n)

    def copy(self, src_rel, dst_rel):
        s, d = self.path(src_rel), self.path(dst_rel)
        self._mkdir(os.path.dirname(d))
        shutil.copyfile(s, d)
        st = os.stat(s)
        os.utime(d, (st.st_mtime, st.st_mtime))
        self.files += 1
        self.bytes += st.st_size

    def _done(self, p, n):
        t = self.rng.randint(MTIME_LO, MTIME_HI)
        os.utime(p, (t, t))
        self.files += 1
        self.bytes += n


def random_blocks(rng, size, header=b""):
    """Incompressible content of exactly `size` bytes, starting with header."""
    first = True
    left = size
    while left > 0:
        n = min(left, BLOCK)
        b = rng.randbytes(n)
        if first and header:
            b = header[:n] + b[len(header):]
        first = False
        left -= n
        yield b


# ---------------------------------------------------------------- text pools

def ident(rng, style):
    ws = [rng.choice(WORDS) for _ in range(rng.randint(1, 3))]
    if style == "camel":
        return ws[0] + "".join(w.capitalize() for w in ws[1:])
    if style == "class":
        return "".join(w.capitalize() for w in ws)
    return "_".join(ws)


def words(rng, lo, hi):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def make_code_pools(rng, n=4000):
    """Pools of code-like lines per file extension."""
    def s():
        return ident(rng, "snake")

    def c():
        return ident(rng, "camel")

    def k():
        return ident(rng, "class")

    def num():
        return str(rng.choice([0, 1, 2, 3, 8, 10, 16, 32, 100, 255, 1000,
                               rng.randint(0, 99999)]))

    py = [
        lambda: f"import {s()}",
        lambda: f"from {s()}.{s()} import {k()}, {s()}",
        lambda: f"class {k()}({k()}):",
        lambda: f"    def {s()}(self, {s()}, {s()}={num()}):",
        lambda: f"        {s()} = self.{s()}.{s()}({s()}, {num()})",
        lambda: f"        if {s()} is None or {s()} > {num()}:",
        lambda: f"            return {s()}[{num()}]",
        lambda: f"        for {s()} in self.{s()}:",
        lambda: f"            {s()}.append({s()}.get(\"{s()}\", {num()}))",
        lambda: f"        # {words(rng, 3, 12)}",
        lambda: f"        logger.info(\"{words(rng, 2, 8)}: %s\", {s()})",
        lambda: f"        raise {k()}Error(\"{words(rng, 2, 7)}\")",
        lambda: f"    \"\"\"{words(rng, 4, 14).capitalize()}.\"\"\"",
        lambda: "",
        lambda: "",
    ]
    js = [
        lambda: f"import {{ {k()}, {c()} }} from './{c()}';",
        lambda: f"export function {c()}({c()}, {c()}) {{",
        lambda: f"export default class {k()} extends {k()} {{",
        lambda: f"  const {c()} = await this.{c()}.{c()}({c()}, {num()});",
        lambda: f"  let {c()} = {c()}.map(({c()}) => {c()}.{c()});",
        lambda: f"  if (!{c()} || {c()}.length > {num()}) {{",
        lambda: f"    throw new Error('{words(rng, 2, 7)}');",
        lambda: f"    return {c()}.{c()}({num()});",
        lambda: f"  // {words(rng, 3, 12)}",
        lambda: f"  this.{c()} = {{ {c()}: {num()}, {c()}: '{c()}' }};",
        lambda: "  }",
        lambda: "}",
        lambda: "",
    ]
    css = [
        lambda: f".{c()}-{c()} {{",
        lambda: f"  margin: {num()}px {num()}px;",
        lambda: f"  padding: {rng.randint(0, 32)}px;",
        lambda: f"  color: #{rng.getrandbits(24):06x};",
        lambda: f"  background-color: #{rng.getrandbits(24):06x};",
        lambda: f"  font-size: {rng.randint(8, 40)}px;",
        lambda: f"  display: {rng.choice(['flex', 'block', 'grid', 'none'])};",
        lambda: "}",
    ]
    html = [
        lambda: f"<div class=\"{c()} {c()}\">",
        lambda: f"  <p>{words(rng, 4, 20)}</p>",
        lambda: f"  <a href=\"/{s()}/{s()}\">{words(rng, 1, 4)}</a>",
        lambda: f"  <img src=\"/uploads/{s()}.png\" alt=\"{words(rng, 1, 5)}\">",
        lambda: f"  <button id=\"{c()}\" onclick=\"{c()}()\">{words(rng, 1, 2)}</button>",
        lambda: "</div>",
    ]
    md = [
        lambda: f"## {words(rng, 1, 5).title()}",
        lambda: words(rng, 8, 30).capitalize() + ".",
        lambda: f"- {words(rng, 3, 10)}",
        lambda: f"    {c()}({c()}, {num()})",
        lambda: "",
    ]
    pools = {}
    for ext, gens in ((".py", py), (".js", js), (".ts", js), (".css", css),
                      (".html", html), (".md", md)):
        lines = [rng.choice(gens)() for _ in range(n)]
        pools[ext] = fit([ln.encode() + b"\n" for ln in lines])
    return pools


def text_from_pool(rng, pool, size, header=b""):
    avg = sum(len(x) for x in pool[:200]) / 200
    k = max(1, int((size - len(header)) / avg))
    return header + b"".join(pick(rng, pool, k))


# ---------------------------------------------------------------- sections

def gen_source(w, rng, pools, n_files):
    exts = [".py", ".js", ".ts", ".css", ".html", ".md"]
    weights = [30, 30, 20, 8, 7, 5]
    top = ["app", "api", "web", "lib", "services", "workers", "admin", "shared"]
    # A fixed set of directories, nested 1-4 deep below app/src/<top>/.
    dirs = []
    for _ in range(max(4, n_files // 25)):
        depth = rng.randint(1, 4)
        dirs.append("app/src/" + rng.choice(top) + "/" +
                    "/".join(ident(rng, "snake") for _ in range(depth)))
    names = set()
    for i in range(n_files):
        ext = rng.choices(exts, weights)[0]
        d = rng.choice(dirs)
        name = f"{d}/{ident(rng, 'snake')}{ext}"
        if name in names:
            name = f"{d}/{ident(rng, 'snake')}_{i}{ext}"
        names.add(name)
        size = log_uniform(rng, 200, 30000)
        header = f"// {name} - generated\n".encode() if ext != ".md" else b""
        w.write(name, text_from_pool(rng, pools[ext], size, header))
    return sorted(names)


LICENSES = [
    b"MIT License\n\nCopyright (c) contributors\n\n" + b"Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated documentation files (the \"Software\"), to deal in the Software without restriction.\n" * 12,
    b"ISC License\n\n" + b"Permission to use, copy, modify, and/or distribute this software for any purpose with or without fee is hereby granted.\n" * 10,
    b"Apache License\nVersion 2.0, January 2004\n\n" + b"Licensed under the Apache License, Version 2.0 (the \"License\"); you may not use this file except in compliance with the License.\n" * 60,
]


def gen_node_modules(w, rng, pools, n_packages):
    pkgs = []
    for i in range(n_packages):
        name = ident(rng, "snake").replace("_", "-")
        if rng.random() < 0.2:
            name = "@" + rng.choice(WORDS) + "/" + name
        name = f"{name}" if all(p[0] != name for p in pkgs) else f"{name}-{i}"
        version = f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 20)}"
        files = {}
        files["package.json"] = (
            '{\n  "name": "%s",\n  "version": "%s",\n  "main": "index.js",\n'
            '  "license": "MIT",\n  "description": "%s"\n}\n'
            % (name, version, words(rng, 3, 10))).encode()
        files["README.md"] = text_from_pool(rng, pools[".md"],
                                            log_uniform(rng, 300, 6000))
        files["LICENSE"] = rng.choice(LICENSES)
        files["index.js"] = text_from_pool(rng, pools[".js"],
                                           log_uniform(rng, 60, 2000))
        for _ in range(rng.choice([2, 3, 5, 8, 12, 20, 40])):
            sub = rng.choice(["lib", "lib", "src", "lib/utils", "es", "cjs"])
            files[f"{sub}/{ident(rng, 'snake')}.js"] = text_from_pool(
                rng, pools[".js"], log_uniform(rng, 80, 8000))
        if rng.random() < 0.3:
            files["dist/index.min.js"] = text_from_pool(
                rng, pools[".js"], log_uniform(rng, 10000, 200000))
        if rng.random() < 0.3:
            files["index.d.ts"] = text_from_pool(rng, pools[".ts"],
                                                 log_uniform(rng, 100, 4000))
        pkgs.append((name, files))
    count = 0

    def put(prefix, files):
        nonlocal count
        for rel, data in files.items():
            w.write(f"{prefix}/{rel}", data)
            count += 1

    for name, files in pkgs:
        put(f"app/node_modules/{name}", files)
    # Nested copies: packages that pin their own version of a dependency, as
    # npm does; the copies are verbatim (duplicate content).
    for name, _ in pkgs:
        if rng.random() < 0.3:
            for _ in range(rng.randint(1, 3)):
                dep_name, dep_files = rng.choice(pkgs)
                if dep_name != name:
                    put(f"app/node_modules/{name}/node_modules/{dep_name}",
                        dep_files)
    return count


JPEG_HDR = bytes.fromhex("ffd8ffe000104a46494600010101004800480000")
PNG_HDR = bytes.fromhex("89504e470d0a1a0a0000000d49484452")


def gen_uploads(w, rng, n_images, scale):
    names = []
    for i in range(n_images):
        png = rng.random() < 0.3
        ext = ".png" if png else ".jpg"
        size = log_uniform(rng, 50_000, 5_000_000)
        name = (f"uploads/images/{rng.randint(2019, 2024)}/{rng.randint(1, 12):02d}/"
                f"{rng.getrandbits(64):016x}{ext}")
        w.write_stream(name, random_blocks(rng, size, PNG_HDR if png else JPEG_HDR))
        names.append(name)
    n_videos = max(1, round(4 * scale))
    mult = 4 * scale / n_videos
    mp4_hdr = bytes.fromhex("000000206674797069736f6d0000020069736f6d69736f32")
    for i in range(n_videos):
        size = int(rng.uniform(50, 200) * MiB * mult)
        w.write_stream(f"uploads/videos/promo-{i:02d}.mp4",
                       random_blocks(rng, size, mp4_hdr))
    return names


_TS = []


def _timestamps():
    """65536 sorted timestamps of 2024 (built once, deterministic)."""
    if not _TS:
        r = random.Random("timestamps")
        t0 = 1704067200  # 2024-01-01
        secs = sorted(t0 + int(r.random() * 366 * 86400) for _ in range(65536))
        _TS.extend(time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))
                   for t in secs)
    return _TS


def sql_blocks(rng, size, start_id=1):
    """A mysqldump-like dump: CREATE TABLEs then extended INSERT lines."""
    ts = _timestamps()
    firsts, lasts = fit(FIRST, 256), fit(LAST, 256)
    domains = fit(DOMAINS, 256)
    statuses = fit(["'active'"] * 6 + ["'pending'", "'disabled'", "'deleted'"], 256)
    order_st = fit(["'paid'", "'shipped'", "'refunded'", "'cancelled'", "'new'"], 256)
    products = fit([f"'{words(rng, 1, 4).title()}'" for _ in range(3000)])
    events = fit(["page_view", "click", "add_to_cart", "checkout", "login",
                  "search", "logout", "signup"], 256)
    paths = fit(["/" + "/".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
                 for _ in range(2000)])
    head = b"""-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
--
-- Host: localhost    Database: webapp
-- ------------------------------------------------------
/*!40101 SET NAMES utf8mb4 */;
/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;

CREATE TABLE `users` (
  `id` bigint NOT NULL AUTO_INCREMENT,
  `first_name` varchar(64) NOT NULL,
  `last_name` varchar(64) NOT NULL,
  `email` varchar(255) NOT NULL,
  `password_hash` char(60) NOT NULL,
  `created_at` datetime NOT NULL,
  `status` enum('active','pending','disabled','deleted') NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `email` (`email`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE `orders` (
  `id` bigint NOT NULL AUTO_INCREMENT,
  `user_id` bigint NOT NULL,
  `product` varchar(255) NOT NULL,
  `quantity` int NOT NULL,
  `total` decimal(10,2) NOT NULL,
  `status` varchar(16) NOT NULL,
  `created_at` datetime NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE `events` (
  `id` bigint NOT NULL AUTO_INCREMENT,
  `user_id` bigint NOT NULL,
  `type` varchar(32) NOT NULL,
  `payload` json NOT NULL,
  `created_at` datetime NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

"""
    written = 0
    if start_id == 1:
        yield head
        written += len(head)
    row_id = start_id
    rows_per_stmt = 120
    buf = []
    buf_len = 0
    table_cycle = ["users", "orders", "orders", "events", "events", "events"]
    t = 0
    while written < size:
        table = table_cycle[t % len(table_cycle)]
        t += 1
        n = rows_per_stmt
        ids = range(row_id, row_id + n)
        row_id += n
        if table == "users":
            hashes = base64.b64encode(rng.randbytes(40 * n), b"./").decode()
            rows = ",".join(
                f"({i},'{a}','{b}','{a.lower()}.{b.lower()}{i % 997}@{d}','$2b$12${hashes[j * 53:(j + 1) * 53]}','{c}',{s})"
                for j, (i, a, b, d, c, s) in enumerate(zip(
                    ids, pick(rng, firsts, n), pick(rng, lasts, n),
                    pick(rng, domains, n), pick(rng, ts, n),
                    pick(rng, statuses, n))))
        elif table == "orders":
            rows = ",".join(
                f"({i},{u},{p},{q % 9 + 1},{tot // 100}.{tot % 100:02d},{s},'{c}')"
                for i, u, p, q, tot, s, c in zip(
                    ids, u16(rng, n), pick(rng, products, n), rng.randbytes(n),
                    u16(rng, n), pick(rng, order_st, n), pick(rng, ts, n)))
        else:
            rows = ",".join(
                f"({i},{u},'{e}','{{\"path\":\"{p}\",\"ms\":{ms},\"ok\":true}}','{c}')"
                for i, u, e, p, ms, c in zip(
                    ids, u16(rng, n), pick(rng, events, n), pick(rng, paths, n),
                    u16(rng, n), pick(rng, ts, n)))
        line = f"INSERT INTO `{table}` VALUES {rows};\n".encode()
        buf.append(line)
        buf_len += len(line)
        written += len(line)
        if buf_len >= BLOCK:
            yield b"".join(buf)
            buf, buf_len = [], 0
    if buf:
        yield b"".join(buf)


def log_lines(rng, size, kind):
    ts = _timestamps()
    paths = fit(["/" + "/".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))
                 for _ in range(3000)])
    ips = fit([f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}."
               f"{rng.randint(1, 254)}" for _ in range(5000)])
    uas = fit(["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0",
               "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) Safari/605.1.15",
               "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
               "curl/8.4.0", "Googlebot/2.1 (+http://www.google.com/bot.html)"], 256)
    methods = fit(["GET", "GET", "GET", "POST", "PUT"], 256)
    codes = fit([200] * 20 + [304, 301, 404, 500], 256)
    msgs = fit([words(rng, 3, 10) for _ in range(2000)])
    levels = fit(["INFO"] * 12 + ["DEBUG"] * 6 + ["WARN"] * 2 + ["ERROR"], 256)
    written = 0
    n = 8192
    pos = rng.randrange(65536 - n)
    while written < size:
        # Timestamps increase within a file, like a real log.
        if pos + n > len(ts):
            pos = 0
        tsl = ts[pos:pos + n]
        pos += n
        if kind == "access":
            lines = "".join(
                f"{ip} - - [{t}] \"{m} {p} HTTP/1.1\" {st} {b} \"-\" \"{ua}\" 0.{rt % 1000:03d}\n"
                for ip, t, m, p, st, b, ua, rt in zip(
                    pick(rng, ips, n), tsl, pick(rng, methods, n),
                    pick(rng, paths, n), pick(rng, codes, n), u16(rng, n),
                    pick(rng, uas, n), u16(rng, n)))
        else:
            lines = "".join(
                f"{t} {lv} [worker-{wk % 8}] {m} user_id={u} req={r:04x}{r2:04x} ms={ms % 2000}\n"
                for t, lv, wk, m, u, r, r2, ms in zip(
                    tsl, pick(rng, levels, n), rng.randbytes(n),
                    pick(rng, msgs, n), u16(rng, n), u16(rng, n), u16(rng, n),
                    u16(rng, n)))
        b = lines.encode()
        if written + len(b) > size:
            b = b[:size - written]
            b = b[:b.rfind(b"\n") + 1] or b
        written += len(b)
        yield b
        if not b:
            break


def gen_logs(w, rng, total, n_files):
    kinds = ["access", "app"]
    weights = [rng.random() + 0.2 for _ in range(n_files)]
    s = sum(weights)
    for i in range(n_files):
        kind = kinds[i % 2]
        k = i // 2
        name = f"logs/{kind}.log" + (f".{k}" if k else "")
        size = int(total * weights[i] / s)
        w.write_stream(name, log_lines(rng, size, kind))


def gen_duplicates(w, rng, candidates, budget):
    """Copies files verbatim into several places until ~budget bytes."""
    copied = 0
    i = 0
    places = ["releases/v{v}/{p}", "public/static/{p}", "backup/old-{v}/{p}"]
    while copied < budget and candidates:
        src = rng.choice(candidates)
        size = os.path.getsize(w.path(src))
        for _ in range(rng.randint(1, 3)):
            dst = rng.choice(places).format(v=rng.randint(1, 9), p=src)
            if not os.path.exists(w.path(dst)):
                w.copy(src, dst)
                copied += size
        i += 1


def gen_empty(w, rng, scale):
    n_files = max(3, round(60 * scale))
    n_dirs = max(3, round(40 * scale))
    spots = ["app/src", "app/tmp", "uploads/tmp", "logs/archive", "app/cache",
             "public/static", "app/src/api"]
    for i in range(n_files):
        name = rng.choice([".gitkeep", f"empty-{i}.txt", f"lock-{i}.pid", f".keep{i}"])
        w.write(f"{rng.choice(spots)}/{i:03d}/{name}", b"")
    for i in range(n_dirs):
        os.makedirs(w.path(f"{rng.choice(spots)}/empty-dir-{i:03d}/sub"),
                    exist_ok=True)


def generate(root, scale, seed):
    t0 = time.time()
    w = Writer(root, random.Random(f"{seed}:mtime"))

    def rng(name):
        return random.Random(f"{seed}:{name}")

    pools = make_code_pools(rng("pools"))
    src = gen_source(w, rng("source"), pools, max(20, round(18000 * scale)))
    gen_node_modules(w, rng("node_modules"), pools, max(3, round(800 * scale)))
    images = gen_uploads(w, rng("uploads"), max(5, round(760 * scale)), scale)
    w.write_stream("db/dump-2024-06-30.sql",
                   sql_blocks(rng("sql"), int(300 * MiB * scale)))
    gen_logs(w, rng("logs"), int(150 * MiB * scale), max(3, round(40 * scale)))
    small_images = [p for p in images
                    if os.path.getsize(w.path(p)) < 1_500_000]
    gen_duplicates(w, rng("dups"), src + small_images, int(100 * MiB * scale))
    gen_empty(w, rng("empty"), scale)
    dt = time.time() - t0
    print(f"generated {root}: {w.files} files, {w.bytes / 1e9:.2f} GB "
          f"in {dt:.1f} s", file=sys.stderr)


# ---------------------------------------------------------------- mutate

def list_files(root):
    out = []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(d, f)
            if os.path.isfile(p) and not os.path.islink(p):
                out.append(os.path.relpath(p, root))
    return out


def mutate(root, pct, seed):
    t0 = time.time()
    rng = random.Random(f"{seed}:mutate:{pct}")
    pools = make_code_pools(random.Random(f"{seed}:pools"))
    files = list_files(root)
    if not files:
        sys.exit(f"mutate: no files under {root}")
    n = max(1, round(len(files) * pct / 100))
    chosen = rng.sample(files, n)
    stats = {"appended": 0, "rewritten": 0, "deleted": 0, "added": 0}

    def text_for(rel, size):
        ext = os.path.splitext(rel)[1]
        pool = pools.get(ext, pools[".md"])
        return text_from_pool(rng, pool, size)

    def is_text(rel):
        return os.path.splitext(rel)[1] in TEXT_EXTS or ".log" in rel

    for rel in chosen:
        p = os.path.join(root, rel)
        size = os.path.getsize(p)
        action = rng.choices(["append", "rewrite", "delete"], [45, 45, 10])[0]
        if action == "rewrite" and size < 16:
            action = "append"
        if action == "delete":
            os.remove(p)
        elif action == "append":
            add = max(64, min(size // 10, 256 * 1024))
            data = text_for(rel, add) if is_text(rel) else rng.randbytes(add)
            with open(p, "ab") as f:
                f.write(data)
        else:
            ln = max(16, min(size // 10, MiB))
            off = max(0, size // 2 - ln // 2)
            data = text_for(rel, ln) if is_text(rel) else rng.randbytes(ln)
            data = (data * (ln // max(1, len(data)) + 1))[:ln]
            with open(p, "r+b") as f:
                f.seek(off)
                f.write(data)
        stats[{"append": "appended", "rewrite": "rewritten",
               "delete": "deleted"}[action]] += 1
    # New files: source files of a new feature and a few new uploads.
    n_new = max(1, n // 10)
    for i in range(n_new):
        if i % 5 == 4:
            rel = f"uploads/images/2024/07/new-{pct}-{i:04d}.jpg"
            data = JPEG_HDR + rng.randbytes(log_uniform(rng, 50_000, 2_000_000))
        else:
            ext = rng.choice([".py", ".js", ".ts"])
            rel = f"app/src/features/new_{pct}_{i // 20}/{ident(rng, 'snake')}_{i}{ext}"
            data = text_from_pool(rng, pools[ext], log_uniform(rng, 200, 30000))
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        stats["added"] += 1
    # What a web app does every day: logs grow, the nightly dump changes in
    # places and grows.
    for rel in ("logs/access.log", "logs/app.log"):
        p = os.path.join(root, rel)
        if os.path.exists(p):
            size = os.path.getsize(p)
            with open(p, "ab") as f:
                for b in log_lines(rng, max(4096, int(size * pct / 100)),
                                   "access" if "access" in rel else "app"):
                    f.write(b)
    dump = os.path.join(root, "db/dump-2024-06-30.sql")
    if os.path.exists(dump):
        size = os.path.getsize(dump)
        with open(dump, "r+b") as f:
            for _ in range(20):
                off = rng.randrange(0, max(1, size - 4096))
                f.seek(off)
                old = f.read(4096)
                # Same-length edit that keeps the text look: shuffle digits.
                new = bytes(rng.choice(b"0123456789") if 48 <= c <= 57 else c
                            for c in old)
                f.seek(off)
                f.write(new)
        with open(dump, "ab") as f:
            for b in sql_blocks(rng, max(4096, int(size * pct / 500)),
                                start_id=10**9):
                f.write(b)
    print(f"mutated {root}: {n} of {len(files)} files chosen ({stats}) "
          f"in {time.time() - t0:.1f} s", file=sys.stderr)


# ---------------------------------------------------------------- small files

def small_files(root, n, seed):
    t0 = time.time()
    rng = random.Random(f"{seed}:small")
    per_dir = 100
    n_dirs = (n + per_dir - 1) // per_dir
    fan = max(1, int(n_dirs ** 0.5))
    vocab = fit(WORDS, 256)
    total = 0
    for i in range(n):
        d = i // per_dir
        sub = os.path.join(root, f"d{d // fan:04d}", f"e{d % fan:04d}")
        if i % per_dir == 0:
            os.makedirs(sub, exist_ok=True)
        k = rng.randint(8, 18)
        body = f"id={i}\n" + " ".join(pick(rng, vocab, k)) + "\n"
        data = body.encode()
        with open(os.path.join(sub, f"f{i:07d}.txt"), "wb") as f:
            f.write(data)
        total += len(data)
    print(f"generated {root}: {n} small files, {total / 1e6:.1f} MB "
          f"in {time.time() - t0:.1f} s", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", help="target directory")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="size factor (1 = ~2 GB, ~45k files; 0.05 = ~100 MB)")
    ap.add_argument("--seed", default="1", help="random seed (default 1)")
    ap.add_argument("--mutate", type=float, metavar="PCT",
                    help="modify ~PCT%% of the files of an existing tree")
    ap.add_argument("--small-files", type=int, metavar="N",
                    help="generate N files of ~100 bytes instead")
    ap.add_argument("--force", action="store_true",
                    help="delete DIR first if it exists")
    a = ap.parse_args()
    if a.mutate is not None:
        if not os.path.isdir(a.dir):
            sys.exit(f"mutate: {a.dir} is not a directory")
        mutate(a.dir, a.mutate, a.seed)
        return
    if os.path.exists(a.dir) and os.listdir(a.dir):
        if not a.force:
            sys.exit(f"{a.dir} exists and is not empty (use --force to replace it)")
        shutil.rmtree(a.dir)
    os.makedirs(a.dir, exist_ok=True)
    if a.small_files is not None:
        small_files(a.dir, a.small_files, a.seed)
    else:
        if a.scale <= 0:
            sys.exit("--scale must be > 0")
        generate(a.dir, a.scale, a.seed)


if __name__ == "__main__":
    main()
