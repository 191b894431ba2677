"""PowerShell's parser judges every patch; the import keeps the script's named blocks (issue 11 item 1).

The structure fixtures are scripts with `param()` followed by `begin`/`process`/`end`, functions
with named blocks, and a job script block with its own param() and blocks. Their patched text is
parsed by PowerShell's own parser and run in pwsh against a stub Smtp2Graph module.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from scanner.check import calls_in_text
from scanner.files import read_source
from scanner.migrate import commands
from scanner.migrate.judge import (
    JudgeName,
    PowerShellJudge,
    TreeSitterJudge,
    Verdict,
    default_judge,
    lexer_shape,
)
from scanner.migrate.patch import FilePatch, patch_source
from scanner.migrate.placement import IMPORT_LINE
from scanner.migrate.safety import FixStyle
from scanner.powershell import find_pwsh, parse_scripts, run_pwsh

STRUCTURE = Path(__file__).parent / "fixtures" / "migrate" / "structure"
STUB_MODULE = """
function Send-GraphMailMessage {
    [CmdletBinding()]
    param([string[]]$To, [string]$From, [string]$Subject, [string]$Body, [string]$SmtpServer, [switch]$UseSsl,
          [object]$Credential)
    Write-Output "graph-sent $Subject"
}
"""


def fix_file(path: Path, *, defer: bool = False) -> FilePatch:
    source = read_source(path, path.parent)
    calls = calls_in_text(source.text, source.rel, source.is_data_file)
    return patch_source(source.rel, source.raw, source.text, source.encoding, source.bom, source.newline,
                        calls, FixStyle.MODULE, True, defer_judge=defer)


def stub_env(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "modules" / "Smtp2Graph"
    folder.mkdir(parents=True)
    (folder / "Smtp2Graph.psm1").write_text(STUB_MODULE, encoding="utf-8")
    env = dict(os.environ)
    env["PSModulePath"] = str(tmp_path / "modules") + os.pathsep + env.get("PSModulePath", "")
    return env


def _without_imports(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if IMPORT_LINE not in line)


@pytest.mark.parametrize("name", sorted(p.name for p in STRUCTURE.glob("*.ps1")))
def test_import_never_lands_between_param_and_named_blocks(name: str) -> None:
    patch = fix_file(STRUCTURE / name)
    assert patch.changed and all(fix.applied for fix in patch.fixes)
    text = patch.text_after
    for block in ("begin", "process", "end"):
        # Every named block of the original is still a named block: the import sits inside one.
        assert text.count(f"{block} {{") == patch.text_before.count(f"{block} {{")
    assert lexer_shape(text) == lexer_shape(patch.text_before)


@pytest.mark.pwsh
@pytest.mark.parametrize("name", sorted(p.name for p in STRUCTURE.glob("*.ps1")))
def test_powershell_parser_sees_the_same_structure_after_the_patch(name: str) -> None:
    patch = fix_file(STRUCTURE / name)
    before, after = parse_scripts([patch.text_before, patch.text_after])
    assert after.errors == ()
    assert after.structure == before.structure
    assert before.named_blocks or before.functions or "Start-Job" in patch.text_before


@pytest.mark.pwsh
def test_patched_pipeline_script_still_runs_its_begin_process_and_end_blocks(tmp_path: Path) -> None:
    patch = fix_file(STRUCTURE / "param_begin_process.ps1")
    run = run_pwsh(patch.text_after, env=stub_env(tmp_path), timeout=120)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.split()
    assert run.stdout.splitlines() == ["begin ran", "process world", "graph-sent hello world", "end ran"], lines


@pytest.mark.pwsh
def test_patched_script_without_begin_imports_in_each_block_that_sends(tmp_path: Path) -> None:
    patch = fix_file(STRUCTURE / "param_process_end.ps1")
    assert patch.text_after.count(IMPORT_LINE) == 2
    run = run_pwsh(patch.text_after, env=stub_env(tmp_path), timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["process daily", "graph-sent daily", "end ran", "graph-sent done"]


@pytest.mark.pwsh
def test_job_script_block_gets_its_own_import_inside_its_begin_block(tmp_path: Path) -> None:
    patch = fix_file(STRUCTURE / "job_with_blocks.ps1")
    inside = patch.text_after.index("begin {")
    assert patch.text_after.index(IMPORT_LINE) > inside
    assert IMPORT_LINE not in patch.text_after[:inside]  # the job's session needs it, not the script's
    assert any("Start-Job" in note for fix in patch.fixes for note in fix.notes)
    run = run_pwsh(patch.text_after, env=stub_env(tmp_path), timeout=180)
    assert run.returncode == 0, run.stderr
    assert "graph-sent from a job" in run.stdout.splitlines()


# --------------------------------------------------------------------------- the judge itself

BROKEN_STRUCTURE = ("param([string]$a)\nbegin { 'b' }\nprocess { 'p' }\n",
                    "param([string]$a)\nImport-Module Smtp2Graph -ErrorAction Stop\nbegin { 'b' }\nprocess { 'p' }\n")


@pytest.mark.pwsh
def test_powershell_judge_refuses_a_structure_change_and_a_new_parse_error() -> None:
    pwsh = find_pwsh()
    assert pwsh is not None
    judge = PowerShellJudge(pwsh)
    moved, splat, fine = judge.judge([
        BROKEN_STRUCTURE,
        ("$m = @{ subject = $s }\n", "$m = @{ subject = (@obj) }\n"),
        ("Send-MailMessage -To a\n", "Send-GraphMailMessage -To a\n"),
    ])
    assert not moved.ok and "named blocks change from begin, process to none" in moved.reason
    assert not splat.ok and "SplattingNotPermitted" in splat.reason
    assert fine.ok


def test_tree_sitter_fallback_also_sees_the_named_blocks_disappear() -> None:
    verdict, = TreeSitterJudge().judge([BROKEN_STRUCTURE])
    assert not verdict.ok and "named blocks begin, process -> none" in verdict.reason


def _count_pwsh_starts(monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], list[int]]:
    """(pwsh processes started, texts handed to them) of the parser sessions of a run."""
    from scanner import powershell

    starts: list[int] = []
    texts: list[int] = []
    real_start, real_submit = powershell.ParserSession._start, powershell.ParserSession.submit

    def start(self: powershell.ParserSession):  # type: ignore[no-untyped-def]
        if self._process is None:
            starts.append(1)
        return real_start(self)

    def submit(self: powershell.ParserSession, batch: list[str]) -> None:
        texts.extend(len(text) for text in dict.fromkeys(batch) if text not in self._ids)
        real_submit(self, batch)

    monkeypatch.setattr(powershell.ParserSession, "_start", start)
    monkeypatch.setattr(powershell.ParserSession, "submit", submit)
    return starts, texts


@pytest.mark.pwsh
def test_a_parser_session_nobody_closes_ends_its_pwsh_when_dropped() -> None:
    import gc
    import os

    from scanner import powershell

    session = powershell.ParserSession()
    (shape,) = session.shapes(["Send-MailMessage -To a@contoso.com\n"])
    assert shape.errors == ()
    process = session._process
    assert process is not None and process.poll() is None
    folder = Path(session._folder.name)  # type: ignore[union-attr]
    del session
    gc.collect()
    # The finalizer ended pwsh (end of input, then waited for it) and removed its folder.
    assert process.returncode is not None
    with pytest.raises(ProcessLookupError):
        os.kill(process.pid, 0)
    assert not folder.exists()


@pytest.mark.pwsh
def test_a_run_is_judged_in_one_pwsh_process_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.ps1").write_text(
            f"Send-MailMessage -To 'ops@contoso.com' -From 'svc@contoso.com' -Subject {name} "
            "-SmtpServer smtp.office365.com -UseSsl\n", encoding="utf-8")
    starts, texts = _count_pwsh_starts(monkeypatch)
    run = commands.collect_patches([tmp_path], commands.FixOptions(judge="powershell", use_cache=False, jobs=1))
    assert starts == [1] and len(texts) == 6  # three originals and three patched texts, one pwsh start
    assert all(patch.changed for patch in run.patches)
    assert run.judge.startswith("PowerShell's parser")
    commands._report_fixes(run)
    assert "Judge: PowerShell's parser" in capsys.readouterr().err


@pytest.mark.pwsh
def test_auto_asks_powershell_only_about_what_tree_sitter_cannot_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """tree-sitter reads these three scripts and their patches cleanly: no pwsh starts. A script it does not
    read cleanly (a number with a size suffix after an operator, valid PowerShell) is read by PowerShell."""
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.ps1").write_text(
            f"Send-MailMessage -To 'ops@contoso.com' -From 'svc@contoso.com' -Subject {name} "
            "-SmtpServer smtp.office365.com -UseSsl\n", encoding="utf-8")
    starts, texts = _count_pwsh_starts(monkeypatch)
    options = commands.FixOptions(use_cache=False, jobs=1)
    run = commands.collect_patches([tmp_path], options)
    assert starts == [] and all(patch.changed for patch in run.patches)
    assert run.judge.startswith("tree-sitter-powershell, and PowerShell's parser")
    (tmp_path / "d.ps1").write_text("Send-MailMessage -To 'ops@contoso.com' -From 'svc@contoso.com' -Subject d "
                                    "-SmtpServer smtp.office365.com -UseSsl\nfunction Get-Size { $size = $bytes / 1MB; $size }\n",
                                    encoding="utf-8")
    run = commands.collect_patches([tmp_path], options)
    assert starts == [1] and len(texts) == 1  # the unclean script as it is: it parses, so tree-sitter's patch stands
    assert all(patch.changed for patch in run.patches)


@pytest.mark.pwsh
def test_the_judge_refuses_only_the_call_that_breaks_the_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "two.ps1").write_text(
        "Send-MailMessage -To 'ops@contoso.com' -From 'svc@contoso.com' -Subject one -SmtpServer smtp.office365.com -UseSsl\n"
        "Send-MailMessage -To 'ops@contoso.com' -From 'svc@contoso.com' -Subject two -SmtpServer smtp.office365.com -UseSsl\n",
        encoding="utf-8")
    pwsh = find_pwsh()
    assert pwsh is not None
    seen: list[int] = []

    class PickyJudge(PowerShellJudge):
        """PowerShell's verdicts, except that rewriting the second call counts as breaking the script."""

        def judge(self, pairs: Sequence[tuple[str, str]]) -> list[Verdict]:
            seen.append(len(pairs))
            return [Verdict(False, "refused for the test") if "GraphMailMessage -To 'ops@contoso.com' -From "
                    "'svc@contoso.com' -Subject two" in after else verdict
                    for verdict, (_, after) in zip(super().judge(pairs), pairs)]

    monkeypatch.setattr("scanner.estate.scan.choose_judge", lambda choice: PickyJudge(pwsh))
    run = commands.collect_patches([tmp_path], commands.FixOptions(judge="powershell", use_cache=False, jobs=1))
    one, two = run.patches[0].fixes
    assert one.applied and not two.applied and two.refused == "refused for the test"
    assert seen == [1, 2, 1]  # the whole file, each call alone, the calls that passed together
    assert "Send-GraphMailMessage -To 'ops@contoso.com' -From 'svc@contoso.com' -Subject one" in run.patches[0].text_after
    assert "Send-MailMessage -To 'ops@contoso.com' -From 'svc@contoso.com' -Subject two" in run.patches[0].text_after
    assert run.patches[0].text_after.startswith(IMPORT_LINE)


