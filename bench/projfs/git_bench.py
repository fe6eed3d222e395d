#!/usr/bin/env python3
"""`prjfs git` next to a normal git checkout of the same revision, in one run (not run in CI).

usage: git_bench.py PRJFS REPO [--rounds N] [--reads N]

REPO is any local repository (a bare clone is made in a temporary directory, so REPO is never
written). Per round, on a fresh root / worktree each:
  ready     `prjfs git` until its ready line + one listing of the root, vs `git worktree add --detach`
  bytes     bytes written (root + admin directory incl. index), vs the worktree + its admin directory
  status    the first `git status --porcelain` inside the root, vs inside the worktree
  read      latency of reading one never-touched file (p50 over --reads files), vs the worktree
  switch    switching to a revision that differs in about 1 % of the files:
            `prjfs git checkout`, vs `git checkout --detach` in the worktree
Prints the medians and the ratio prjfs / git of each.
"""
import argparse
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time


def git(repo, *args, **kw):
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, text=True, **kw).stdout


def tree_bytes(path):
    total = 0
    for base, dirs, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(base, name))
            except FileNotFoundError:
                continue
            total += st.st_blocks * 512
    return total


def pick_switch_target(repo, head, files):
    """An ancestor of head whose tree differs in about 1 % of the files."""
    want = max(1, files // 100)
    best = None
    for n in (1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144):
        try:
            changed = len(git(repo, "diff", "--name-only", f"{head}~{n}", head).splitlines())
        except subprocess.CalledProcessError:
            break
        if best is None or abs(changed - want) < abs(best[1] - want):
            best = (f"{head}~{n}", changed)
        if changed >= want:
            break
    return git(repo, "rev-parse", best[0]).strip(), best[1]


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def read_latencies(root, paths):
    out = []
    for path in paths:
        start = time.perf_counter()
        with open(os.path.join(root, path), "rb") as f:
            while f.read(1 << 16):
                pass
        out.append(time.perf_counter() - start)
    return statistics.median(out)


def prjfs_round(prjfs, repo, work, head, target, sample):
    root = os.path.join(work, "root")
    os.mkdir(root)
    result = {}
    start = time.perf_counter()
    proc = subprocess.Popen([prjfs, "git", repo, root, "--rev", head], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if "projecting" not in line:
        raise RuntimeError("prjfs git did not start: " + line)
    os.listdir(root)
    result["ready"] = time.perf_counter() - start
    try:
        result["status"] = timed(lambda: subprocess.run(["git", "-C", root, "status", "--porcelain"], check=True,
                                                        capture_output=True))
        result["read"] = read_latencies(root, sample)
        result["switch"] = timed(lambda: subprocess.run([prjfs, "git", "checkout", root, target], check=True,
                                                        capture_output=True))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    admin = open(os.path.join(root, ".git")).read().split(" ", 1)[1].strip()
    # Bytes: measured after the round on a fresh root, ready state only.
    return result, admin


def prjfs_ready_bytes(prjfs, repo, work, head):
    root = os.path.join(work, "root-bytes")
    os.mkdir(root)
    proc = subprocess.Popen([prjfs, "git", repo, root, "--rev", head], stdout=subprocess.PIPE, text=True)
    proc.stdout.readline()
    os.listdir(root)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    admin = open(os.path.join(root, ".git")).read().split(" ", 1)[1].strip()
    return tree_bytes(root) + tree_bytes(admin)


def git_round(repo, work, head, target, sample):
    tree = os.path.join(work, "wt")
    result = {}
    result["ready"] = timed(lambda: git(repo, "worktree", "add", "-q", "--detach", tree, head))
    result["bytes"] = tree_bytes(tree) + tree_bytes(os.path.join(repo, "worktrees", "wt"))
    subprocess.run(["sync"], check=True)
    result["status"] = timed(lambda: subprocess.run(["git", "-C", tree, "status", "--porcelain"], check=True,
                                                    capture_output=True))
    # Cold-ish reads: drop this tree's pages where permitted (root), else they are warm from the checkout.
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("1\n")
    except OSError:
        pass
    result["read"] = read_latencies(tree, sample)
    result["switch"] = timed(lambda: git(tree, "checkout", "-q", "--detach", target))
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("prjfs")
    parser.add_argument("repo")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reads", type=int, default=50)
    args = parser.parse_args()

    base = tempfile.mkdtemp(prefix="prjfs-git-bench-")
    try:
        repo = os.path.join(base, "repo.git")
        subprocess.run(["git", "clone", "-q", "--bare", args.repo, repo], check=True)
        head = git(repo, "rev-parse", "HEAD").strip()
        files = [line.split("\t", 1)[1] for line in git(repo, "ls-tree", "-r", head).splitlines()
                 if line.split()[0] == "100644"]
        target, changed = pick_switch_target(repo, head, len(files))
        print(f"repository: {args.repo}: {len(files)} regular files at {head[:12]}; switch to {target[:12]} "
              f"changes {changed} paths")
        rows = {k: ([], []) for k in ("ready", "bytes", "status", "read", "switch")}
        for r in range(args.rounds):
            sample = random.Random(r).sample(files, min(args.reads, len(files)))
            work = os.path.join(base, f"round{r}")
            os.mkdir(work)
            g = git_round(repo, work, head, target, sample)
            p, _ = prjfs_round(args.prjfs, repo, work, head, target, sample)
            p["bytes"] = prjfs_ready_bytes(args.prjfs, repo, work, head)
            for k in rows:
                rows[k][0].append(p[k])
                rows[k][1].append(g[k])
            git(repo, "worktree", "remove", "--force", os.path.join(work, "wt"))
            shutil.rmtree(work, ignore_errors=True)
        print(f"{'':8} {'prjfs git':>14} {'git':>14} {'ratio':>8}")
        for k, (p, g) in rows.items():
            pm, gm = statistics.median(p), statistics.median(g)
            unit = (lambda v: f"{v / 1e6:11.2f} MB") if k == "bytes" else (lambda v: f"{v * 1e3:11.2f} ms")
            ratios = [a / b for a, b in zip(p, g) if b]
            print(f"{k:8} {unit(pm):>14} {unit(gm):>14} {statistics.median(ratios):8.3f}")
    finally:
        subprocess.run(["git", "-C", os.path.join(base, "repo.git"), "worktree", "prune"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
