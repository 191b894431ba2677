"""Unified diffs of a patch, and the kind a reviewer may see: no secret in the context lines.

A patch changes a few calls of a file and leaves every other line as it was, in order, so the diff
is found in linear time: the common head and tail are set aside, lines that occur once on each side
anchor the rest (patience diff), and between anchors a greedy walk re-synchronises within a bounded
window. difflib's SequenceMatcher (autojunk off) took 13 s on 8,000 repeated lines and minutes on
50,000; bench/linear_time.py measures this one at 1x, 10x and 100x.
"""

from __future__ import annotations

import bisect
from collections import Counter
from itertools import accumulate
from typing import Iterable, Optional, Union

from scanner.masking import SourceMask
from scanner.redact import Redactor

Opcode = tuple[str, int, int, int, int]
# How far the greedy walk looks ahead for the next line both sides share, and how many equal lines
# must follow a line for it to count as the place where the two sides agree again.
_WINDOW = 48
_CONFIRM = 2


def opcodes(old: list[str], new: list[str]) -> list[Opcode]:
    """SequenceMatcher-style opcodes turning ``old`` into ``new`` (equal, replace, delete, insert), in
    time linear in the number of lines (each line compared at most a bounded number of times)."""
    # Lines as small integers: every comparison below is an int comparison.
    ids = {line: number for number, line in enumerate(dict.fromkeys(old + new))}
    a = list(map(ids.__getitem__, old))
    b = list(map(ids.__getitem__, new))
    out: list[Opcode] = []
    _diff(a, 0, len(a), b, 0, len(b), out, anchors=True)
    return _merge(out)


def _diff(a: list[int], a0: int, a1: int, b: list[int], b0: int, b1: int, out: list[Opcode], anchors: bool) -> None:
    head = 0
    while a0 + head < a1 and b0 + head < b1 and a[a0 + head] == b[b0 + head]:
        head += 1
    if head:
        out.append(("equal", a0, a0 + head, b0, b0 + head))
    a0 += head
    b0 += head
    tail = 0
    while a1 - tail > a0 and b1 - tail > b0 and a[a1 - tail - 1] == b[b1 - tail - 1]:
        tail += 1
    middle_end_a, middle_end_b = a1 - tail, b1 - tail
    if a0 < middle_end_a or b0 < middle_end_b:
        matched = _unique_anchors(a, a0, middle_end_a, b, b0, middle_end_b) if anchors else []
        if matched:
            i, j = a0, b0
            for ai, bj in matched:
                if ai > i or bj > j:  # lines between two anchors (most anchors follow each other)
                    _diff(a, i, ai, b, j, bj, out, anchors=False)
                out.append(("equal", ai, ai + 1, bj, bj + 1))
                i, j = ai + 1, bj + 1
            _diff(a, i, middle_end_a, b, j, middle_end_b, out, anchors=False)
        else:
            _greedy(a, a0, middle_end_a, b, b0, middle_end_b, out)
    if tail:
        out.append(("equal", a1 - tail, a1, b1 - tail, b1))


def _unique_anchors(a: list[int], a0: int, a1: int, b: list[int], b0: int, b1: int) -> list[tuple[int, int]]:
    """Lines that occur exactly once on each side, in the longest run whose order both sides agree on."""
    count_a = Counter(a[a0:a1])
    count_b = Counter(b[b0:b1])
    where_b = dict(zip(b[b0:b1], range(b0, b1)))  # a line's last place (the only one of a unique line)
    pairs = [(i, where_b[line]) for i, line in enumerate(a[a0:a1], a0) if count_a[line] == 1 and count_b.get(line) == 1]
    if not pairs:
        return []
    # Longest increasing subsequence of the b positions (patience sorting), O(k log k).
    tails: list[int] = []
    tail_index: list[int] = []
    previous: list[int] = [-1] * len(pairs)
    for k, (_, j) in enumerate(pairs):
        pos = bisect.bisect_left(tails, j)
        if pos == len(tails):
            tails.append(j)
            tail_index.append(k)
        else:
            tails[pos] = j
            tail_index[pos] = k
        previous[k] = tail_index[pos - 1] if pos else -1
    chain: list[tuple[int, int]] = []
    k = tail_index[-1]
    while k >= 0:
        chain.append(pairs[k])
        k = previous[k]
    return chain[::-1]


def _greedy(a: list[int], a0: int, a1: int, b: list[int], b0: int, b1: int, out: list[Opcode]) -> None:
    """Walk both sides; where they differ, the nearest place within the window where they agree again
    (confirmed by the lines after it) ends the change; with none, the window is one change."""
    i, j = a0, b0
    while i < a1 or j < b1:
        if i < a1 and j < b1 and a[i] == b[j]:
            start_i, start_j = i, j
            while i < a1 and j < b1 and a[i] == b[j]:
                i += 1
                j += 1
            out.append(("equal", start_i, i, start_j, j))
            continue
        if i >= a1 or j >= b1:
            out.append(("replace" if i < a1 and j < b1 else "delete" if i < a1 else "insert", i, a1, j, b1))
            return
        sync = _resync(a, i, a1, b, j, b1)
        if sync is None:
            di = min(_WINDOW, a1 - i)
            dj = min(_WINDOW, b1 - j)
        else:
            di, dj = sync
        out.append(("replace" if di and dj else "delete" if di else "insert", i, i + di, j, j + dj))
        i += di
        j += dj


