"""Unified diffs of a patch, and the kind a reviewer may see: no secret in the context lines."""

from __future__ import annotations

import difflib
from scanner.redact import Redactor


def unified_diff(rel: str, before: str, after: str) -> str:
    """A unified diff of two decoded texts (line endings shown as LF)."""
    lines = difflib.unified_diff(
        before.replace("\r\n", "\n").splitlines(keepends=True),
        after.replace("\r\n", "\n").splitlines(keepends=True),
        fromfile=f"a/{rel}",
        tofile=f"b/{rel}",
    )
    out = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
    return out


def _range(start: int, stop: int) -> str:
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start if length == 0 else start + 1},{length}"


def _diff_line(prefix: str, line: str) -> str:
    return prefix + line if line.endswith("\n") else prefix + line + "\n\\ No newline at end of file\n"


def safe_unified_diff(rel: str, before: str, after: str, secrets: set[str], context: int = 3) -> str:
    """A unified diff whose context lines never hold a secret (the context shrinks around such lines).

    A secret on a changed line is masked with ``***``: that hunk is then a review aid that cannot
    apply (FilePatch.diff_applies tells the caller to say so).
    """
    return safe_diff(rel, before, after, secrets, context)[0]


def safe_diff(rel: str, before: str, after: str, secrets: set[str], context: int = 3) -> tuple[str, bool]:
    """The diff, and whether `git apply` accepts it: no secret on a changed line, and every hunk keeps at
    least one trailing context line unless it reaches the end of the file (git anchors such a hunk there)."""

    redactor = Redactor(secrets)
    old = before.replace("\r\n", "\n").splitlines(keepends=True)
    new = after.replace("\r\n", "\n").splitlines(keepends=True)
    secret_lines = {index for index, line in enumerate(old) if redactor.leaks(line)}
    changes = [op for op in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes() if op[0] != "equal"]
    if not changes:
        return "", True
    applies = True
    hunks: list[list[tuple[str, int, int, int, int]]] = [[changes[0]]]
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
        body: list[str] = [_diff_line(" ", line) for line in old[old_start : first[1]]]
        for index, step in enumerate(hunk):
            _, i1, i2, j1, j2 = step
            if any(line_no in secret_lines for line_no in range(i1, i2)):
                applies = False  # the removed line must match the file, and it is shown masked
            body.extend(_diff_line("-", line) for line in old[i1:i2])
            body.extend(_diff_line("+", line) for line in new[j1:j2])
            following = hunk[index + 1][1] if index + 1 < len(hunk) else old_stop
            body.extend(_diff_line(" ", line) for line in old[i2:following])
        out.append(f"@@ -{_range(old_start, old_stop)} +{_range(new_start, new_stop)} @@\n")
        out.extend(body)
    return redactor.redact("".join(out)), applies
