"""What PowerShell's parser session costs, with and without .NET's call counting (the tier-up of hot methods).

Usage (repository root, pwsh installed): python bench/pwsh_start.py [FOLDER [N]]

FOLDER holds .ps1 files (default: tests/fixtures); the session parses them in three patterns, each run
REPEAT times interleaved, once with the environment smtp2graph gives its pwsh (scanner.powershell.helper_environment:
DOTNET_TC_CallCounting=0) and once with .NET's default (DOTNET_TC_CallCounting=1):

  start       one small script, then close (the fixed cost of a run that needs pwsh at all);
  trickle     three scripts handed in 0.35 s apart, then 2 s idle before close, as a scan hands files in while its
              workers go on (the tier-up work then runs in the idle time and is paid in CPU);
  batch       the first N scripts of FOLDER at once (a large `--judge powershell` run).

Prints the median wall and CPU (user+sys of the pwsh process) of each pattern and setting, and the ratio.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scanner.powershell import ParserSession, find_pwsh  # noqa: E402

REPEAT = 3


def _texts(folder: Path, count: int) -> list[str]:
    files = sorted(folder.rglob("*.ps1"))[:count]
    return [path.read_text(encoding="utf-8", errors="replace") for path in files]


def _session(pattern: str, texts: list[str]) -> None:
    with ParserSession() as session:
        if pattern == "start":
            session.shapes(texts[:1])
        elif pattern == "trickle":
            for text in texts[:3]:
                session.shapes([text])
                time.sleep(0.35)
            time.sleep(2.0)
        else:
            session.shapes(texts)


def _measure(pattern: str, texts: list[str], counting: str) -> tuple[float, float]:
    os.environ["DOTNET_TC_CallCounting"] = counting
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    _session(pattern, texts)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    if find_pwsh() is None:
        sys.exit("pwsh is not installed (bash .ci/install-powershell)")
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("tests/fixtures")
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    texts = _texts(folder, count)
    if len(texts) < 3:
        sys.exit(f"{folder}: fewer than three .ps1 files")
    print(f"pwsh: {find_pwsh()}; {len(texts)} scripts from {folder} ({sum(map(len, texts)) // 1000} KB)")
    print("| pattern | .NET default wall / CPU | smtp2graph's (no call counting) wall / CPU | CPU ratio |")
    print("|---|---|---|---|")
    for pattern in ("start", "trickle", "batch"):
        runs: dict[str, list[tuple[float, float]]] = {"1": [], "0": []}
        for _ in range(REPEAT):
            for counting in ("1", "0"):
                runs[counting].append(_measure(pattern, texts, counting))
        wall = {key: statistics.median(run[0] for run in value) for key, value in runs.items()}
        cpu = {key: statistics.median(run[1] for run in value) for key, value in runs.items()}
        print(f"| {pattern} | {wall['1']:.2f} / {cpu['1']:.2f} s | {wall['0']:.2f} / {cpu['0']:.2f} s "
              f"| {cpu['0'] / cpu['1']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