def _resync(a: list[int], i: int, a1: int, b: list[int], j: int, b1: int) -> Optional[tuple[int, int]]:
    """The nearest (di, dj), di + dj > 0 and within the window, where a[i+di] == b[j+dj] and the next
    lines agree too (or a side ends)."""
    first: dict[int, int] = {}
    for offset in range(min(_WINDOW, b1 - j)):
        first.setdefault(b[j + offset], offset)
    best: Optional[tuple[int, int]] = None
    for di in range(min(_WINDOW, a1 - i)):
        dj = first.get(a[i + di])
        if dj is None or di + dj == 0:
            continue
        if best is not None and di + dj >= best[0] + best[1]:
            continue
        ok = all(a[i + di + k] == b[j + dj + k] for k in range(1, _CONFIRM + 1) if i + di + k < a1 and j + dj + k < b1)
        if ok:
            best = (di, dj)
    return best


def _merge(codes: Iterable[Opcode]) -> list[Opcode]:
    """Adjacent opcodes of one kind joined; a delete next to an insert becomes one replace."""
    out: list[Opcode] = []
    for code in codes:
        tag, i1, i2, j1, j2 = code
        if i1 == i2 and j1 == j2:
            continue
        if out:
            ptag, p1, p2, q1, q2 = out[-1]
            if p2 == i1 and q2 == j1 and (ptag == tag or (ptag != "equal" and tag != "equal")):
                merged_tag = ptag if ptag == tag else "replace"
                out[-1] = (merged_tag, p1, i2, q1, j2)
                continue
        out.append(code)
    return out


def _range(start: int, stop: int) -> str:
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start if length == 0 else start + 1},{length}"


def _diff_line(prefix: str, line: str) -> str:
    return prefix + line if line.endswith("\n") else prefix + line + "\n\\ No newline at end of file\n"


def _split(text: str) -> list[str]:
    """Lines as git sees them: split at "\n" only (a lone "\r", "\x0c" or "\u2028" stays inside its line)."""
    lines = text.split("\n")
    out = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


def _lf(line: str) -> str:
    return line[:-2] + "\n" if line.endswith("\r\n") else line


def _lf_lines(text: str) -> list[str]:
    """``[_lf(line) for line in _split(text)]``: every CRLF ends a line, so it is replaced before the split."""
    return _split(text.replace("\r\n", "\n"))


def unified_diff(rel: str, before: str, after: str, context: int = 3) -> str:
    """A unified diff of two decoded texts (line endings shown as LF), found in linear time."""
    old = _lf_lines(before)
    new = _lf_lines(after)
    return "".join(_hunks(rel, old, new, old, new, set(), context)[0])


Secrets = Union[SourceMask, Iterable[str]]


def safe_unified_diff(rel: str, before: str, after: str, secrets: Secrets, context: int = 3) -> str:
    """A unified diff whose context lines never hold a secret (the context shrinks around such lines).

    A secret on a changed line is masked with ``***``: that hunk is then a review aid that cannot
    apply (FilePatch.diff_applies tells the caller to say so).
    """
    return safe_diff(rel, before, after, secrets, context)[0]


def safe_diff(rel: str, before: str, after: str, secrets: Secrets, context: int = 3) -> tuple[str, bool]:
    """The diff, and whether `git apply` accepts it: nothing masked on a changed line, and every hunk keeps
    at least one trailing context line unless it reaches the end of the file (git anchors such a hunk there).

    ``secrets``: the file's SourceMask (scanner.masking), or bare values. With a mask, the lines of the
    file as it is are shown as the mask shows them (by position: a literal or comment it masks is
    masked on every line, whatever its value); an added line keeps the mask of the line it rewrites
    where the two agree (the head and tail the edit left alone), and the rest of it (generated code
    quoting the call's values) passes through the mask's values. A line the mask changes counts as
    a secret line: the context shrinks around it.
    """
    originals = _split(before)
    old = _lf_lines(before)
    new = _lf_lines(after)
    if isinstance(secrets, SourceMask):
        mask = secrets
        redactor = mask.redactor()
        offsets = list(accumulate(map(len, originals), initial=0))
        # The whole text through the mask at once (it keeps every line break), then cut into lines.
        shown_old = _lf_lines(mask.masked_text(before))
        if len(shown_old) != len(originals):  # a secret value spanning lines was masked as one: line by line instead
            shown_old = [_lf(mask.slice(before, offsets[k], offsets[k + 1])) for k in range(len(originals))]
    else:
        mask = None
        redactor = Redactor(list(secrets))
        shown_old = [redactor.redact(line) for line in old]
    codes = opcodes(old, new)
    shown_new: list[str] = [""] * len(new)
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal":
            shown_new[j1:j2] = shown_old[i1:i2]
            continue
        for j in range(j1, j2):
            k = _counterpart(old, new, i1, i2, j1, j2, j)
            if mask is None or k is None:
                shown_new[j] = redactor.redact(new[j])
                continue
            shown_new[j] = _rewritten(mask, redactor, before, originals[k], offsets[k], new[j])
    secret_lines = {index for index, (line, shown) in enumerate(zip(old, shown_old)) if line != shown}
    lines, applies = _hunks(rel, old, new, shown_old, shown_new, secret_lines, context, codes)
    text = "".join(lines)
    return text, applies and all(a == b for a, b in zip(new, shown_new))


