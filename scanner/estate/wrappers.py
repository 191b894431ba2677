"""Wrapper functions across files: a function whose body sends mail is migrated once, and each
call site that passes the server, sender or credential gets its own finding and verdict."""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Optional

from scanner.declared import EstateFacts
from scanner.estate.pool import LazyPool, in_order
from scanner.estate.prefilter import Prefilter
from scanner.findings import LEGACY_APIS, file_mask, fingerprint_of, normalized_text, sender_address
from scanner.model import Api, Finding, RelatedLocation
from scanner.script import Script
from scanner.structure import FunctionDef
from scanner.analysis.functions import function_parameters, unset_parameters
from scanner.analysis.binding import bind_arguments
from scanner.analysis.commands import CommandSpec, ParameterSpec, find_command_sites, lex_call
from scanner.assess import assess
from scanner.extract.send_mailmessage import SEND_MAILMESSAGE
from scanner.files import DecodeError, decode, read_bytes
from scanner.model import BindKind, BoundParam, FixApplicability, FixInfo, Location, Provenance
from scanner.rules import catalogue
from scanner.secrets import find_secrets

if TYPE_CHECKING:
    from scanner.cache import StatIndex


@dataclass
class WrapperDef:
    """A function whose body sends mail: migrating it once fixes every script that calls it."""

    name: str
    path: str
    line: int
    body_start: int
    body_end: int
    fingerprints: list[str] = field(default_factory=list)  # the findings inside it
    parameters: list[str] = field(default_factory=list)  # the function's parameters, in declaration order
    # Finding fingerprint -> {mail parameter: wrapper parameter (lower case)} for the values the
    # caller passes in (`-SmtpServer $Server` inside `function Send-Alert($Server)`).
    feeds: dict[str, dict[str, str]] = field(default_factory=dict)
    unset: list[str] = field(default_factory=list)  # parameters (lower case) that hold nothing unless passed
    splatted: list[str] = field(default_factory=list)  # parameters (lower case) the call gets through @PSBoundParameters
    # `Send-MailMessage @args` in a function that declares no parameter: the caller's arguments are the call's.
    forwards_args: bool = False


def file_wrappers(script: Script, findings: list[Finding]) -> list[WrapperDef]:
    found = []
    for function in script.structure.functions:
        if function.name.lower() == "send-mailmessage":
            continue  # a shadowing function is reported as such
        inside = [
            f.fingerprint
            for f in findings
            if f.call is not None and f.call.api in LEGACY_APIS and function.body.start < f.location.start < function.body.end
        ]
        if inside:
            line = script.line_of(function.name_start)
            wrapper = WrapperDef(function.name, script.path, line, function.body.start, function.body.end, inside)
            wrapper.parameters = function_parameters(script, function)
            wrapper.unset = unset_parameters(script, function)
            declared = {p.lower() for p in wrapper.parameters}
            for f in findings:
                if f.fingerprint not in inside or f.call is None:
                    continue
                feeds = {}
                for name, bound in f.call.params.items():
                    m = _FED.fullmatch(bound.text.strip())
                    if name in WRAPPER_FED and m and m.group(1).lower() in declared:
                        feeds[name] = m.group(1).lower()
                if any(note.lower().startswith("splat @psboundparameters") for note in f.call.notes):
                    # `Send-MailMessage @PSBoundParameters`: each parameter of the wrapper named like a mail
                    # parameter reaches the call as the caller passed it (and only if the caller passed it).
                    for name in WRAPPER_FED:
                        given = f.call.params.get(name)
                        if name.lower() in declared and (given is None or given.kind is BindKind.UNRESOLVED) and name not in feeds:
                            feeds[name] = name.lower()
                            body = script.structure.code_lower[function.body.start : function.body.end]
                            if not re.search(r"\$psboundparameters(?:\[|\.(?:add|remove|item)\b)", body) and name.lower() not in wrapper.splatted:
                                wrapper.splatted.append(name.lower())  # a default never reaches the splat: only what is passed
                if _forwards_args(script, function, wrapper, f):
                    # `Send-MailMessage @args`: a simple function that declares no parameter hands every
                    # argument of its caller to the call, named or positional, and nothing it was not given.
                    wrapper.forwards_args = True
                    for name in WRAPPER_FED:
                        given = f.call.params.get(name)
                        if (given is None or given.kind is BindKind.UNRESOLVED) and name not in feeds:
                            feeds[name] = name.lower()
                            if name.lower() not in wrapper.splatted:
                                wrapper.splatted.append(name.lower())
                if feeds:
                    wrapper.feeds[f.fingerprint] = feeds
            found.append(wrapper)
    return found


