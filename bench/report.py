#!/usr/bin/env python3
"""Turns the raw figures of a bench/run.sh run into a markdown report.

  report.py OUT_DIR [--docs docs/BENCHMARKS.md]

Reads OUT_DIR/{meta,results,sizes,verify,limits}.tsv (written by run.sh),
prints the report, writes OUT_DIR/report.md and, with --docs, replaces the
text between <!-- bench:begin --> and <!-- bench:end --> in the docs file
(creating it with a short introduction if missing; text outside the markers
is kept). Standard library only.
"""

import argparse
import os
import statistics
import sys

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
TOOL_ORDER = ["restic", "borg", "lifeboat"]
NAMES = {"restic": "restic", "borg": "Borg", "lifeboat": "lifeboat"}

DOC_INTRO = """# Benchmarks

lifeboat compared with restic and Borg on the same machine, in the same run,
by `bench/run.sh` (how to run it, what is measured and the protocol:
`bench/README.md`). The section between the markers below is rewritten by each
run of the script; text outside the markers is kept.

"""


def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def fmt_s(v):
    return f"{v:.2f} s" if v < 10 else f"{v:.1f} s"


def fmt_mb(v):
    return f"{v / 1e6:,.0f} MB" if v >= 1e7 else f"{v / 1e6:.1f} MB"


def fmt_ratio(a, b):
    if a is None or b is None or b <= 0:
        return "–"
    return f"{a / b:.2f}"