def test_without_pwsh_the_fallback_judge_is_tree_sitter_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    from scanner import powershell

    monkeypatch.setattr(powershell, "find_pwsh", lambda: None)
    judge = default_judge()
    assert judge.name is JudgeName.TREE_SITTER and "pwsh not found" in judge.description


def test_judge_powershell_is_refused_without_pwsh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from scanner import powershell

    monkeypatch.setattr(powershell, "find_pwsh", lambda: None)
    (tmp_path / "a.ps1").write_text("Send-MailMessage -To a@contoso.com -From b@contoso.com -Subject s "
                                    "-SmtpServer smtp.office365.com -UseSsl\n", encoding="utf-8")
    assert commands.run_fix([tmp_path], None, False, False, commands.FixOptions(judge="powershell", use_cache=False)) == 2
    assert "--judge powershell: pwsh (PowerShell 7) is not installed" in capsys.readouterr().err
    assert commands.run_fix([tmp_path], None, False, False, commands.FixOptions(judge="auto", use_cache=False)) == 1
    assert "Judge: tree-sitter-powershell (pwsh not found" in capsys.readouterr().err


def test_the_analysis_parse_stands_for_the_judges_parse_of_the_original() -> None:
    # The worker hands the judge the tree the analysis parsed; it must count what a fresh parse counts.
    from scanner.migrate import syntax
    from scanner.parse import parse_source

    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted((Path(__file__).parent / "fixtures" / "scan").glob("*.ps1"))]
    texts.append("function f {\n  Send-MailMessage -To (\n")  # a MISSING node and an ERROR
    unclean = 0
    for text in texts:
        fresh = len(syntax.parse_problems(text))
        syntax._COUNTS.clear()
        syntax.remember_parse(text, parse_source(text).tree)
        assert syntax._COUNTS[text] == fresh, text[:80]
        unclean += fresh > 0
    assert unclean >= 2  # the comparison covered texts with problems, not only clean ones


