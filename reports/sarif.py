"""SARIF 2.1.0 output that GitHub code scanning accepts."""

from __future__ import annotations

import json
from typing import Any

from scanner import __version__
from scanner.model import Finding, ScanResult, Severity
from scanner.rules import catalogue

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub sorts alerts by this 0-10 score.
_SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5", Severity.LOW: "3.0", Severity.INFO: "0.0"}


def _level(finding: Finding) -> str:
    """The SARIF level; a send whose verdict is unknown is at least a warning (it may break)."""
    level = _LEVEL[finding.severity]
    if finding.verdict_unknown and level == "note":
        return "warning"
    return level


def _rule_descriptor(rule_id: str) -> dict[str, Any]:

    rule = catalogue()[rule_id]
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.what_it_does + "\n\n" + rule.why_bad},
        "help": {"text": rule.docs(), "markdown": rule.docs()},
        "helpUri": rule.help_uri,
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {"tags": list(rule.tags), "security-severity": _SECURITY_SEVERITY[rule.severity]},
    }


def _region(line: int, column: int, end_line: int, end_column: int) -> dict[str, int]:
    return {"startLine": line, "startColumn": column, "endLine": end_line, "endColumn": max(end_column, 1)}


def _result(finding: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    loc = finding.location
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index[finding.rule],
        "level": _level(finding),
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": loc.path, "uriBaseId": "SRCROOT"},
                    "region": {**_region(loc.line, loc.column, loc.end_line, loc.end_column), "snippet": {"text": finding.snippet}},
                }
            }
        ],
        "partialFingerprints": {"smtp2graph/v1": finding.fingerprint},
        "properties": {"confidence": finding.confidence.value, "severity": finding.severity.value},
    }
    if finding.assessment is not None:
        outcome = finding.assessment.outcome
        result["properties"]["verdict"] = outcome.value if outcome is not None else "unknown"
        result["properties"]["may-break"] = finding.may_break
    if finding.related:
        result["relatedLocations"] = [
            {
                "id": i,
                "physicalLocation": {
                    "artifactLocation": {"uri": r.path, "uriBaseId": "SRCROOT"},
                    "region": {"startLine": r.line, "startColumn": r.column},
                },
                "message": {"text": r.role},
            }
            for i, r in enumerate(finding.related, 1)
        ]
    if finding.fix.diff and finding.fix.applicability.value != "display-only":
        result["properties"]["fix"] = {"applicability": finding.fix.applicability.value, "diff": finding.fix.diff}
    return result


def to_sarif(result: ScanResult) -> dict[str, Any]:
    rule_ids = sorted({f.rule for f in result.findings})
    rule_index = {rid: i for i, rid in enumerate(rule_ids)}
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "smtp2graph",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": "https://github.com/smtp2graph/smtp2graph",
                        "rules": [_rule_descriptor(rid) for rid in rule_ids],
                    }
                },
                "originalUriBaseIds": {"SRCROOT": {"uri": _root_uri(result.root)}},
                "results": [_result(f, rule_index) for f in result.findings],
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "toolExecutionNotifications": [
                            {
                                "level": "warning",
                                "message": {"text": e.message},
                                "locations": [{"physicalLocation": {"artifactLocation": {"uri": e.path, "uriBaseId": "SRCROOT"}}}],
                            }
                            for e in result.errors
                        ],
                    }
                ],
            }
        ],
    }


def _root_uri(root: str) -> str:
    from pathlib import Path

    path = Path(root).resolve()
    return path.as_uri() + "/"


def format_sarif(result: ScanResult) -> str:
    # No indent: json.dumps with indent falls back to the pure-Python encoder (4x slower on big
    # reports); `python -m json.tool` or jq pretty-print when a person reads the file.
    return json.dumps(to_sarif(result), ensure_ascii=False, separators=(",", ":")) + "\n"