def _counterpart(old: list[str], new: list[str], i1: int, i2: int, j1: int, j2: int, j: int) -> Optional[int]:
    """The line of ``old[i1:i2]`` that ``new[j]`` rewrites: the same position when both sides have as many
    lines, else (for a small change) the one sharing the longest head and tail with it."""
    if i1 == i2:
        return None
    if i2 - i1 == j2 - j1 or (i2 - i1) * (j2 - j1) > 2500:
        k = i1 + (j - j1)
        return k if k < i2 else None
    best, score = None, 0
    for k in range(i1, i2):
        shared = _shared(old[k], new[j])
        if sum(shared) > score:
            best, score = k, sum(shared)
    return best


def _shared(a: str, b: str) -> tuple[int, int]:
    """The lengths of the common head and (not overlapping it) the common tail of ``a`` and ``b``."""
    head = 0
    limit = min(len(a), len(b))
    while head < limit and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < limit - head and a[len(a) - 1 - tail] == b[len(b) - 1 - tail]:
        tail += 1
    return head, tail


def _rewritten(mask: SourceMask, redactor: Redactor, before: str, original: str, offset: int, line: str) -> str:
    """An added line that rewrites ``original`` (at ``offset`` of ``before``): its head and tail as the
    mask shows them there, its middle through the mask's values."""
    ending = "\n" if line.endswith("\n") else ""
    body = line[: len(line) - len(ending)]
    source = original[: len(original) - (2 if original.endswith("\r\n") else 1 if original.endswith("\n") else 0)]
    head, tail = _shared(source, body)
    shown_head = mask.slice(before, offset, offset + head)
    shown_tail = mask.slice(before, offset + len(source) - tail, offset + len(source)) if tail else ""
    return shown_head + redactor.redact(body[head : len(body) - tail]) + shown_tail + ending


def _hunks(rel: str, old: list[str], new: list[str], shown_old: list[str], shown_new: list[str],
           secret_lines: set[int], context: int, codes: Optional[list[Opcode]] = None) -> tuple[list[str], bool]:
    changes = [op for op in (opcodes(old, new) if codes is None else codes) if op[0] != "equal"]
    if not changes:
        return [], True
    applies = True
    hunks: list[list[Opcode]] = [[changes[0]]]
    for op in changes[1:]:
        gap = range(hunks[-1][-1][2], op[1])
        if len(gap) <= 2 * context and not any(index in secret_lines for index in gap):
            hunks[-1].append(op)
        else:
            hunks.append([op])
    out = [f"--- a/{rel}\n", f"+++ b/{rel}\n"]
    for hunk in hunks:
        first, last = hunk[0], hunk[-1]
        lead = 0
        while lead < context and first[1] - lead - 1 >= 0 and first[1] - lead - 1 not in secret_lines:
            lead += 1
        trail = 0
        while trail < context and last[2] + trail < len(old) and last[2] + trail not in secret_lines:
            trail += 1
        if trail == 0 and last[2] < len(old):
            applies = False  # a secret line right after the change: no context can stand in for it
        old_start, old_stop = first[1] - lead, last[2] + trail
        new_start, new_stop = first[3] - lead, last[4] + trail
        body: list[str] = [_diff_line(" ", line) for line in shown_old[old_start : first[1]]]
        for index, step in enumerate(hunk):
            _, i1, i2, j1, j2 = step
            if any(line_no in secret_lines for line_no in range(i1, i2)):
                applies = False  # the removed line must match the file, and it is shown masked
            body.extend(_diff_line("-", line) for line in shown_old[i1:i2])
            body.extend(_diff_line("+", line) for line in shown_new[j1:j2])
            following = hunk[index + 1][1] if index + 1 < len(hunk) else old_stop
            body.extend(_diff_line(" ", line) for line in shown_old[i2:following])
        out.append(f"@@ -{_range(old_start, old_stop)} +{_range(new_start, new_stop)} @@\n")
        out.extend(body)
    return out, applies
