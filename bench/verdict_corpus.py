"""How many sends of a real-world corpus get a verdict, a resolved server and sender, and a safe fix.

Not a test: a measurement for issue 13 ("verdicts without guessing"). It runs an installed
`smtp2graph scan --format json` (any version: pass ``--smtp2graph`` to measure an older build,
e.g. one installed from the commit before a change) over a corpus and counts, from the JSON
report alone:

- sends: findings of a legacy SMTP API whose call really sends (not a configured-but-unused
  client, not a shadowing function definition);
- with a verdict: ``assessment.breaks`` is true or false (null means "cannot tell");
- server resolved: the assessment's server class is not ``unknown``;
- sender resolved: the report's static ``sender`` mailbox is known;
- breaking / fixed safely: sends whose verdict is "breaks" and, of those, the ones whose
  ``fix.applicability`` is ``safe`` (what `smtp2graph fix` patches without --unsafe-fixes).

    .venv/bin/python bench/verdict_corpus.py /work/corpus/public
    .venv/bin/python bench/verdict_corpus.py /work/corpus/public --smtp2graph /tmp/before/bin/smtp2graph --json out.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

LEGACY = {"send-mailmessage", "smtpclient", "mailkit", "cdo", "system-web-mail", "outlook-com"}


def is_send(finding: dict[str, Any]) -> bool:
    call = finding.get("call") or {}
    if call.get("api") not in LEGACY or not call.get("sent", True):
        return False
    return call.get("form") != "shadowing-function" and finding.get("assessment") is not None


def figures(document: dict[str, Any]) -> dict[str, Any]:
    """The counts above, from one scan JSON document.

    A wrapper function whose callers pass the server or sender is counted through its call sites
    (each has its own finding, form "wrapper-call-site"), not once more as the call in its body.
    """
    all_sends = [f for f in document.get("findings", []) if is_send(f)]
    represented = {
        (r["path"], r["line"])
        for f in all_sends
        if f["call"].get("form") == "wrapper-call-site"
        for r in f.get("related_locations", [])
        if r.get("role") == "wrapper"
    }
    sends = [f for f in all_sends if (f["path"], f["line"]) not in represented or f["call"].get("form") == "wrapper-call-site"]
    verdict = [f for f in sends if f["assessment"].get("breaks") is not None]
    server = [f for f in sends if f["assessment"].get("server") not in (None, "unknown")]
    # Outlook COM has no SMTP server at all: count it as resolved (nothing to resolve).
    server += [f for f in sends if f["call"]["api"] == "outlook-com" and f["assessment"].get("server") in (None, "unknown")]
    sender = [f for f in sends if f.get("sender")]
    breaking = [f for f in sends if f["assessment"].get("breaks") is True]
    safe = [f for f in breaking if (f.get("fix") or {}).get("applicability") == "safe"]
    unknown_reasons: Counter[str] = Counter()
    for f in sends:
        if f["assessment"].get("breaks") is None:
            unknown_reasons[f["assessment"].get("server", "?") + " / " + f["assessment"].get("credential", "?")] += 1
    return {
        "files_scanned": document.get("files_scanned"),
        "sends": len(sends),
        "wrapper_call_sites": sum(1 for f in sends if f["call"].get("form") == "wrapper-call-site"),
        "wrapper_bodies_counted_through_call_sites": len(represented),
        "with_verdict": len(verdict),
        "server_resolved": len(server),
        "sender_resolved": len(sender),
        "breaking": len(breaking),
        "breaking_fixed_safely": len(safe),
        "unknown_by_server_credential": dict(unknown_reasons.most_common()),
        "verdicts": dict(Counter(str(f["assessment"].get("breaks")) for f in sends)),
    }


def _pct(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100.0 * part / whole:.1f}%)" if whole else f"{part}/0"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--smtp2graph", default=shutil.which("smtp2graph") or "smtp2graph", help="the smtp2graph executable to measure")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--report", type=Path, help="keep the scan's JSON report here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        report = args.report or Path(tmp) / "scan.json"
        command = [args.smtp2graph, "scan", str(args.corpus), "--format", "json", "--output", str(report), "--no-cache", "--jobs", str(args.jobs), "--quiet", "--exit-zero"]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0 or not report.is_file():
            sys.stderr.write(f"scan failed ({done.returncode}): {done.stderr.strip()[-400:]}\n")
            return 2
        document = json.loads(report.read_text(encoding="utf-8"))
    result = figures(document)
    version = (subprocess.run([args.smtp2graph, "--help"], capture_output=True, text=True).returncode, document.get("tool", {}).get("version"))
    print(f"smtp2graph {version[1]} ({args.smtp2graph}) on {args.corpus}: {result['files_scanned']} files")
    print(f"sends                       {result['sends']} (of which {result['wrapper_call_sites']} wrapper call sites standing for {result['wrapper_bodies_counted_through_call_sites']} wrapper bodies)")
    print(f"sends with a verdict        {_pct(result['with_verdict'], result['sends'])}")
    print(f"server resolved             {_pct(result['server_resolved'], result['sends'])}")
    print(f"sender resolved             {_pct(result['sender_resolved'], result['sends'])}")
    print(f"breaking calls fixed safely {_pct(result['breaking_fixed_safely'], result['breaking'])}")
    print("still unknown (server / credential): " + ", ".join(f"{k} {v}" for k, v in result["unknown_by_server_credential"].items()))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