def build(out_dir):
    meta = dict((r[0], r[1] if len(r) > 1 else "") for r in read_tsv(
        os.path.join(out_dir, "meta.tsv")))
    tools = [t for t in TOOL_ORDER if t in meta.get("tools", "").split()]
    results = read_tsv(os.path.join(out_dir, "results.tsv"))
    sizes = read_tsv(os.path.join(out_dir, "sizes.tsv"))
    verify = read_tsv(os.path.join(out_dir, "verify.tsv"))
    limits = read_tsv(os.path.join(out_dir, "limits.tsv"))

    # (tool, phase) -> list of (wall, cpu, rss_bytes) of successful runs.
    ok, failed = {}, {}
    for r in results:
        tool, phase, _run, wall, user, sys_, rss, st = r[:8]
        key = (tool, phase)
        if st == "ok":
            ok.setdefault(key, []).append(
                (float(wall), float(user) + float(sys_), int(rss) * 1024))
        else:
            failed[key] = failed.get(key, 0) + 1
    size_of = {}
    for tool, what, _run, b in sizes:
        size_of.setdefault((tool, what), []).append(int(b))

    def med(tool, phase, i):
        v = ok.get((tool, phase))
        return statistics.median(x[i] for x in v) if v else None

    others = [t for t in tools if t != "restic"]
    has_restic = "restic" in tools
    # Borg against lifeboat too: the targets are set against both.
    borg_vs_lifeboat = "borg" in tools and "lifeboat" in tools
    head = ["operation", "measure"] + [NAMES[t] for t in tools]
    if has_restic:
        head += [f"restic ÷ {NAMES[t]}" for t in others]
    if borg_vs_lifeboat:
        head.append("Borg ÷ lifeboat")
    lines = ["| " + " | ".join(head) + " |",
             "|" + "---|" * 2 + "---:|" * (len(head) - 2)]

    def row(op, measure, values, fmt):
        cells = [op, measure]
        for t in tools:
            v = values.get(t)
            cells.append(fmt(v) if v is not None else values.get(t + "!", "–"))
        if has_restic:
            for t in others:
                cells.append(fmt_ratio(values.get("restic"), values.get(t)))
        if borg_vs_lifeboat:
            cells.append(fmt_ratio(values.get("borg"), values.get("lifeboat")))
        lines.append("| " + " | ".join(cells) + " |")

    small_n = int(meta.get("small_files", "0") or 0)
    ops = [
        ("backup_initial", "initial backup"),
        ("backup_initial_cold", "initial backup, page cache dropped"),
        ("backup_nochange", "backup, nothing changed"),
        ("backup_nochange_cold", "backup, nothing changed, page cache dropped"),
        ("backup_mutated", f"backup after ~{meta.get('mutate_pct', '5')}% of files changed"),
        ("restore", "full restore (+ sync)"),
        ("check", "check, reading all data"),
        ("prune", "forget all but the last snapshot + prune (repack all)"),
        ("small_initial", f"{small_n:,} small files: initial backup"),
        ("small_nochange", f"{small_n:,} small files: backup, nothing changed"),
    ]
    present = {p for (_t, p) in list(ok) + list(failed)}
    for phase, label in ops:
        if phase not in present:
            continue
        for i, measure, fmt in ((0, "wall time", fmt_s), (1, "CPU user+sys", fmt_s),
                                (2, "peak RSS", fmt_mb)):
            values = {}
            for t in tools:
                values[t] = med(t, phase, i)
                if values[t] is None and (t, phase) in failed:
                    values[t + "!"] = "FAILED"
                elif values[t] is not None and (t, phase) in failed:
                    values[t + "!"] = None  # partial failures noted below
            row(label if i == 0 else "", measure, values, fmt)
    for what, label in (("repo_initial", "repository size after initial backup"),
                        ("repo_final", "repository size after the last backup (~5% changed)"),
                        ("repo_pruned", "repository size after the prune"),
                        ("repo_small", "repository size, small files")):
        if not any((t, what) in size_of for t in tools):
            continue
        values = {t: statistics.median(size_of[(t, what)])
                  for t in tools if (t, what) in size_of}
        row(label, "du -sb", values, fmt_mb)
    if verify:
        cells = ["restore verified", "sha256 + metadata"]
        for t in tools:
            v = [x[2] for x in verify if x[0] == t]
            cells.append(f"{v.count('ok')}/{len(v)} ok" if v else "–")
        if has_restic:
            cells += [""] * len(others)
        if borg_vs_lifeboat:
            cells.append("")
        lines.append("| " + " | ".join(cells) + " |")

    partial = [f"{NAMES[t]} {p} ({n} failed run(s))" for (t, p), n in sorted(failed.items())
               if (t, p) in ok]

    data_gb = int(meta.get("data_bytes", "0") or 0) / 1e9
    versions = ", ".join(f"{NAMES[t]} {meta.get('version_' + t, '?')}" for t in tools)
    settings = "; ".join(f"{NAMES[t]}: {meta.get('settings_' + t, '')}" for t in tools)
    out = []
    out.append(f"### Results: {meta.get('date', '?')}, scale {meta.get('scale')}, "
               f"{meta.get('runs')} run(s), medians")
    out.append("")
    out.append(f"Dataset: generated \"web app\" tree, {int(meta.get('data_files', 0)):,} files, "
               f"{data_gb:.2f} GB (`bench/gen_dataset.py --scale {meta.get('scale')} "
               f"--seed {meta.get('seed')}`), then `--mutate {meta.get('mutate_pct')}`; "
               f"small-files set: {small_n:,} files of ~100 bytes.  ")
    out.append(f"Machine: {meta.get('cpu', '?')}, {meta.get('cores', '?')} cores, "
               f"{meta.get('mem_gib', '?')} GiB RAM, Linux {meta.get('kernel', '?')}.  ")
    out.append(f"Versions: {versions}.  ")
    out.append(f"Settings: {settings}.")
    out.append("")
    if has_restic and others:
        out.append("**Ratio columns are restic ÷ tool: >1 means the tool is faster "
                   "(or uses less CPU, memory or space) than restic.** ")
    out.append("Wall time from `/usr/bin/time`; CPU is user+sys; the restore time "
               "includes a final `sync`. Every timed run started from the same warm "
               "state (page cache dropped, 3 GiB scratch written and deleted, input "
               "or repository read back) — except the \"page cache dropped\" rows, "
               "where nothing was read back.")
    if meta.get("drop_caches") == "0":
        out.append("")
        out.append("**Warning: not run as root, the page cache could not be dropped.**")
    out.append("")
    out.extend(lines)
    if partial:
        out.append("")
        out.append("Medians over the successful runs only for: " + ", ".join(partial) + ".")
    if limits:
        out.append("")
        out.append("What the machine itself can do, measured in the same run:")
        out.append("")
        out.append("| measure | value | how |")
        out.append("|---|---:|---|")
        labels = {
            "read_cold": "read all input files, cold",
            "read_warm": "read all input files, warm",
            "openssl_sha256": "SHA-256 (OpenSSL), 1 core",
            "openssl_aes-256-gcm": "AES-256-GCM (OpenSSL), 1 core",
            "zstd1_t2_tar": "zstd -1, 2 threads, dataset tarball",
            "zstd1_t1_sql": "zstd -1, 1 thread, SQL dump",
            "fdatasync_write": "sequential write + fdatasync",
            "small_stat_walk": "stat-only walk, small files",
            "small_read_all": "open + read each small file",
        }
        for name, value, unit, detail in (x[:4] for x in limits):
            detail = detail.replace("|", "\\|")
            out.append(f"| {labels.get(name, name)} | {value} {unit} | {detail} |")
        out.extend(limit_comparison(limits, meta, size_of, med, tools))
    out.append("")
    shown = os.path.relpath(out_dir)
    if shown.startswith(".."):
        shown = os.path.abspath(out_dir)
    out.append(f"Raw figures: `{shown}` (results.tsv: one row per run).")
    return "\n".join(out) + "\n"