def _forwards_args(script: Script, function: FunctionDef, wrapper: WrapperDef, finding: Finding) -> bool:
    """Whether ``finding``'s call is `Send-MailMessage @args` in a function with no parameters of its own
    (an advanced function, [CmdletBinding()] or [Parameter()], takes no argument it does not declare)."""
    call = finding.call
    if call is None or call.api is not Api.SEND_MAILMESSAGE or wrapper.parameters:
        return False
    if not any(note.lower().startswith("splat @args:") for note in call.notes):
        return False
    text = script.structure.code_lower[function.name_start : function.body.end]
    return "cmdletbinding" not in text and "[parameter(" not in text.replace(" ", "")


# A wrapper's parameter list that stands for "the caller's arguments are Send-MailMessage's" (@args).
_ARGS = ("@args",)


# Mail parameters a wrapper's caller may decide (what a verdict and the sender depend on).
WRAPPER_FED = ("SmtpServer", "From", "Port", "UseSsl", "Credential")


_FED = re.compile(r'(?i)"?\$\{?(?:script:|local:)?(\w+)\}?"?')


_PARAM_NAME = re.compile(r"(?i)(?:^|[(,\]\s])\s*(?:\[[^\]]*\]\s*)*\$(\w+)")


def crashed_wrapper_file(item: object, reason: str) -> list[list[object]]:
    return []


def link_wrapper_call_sites(
    files: list[str],
    rels: list[str],
    stats: list[Optional[tuple[int, int, int]]],
    wrappers: list[WrapperDef],
    findings: list[Finding],
    max_bytes: int,
    index: Optional["StatIndex"] = None,
    pools: Optional[LazyPool] = None,
    estate: Optional[EstateFacts] = None,
    root: Optional[Path] = None,
) -> None:
    """List, in each wrapper's findings, the places across the tree that call the wrapper function,
    and give each call site that passes the server or sender its own finding and verdict.

    The call sites usually hold no mail token, so the first pass never parsed them: a second
    byte prefilter built from the wrapper names picks the few files worth reading. With a stat
    index, the sites found in an unchanged file are reused without reading it.
    """
    by_name: dict[str, list[WrapperDef]] = {}
    for wrapper in wrappers:
        if wrapper.name.isascii():
            by_name.setdefault(wrapper.name.lower(), []).append(wrapper)
    if not by_name:
        return
    parameters = {name: _ARGS if defs[0].forwards_args else tuple(defs[0].parameters)
                  for name, defs in by_name.items() if any(d.feeds for d in defs)}
    names_key = hashlib.sha256(("\0".join(sorted(by_name)) + "\0v3\0" + repr(sorted(parameters.items()))).encode()).hexdigest()
    known: dict[int, list[list[object]]] = {}
    todo: list[int] = []
    for i, (rel, stat) in enumerate(zip(rels, stats)):
        cached = index.wrapper_sites(names_key, rel, stat) if index is not None and stat is not None else None
        if cached is None:
            todo.append(i)
        else:
            known[i] = cached
    items = [(files[i], rels[i]) for i in todo]
    # Workers need only the names and where each wrapper's own body is (to skip recursion).
    bodies = {name: tuple((w.path, w.body_start, w.body_end) for w in defs) for name, defs in by_name.items()}
    pool = pools.get(len(items)) if pools is not None else None
    if pool is not None:
        # Reading and searching a file is cheap: large chunks keep the inter-process traffic small.
        computed: Iterator[list[list[object]]] = in_order(
            pool, _wrapper_chunk, items, pool.options.jobs, bodies, max_bytes, parameters, root, estate, largest=512, crashed=crashed_wrapper_file
        )
    else:
        computed = iter(_wrapper_chunk(items, bodies, max_bytes, parameters, root, estate))
    for i in todo:
        found = next(computed)
        known[i] = found
        if index is not None and stats[i] is not None:
            index.record_wrapper_sites(names_key, rels[i], stats[i], found)  # type: ignore[arg-type]
    sites: dict[str, list[tuple[str, int, int]]] = {name: [] for name in by_name}
    arguments: dict[tuple[str, int, int], dict[str, list[object]]] = {}
    for i, rel in enumerate(rels):
        for site in known.get(i, ()):
            name, line, col = site[0], site[1], site[2]
            if name in sites:
                sites[str(name)].append((rel, int(line), int(col)))  # type: ignore[call-overload, arg-type]
                if len(site) > 3 and isinstance(site[3], dict):
                    arguments[(rel, int(line), int(col))] = site[3]  # type: ignore[call-overload, arg-type]
    _attach_call_sites(by_name, sites, findings)
    findings.extend(call_site_findings(by_name, sites, arguments, findings, estate))


