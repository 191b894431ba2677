"""Re-create the EWS corpus (public repositories with PowerShell that sends through EWS) and measure the scan on it.

Issue 24: recall and verdicts of the EWS recognizer on real scripts. The corpus is never
committed. It is rebuilt from git snapshots of public repositories, brought onto the machine with
the search tool's ``fetch`` (laid out as ``<mirror>/<owner>+<name>/repo``), at the pinned commits
below: each repository becomes one folder holding its PowerShell files that mention EWS.

    python bench/ews_corpus.py build [--mirror /work/.mirror] [--out /work/corpus/ews]
    python bench/ews_corpus.py measure [--out /work/corpus/ews] [--json result.json]

``measure`` scans the corpus with ``smtp2graph scan --format json`` and compares the EWS findings
with ``bench/ews_corpus_truth.tsv``: one line per send found by reading the scripts (repository,
path, line, the verdict a reader gives it, why). It prints recall (truth sends found at their
line), verdicts given (not "unknown") and right (equal to the reader's), the sends the scan
reports that the truth does not list (each one a false positive unless the truth is wrong), and
the files with other EWS use.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

# (repository, commit): the snapshots the truth file was written against.
REPOSITORIES: tuple[tuple[str, str], ...] = (
    ("rvrsh3ll/Misc-Powershell-Scripts", "6f23bb41f9675d7e2d32bacccff75e931ae00554"),
    ("microsoft/CSS-Exchange", "f88378b1e7a252e413cb2e579e88411393737c11"),
    ("davidphay/Powershell-EWS", "66accd7cb2c0a5c288fc22add47caeba94b6caad"),
    ("gscales/Powershell-Scripts", "1cec08081848187dbbd13bb4fb9cd75e11fdbafe"),
    ("booko365dev/BookExamples", "3dcc31d5082fcdc4c9eb4f5ba575ce1fb5ba0540"),
    ("mikepfeiffer/ex-2010-ps-cookbook", "5d3cedbf97f62ef9cc44cf5887a2a0fe15bbcd83"),
    ("zloeber/EWSModule", "d7f52ca172b00bb66ff8c5c7861a380f778c2078"),
    ("hmmwhatsthisdo/PSEWS", "fb357613f517453037891f6720a078445175bdab"),
    ("OfficeDev/Interop-TestSuites", "fe87ed3253de01804a2ae6e1d0015943da6023f8"),
    ("David-Barrett-MS/PowerShell-EWS-Scripts", "d740f03d08f3c54cbc46c051533c9db0d5560700"),
)
TOKENS = ("webservices.data", "exchangeservice", "exchange.asmx", "createitem", "senditem", "new-webserviceproxy")
SUFFIXES = (".ps1", ".psm1")
TRUTH = Path(__file__).with_name("ews_corpus_truth.tsv")


def _git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True).stdout


def build(mirror: Path, out: Path) -> int:
    """Extract the EWS PowerShell files of each pinned snapshot into ``out``; returns how many files."""
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    manifest = []
    for name, commit in REPOSITORIES:
        repo = mirror / name.replace("/", "+") / "repo"
        if not repo.exists():
            print(f"{name}: missing from {mirror} (fetch it first)", file=sys.stderr)
            continue
        try:
            _git(repo, "cat-file", "-e", commit)
        except subprocess.CalledProcessError:
            print(f"{name}: commit {commit[:12]} is not in the snapshot", file=sys.stderr)
            continue
        paths = [p for p in _git(repo, "ls-tree", "-r", "--name-only", commit).decode("utf-8", "replace").splitlines() if p.lower().endswith(SUFFIXES)]
        count = 0
        for path in paths:
            data = _git(repo, "show", f"{commit}:{path}")
            low = data.lower()
            if b"\x00" in data[:4000]:  # UTF-16: compare without the zero bytes
                low = low.replace(b"\x00", b"")
            if not any(t.encode() in low for t in TOKENS):
                continue
            target = out / name.replace("/", "+") / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            count += 1
        total += count
        manifest.append(f"{name}\t{commit}\t{count}")
        print(f"{name}: {count} file(s) at {commit[:12]}")
    (out / "MANIFEST.tsv").write_text("\n".join(manifest) + "\n", encoding="utf-8")
    return total


def _truth() -> list[dict[str, str]]:
    rows = []
    for line in TRUTH.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        repo, path, number, verdict, why = (line.split("\t") + [""] * 5)[:5]
        rows.append({"repo": repo, "path": path, "line": number, "verdict": verdict, "why": why})
    return rows


def _verdict(finding: dict[str, Any]) -> str:
    breaks = (finding.get("assessment") or {}).get("breaks")
    return {True: "breaks", False: "not-affected", None: "unknown"}[breaks]


def measure(out: Path, smtp2graph: str) -> dict[str, Any]:
    done = subprocess.run([smtp2graph, "scan", str(out), "--format", "json", "--no-cache", "--exit-zero"], capture_output=True, text=True)
    document = json.loads(done.stdout)
    sends = {}
    other = []
    for finding in document["findings"]:
        if finding["rule"] == "EWS001":
            sends[(finding["path"], finding["line"])] = finding
        elif finding["rule"] == "EWS002":
            other.append(finding["path"])
    truth = _truth()
    found = given = right = 0
    misses, wrong = [], []
    for row in truth:
        key = (f"{row['repo'].replace('/', '+')}/{row['path']}", int(row["line"]))
        finding = sends.pop(key, None)
        if finding is None:
            misses.append(f"{key[0]}:{key[1]} ({row['why']})")
            continue
        found += 1
        verdict = _verdict(finding)
        if verdict != "unknown":
            given += 1
        if verdict == row["verdict"]:
            right += 1
        else:
            wrong.append(f"{key[0]}:{key[1]}: scan says {verdict}, reader says {row['verdict']} ({row['why']})")
    extra = [f"{path}:{line}: {f['message'][:120]}" for (path, line), f in sorted(sends.items())]
    by_verdict = Counter(row["verdict"] for row in truth)
    result = {
        "repositories": len(REPOSITORIES),
        "files": document["files_scanned"],
        "truth_sends": len(truth),
        "truth_by_verdict": dict(by_verdict),
        "found": found,
        "recall": round(found / len(truth), 3) if truth else None,
        "verdicts_given": given,
        "verdicts_right": right,
        "misses": misses,
        "wrong_verdicts": wrong,
        "unlisted_sends": extra,
        "files_with_other_ews_use": len(set(other)),
    }
    print(f"{result['repositories']} repositories, {result['files']} files with EWS; {len(truth)} sends by reading "
          f"({', '.join(f'{k} {v}' for k, v in sorted(by_verdict.items()))})")
    print(f"found {found}/{len(truth)} (recall {result['recall']}); verdicts given {given}, right {right}")
    for label, items in (("missed", misses), ("verdict differs", wrong), ("reported, not in the truth", extra)):
        for item in items:
            print(f"  {label}: {item}")
    print(f"files with other EWS use (EWS002): {result['files_with_other_ews_use']}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("build", "measure"))
    parser.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--out", type=Path, default=Path("/work/corpus/ews"))
    parser.add_argument("--smtp2graph", default="smtp2graph")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.action == "build":
        return 0 if build(args.mirror, args.out) else 1
    result = measure(args.out, args.smtp2graph)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
