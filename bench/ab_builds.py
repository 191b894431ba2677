"""Two builds side by side: the same scans with checkout A and checkout B, interleaved (A, B, A, B, ...),
median of N, wall and CPU (user+sys) of each scan process. Each checkout needs its own .venv with
the package installed (`python -m venv .venv && .venv/bin/pip install -e .`).

Usage: python bench/ab_builds.py CHECKOUT_A CHECKOUT_B [N [LABELS]]   (prints a Markdown table; LABELS: comma-separated
substrings of the case labels to run, e.g. 'public,fix')

The corpora are bench/run.py's (WORKDIR /tmp/s2g-bench) and the public corpus (/work/corpus/public).

AB_B_SCAN_ARGS (environment): more arguments for checkout B's scans only, e.g. "--judge tree-sitter" to
measure B without PowerShell's parser (an option checkout A may not have).
"""
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

A, B = sys.argv[1], sys.argv[2]
N = int(sys.argv[3]) if len(sys.argv) > 3 else 3
big, dense, pub = "/tmp/s2g-bench/corpus-20000f-200mb-seed1", "/tmp/s2g-bench/corpus-5000f-50mb-seed1-dense", "/work/corpus/public"
B_SCAN_ARGS = os.environ.get("AB_B_SCAN_ARGS", "").split()
def cmd(d, corpus, *extra):
    if extra and extra[0] == "fix":  # fix writes every patched copy under a fresh folder; its preview goes nowhere
        return [f"{d}/.venv/bin/python", "-m", "scanner", "fix", corpus, *extra[1:]]
    more = B_SCAN_ARGS if d == B else []
    return [f"{d}/.venv/bin/python", "-m", "scanner", "scan", corpus, "-f", "json", "-o", "/dev/null", "-q", *extra, *more]
cases = [
    ("cold --jobs 2, 200 MB estate", big, ("--no-cache",)),
    ("warm re-scan, 200 MB estate", big, ("--cache-dir", "{cache}")),
    ("cold --jobs 1, mail-dense 50 MB", dense, ("--no-cache", "--jobs", "1")),
    ("cold --jobs 2, mail-dense 50 MB", dense, ("--no-cache", "--jobs", "2")),
    ("cold --jobs 2, public corpus", pub, ("--no-cache",)),
    ("warm re-scan, public corpus", pub, ("--cache-dir", "{cache}")),
    ("fix --out, public corpus", pub, ("fix", "--out", "{out}")),
    ("fix --out --unsafe-fixes, mail-dense 50 MB", dense, ("fix", "--out", "{out}", "--unsafe-fixes")),
]
def run(d, corpus, extra, tag):
    cache = f"/tmp/ab2-cache-{os.path.basename(d)}-{tag}"
    out = f"/tmp/ab2-out-{os.path.basename(d)}-{tag}"
    shutil.rmtree(out, ignore_errors=True)
    extra = tuple(x.replace("{cache}", cache).replace("{out}", out) for x in extra)
    before = resource.getrusage(resource.RUSAGE_CHILDREN); t = time.perf_counter()
    subprocess.run(cmd(d, corpus, *extra), cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - t; after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
# Both builds run from bytecode, as a pip install does (it compiles every module): with
# PYTHONDONTWRITEBYTECODE set (as on this machine) each run would otherwise compile the sources again,
# a cost that grows with the number of modules and is no user's.
for d in (A, B):
    subprocess.run([f"{d}/.venv/bin/python", "-m", "compileall", "-q", "scanner", "rules", "reports"], cwd=d,
                   stdout=subprocess.DEVNULL, check=False)
print(f"| Scan | before ({os.path.basename(A)}) wall / CPU | after wall / CPU | after / before (wall) |")
print("|---|---|---|---|")
only = sys.argv[4].split(",") if len(sys.argv) > 4 else None  # substrings of the labels to run
for label, corpus, extra in cases:
    if not os.path.isdir(corpus):
        print(f"| {label} | (corpus {corpus} missing: `python bench/run.py` makes it) | | |", flush=True)
        continue
    if only and not any(o in label for o in only):
        continue
    tag = label.split(",")[1].strip().replace(" ", "")
    if "{cache}" in " ".join(extra):
        for d in (A, B):
            shutil.rmtree(f"/tmp/ab2-cache-{os.path.basename(d)}-{tag}", ignore_errors=True); run(d, corpus, extra, tag)
    ra, rb = [], []
    for _ in range(N):
        ra.append(run(A, corpus, extra, tag)); rb.append(run(B, corpus, extra, tag))
    wa, ca = statistics.median(r[0] for r in ra), statistics.median(r[1] for r in ra)
    wb, cb = statistics.median(r[0] for r in rb), statistics.median(r[1] for r in rb)
    print(f"| {label} | {wa:.2f} s / {ca:.2f} s | {wb:.2f} s / {cb:.2f} s | {wb / wa:.2f} |", flush=True)