WrapperBodies = dict[str, tuple[tuple[str, int, int], ...]]  # name -> (path, body start, body end) of each definition


_WRAPPER_PREFILTERS: dict[tuple[str, ...], Prefilter] = {}


def _wrapper_chunk(
    items: list[tuple[str, str]], bodies: WrapperBodies, max_bytes: int, parameters: Optional[dict[str, tuple[str, ...]]] = None,
    root: Optional[Path] = None, estate: Optional[EstateFacts] = None,
) -> list[list[list[object]]]:
    """Wrapper call sites of several files (a worker's unit of the second pass)."""
    names = tuple(sorted(bodies))
    prefilter = _WRAPPER_PREFILTERS.get(names)
    if prefilter is None:
        prefilter = _WRAPPER_PREFILTERS[names] = Prefilter(names)
    return [_wrapper_sites_in_file(path, rel, bodies, prefilter, max_bytes, parameters or {}, root, estate) for path, rel in items]


def _site_arguments(script: Script, site: object, parameters: tuple[str, ...]) -> dict[str, list[object]]:
    """{parameter (lower case): [text, static value, conditional, reason, provenance, source]} as the call site binds them."""

    if parameters == _ARGS:
        spec = SEND_MAILMESSAGE  # `Send-MailMessage @args`: the site's arguments bind as the call's own
        parameters = tuple(p.name for p in spec.parameters)
    else:
        spec = CommandSpec("wrapper", tuple(ParameterSpec(p, position=i) for i, p in enumerate(parameters)))
    arguments = lex_call(script, site)  # type: ignore[arg-type]
    binding = bind_arguments(script, spec, arguments, site.start)  # type: ignore[attr-defined]
    secrets = None
    out: dict[str, list[object]] = {}
    declared = {p.lower() for p in parameters}
    for name, bound in binding.params.items():
        if name.lower() not in declared:
            continue
        if secrets is None:
            secrets = find_secrets(script)
        start = script.text.find(bound.text, site.start)  # type: ignore[attr-defined]
        # Through the call site's file mask (scanner.masking), by position; by value when not found.
        mask = file_mask(script, secrets)
        text = mask.slice(script.text, start, start + len(bound.text)) if start >= 0 else mask.redactor().redact(bound.text)
        value = bound.value if isinstance(bound.value, (str, int, bool, list)) and text == bound.text else None  # a masked secret never leaves the worker
        out[name.lower()] = [text, value, bound.conditional, bound.reason, bound.provenance.value, bound.source]
    if any(note.startswith("splat @") for note in binding.notes) or "psdefaultparametervalues" in script.structure.code_lower:
        # A splat not rebuilt from the file, or a default the caller sets: what is not bound may be passed all the same.
        out[_UNSURE] = []
    return out


_UNSURE = "@"  # in a call site's arguments: parameters not bound there may still be passed


def _wrapper_sites_in_file(
    path: str, rel: str, bodies: WrapperBodies, prefilter: Prefilter, max_bytes: int, parameters: Optional[dict[str, tuple[str, ...]]] = None,
    root: Optional[Path] = None, estate: Optional[EstateFacts] = None,
) -> list[list[object]]:
    """[name, line, column(, arguments)] of each call of a wrapper function in one file (outside its own body)."""

    try:
        raw, _ = read_bytes(path, max_bytes)
        if raw is None or not prefilter.matches(raw):
            return []
        text = decode(raw)[0]
    except (OSError, DecodeError):
        return []
    if path.lower().endswith(".psd1") or _only_definitions(text, bodies):
        return []
    script = Script(text, rel)
    script.estate, script.root = estate, root
    found: list[list[object]] = []
    for site in find_command_sites(script, {name: name for name in bodies}, module="*"):
        name = site.written.rsplit("\\", 1)[-1].lower()
        if any(path_ == rel and start <= site.name_start < end for path_, start, end in bodies.get(name, ())):
            continue  # recursion inside the wrapper itself
        line, col = script.structure.line_col(site.name_start)
        entry: list[object] = [name, line, col]
        if parameters and name in parameters:
            entry.append(_site_arguments(script, site, parameters[name]))
        found.append(entry)
    return found


_DEFINITION_BEFORE = re.compile(r"(?:function|filter|workflow)\s+$")


