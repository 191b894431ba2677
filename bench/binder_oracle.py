"""PowerShell's binder as the scanner's oracle: for every Send-MailMessage call, compare the parameters
the scanner binds (names, values' source text, positional or named) with what
``StaticParameterBinder.BindCommand`` binds, and its binding exceptions with the scanner's notes.

    .venv/bin/python bench/binder_oracle.py                      # the public corpus (/work/corpus/public)
    .venv/bin/python bench/binder_oracle.py tests/fixtures examples --details

Prints: calls compared, agree, disagree by kind, binder-cannot-judge by reason. The static binder cannot
see into a splat, $PSDefaultParameterValues, $PSEmailServer or pipeline input: what comes from
there is not compared and is counted under "cannot judge". tests/test_binder_oracle.py runs the
same comparison on the fixtures and examples and asserts agreement.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scanner.check import calls_in_text  # noqa: E402
from scanner.files import DecodeError, decode  # noqa: E402
from scanner.model import Api, BindKind, BoundParam, MailCall  # noqa: E402
from scanner.powershell import BinderCall, ScriptBinding, bind_send_mailmessage  # noqa: E402

PUBLIC_CORPUS = Path("/work/corpus/public")
EXTENSIONS = (".ps1", ".psm1")

# Kinds of scanner value the binder sees at the call itself; the others come from elsewhere.
VISIBLE = (BindKind.LITERAL, BindKind.EXPRESSION, BindKind.POSITIONAL)
NOT_VISIBLE_REASON = {
    BindKind.SPLAT: "splat",
    BindKind.UNRESOLVED: "splat",
    BindKind.DEFAULT: "default ($PSDefaultParameterValues / $PSEmailServer)",
    BindKind.PIPELINE: "pipeline input",
}

def _visible(param: BoundParam) -> bool:
    """Written at the call: a value that differs by path in the script (alternatives of row 0) is held
    unresolved, but its text is the call's own argument all the same."""
    return param.kind in VISIBLE or bool(param.alternatives) and all(row == 0 for _, row, _ in param.alternatives)


# The scanner's binding notes that stand for one of PowerShell's binding exceptions.
NOTE_ERROR_IDS = (
    (re.compile(r"^-\S+ is not a parameter of "), "NamedParameterNotFound"),
    (re.compile(r"^-\S+ is ambiguous for "), "AmbiguousParameter"),
    (re.compile(r"^-\S+ has no argument"), "MissingArgument"),
    (re.compile(r"^positional argument .* does not bind to any parameter"), "PositionalParameterNotFound"),
    (re.compile(r"^-\S+ is given more than once"), "ParameterAlreadyBound"),
)


@dataclass(frozen=True)
class Disagreement:
    kind: str  # missed-call, extra-call, missing-parameter, extra-parameter, value-text, positional-flag, exception
    parameter: str  # the parameter or error id concerned ("" for a whole call)
    detail: str


@dataclass
class CallComparison:
    """One Send-MailMessage call seen by the scanner, the binder, or both."""

    path: str
    line: int
    column: int
    compared: int = 0  # parameters compared
    disagreements: list[Disagreement] = field(default_factory=list)
    not_judged: Counter[str] = field(default_factory=Counter)  # reason -> parameters the binder cannot see
    cannot_judge: str = ""  # the whole call: why the binder cannot judge it

    @property
    def outcome(self) -> str:
        if self.cannot_judge:
            return "cannot-judge"
        return "disagree" if self.disagreements else "agree"


def _scanner_errors(call: MailCall) -> Counter[str]:
    found: Counter[str] = Counter()
    for note in call.notes:
        for pattern, error_id in NOTE_ERROR_IDS:
            if pattern.search(note):
                found[error_id] += 1
    return found


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _normal(text: Optional[str]) -> str:
    # A switch written without an argument: the binder has no value, the scanner writes $true.
    # A lone surrogate (undecodable UTF-16) comes back from pwsh as U+FFFD.
    return "$true" if text is None else _LONE_SURROGATE.sub("\ufffd", text.strip())