def test_a_patch_parsed_incrementally_counts_what_a_fresh_parse_counts() -> None:
    # The judge re-parses a patch from the original's tree (only what the edits touched): for edits that
    # break the script, mend it, add lines, non-ASCII text and a BOM, the count must be a fresh parse's.
    import random

    from scanner.migrate import syntax
    from scanner.parse import parse_source

    pieces = ["'", '"', "{", "}", "(", ")", "@'\n", "\n'@", "\n", "#", "<#", "#>", "$(", "é€", "Send-Graph -To $x\n",
              "Import-Module Smtp2Graph\n", "", "`\n", "function g { param($a) }\n", "begin {"]
    files = sorted((Path(__file__).parent / "fixtures" / "scan").glob("*.ps1"))[:40]
    rng = random.Random(7)
    incremental = broke = 0
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        syntax._COUNTS.clear()
        syntax._LINEAGE.clear()
        syntax.remember_parse(text, parse_source(text).tree)
        for _ in range(8):
            points = sorted(rng.sample(range(len(text) + 1), min(len(text) + 1, rng.randint(1, 4))), reverse=True)
            applied, patched, untouched = [], text, len(text)
            for start in points:
                end = min(untouched, start + rng.randint(0, 12))
                replacement = rng.choice(pieces)
                patched = patched[:start] + replacement + patched[end:]
                applied.append((start, end, replacement))
                untouched = start
            if rng.random() < 0.2:
                patched, applied = "\ufeff" + patched, [*applied, (0, 0, "\ufeff")]
            syntax.remember_edits(text, applied, patched)
            known = syntax._incremental_count(patched)
            if patched == text:
                continue
            fresh = len(syntax.parse_problems(patched))
            assert known is None or (known == 0 and fresh == 0), (path.name, applied)  # clean only when a fresh parse is
            assert syntax.problem_count(patched) == fresh
            incremental += known == 0
            broke += fresh > len(syntax.parse_problems(text))
    assert incremental >= 30 and broke >= 20  # clean and broken patches were both compared


