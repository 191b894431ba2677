"""Mutation fuzzer over real public scripts: the scanner never crashes, hangs, or shows a secret it knows.

Seeds are the `.ps1` / `.psm1` files of the public corpus (`/work/corpus/public/`, re-created by
`bench/public_corpus.py`; never committed). Each case mutates one seed (byte and token edits,
splices from another seed, encodings: UTF-16 with and without BOM, lone surrogates, CRLF/LF, a
BOM, control characters) and plants a canary secret in a credential sink, then:

- analyses it in-process (`analyze_script`): any exception is a crash, over ``--case-timeout``
  seconds a hang;
- when the canary is registered as a secret value, checks that no finding's text holds it
  (registered means masked: a leak is counted as a failure);
- every ``--pipeline-every`` cases, writes a batch of mutated files (hostile names included) and
  runs the whole pipeline (`scan` with the pool and the cache, every report format, `fix`), any
  traceback being a crash.

Counts go to stdout as JSON; crashing inputs are kept under ``--keep`` for reproduction.

    python bench/fuzz_mutation.py --cases 3000 --seed 1
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

CORPUS = Path("/work/corpus/public")
TOKENS = [
    "'", '"', "`", "@{", "}", "(", ")", "{", "[", "]", "@'\n", "\n'@", '@"\n', '\n"@', "#", "<#", "#>", "$(", ",", "|",
    ";", "-", "\u2013", "\r\n", "\\", "\x00", "\u00e9", "@", ":", "::", "$", "${", "-f ", "-join ", " + ", "`\n",
    "\x1b[31m", "\x1b]0;t\x07", "\r", "\u202e", "\ufeff", "Send-MailMessage ", "-Credential ", "-Password ",
    "ConvertTo-SecureString ", "-AsPlainText ", "New-Object PSCredential(", "[pscredential]::new(", ".Authenticate(",
    "Authorization = ", "client_secret=", "https://u:p@h/", "$env:X", "-Subject ", "-Body ", "\n" * 3,
]
CANARY = "Zq7CanaryFuzz41x"
SINKS = [
    "$fz = ConvertTo-SecureString '{c}' -AsPlainText -Force\n",
    "$fz = New-Object System.Net.NetworkCredential('u', '{c}')\n",
    "$fz = @{{ client_secret = '{c}' }}\n",
    "$fzp = '{c}'\n$fz = ConvertTo-SecureString $fzp -AsPlainText -Force\n",
    "$fz = @{{ Authorization = \"Bearer {c}\" }}\n",
]
REUSE = "Send-MailMessage -To a@contoso.com -Subject '{c}' -SmtpServer smtp.office365.com -Credential $fz  # {c}\n"


class Hang(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise Hang()


def seeds(limit: int) -> list[str]:
    texts = []
    for path in sorted(CORPUS.rglob("*")):
        if path.suffix.lower() in (".ps1", ".psm1") and path.is_file():
            try:
                raw = path.read_bytes()
            except OSError:
                continue
            if len(raw) <= 256 * 1024:
                texts.append(raw.decode("utf-8", "replace"))
        if len(texts) >= limit:
            break
    return texts


def mutate(rng: random.Random, text: str, others: list[str]) -> str:
    for _ in range(rng.randint(1, 10)):
        pos = rng.randint(0, len(text))
        action = rng.choice(["insert", "insert", "delete", "duplicate", "splice", "swap", "truncate"])
        if action == "insert":
            text = text[:pos] + rng.choice(TOKENS) + text[pos:]
        elif action == "delete":
            text = text[:pos] + text[pos + rng.randint(1, 40) :]
        elif action == "duplicate":
            text = text[:pos] + text[pos : pos + rng.randint(1, 200)] + text[pos:]
        elif action == "splice":
            other = rng.choice(others)
            start = rng.randint(0, len(other))
            text = text[:pos] + other[start : start + rng.randint(1, 400)] + text[pos:]
        elif action == "swap" and len(text) > 2:
            a, b = sorted((rng.randint(0, len(text) - 1), rng.randint(0, len(text) - 1)))
            text = text[:a] + text[b : b + 20] + text[a + 20 : b] + text[a : a + 20] + text[b + 20 :]
        elif action == "truncate":
            text = text[:pos]
    sink = rng.choice(SINKS).format(c=CANARY)
    where = rng.randint(0, len(text))
    return text[:where] + "\n" + sink + REUSE.format(c=CANARY) + text[where:]


def encode(rng: random.Random, text: str) -> bytes:
    choice = rng.choice(["utf8", "utf8", "utf8", "bom", "utf16", "utf16-nobom", "crlf", "surrogate"])
    if choice == "bom":
        return b"\xef\xbb\xbf" + text.encode("utf-8", "surrogatepass")
    if choice == "utf16":
        return b"\xff\xfe" + text.encode("utf-16-le", "surrogatepass")
    if choice == "utf16-nobom":
        return text.encode("utf-16-le", "surrogatepass")
    if choice == "crlf":
        return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8", "surrogatepass")
    if choice == "surrogate":
        body = text.encode("utf-16-le", "surrogatepass")
        cut = rng.randint(0, len(body) // 2) * 2
        return b"\xff\xfe" + body[:cut] + b"\x00\xd8" + body[cut:]
    return text.encode("utf-8", "surrogatepass")


def run_case(script_text: str, path: str) -> tuple[str, str]:
    """('ok' | 'crash' | 'leak', detail)."""
    from scanner.check import analyze_script
    from scanner.ruleconfig import RuleConfig
    from scanner.script import Script

    script = Script(script_text, path)
    analysis = analyze_script(script, RuleConfig())
    # Masked by construction: what the file's mask hides everywhere (scanner.masking) must not show
    # in any finding either, whether or not the tracer knows the value.
    hidden = CANARY in script_text and analysis.mask is not None and CANARY not in analysis.mask.masked_text(script_text)
    if CANARY in analysis.secret_values or hidden:
        from scanner.serialize import to_data

        dumped = json.dumps(to_data(analysis.findings), ensure_ascii=False)
        if CANARY in dumped:
            return "leak", "a canary the file's mask hides is shown in a finding"
    return ("ok-registered" if CANARY in analysis.secret_values or hidden else "ok"), ""


def pipeline(batch: list[bytes], keep: Path, rng: random.Random) -> list[str]:
    """Run scan (pool + cache, every format) and fix over a folder of mutated files; return the crashes."""
    from typer.testing import CliRunner

    from scanner.cli import app

    crashes: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "tree"
        root.mkdir()
        names = [b"case%d.ps1", b"caf\xe9%d.ps1", b"esc\x1b[31m%d.psm1", b"nl\n%d.ps1"]
        for n, data in enumerate(batch):
            name = rng.choice(names) % n
            with open(os.path.join(os.fsencode(root), name), "wb") as handle:
                handle.write(data)
        cache = Path(folder) / "cache"
        runner = CliRunner()
        commands = [["scan", str(root), "-f", fmt, "--jobs", "2", "--cache-dir", str(cache), "--exit-zero", "-q"]
                    for fmt in ("terminal", "json", "sarif", "html", "markdown")]
        commands.append(["fix", str(root)])
        commands.append(["fix", str(root), "--out", str(Path(folder) / "out")])
        for command in commands:
            result = runner.invoke(app, command)
            if result.exception is not None and not isinstance(result.exception, SystemExit) or "Traceback" in (result.stderr or ""):
                detail = "".join(traceback.format_exception(result.exception)) if result.exception else result.stderr
                crashes.append(f"{command[0]} {command[2:4]}: {detail.strip().splitlines()[-1] if detail.strip() else '?'}")
                target = keep / f"pipeline-{len(os.listdir(keep)) if keep.exists() else 0}"
                target.mkdir(parents=True, exist_ok=True)
                for n, data in enumerate(batch):
                    (target / f"{n}.bin").write_bytes(data)
                (target / "traceback.txt").write_text(detail, encoding="utf-8", errors="replace")
            if CANARY in (result.stdout or "") + (result.stderr or ""):
                crashes.append(f"{command[0]} {command[2:4]}: canary shown")
    return crashes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=1500, help="how many corpus files to use as seeds")
    parser.add_argument("--case-timeout", type=int, default=30)
    parser.add_argument("--pipeline-every", type=int, default=250)
    parser.add_argument("--keep", type=Path, default=Path(tempfile.gettempdir()) / "s2g-fuzz-crashes")
    args = parser.parse_args()
    if not (CORPUS / "READY").exists():
        print(json.dumps({"error": f"{CORPUS} is not ready (bench/public_corpus.py builds it)"}))
        return 2
    from scanner.files import decode

    texts = seeds(args.seeds)
    rng = random.Random(args.seed)
    signal.signal(signal.SIGALRM, _alarm)
    counts = {"seeds": len(texts), "cases": 0, "registered_canary": 0, "crashes": 0, "hangs": 0, "leaks": 0,
              "pipeline_runs": 0, "pipeline_crashes": 0, "decode_errors": 0}
    failures: list[str] = []
    batch: list[bytes] = []
    started = time.perf_counter()
    for case in range(args.cases):
        seed = rng.choice(texts)
        data = encode(rng, mutate(rng, seed, texts))
        batch.append(data)
        counts["cases"] += 1
        try:
            text = decode(data)[0]
        except ValueError:
            counts["decode_errors"] += 1  # the scanner reports these as error entries
            continue
        signal.alarm(args.case_timeout)
        try:
            outcome, detail = run_case(text, f"case{case}.ps1")
        except Hang:
            outcome, detail = "hang", f"over {args.case_timeout} s"
        except Exception as exc:  # noqa: BLE001 - counting crashes is the point
            outcome, detail = "crash", "".join(traceback.format_exception(exc))
        finally:
            signal.alarm(0)
        if outcome == "ok-registered":
            counts["registered_canary"] += 1
        elif outcome != "ok":
            counts[{"crash": "crashes", "hang": "hangs", "leak": "leaks"}[outcome]] += 1
            args.keep.mkdir(parents=True, exist_ok=True)
            (args.keep / f"case{case}.bin").write_bytes(data)
            (args.keep / f"case{case}.txt").write_text(detail, encoding="utf-8", errors="replace")
            failures.append(f"case {case}: {outcome}: {detail.strip().splitlines()[-1] if detail.strip() else ''}")
        if args.pipeline_every and len(batch) >= args.pipeline_every:
            crashes = pipeline(batch[-40:], args.keep, rng)
            counts["pipeline_runs"] += 1
            counts["pipeline_crashes"] += len(crashes)
            failures.extend(crashes)
            batch = []
    counts["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps({**counts, "failures": failures[:20]}, indent=1))
    return 0 if not (counts["crashes"] or counts["hangs"] or counts["leaks"] or counts["pipeline_crashes"]) else 1


if __name__ == "__main__":
    sys.exit(main())