def compare_call(path: str, scanned: Optional[MailCall], bound: Optional[BinderCall], parse_errors: int, line: int, column: int) -> CallComparison:
    """Compare one call; either side may be missing (a call only one of them sees)."""
    result = CallComparison(path, line, column)
    if bound is None:
        assert scanned is not None
        if parse_errors:
            result.cannot_judge = "PowerShell's parser reports errors in the file"
        else:
            result.disagreements.append(Disagreement("extra-call", "", f"scanner sees {scanned.command} ({scanned.form}); PowerShell's parser does not"))
        return result
    if scanned is None:
        if bound.shadowed:
            result.cannot_judge = "a function Send-MailMessage in the script takes the call"
        else:
            result.disagreements.append(Disagreement("missed-call", "", f"{bound.name}: PowerShell binds a call the scanner does not report"))
        return result
    if bound.parse_errors:
        # PowerShell would not run the script at all; what the binder sees is the parser's recovery.
        result.cannot_judge = "PowerShell's parser reports an error inside the call"
        return result
    if bound.failure:
        result.cannot_judge = f"BindCommand throws: {bound.failure}"
        return result
    splatted = bool(bound.splats)
    visible = {name: p for name, p in scanned.params.items() if _visible(p)}
    for p in scanned.params.values():
        if not _visible(p):
            result.not_judged[NOT_VISIBLE_REASON[p.kind]] += 1
    binder = {a.name: a for a in bound.arguments}
    for name in sorted(set(binder) | set(visible)):
        b = binder.get(name)
        s = visible.get(name)
        positional = (b is not None and b.positional) or (s is not None and s.kind is BindKind.POSITIONAL)
        if splatted and positional:
            # Named values of a splat bind before positional ones: which position is free the binder cannot tell.
            result.not_judged["splat"] += 1
            continue
        if b is None:
            assert s is not None
            if name in scanned.params:  # the scanner has it from a splat or a default as well
                pass
            result.compared += 1
            result.disagreements.append(Disagreement("extra-parameter", name, f"scanner binds -{name} {s.text!r} ({s.kind.value}); binder does not"))
            continue
        result.compared += 1
        if s is None:
            other = scanned.params.get(name)
            seen = f" (scanner: {other.kind.value} {other.text!r})" if other is not None else ""
            result.disagreements.append(Disagreement("missing-parameter", name, f"binder binds -{name} {_normal(b.text)!r}{seen}; scanner does not"))
            continue
        if _normal(b.text) != _normal(s.text):
            result.disagreements.append(Disagreement("value-text", name, f"-{name}: binder {_normal(b.text)!r}, scanner {s.text!r}"))
        elif b.positional != (s.kind is BindKind.POSITIONAL):
            result.disagreements.append(Disagreement("positional-flag", name, f"-{name}: binder {'positional' if b.positional else 'named'}, scanner {s.kind.value}"))
    binder_errors = Counter(p.error_id for p in bound.problems)
    scanner_errors = _scanner_errors(scanned)
    for error_id in sorted(set(binder_errors) | set(scanner_errors)):
        if binder_errors[error_id] != scanner_errors[error_id]:
            elements = ", ".join(p.element for p in bound.problems if p.error_id == error_id)
            result.disagreements.append(
                Disagreement("exception", error_id, f"{error_id}: binder {binder_errors[error_id]} ({elements}), scanner notes {scanner_errors[error_id]}")
            )
    if splatted and not bound.arguments and not visible:
        result.cannot_judge = "splat"
    return result


def scanner_calls(text: str, path: str) -> list[MailCall]:
    """The scanner's Send-MailMessage calls of one text (not its Send-GraphMailMessage or shadowing-function entries)."""
    return [
        c for c in calls_in_text(text, path, path.lower().endswith(".psd1"))
        if c.api is Api.SEND_MAILMESSAGE and c.form != "shadowing-function"
    ]


def compare_script(path: str, text: str, binding: ScriptBinding) -> list[CallComparison]:
    """Pair the scanner's and the binder's calls of one script by where the command name starts, and compare each pair."""
    scanned = {c.name_span[0]: c for c in scanner_calls(text, path)}
    bound = {c.name_start: c for c in binding.calls}
    results = []
    for start in sorted(set(scanned) | set(bound)):
        s, b = scanned.get(start), bound.get(start)
        line, column = (b.line, b.column) if b is not None else (s.location.line, s.location.column)  # type: ignore[union-attr]
        results.append(compare_call(path, s, b, binding.parse_errors, line, column))
    return results


def compare_texts(items: Sequence[tuple[str, str]], batch: int = 400) -> list[CallComparison]:
    """Compare every Send-MailMessage call of ``items`` ((path, text) pairs); one pwsh process per ``batch`` texts."""
    results: list[CallComparison] = []
    for offset in range(0, len(items), batch):
        chunk = items[offset : offset + batch]
        bindings = bind_send_mailmessage([text for _, text in chunk])
        for (path, text), binding in zip(chunk, bindings):
            results.extend(compare_script(path, text, binding))
    return results


_MENTION = re.compile(rb"(?i)send-mailmessage")