def limit_comparison(limits, meta, size_of, med, tools):
    """The initial backup against the slowest of the machine's limits, each
    turned into the time it needs for this dataset."""
    if "lifeboat" not in tools:
        return []
    lim = {x[0]: (float(x[1]), x[2]) for x in limits if len(x) >= 3}
    data = int(meta.get("data_bytes", "0") or 0)
    repo = statistics.median(size_of[("lifeboat", "repo_initial")]) \
        if ("lifeboat", "repo_initial") in size_of else None
    times = []
    if "read_warm" in lim:
        times.append(("reading the data (warm)", lim["read_warm"][0]))
    if "zstd1_t2_tar" in lim and data:
        times.append(("zstd -1 -T2 over the data", data / (lim["zstd1_t2_tar"][0] * 1e6)))
    if "openssl_sha256" in lim and data:
        times.append(("SHA-256 of the data, 1 core", data / (lim["openssl_sha256"][0] * 1e6)))
    if "openssl_aes-256-gcm" in lim and repo:
        times.append(("AES-256-GCM of the repository bytes, 1 core",
                      repo / (lim["openssl_aes-256-gcm"][0] * 1e6)))
    if "fdatasync_write" in lim and repo:
        times.append(("writing the repository bytes + fdatasync",
                      repo / (lim["fdatasync_write"][0] * 1e6)))
    ours = med("lifeboat", "backup_initial", 0)
    if not times or ours is None:
        return []
    name, slowest = max(times, key=lambda x: x[1])
    listed = "; ".join(f"{n} {t:.2f} s" for n, t in times)
    return ["", f"Initial backup against the machine's limits for this data ({listed}): "
                f"the slowest is {name}, {slowest:.2f} s; lifeboat's initial backup takes "
                f"{ours:.2f} s, **{ours / slowest:.2f}x** that limit."]


def update_docs(path, block):
    text = open(path).read() if os.path.exists(path) else DOC_INTRO + BEGIN + "\n" + END + "\n"
    if BEGIN not in text or END not in text or text.index(BEGIN) > text.index(END):
        text = text.rstrip("\n") + "\n\n" + BEGIN + "\n" + END + "\n"
    a = text.index(BEGIN) + len(BEGIN)
    b = text.index(END)
    text = text[:a] + "\n" + block + text[b:]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--docs", help="markdown file to update between the markers")
    a = ap.parse_args()
    if not os.path.exists(os.path.join(a.out_dir, "meta.tsv")):
        sys.exit(f"report: {a.out_dir}/meta.tsv not found")
    block = build(a.out_dir)
    with open(os.path.join(a.out_dir, "report.md"), "w") as f:
        f.write(block)
    sys.stdout.write(block)
    if a.docs:
        update_docs(a.docs, block)
        print(f"(written into {a.docs})", file=sys.stderr)


if __name__ == "__main__":
    main()