_NAME_CHAR = r"[^\s(){}\[\];,|&=<>'\"`$@#+*/!%]"
_NAME_TOKEN = re.compile(_NAME_CHAR + "+")
_NAME_CHAR_AT = re.compile(_NAME_CHAR)
_FEW_NAMES = 16  # up to this many names, each is found with str.find


def _only_definitions(text: str, bodies: WrapperBodies) -> bool:
    """True when every occurrence of a wrapper name is its `function NAME` definition: no call can be
    there, so the file need not be lexed (modules full of wrappers are common).

    A word is a maximal run of name characters; it is a wrapper's name as written or as `Module\\Name`.
    A few names are found where they stand with str.find; with many, the file's words are collected
    once (in C) and the names among them looked for; with many of those too, one pass over the
    words: linear whatever the number of wrappers (a name searched for one by one cost names x
    occurrences: minutes on a file of thousands of nested functions)."""
    low = text.lower()
    names: Iterable[str] = bodies
    if len(bodies) > _FEW_NAMES:
        words = set(_NAME_TOKEN.findall(low))
        named = words & bodies.keys()
        if "\\" in low:
            named.update(last for word in words if "\\" in word for last in (word.rsplit("\\", 1)[-1],) if last in bodies)
        if len(named) > _FEW_NAMES:
            return _only_definitions_word_by_word(low, bodies)
        names = named
    name_char = _NAME_CHAR_AT.match
    for name in names:
        i = low.find(name) if name else -1
        while i >= 0:
            end = i + len(name)
            start = i
            if i > 0 and name_char(low, i - 1):
                if low[i - 1] != "\\":
                    start = -1  # inside a longer word
                else:
                    start = i - 1  # Module\Name: the word starts before the module's name
                    while start > 0 and name_char(low, start - 1):
                        start -= 1
            if start >= 0 and not name_char(low, end) and not _DEFINITION_BEFORE.search(low[max(0, start - 24) : start]):
                return False
            i = low.find(name, i + 1)
    return True


def _only_definitions_word_by_word(low: str, bodies: WrapperBodies) -> bool:
    for m in _NAME_TOKEN.finditer(low):
        word = m.group()
        if (word in bodies or word.rsplit("\\", 1)[-1] in bodies) and not _DEFINITION_BEFORE.search(low[max(0, m.start() - 24) : m.start()]):
            return False
    return True


# Wrapper sentences in one finding's message at most (the related locations still list every call site).
_WRAPPER_SENTENCES = 3


def _attach_call_sites(
    by_name: dict[str, list[WrapperDef]], sites: dict[str, list[tuple[str, int, int]]], findings: list[Finding]
) -> None:
    by_fingerprint = {f.fingerprint: f for f in findings}
    said: dict[str, int] = {}  # fingerprint -> wrapper sentences added to its message
    for name, defs in by_name.items():
        calls = sites[name]
        for wrapper in defs:
            for fingerprint in wrapper.fingerprints:
                finding = by_fingerprint.get(fingerprint)
                if finding is None:
                    continue
                finding.related.extend(RelatedLocation(p, line, col, "call-site") for p, line, col in calls)
                said[fingerprint] = said.get(fingerprint, 0) + 1
                if said[fingerprint] > _WRAPPER_SENTENCES:
                    continue  # a call inside thousands of nested functions: the message stays one paragraph
                scripts = len({p for p, _, _ in calls})
                finding.message += (
                    f" Wrapper function {wrapper.name} (line {wrapper.line}) is called from {len(calls)} place(s) "
                    f"in {scripts} script(s): migrate it once here."
                    if calls
                    else f" Wrapper function {wrapper.name} (line {wrapper.line}): no caller found in the scanned tree."
                )


def _nearest_definition(path: str, defs: list[WrapperDef]) -> Optional[WrapperDef]:
    """The definition a caller at ``path`` most likely gets: the only one, one in the same file, or the
    one sharing the longest folder prefix; None when two are equally near (the site is not guessed)."""
    if len(defs) == 1:
        return defs[0]
    same = [d for d in defs if d.path == path]
    if len(same) == 1:
        return same[0]

    def shared(d: WrapperDef) -> int:
        a, b = d.path.split("/")[:-1], path.split("/")[:-1]
        n = 0
        while n < min(len(a), len(b)) and a[n] == b[n]:
            n += 1
        return n

    best = max(shared(d) for d in defs)
    nearest = [d for d in defs if shared(d) == best]
    return nearest[0] if len(nearest) == 1 else None


