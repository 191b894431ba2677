"""The smtp2graph benchmark: one command that generates the corpora, measures, and prints ratios vs the targets.

Usage (from the repository root, with the project installed in .venv):
    .venv/bin/python bench/run.py                 # 200 MB / 20,000 files, ~8 min on 2 cores
    .venv/bin/python bench/run.py --quick         # 20 MB / 2,000 files, about a minute

Measured side by side in one run (each figure is the median of --runs runs, interleaved
round-robin so drift hits every command alike; all on a warm OS page cache):

  big corpus     `rg -ilF -e TOKEN...` (the scanner's prefilter tokens) vs `smtp2graph scan --no-cache` (cold) vs a warm re-scan
                 (`--cache-dir`, populated by one untimed run first);
  dense corpus   every file sends mail: a raw tree-sitter parse of the same files in one
                 process (bench/raw_parse.py) vs the full scan with `--jobs 1` and `--jobs 2`;
  memory         peak RSS of the whole scan process tree at the small and the big corpus,
                 by polling /proc/PID/smaps_rollup of the scan and all its descendants.

Corpora are generated once into --workdir and reused while the generator and sizes match.
Results also go to WORKDIR/results.json, and as the Markdown tables docs/performance.md quotes to WORKDIR/results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from gen_corpus import CorpusSpec, FileRecord, ensure_corpus, read_manifest  # noqa: E402

# Used when the scanner does not expose its prefilter tokens: the mail API names.
FALLBACK_TOKENS = ("send-mailmessage", "smtpclient", "mailkit", "cdo.message", "system.web.mail", "psemailserver")
POWERSHELL_GLOBS = ("*.ps1", "*.psm1", "*.psd1")
DENSE_TARGET = 1.5  # issue 16: a mail-dense --jobs 1 scan within 1.5x of the raw tree-sitter parse
PUBLIC_CORPUS = Path("/work/corpus/public")  # bench/public_corpus.py re-creates it


# --------------------------------------------------------------------------------------
# Measuring one command
# --------------------------------------------------------------------------------------


@dataclass
class Measurement:
    """One timed run of one command."""

    seconds: float
    exit_code: int
    peak_tree_rss_mb: Optional[float] = None  # sum over the process tree, polled
    peak_tree_pss_mb: Optional[float] = None  # same, proportional (shared pages split between processes)
    peak_main_rss_mb: Optional[float] = None  # the process we started (the scan's parent)
    peak_child_rss_mb: Optional[float] = None  # the largest of its descendants (a pool worker)
    cpu_seconds: float = 0.0  # user + system time of the process and its reaped descendants
    load_before: float = 0.0  # 1-minute load average when the run started: other work on the machine


@dataclass
class Series:
    """Repeated runs of one command."""

    label: str
    command: List[str]
    ok_codes: Tuple[int, ...] = (0,)  # scan exits 1 when it has findings, which is success here
    runs: List[Measurement] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(m.seconds for m in self.runs)

    @property
    def median_cpu(self) -> float:
        return statistics.median(m.cpu_seconds for m in self.runs)

    def describe(self) -> str:
        times = " ".join(f"{m.seconds:.2f}" for m in self.runs)
        return f"{self.label:<44} median {self.median:8.2f} s wall {self.median_cpu:8.2f} s CPU   [{times}]"


class CommandFailed(Exception):
    """A measured command exited with an unexpected code."""


def _descendants(root_pid: int) -> List[int]:
    """The pid and every live descendant, from the ppid field of /proc/*/stat."""
    children: Dict[int, List[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: fields start after the last ')'.
        fields = stat[stat.rfind(b")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _tree_memory_kb(root_pid: int) -> Tuple[int, int, Dict[int, int]]:
    """Sum of Rss and Pss (kB) over the process tree rooted at root_pid, and the Rss of each process."""
    rss = pss = 0
    each: Dict[int, int] = {}
    for pid in _descendants(root_pid):
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
                for line in fh:
                    if line.startswith(b"Rss:"):
                        each[pid] = int(line.split()[1])
                        rss += each[pid]
                    elif line.startswith(b"Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            continue  # exited between listing and reading
    return rss, pss, each


def run_once(command: Sequence[str], ok_codes: Sequence[int], poll_memory: bool = False,
             stdout_path: Optional[Path] = None) -> Measurement:
    """Run a command, timing it with perf_counter; optionally poll the memory of its process tree."""
    err_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"s2g-bench-stderr-{os.getpid()}.txt"
    load_before = os.getloadavg()[0]
    with open(err_path, "wb") as err, open(stdout_path or os.devnull, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(list(command), stdout=out, stderr=err)
        peak = [0, 0]
        peak_each: Dict[int, int] = {}
        stop = threading.Event()

        def poll() -> None:
            while not stop.is_set():
                rss, pss, each = _tree_memory_kb(proc.pid)
                peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
                for pid, kb in each.items():
                    peak_each[pid] = max(peak_each.get(pid, 0), kb)
                stop.wait(0.02)

        poller = threading.Thread(target=poll, daemon=True) if poll_memory else None
        if poller:
            poller.start()
        # wait4 (not Popen.wait) to get the child's rusage; the poller keeps reading until it is reaped.
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        stop.set()
        if poller:
            poller.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in ok_codes:
        tail = err_path.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise CommandFailed(f"{' '.join(command)} exited {proc.returncode}:\n{tail}")
    err_path.unlink(missing_ok=True)
    # Not usage.ru_maxrss: Linux carries the pre-exec high-water mark of the forked child (this
    # runner's own size) into it, so it says more about the runner than about the scan.
    m = Measurement(seconds=elapsed, exit_code=proc.returncode, cpu_seconds=usage.ru_utime + usage.ru_stime,
                    load_before=load_before)
    if poll_memory:
        m.peak_tree_rss_mb, m.peak_tree_pss_mb = peak[0] / 1024, peak[1] / 1024
        m.peak_main_rss_mb = peak_each.get(proc.pid, 0) / 1024
        m.peak_child_rss_mb = max((kb for pid, kb in peak_each.items() if pid != proc.pid), default=0) / 1024
    return m


def measure_round_robin(series: Sequence[Series], runs: int) -> None:
    """Run every series `runs` times, interleaved, so slow drift (thermal, noisy neighbours) is shared."""
    for i in range(runs):
        for s in series:
            m = run_once(s.command, s.ok_codes)
            s.runs.append(m)
            print(f"    run {i + 1}/{runs}  {s.label:<44} {m.seconds:8.2f} s wall {m.cpu_seconds:8.2f} s CPU"
                  f"   (load {m.load_before:.1f})", flush=True)


# --------------------------------------------------------------------------------------
# The tools under test
# --------------------------------------------------------------------------------------


def smtp2graph_command() -> List[str]:
    """The smtp2graph console script next to this interpreter, else `python -m scanner`."""
    script = Path(sys.executable).parent / "smtp2graph"
    if script.exists():
        return [str(script)]
    found = shutil.which("smtp2graph")
    return [found] if found else [sys.executable, "-m", "scanner"]


def scan_available(cmd: Sequence[str]) -> Tuple[bool, str]:
    """Whether `smtp2graph scan` exists and takes the options the benchmark uses."""
    try:
        proc = subprocess.run([*cmd, "scan", "--help"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    text = proc.stdout + proc.stderr
    missing = [opt for opt in ("--no-cache", "--cache-dir", "--jobs", "--format", "--output") if opt not in text]
    if proc.returncode != 0:
        # typer draws errors in a box; keep the line that says something.
        lines = [ln.strip(" │╭╮╰╯─") for ln in text.splitlines()]
        said = [ln for ln in lines if re.search(r"[A-Za-z]{3}", ln)]
        return False, said[-1] if said else f"exit code {proc.returncode}"
    if missing:
        return False, "scan lacks " + ", ".join(missing)
    return True, ""


def prefilter_tokens() -> Tuple[List[str], str]:
    """The literal tokens the scanner's byte prefilter looks for, and where they came from."""
    try:
        from scanner.estate.prefilter import default_prefilter
    except Exception as exc:  # noqa: BLE001 - any import failure means "not available"
        return list(FALLBACK_TOKENS), f"fallback list (scanner.estate.prefilter.default_prefilter not importable: {exc})"
    try:
        tokens = [t.decode("utf-8") if isinstance(t, bytes) else str(t) for t in default_prefilter().tokens]
    except Exception as exc:  # noqa: BLE001
        return list(FALLBACK_TOKENS), f"fallback list (default_prefilter() failed: {exc})"
    return tokens, "scanner.estate.prefilter.default_prefilter().tokens"


def rg_command(tokens: Sequence[str], root: Path) -> Optional[List[str]]:
    """`rg -ilF` for the same literal tokens over the PowerShell files, honouring .gitignore as the scanner does.

    `--no-require-git`: the scanner applies .gitignore files without a git repository, so rg must too.
    """
    rg = shutil.which("rg")
    if not rg:
        return None
    globs = [arg for g in POWERSHELL_GLOBS for arg in ("-g", g)]
    patterns = [arg for t in tokens for arg in ("-e", t)]
    return [rg, "-ilF", "--no-require-git", *globs, *patterns, str(root)]


def python_grep_command(tokens: Sequence[str], root: Path) -> List[str]:
    """Fallback baseline when ripgrep is missing: read every scanned file, lower it, look for each token."""
    code = (
        "import json,sys\n"
        "from pathlib import Path\n"
        "root=Path(sys.argv[1]); tokens=[t.lower().encode() for t in sys.argv[2:]]\n"
        "files=json.loads((root/'.bench-manifest.json').read_text())['files']\n"
        "def text(b):\n"
        "    return b[2:].decode('utf-16-le').encode() if b[:2]==b'\\xff\\xfe' else b\n"
        "def hit(b):\n"
        "    low=text(b).lower()\n"
        "    return any(t in low for t in tokens)\n"
        "print(sum(1 for f in files if not f['ignored'] and hit((root/f['path']).read_bytes())))\n"
    )
    return [sys.executable, "-c", code, str(root), *tokens]


# --------------------------------------------------------------------------------------
# Recall check: the benchmark is worthless if the fast scan stopped finding things
# --------------------------------------------------------------------------------------


def recall_summary(report_path: Path, records: Sequence[FileRecord]) -> str:
    """Compare the files with findings in a JSON report against the corpus's mail-sending files."""
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"recall: could not read the scan's JSON report ({exc})"
    with_findings = {f.get("path") for f in report.get("findings", [])}
    mail = {r.path for r in records if r.sends_mail and not r.ignored}
    found = len(mail & with_findings)
    extra = len(with_findings - mail)
    missed = sorted(mail - with_findings)
    decoys = {r.path for r in records if r.mentions_api and not r.ignored}
    line = (f"recall: {found}/{len(mail)} mail-sending files have a finding; {extra} files without mail have one "
            f"({len(decoys & with_findings)} of the {len(decoys)} that only name a mail API in comments/strings); "
            f"files_scanned={report.get('files_scanned')}, errors={len(report.get('errors', []))}")
    if missed:
        line += "\n        missed e.g. " + ", ".join(missed[:5])
    return line


# --------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------


@dataclass
class Verdict:
    """One target of the issue and how this run did."""

    name: str
    value: float
    target: str
    passed: bool
    detail: str

    def line(self) -> str:
        mark = "PASS" if self.passed else "MISS"
        return f"  [{mark}] {self.name:<46} {self.detail}   (target {self.target})"


def at_most(name: str, value: float, limit: float, unit: str = "x", note: str = "") -> Verdict:
    """A ratio or size that must not exceed `limit`."""
    passed = value <= limit
    detail = f"{value:.2f}{unit}"
    if not passed:
        detail += f"  -> over by {100 * (value / limit - 1):.0f}%"
    return Verdict(name, value, f"<= {limit:g}{unit}", passed, detail + (f"  [{note}]" if note else ""))


def at_least(name: str, value: float, limit: float, unit: str = "x", note: str = "") -> Verdict:
    """A ratio that must reach `limit`."""
    passed = value >= limit
    detail = f"{value:.2f}{unit}"
    if not passed:
        detail += f"  -> short by {100 * (1 - value / limit):.0f}%"
    return Verdict(name, value, f">= {limit:g}{unit}", passed, detail + (f"  [{note}]" if note else ""))


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def corpus_dir(workdir: Path, spec: CorpusSpec) -> Path:
    """Where a corpus for `spec` lives in the work folder."""
    mb = f"{spec.size_mb:g}".replace(".", "_")
    return workdir / f"corpus-{spec.files}f-{mb}mb-seed{spec.seed}{'-dense' if spec.mail_dense else ''}"


def prepare(workdir: Path, spec: CorpusSpec) -> Tuple[Path, List[FileRecord]]:
    """Generate (or reuse) a corpus and say what it is."""
    path = corpus_dir(workdir, spec)
    start = time.perf_counter()
    try:
        reused = read_manifest(path)[0] == spec
    except (OSError, ValueError, KeyError, TypeError):
        reused = False
    records = ensure_corpus(path, spec)
    took = time.perf_counter() - start
    scanned = [r for r in records if not r.ignored]
    mail = sum(r.sends_mail for r in scanned)
    mib = sum(r.bytes for r in scanned) / 1048576
    print(f"  {path.name}: {len(scanned)} files scanned ({len(records) - len(scanned)} .gitignored), "
          f"{mib:.1f} MiB (largest {max((r.bytes for r in scanned), default=0) / 1048576:.1f} MiB), "
          f"{mail} send mail ({100 * mail / max(1, len(scanned)):.1f}%)"
          f"  [{'reused' if reused else 'generated'} in {took:.1f} s]", flush=True)
    return path, records


def scanner_revision() -> str:
    """The git commit of the working tree being measured, with '+dirty' when scanner files are modified."""
    repo = BENCH_DIR.parent
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--", "scanner", "rules", "reports"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (head or "unknown") + ("+dirty" if dirty else "")


def machine_line() -> str:
    """CPU, cores, Python, ripgrep version: what the figures were measured on."""
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    rg = shutil.which("rg")
    rg_version = subprocess.run([rg, "--version"], capture_output=True, text=True).stdout.split("\n")[0] if rg else "absent"
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {rg_version}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the whole benchmark and print every figure and ratio."""
    parser = argparse.ArgumentParser(description="smtp2graph benchmark: scan speed and memory vs the targets.")
    parser.add_argument("--size-mb", type=float, default=200.0, help="big corpus size (MiB)")
    parser.add_argument("--files", type=int, default=20000, help="big corpus file count")
    parser.add_argument("--small-mb", type=float, default=50.0, help="small corpus size for the RSS growth check")
    parser.add_argument("--small-files", type=int, default=None, help="small corpus file count (default: scaled)")
    parser.add_argument("--dense-mb", type=float, default=50.0, help="mail-dense corpus size (MiB)")
    parser.add_argument("--dense-files", type=int, default=None, help="mail-dense corpus file count (default: scaled)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per command (median is reported)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/s2g-bench"))
    parser.add_argument("--quick", action="store_true", help="20 MB / 2,000 files (small 5 MB, dense 5 MB)")
    parser.add_argument("--sections", default="big,dense,memory,public",
                        help="comma-separated subset of big,dense,memory,public,scaling to measure (default: all but "
                             "scaling: the --jobs curve, 1 to 2x the CPUs, one run each on the mail-dense corpus)")
    parser.add_argument("--public", type=Path, default=PUBLIC_CORPUS,
                        help="a folder of real PowerShell repositories (bench/public_corpus.py); its own targets "
                             f"table (default {PUBLIC_CORPUS}; skipped when absent)")
    args = parser.parse_args(argv)
    if args.quick:
        args.size_mb, args.files, args.small_mb, args.dense_mb = 20.0, 2000, 5.0, 5.0
    per_file_mb = args.size_mb / args.files
    small_files = args.small_files or max(1, round(args.small_mb / per_file_mb))
    dense_files = args.dense_files or max(1, round(args.dense_mb / per_file_mb))
    if args.runs < 1:
        print("bench: --runs must be >= 1", file=sys.stderr)
        return 2
    sections = {x.strip() for x in args.sections.split(",") if x.strip()}
    if not sections <= {"big", "dense", "memory", "public", "scaling"}:
        print(f"bench: unknown --sections {args.sections!r}; use big, dense, memory, public, scaling", file=sys.stderr)
        return 2
    workdir: Path = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)

    print(f"smtp2graph benchmark — {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    print(f"machine: {machine_line()}")
    print(f"scanner: {' '.join(smtp2graph_command())} at {scanner_revision()}")
    print(f"median of {args.runs} runs each, interleaved; warm OS page cache; workdir {workdir}")
    load = os.getloadavg()[0]
    if load > 0.5:
        print(f"WARNING: the machine is busy (1-minute load {load:.1f} on {os.cpu_count()} CPUs): wall times are "
              f"inflated and the --jobs speed-up understated; CPU times are the steadier figure.")
    print("corpora:")
    big, big_records = prepare(workdir, CorpusSpec(args.size_mb, args.files, args.seed))
    small, _ = prepare(workdir, CorpusSpec(args.small_mb, small_files, args.seed))
    dense, dense_records = prepare(workdir, CorpusSpec(args.dense_mb, dense_files, args.seed, mail_dense=True))
    # Freshly generated corpora leave hundreds of MB of dirty pages; their write-back would
    # slow whichever command runs while it happens (it made rg's wall time double once).
    os.sync()

    s2g = smtp2graph_command()
    has_scan, why_not = scan_available(s2g)
    tokens, tokens_source = prefilter_tokens()
    results: Dict[str, object] = {"machine": machine_line(), "revision": scanner_revision(), "runs": args.runs,
                                  "prefilter_tokens": tokens,
                                  "prefilter_tokens_source": tokens_source}
    verdicts: List[Verdict] = []

    # ---- 1. big corpus: grep baseline vs cold scan vs warm re-scan
    if "big" in sections:
        measure_big(big, big_records, s2g if has_scan else None, why_not, tokens, tokens_source, workdir,
                    args.runs, results, verdicts)
    if "dense" in sections:
        measure_dense(dense, dense_records, s2g if has_scan else None, args.runs, workdir, results, verdicts)
    if "memory" in sections and has_scan:
        measure_memory(small, big, s2g, results, verdicts)
    if "scaling" in sections and has_scan:
        measure_scaling(dense, s2g, results)
    public_verdicts: List[Verdict] = []
    if "public" in sections and has_scan:
        if args.public.is_dir():
            measure_public(args.public, s2g, tokens, tokens_source, workdir, args.runs, results, public_verdicts)
        else:
            print(f"\n[4] public corpus: {args.public} is absent (bench/public_corpus.py re-creates it): skipped")
    print_summary(verdicts, results, workdir, public_verdicts)
    return 0


def public_mail_subset(public: Path, workdir: Path) -> Tuple[Path, int, int]:
    """The files of the public corpus the scanner's prefilter passes (those it parses and analyses),
    copied into WORKDIR/public-mail with their relative paths: the public corpus's "mail-dense" part."""
    from scanner.estate.prefilter import default_prefilter

    prefilter = default_prefilter()
    target = workdir / "public-mail"
    shutil.rmtree(target, ignore_errors=True)
    total = kept = 0
    for path in sorted(public.rglob("*")):
        if path.suffix.lower() not in (".ps1", ".psm1", ".psd1") or not path.is_file():
            continue
        total += 1
        raw = path.read_bytes()
        if prefilter.matches(raw):
            copy = target / path.relative_to(public)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(raw)
            kept += 1
    return target, total, kept


def measure_public(public: Path, s2g: List[str], tokens: Sequence[str], tokens_source: str, workdir: Path, runs: int,
                   results: Dict[str, object], verdicts: List[Verdict]) -> None:
    """The public corpus: rg vs cold vs warm over all of it; raw parse vs --jobs 1 vs --jobs 2 over the files
    the prefilter passes; peak memory of a cold scan."""
    files = [p for p in public.rglob("*") if p.suffix.lower() in (".ps1", ".psm1", ".psd1") and p.is_file()]
    mib = sum(p.stat().st_size for p in files) / 1048576
    repos = sum(1 for p in public.iterdir() if p.is_dir())
    print(f"\n[4] public corpus {public}: {len(files)} PowerShell files, {mib:.1f} MiB, {repos} repositories")
    mail, total, kept = public_mail_subset(public, workdir)
    print(f"    {kept} of {total} files pass the scanner's prefilter: copied to {mail} for the parse comparison")
    os.sync()
    section: Dict[str, object] = {}
    measure_big(public, None, s2g, "", tokens, tokens_source, workdir, runs, section, verdicts, title="public corpus",
                key="public")
    raw = Series("raw tree-sitter parse (1 process)", [sys.executable, str(BENCH_DIR / "raw_parse.py"), str(mail)])
    jobs1 = Series("smtp2graph scan --no-cache --jobs 1",
                   [*s2g, "scan", str(mail), "--no-cache", "--jobs", "1", "--format", "json", "--output", os.devnull],
                   (0, 1))
    jobs2 = Series("smtp2graph scan --no-cache --jobs 2",
                   [*s2g, "scan", str(mail), "--no-cache", "--jobs", "2", "--format", "json", "--output", os.devnull],
                   (0, 1))
    print(f"    the {kept} files the prefilter passes ({mail.name}):")
    subprocess.run(raw.command, capture_output=True)
    measure_round_robin([raw, jobs1, jobs2], runs)
    for s in (raw, jobs1, jobs2):
        print("  " + s.describe())
    section["public-mail"] = {s.label: asdict(s) for s in (raw, jobs1, jobs2)}
    verdicts.append(at_most("mail files: scan --jobs 1 / raw parse (wall)", jobs1.median / raw.median, DENSE_TARGET,
                            note=f"CPU-time ratio {jobs1.median_cpu / raw.median_cpu:.2f}x"))
    verdicts.append(at_least("mail files: speed-up --jobs 2 vs --jobs 1", jobs1.median / jobs2.median, 1.8))
    m = run_once([*s2g, "scan", str(public), "--no-cache", "--format", "json", "--output", os.devnull], ok_codes=(0, 1),
                 poll_memory=True)
    print(f"  memory  tree RSS {m.peak_tree_rss_mb:7.1f} MB   tree PSS {m.peak_tree_pss_mb:7.1f} MB   main "
          f"{m.peak_main_rss_mb:6.1f} MB   largest worker {m.peak_child_rss_mb:6.1f} MB   ({m.seconds:.1f} s)")
    section["memory"] = asdict(m)
    verdicts.append(at_most("peak tree RSS (one size: no growth check)", m.peak_tree_rss_mb or 0.0, 300.0, " MB"))
    results["public"] = section


def measure_big(big: Path, big_records: Optional[Sequence[FileRecord]], s2g: Optional[List[str]], why_not: str,
                tokens: Sequence[str], tokens_source: str, workdir: Path, runs: int, results: Dict[str, object],
                verdicts: List[Verdict], title: str = "", key: str = "big") -> None:
    """Big corpus: the grep baseline vs a cold scan vs a warm re-scan."""
    print(f"\n[1] big corpus {big.name}" if not title else f"    {title}: rg vs cold vs warm")
    print(f"    prefilter tokens ({tokens_source}): {' '.join(tokens)}")
    baseline = rg_command(tokens, big)
    if baseline is None:
        baseline_label = "python read+lower+find (NO ripgrep: fallback)"
        baseline = python_grep_command(tokens, big)
        print("    NOTE: `rg` is not installed; the baseline is a Python read+lower+find over the same files, "
              "which is slower than rg, so the ratios below flatter the scanner.")
    else:
        baseline_label = "rg -ilF (ripgrep)"
    subprocess.run(baseline, capture_output=True)  # untimed: make sure every file is in the page cache
    base = Series(baseline_label, baseline)
    series = [base]
    cold = warm = None
    cache_dir = workdir / f"cache-{key}"
    report_path = workdir / f"scan-{key}.json"
    if s2g is not None:
        cold = Series("smtp2graph scan --no-cache (cold)",
                      [*s2g, "scan", str(big), "--no-cache", "--format", "json", "--output", os.devnull], (0, 1))
        warm = Series("smtp2graph scan --cache-dir (warm re-scan)",
                      [*s2g, "scan", str(big), "--cache-dir", str(cache_dir), "--format", "json",
                       "--output", os.devnull], (0, 1))
        shutil.rmtree(cache_dir, ignore_errors=True)
        print("    populating the cache (untimed) ...", flush=True)
        populate = run_once([*s2g, "scan", str(big), "--cache-dir", str(cache_dir), "--format", "json",
                             "--output", str(report_path)], ok_codes=(0, 1))
        print(f"    populate run: {populate.seconds:.2f} s")
        if big_records is not None:
            print("    " + recall_summary(report_path, big_records))
        else:
            report = json.loads(report_path.read_text(encoding="utf-8"))
            print(f"    {len(report['findings'])} findings in {len({f['path'] for f in report['findings']})} files; "
                  f"files_scanned={report.get('files_scanned')}, errors={len(report.get('errors', []))}")
        series += [cold, warm]
    else:
        print(f"    smtp2graph scan is not usable yet ({why_not}): measuring the baseline only")
    measure_round_robin(series, runs)
    for s in series:
        print("  " + s.describe())
    results[key] = {s.label: asdict(s) for s in series}
    if cold and warm:
        verdicts.append(at_most("cold scan / rg -il (wall)", cold.median / base.median, 3.0,
                                note=f"CPU-time ratio {cold.median_cpu / base.median_cpu:.2f}x"))
        verdicts.append(at_most("warm re-scan / rg -il (wall)", warm.median / base.median, 1.5,
                                note=f"CPU-time ratio {warm.median_cpu / base.median_cpu:.2f}x"))



def measure_dense(dense: Path, dense_records: Sequence[FileRecord], s2g: Optional[List[str]], runs: int,
                  workdir: Path, results: Dict[str, object], verdicts: List[Verdict]) -> None:
    """Mail-dense corpus: raw tree-sitter parse vs the full scan with --jobs 1 and --jobs 2."""
    print(f"\n[2] mail-dense corpus {dense.name}")
    raw = Series("raw tree-sitter parse (1 process)", [sys.executable, str(BENCH_DIR / "raw_parse.py"), str(dense)])
    series = [raw]
    jobs1 = jobs2 = None
    if s2g is not None:
        jobs1 = Series("smtp2graph scan --no-cache --jobs 1",
                       [*s2g, "scan", str(dense), "--no-cache", "--jobs", "1", "--format", "json", "--output",
                        os.devnull], (0, 1))
        jobs2 = Series("smtp2graph scan --no-cache --jobs 2",
                       [*s2g, "scan", str(dense), "--no-cache", "--jobs", "2", "--format", "json", "--output",
                        os.devnull], (0, 1))
        dense_report = workdir / "scan-dense.json"
        run_once([*s2g, "scan", str(dense), "--no-cache", "--format", "json", "--output", str(dense_report)],
                 ok_codes=(0, 1))
        print("    " + recall_summary(dense_report, dense_records))
        series += [jobs1, jobs2]
    measure_round_robin(series, runs)
    for s in series:
        print("  " + s.describe())
    results["dense"] = {s.label: asdict(s) for s in series}
    if jobs1 and jobs2:
        verdicts.append(at_most("dense: full scan --jobs 1 / raw parse (wall)", jobs1.median / raw.median, DENSE_TARGET,
                                note=f"CPU-time ratio {jobs1.median_cpu / raw.median_cpu:.2f}x"))
        verdicts.append(at_least("dense: speed-up --jobs 2 vs --jobs 1", jobs1.median / jobs2.median, 1.8))



def measure_scaling(dense: Path, s2g: List[str], results: Dict[str, object]) -> None:
    """The --jobs curve on the mail-dense corpus: 1 to 2x the CPUs, one run each (after one untimed run)."""
    cpus = os.cpu_count() or 1
    counts = sorted({1, 2, *range(2, 2 * cpus + 1, max(1, cpus // 4))} | {cpus, 2 * cpus})
    print(f"\n[5] --jobs curve on {dense.name} ({cpus} CPUs): one run each")
    base = None
    curve: Dict[str, object] = {}
    for jobs in counts:
        command = [*s2g, "scan", str(dense), "--no-cache", "--jobs", str(jobs), "--format", "json", "--output", os.devnull]
        if base is None:
            run_once(command, ok_codes=(0, 1))  # untimed
        m = run_once(command, ok_codes=(0, 1))
        base = base or m.seconds
        print(f"  --jobs {jobs:<3} {m.seconds:7.2f} s wall {m.cpu_seconds:7.2f} s CPU   speed-up {base / m.seconds:4.2f}x"
              f"   (load {m.load_before:.1f})", flush=True)
        curve[str(jobs)] = asdict(m)
    results["scaling"] = curve


def measure_memory(small: Path, big: Path, s2g: List[str], results: Dict[str, object],
                   verdicts: List[Verdict]) -> None:
    """Peak memory of the scan's process tree at two corpus sizes."""
    print("\n[3] peak memory of the scan process tree (scan --no-cache, default --jobs), "
          "polled every 20 ms from /proc/PID/smaps_rollup of the scan and its descendants")
    memory: Dict[str, Measurement] = {}
    for name, path in (("small", small), ("big", big)):
        m = run_once([*s2g, "scan", str(path), "--no-cache", "--format", "json", "--output", os.devnull],
                     ok_codes=(0, 1), poll_memory=True)
        memory[name] = m
        print(f"  {name:<6} {path.name:<40} tree RSS {m.peak_tree_rss_mb:7.1f} MB   tree PSS "
              f"{m.peak_tree_pss_mb:7.1f} MB   main {m.peak_main_rss_mb:6.1f} MB   largest worker "
              f"{m.peak_child_rss_mb:6.1f} MB   "
              f"({m.seconds:.1f} s)")
    results["memory"] = {k: asdict(v) for k, v in memory.items()}
    s_rss, b_rss = memory["small"].peak_tree_rss_mb or 0.0, memory["big"].peak_tree_rss_mb or 0.0
    verdicts.append(at_most("peak tree RSS growth small -> big", 100 * (b_rss / max(s_rss, 1e-9) - 1), 20.0,
                            "%"))
    verdicts.append(at_most("peak tree RSS at the big corpus", b_rss, 300.0, " MB"))


def print_summary(verdicts: Sequence[Verdict], results: Dict[str, object], workdir: Path,
                  public_verdicts: Sequence[Verdict] = ()) -> None:
    """The verdict lines of both corpora, and the raw figures to results.json."""
    print("\ntargets (synthetic estate):")
    if not verdicts:
        print("  (none measured)")
    for v in verdicts:
        print(v.line())
    if public_verdicts:
        print("\ntargets (public corpus):")
        for v in public_verdicts:
            print(v.line())
    results["verdicts"] = [asdict(v) for v in verdicts]
    results["public_verdicts"] = [asdict(v) for v in public_verdicts]
    (workdir / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    (workdir / "results.md").write_text(markdown_tables(results), encoding="utf-8")
    print(f"\nraw figures: {workdir / 'results.json'}; Markdown tables for docs/performance.md: "
          f"{workdir / 'results.md'}")


def markdown_tables(results: Dict[str, object]) -> str:
    """The figures as the Markdown tables docs/performance.md quotes, so nothing is copied by hand."""
    lines = [f"Scanner revision `{results.get('revision')}`; {results.get('machine')}.", ""]
    timed = [(section, label, series) for section in ("big", "dense")
             for label, series in dict(results.get(section) or {}).items()]  # type: ignore[call-overload]
    if timed:
        lines += ["| Measurement | Wall (median) | CPU (median) | Runs (wall) | Load |", "|---|---|---|---|---|"]
        for section, label, series in timed:
            runs = series["runs"]
            wall = statistics.median(r["seconds"] for r in runs)
            cpu = statistics.median(r["cpu_seconds"] for r in runs)
            each = " ".join(f"{r['seconds']:.2f}" for r in runs)
            load = "–".join(f"{x:.1f}" for x in (min(r["load_before"] for r in runs), max(r["load_before"] for r in runs)))
            lines.append(f"| {label}, {section} corpus | {wall:.2f} s | {cpu:.2f} s | {each} | {load} |")
        lines.append("")
    memory = dict(results.get("memory") or {})  # type: ignore[call-overload]
    if memory:
        lines += ["| Peak memory | tree RSS | tree PSS | main process | largest worker |", "|---|---|---|---|---|"]
        for name, m in memory.items():
            lines.append(f"| {name} corpus | {m['peak_tree_rss_mb']:.1f} MB | {m['peak_tree_pss_mb']:.1f} MB | "
                         f"{m['peak_main_rss_mb']:.1f} MB | {m['peak_child_rss_mb']:.1f} MB |")
        lines.append("")
    public = dict(results.get("public") or {})  # type: ignore[call-overload]
    if public:
        lines += ["Public corpus:", "", "| Measurement | Wall (median) | CPU (median) | Runs (wall) | Load |",
                  "|---|---|---|---|---|"]
        for part in ("public", "public-mail"):
            for label, series in dict(public.get(part) or {}).items():
                runs = series["runs"]
                wall = statistics.median(r["seconds"] for r in runs)
                cpu = statistics.median(r["cpu_seconds"] for r in runs)
                each = " ".join(f"{r['seconds']:.2f}" for r in runs)
                load = "–".join(f"{x:.1f}" for x in (min(r["load_before"] for r in runs), max(r["load_before"] for r in runs)))
                where = "all files" if part == "public" else "files the prefilter passes"
                lines.append(f"| {label}, {where} | {wall:.2f} s | {cpu:.2f} s | {each} | {load} |")
        m = public.get("memory")
        if isinstance(m, dict):
            lines.append(f"| peak memory (cold scan): tree RSS {m['peak_tree_rss_mb']:.1f} MB, PSS {m['peak_tree_pss_mb']:.1f} MB, "
                         f"main {m['peak_main_rss_mb']:.1f} MB, largest worker {m['peak_child_rss_mb']:.1f} MB | | | | |")
        lines.append("")
    curve = dict(results.get("scaling") or {})  # type: ignore[call-overload]
    if curve:
        first = next(iter(curve.values()))["seconds"]
        lines += ["| `--jobs` (mail-dense corpus) | Wall | CPU | Speed-up vs --jobs 1 | Load |", "|---|---|---|---|---|"]
        for jobs, m in curve.items():
            lines.append(f"| {jobs} | {m['seconds']:.2f} s | {m['cpu_seconds']:.2f} s | {first / m['seconds']:.2f}x | "
                         f"{m['load_before']:.1f} |")
        lines.append("")
    for title, key in (("Synthetic estate", "verdicts"), ("Public corpus", "public_verdicts")):
        verdicts = list(results.get(key) or [])  # type: ignore[call-overload]
        if verdicts:
            lines += [f"| Target ({title.lower()}) | Measured | Verdict |", "|---|---|---|"]
            for v in verdicts:
                lines.append(f"| {v['name']} {v['target']} | {v['detail']} | {'PASS' if v['passed'] else '**MISS**'} |")
            lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except CommandFailed as exc:
        print(f"bench: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