def read_scripts(paths: Iterable[Path], root: Optional[Path] = None) -> Iterator[tuple[str, str]]:
    """(relative path, decoded text) of each .ps1/.psm1 under ``paths`` that mentions Send-MailMessage."""
    for base in paths:
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS)
        for file in files:
            try:
                raw = file.read_bytes()
            except OSError:
                continue
            if not _MENTION.search(raw):
                continue
            try:
                text, _, _ = decode(raw)
            except DecodeError:
                continue
            rel = file.relative_to(root).as_posix() if root is not None and file.is_relative_to(root) else file.as_posix()
            yield rel, text


def rule_examples() -> Iterator[tuple[str, str]]:
    """The rules' bad / good examples that mention Send-MailMessage, as ("rules/ID:bad[i]", code)."""
    from scanner.rules import catalogue

    for rule_id, rule in sorted(catalogue().items()):
        for label, examples in (("bad", rule.bad), ("good", rule.good)):
            for index, example in enumerate(examples):
                if _MENTION.search(example.code.encode("utf-8")):
                    yield f"rules/{rule_id}:{label}[{index}]", example.code
        if _MENTION.search(rule.example.encode("utf-8")):
            yield f"rules/{rule_id}:example", rule.example


def repository_items() -> list[tuple[str, str]]:
    """Every fixture, example and rule example of the repository that mentions Send-MailMessage."""
    items = list(read_scripts([ROOT / "tests" / "fixtures", ROOT / "examples"], ROOT))
    return items + list(rule_examples())


@dataclass
class Summary:
    calls: int = 0
    agree: int = 0
    disagree: int = 0
    cannot_judge: Counter[str] = field(default_factory=Counter)
    disagree_by_kind: Counter[str] = field(default_factory=Counter)  # calls per kind (a call may have several kinds)
    parameters_compared: int = 0
    parameters_not_judged: Counter[str] = field(default_factory=Counter)

    @property
    def compared(self) -> int:
        return self.agree + self.disagree

    def format(self) -> str:
        share = f"{100.0 * self.agree / self.compared:.1f}%" if self.compared else "n/a"
        lines = [
            f"Send-MailMessage calls seen: {self.calls}",
            f"calls compared: {self.compared} ({self.parameters_compared} parameters)",
            f"agree: {self.agree} ({share})",
            f"disagree: {self.disagree}",
        ]
        lines += [f"  {kind}: {count}" for kind, count in sorted(self.disagree_by_kind.items())]
        lines.append(f"binder cannot judge (whole call): {sum(self.cannot_judge.values())}")
        lines += [f"  {reason}: {count}" for reason, count in sorted(self.cannot_judge.items())]
        lines.append(f"binder cannot judge (parameters of compared calls): {sum(self.parameters_not_judged.values())}")
        lines += [f"  {reason}: {count}" for reason, count in sorted(self.parameters_not_judged.items())]
        return "\n".join(lines)


def summarize(results: Iterable[CallComparison]) -> Summary:
    summary = Summary()
    for r in results:
        summary.calls += 1
        if r.outcome == "cannot-judge":
            summary.cannot_judge[r.cannot_judge] += 1
            continue
        summary.parameters_compared += r.compared
        summary.parameters_not_judged.update(r.not_judged)
        if r.outcome == "agree":
            summary.agree += 1
        else:
            summary.disagree += 1
            summary.disagree_by_kind.update({d.kind for d in r.disagreements})
    return summary


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("paths", nargs="*", type=Path, help="folders or files (default: the public corpus)")
    parser.add_argument("--details", action="store_true", help="list every disagreement")
    parser.add_argument("--repository", action="store_true", help="the repository's fixtures, examples and rule examples")
    args = parser.parse_args(argv)
    paths = args.paths
    root: Optional[Path] = None
    if args.repository:
        items = repository_items()
    elif not paths:
        if not (PUBLIC_CORPUS / "READY").exists():
            print(f"{PUBLIC_CORPUS} is not ready (no READY file); bench/public_corpus.py re-creates it", file=sys.stderr)
            return 2
        paths, root = [PUBLIC_CORPUS], PUBLIC_CORPUS
    if not args.repository:
        items = list(read_scripts(paths, root))
    print(f"{len(items)} file(s) mention Send-MailMessage", file=sys.stderr)
    results = compare_texts(items)
    if args.details:
        for r in results:
            if r.outcome == "disagree":
                for d in r.disagreements:
                    print(f"{r.path}:{r.line}:{r.column}: {d.kind}: {d.detail}")
            elif r.outcome == "cannot-judge":
                print(f"{r.path}:{r.line}:{r.column}: cannot judge: {r.cannot_judge}")
    print(summarize(results).format())
    return 0


if __name__ == "__main__":
    sys.exit(main())