def test_a_patch_whose_lineage_is_not_right_to_left_is_parsed_whole() -> None:
    from scanner.migrate import syntax
    from scanner.parse import parse_source

    text = "Send-MailMessage -To a@contoso.com -Subject 'x'\n"
    syntax.remember_parse(text, parse_source(text).tree)
    patched = "Send-Graph -To a@contoso.com -Subject 'y'\n"
    syntax.remember_edits(text, [(0, 16, "Send-Graph"), (40, 43, "'y'")], patched)  # left to right: not followed
    assert syntax._incremental_count(patched) is None
    assert syntax.problem_count(patched) == 0


def test_pwsh_runs_without_call_counting_unless_the_caller_says_otherwise() -> None:
    from scanner.powershell import helper_environment

    env = helper_environment({"PATH": "/bin"})
    assert env["DOTNET_TC_CallCounting"] == "0" and env["POWERSHELL_TELEMETRY_OPTOUT"] == "1" and env["PATH"] == "/bin"
    assert helper_environment({"DOTNET_TC_CallCounting": "1"})["DOTNET_TC_CallCounting"] == "1"


@pytest.mark.pwsh
def test_the_pwsh_smtp2graph_starts_gets_that_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOTNET_TC_CallCounting", raising=False)
    run = run_pwsh("[Console]::Out.Write(\"[$env:DOTNET_TC_CallCounting]\")")
    assert run.returncode == 0 and run.stdout == "[0]"
    run = run_pwsh("[Console]::Out.Write(\"[$env:DOTNET_TC_CallCounting]\")", env=dict(os.environ, DOTNET_TC_CallCounting="1"))
    assert run.stdout == "[1]"