def call_site_findings(
    by_name: dict[str, list[WrapperDef]],
    sites: dict[str, list[tuple[str, int, int]]],
    arguments: dict[tuple[str, int, int], dict[str, list[object]]],
    findings: list[Finding],
    estate: Optional[EstateFacts] = None,
) -> list[Finding]:
    """One finding per call site of a wrapper whose server, sender or credential the caller passes:
    the wrapper's call with the site's values, its own verdict, and the wrapper's fix (migrated once)."""

    rules = catalogue()
    by_fingerprint = {f.fingerprint: f for f in findings}
    out: list[Finding] = []
    occurrences: dict[tuple[str, str], int] = {}
    for name, defs in by_name.items():
        for wrapper in defs:
            for fingerprint, feeds in wrapper.feeds.items():
                inner = by_fingerprint.get(fingerprint)
                if inner is None or inner.call is None or inner.rule not in rules:
                    continue
                for path, line, col in sites.get(name, ()):
                    if _nearest_definition(path, defs) is not wrapper:
                        continue  # another definition of the same name is the one this caller gets
                    passed = arguments.get((path, line, col), {})
                    if not any(param in passed for param in feeds.values()):
                        continue  # nothing decided here: the wrapper's own finding stands for this call
                    derived = copy.deepcopy(inner)
                    call = derived.call
                    assert call is not None
                    shown: list[str] = []
                    for mail_param, wrapper_param in feeds.items():
                        argument = passed.get(wrapper_param)
                        if argument is None and _UNSURE not in passed and (
                                wrapper_param in wrapper.splatted or (mail_param == "Credential" and wrapper_param in wrapper.unset)):
                            # Not passed here: @PSBoundParameters leaves it out; `-Credential $Credential` with no
                            # default and not Mandatory is $null. Either way the call gets no value.
                            declared = next((p for p in wrapper.parameters if p.lower() == wrapper_param), mail_param)
                            call.params.pop(mail_param, None)
                            if mail_param == "Credential":
                                how = ("so @args does not hold it" if wrapper.forwards_args else "so @PSBoundParameters leaves it out"
                                       if wrapper_param in wrapper.splatted else "and has no default")
                                call.notes.append(f"-{declared} is not passed to {wrapper.name} at {path}:{line} {how}: "
                                                  "this call sends without a credential")
                            continue
                        if argument is None:
                            continue  # not passed here: the wrapper's own default (or nothing) applies
                        text, value, conditional, reason, provenance, source = argument
                        declared = next((p for p in wrapper.parameters if p.lower() == wrapper_param), mail_param)
                        origin = f"passed as -{declared} to {wrapper.name} at {path}:{line}" + (f"; {reason}" if reason else "")
                        literal = value is not None and str(text)[:1] in "'\"0123456789$" and not str(text).startswith("$")
                        call.params[mail_param] = BoundParam(
                            mail_param, str(text), BindKind.LITERAL if literal else BindKind.EXPRESSION, value,  # type: ignore[arg-type]
                            bool(conditional), origin, line,
                            Provenance(provenance) if provenance != Provenance.WRITTEN.value else Provenance.CALL_SITE,  # type: ignore[arg-type]
                            str(source) or f"{path}:{line}",
                        )
                        shown.append(f"-{declared} {text}")
                    call.form = "wrapper-call-site"
                    call.command = f"{wrapper.name} -> {inner.call.command}"
                    call.location = Location(path, line, col, line, col + len(wrapper.name))
                    call.related = [RelatedLocation(inner.location.path, inner.location.line, inner.location.column, "wrapper")]
                    assessment = assess(call, estate)
                    verdict = rules[inner.rule].check(call, assessment)
                    if verdict is None:
                        continue
                    derived.location = call.location
                    derived.assessment = assessment
                    derived.severity = verdict.severity
                    derived.message = f"{verdict.message} Through wrapper {wrapper.name} ({inner.location.path}:{inner.location.line}), called here."
                    derived.snippet = f"{wrapper.name} {' '.join(shown)}".strip()
                    derived.context_lines, derived.context_start_line = [], line
                    derived.related = list(call.related)
                    derived.sender = sender_address(call)
                    derived.fix = FixInfo(False, FixApplicability.DISPLAY_ONLY, f"fixed once in the wrapper {wrapper.name} at {inner.location.path}:{inner.location.line} (its finding carries the patch); this call then sends through Graph unchanged")
                    key = (inner.rule, normalized_text(f"{wrapper.name} {inner.fingerprint} {derived.snippet}"))
                    index = occurrences.get(key, 0)
                    occurrences[key] = index + 1
                    derived.fingerprint = fingerprint_of(inner.rule, path, key[1], index)
                    out.append(derived)
    return out
