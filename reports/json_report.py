"""The JSON report: the contract other tools (CI, the estate merge, verify) rely on."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Iterator, Optional

from scanner import __version__, fastjson
from scanner.estate.senders import plan_of_findings
from scanner.model import Finding, ScanResult
from scanner.rules import catalogue

SCHEMA_VERSION = "1.1"  # 1.1: patches, fix.patch, fix_judge, senders


def _finding(finding: Finding) -> dict[str, Any]:
    loc = finding.location
    call = finding.call
    fix = finding.fix
    assessment = finding.assessment
    return {
        "rule": finding.rule,
        "name": finding.name,
        "severity": finding.severity.value,
        "confidence": finding.confidence.value,
        "path": loc.path,
        "line": loc.line,
        "column": loc.column,
        "end_line": loc.end_line,
        "end_column": loc.end_column,
        "message": finding.message,
        "snippet": finding.snippet,
        "context": {"start_line": finding.context_start_line, "lines": finding.context_lines},
        "call": None
        if call is None
        else {
            "api": call.api.value,
            "command": call.command,
            "form": call.form,
            "params": {
                name: {
                    "text": bound.text,
                    "kind": bound.kind.value,
                    "conditional": bound.conditional,
                    "reason": bound.reason,
                    "line": bound.line,
                    "provenance": bound.provenance.value,
                    "source": bound.source,
                }
                for name, bound in call.params.items()
            },
            "notes": call.notes,
            "sent": call.sent,
        },
        "related_locations": [
            {"path": r.path, "line": r.line, "column": r.column, "role": r.role} for r in finding.related
        ],
        "fix": {
            "available": fix.available,
            "applicability": fix.applicability.value,
            "reason": fix.reason,
            "graph_request": fix.graph_request,
            "notes": fix.notes,
            "snippet": fix.snippet,
            "diff": fix.diff,
            "patch": fix.patch,
        },
        "fingerprint": finding.fingerprint,
        "sender": finding.sender,
        "credential_user": finding.credential_user,
        **_ownership(finding),
        "assessment": None
        if assessment is None
        else {
            "server": assessment.server.value,
            "server_text": assessment.server_text,
            "credential": assessment.credential.value,
            "breaks": assessment.breaks,  # true, false, or null: verdict unknown (= may break)
            "outcome": assessment.outcome.value if assessment.outcome is not None else "unknown",
            "may_break": assessment.may_break,
            "verdict_unknown": assessment.breaks is None,
            "verdict": assessment.verdict,
            "migration": assessment.migration,
            "undecided": [
                {"parameter": u.parameter, "written": u.written, "reason": u.reason, "declare": u.declare} for u in assessment.undecided
            ],
            "declared": list(assessment.declared),
        },
    }


def _ownership(finding: Finding) -> dict[str, Any]:
    owned = finding.ownership
    if owned is None:
        return {}
    return {
        "repository": owned.repository,
        "repository_path": owned.repository_path,
        "owner": owned.owner or None,
        "owner_source": owned.source.value,
        "due": owned.due,
    }


def rules_section(result: ScanResult) -> dict[str, Any]:
    """Metadata and docs of every rule that has a finding in the result."""

    rules = catalogue()
    used = sorted({f.rule for f in result.findings})
    return {
        rid: {
            "name": rules[rid].name,
            "severity": rules[rid].severity.value,
            "summary": rules[rid].summary,
            "help_uri": rules[rid].help_uri,
            "docs": rules[rid].docs(),
        }
        for rid in used
        if rid in rules
    }


def to_document(result: ScanResult, generated_at: Optional[datetime] = None) -> dict[str, Any]:
    """The report as plain data, per ARCHITECTURE.md's contract."""
    return _document(result, generated_at, [_finding(f) for f in result.findings])


def _document(result: ScanResult, generated_at: Optional[datetime], findings: list[dict[str, Any]]) -> dict[str, Any]:
    when = (generated_at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "smtp2graph", "version": __version__},
        "root": result.root,
        "generated_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "files_scanned": result.files_scanned,
        "files_failed": result.files_failed,
        **({"deadline": result.deadline} if result.deadline else {}),
        **(
            {"repositories": [
                {"name": r.name, "path": r.path, "kind": r.kind, "files_scanned": r.files_scanned}
                for r in result.repositories
            ]}
            if result.repositories
            else {}
        ),
        "findings": findings,
        # What `smtp2graph fix --out` writes for each file (with --unsafe-fixes where unsafe_fixes),
        # as a diff; a finding's fix.patch is the index of the one that applies its fix.
        "patches": [
            {"path": p.path, "unsafe_fixes": p.unsafe_fixes, "diff": p.diff, "applies": p.applies, "fingerprints": p.fingerprints}
            for p in result.patches
        ],
        **({"fix_judge": result.fix_judge} if result.fix_judge else {}),
        # The one sender list: the new app's scope, senders to decide, and those left out (scanner.estate.senders).
        "senders": plan_of_findings(result.findings).to_json(),
        "errors": [{"path": e.path, "message": e.message} for e in result.errors],
        "unused_suppressions": [
            {"path": u.path, "line": u.line, "rules": list(u.rules)} for u in result.unused_suppressions
        ],
        "rules": rules_section(result),
    }


def format_json(result: ScanResult) -> str:
    return "".join(json_chunks(result))


_FINDINGS_KEY = ',"findings":['


def json_chunks(result: ScanResult, generated_at: Optional[datetime] = None) -> Iterator[str]:
    """The JSON report's text in pieces, one finding at a time, so that a report of many findings is
    never held whole in memory (as a document, a string and its bytes at once). The pieces joined are
    exactly ``json.dumps(to_document(result))`` with compact separators, and a newline.

    No indent: json.dumps with indent falls back to the pure-Python encoder (4x slower on big
    reports); `python -m json.tool` or jq pretty-print when a person reads the file.
    """
    # The document without its findings; the compact encoding of a list is "[" + ",".join(items) + "]".
    outline = json.dumps(_document(result, generated_at, []), ensure_ascii=False, separators=(",", ":"))
    cut = outline.index(_FINDINGS_KEY + "]") + len(_FINDINGS_KEY)  # keys are never inside a string: quotes there are escaped
    yield outline[:cut]
    for i, finding in enumerate(result.findings):
        yield ("," if i else "") + fastjson.dumps(_finding(finding))
    yield outline[cut:] + "\n"
