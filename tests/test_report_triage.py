"""Triage first: the terminal, concise and GitHub views of an estate, owners, repositories and due dates."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner.cli import app
from scanner.reports.annotations import escape_data, escape_property, format_github
from scanner.reports.model import Triage
from scanner.reports.builder import finding_triage, merge_documents

FIXTURES = Path(__file__).parent / "fixtures" / "reports"
sys.path.insert(0, str(FIXTURES))
from estate import make_estate  # noqa: E402

runner = CliRunner()
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is needed for the blame owner source")


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_estate(tmp_path_factory.mktemp("estate"))


def scan(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["scan", *args, "--no-cache", "--jobs", "1"])
    return result.exit_code, result.stdout, result.stderr


def scan_json(estate: Path, *args: str) -> dict:
    code, out, _ = scan(str(estate), "--format", "json", *args)
    assert code in (0, 1)
    return json.loads(out)


@needs_git
def test_owner_sources_in_order_codeowners_config_blame(estate: Path) -> None:
    owners = {f["path"]: (f["owner"], f["owner_source"]) for f in scan_json(estate)["findings"]}
    assert owners == {
        "billing/jobs/Send-Invoice.ps1": ("@contoso/billing-team", "CODEOWNERS"),  # billing/.github/CODEOWNERS
        "billing/Notify.ps1": ("robin@contoso.com", "git-blame"),  # the last author of the call's line
        "hr-tools/Welcome.ps1": ("hr@contoso.com", "config"),  # .smtp2graph.toml [owners]
        "hr-tools/Scan.ps1": ("hr@contoso.com", "config"),
        "misc/Old.ps1": (None, "none"),  # no git, no CODEOWNERS, no glob: nobody is invented
    }


def test_a_folder_of_repositories_is_that_many_repositories(estate: Path) -> None:
    document = scan_json(estate, "--no-blame")
    assert [(r["name"], r["kind"], r["files_scanned"]) for r in document["repositories"]] == [
        ("billing", "git", 2), ("hr-tools", "folder", 2), ("misc", "folder", 1)]
    paths = {f["path"]: (f["repository"], f["repository_path"]) for f in document["findings"]}
    assert paths["billing/jobs/Send-Invoice.ps1"] == ("billing", "jobs/Send-Invoice.ps1")
    report = merge_documents([document])
    assert [r.name for r in report.repositories] == ["billing", "hr-tools", "misc"]
    assert sum(r.files_scanned for r in report.repositories) == document["files_scanned"] == 5


def test_due_date_is_the_cut_over_or_the_deadline(estate: Path) -> None:
    assert {f["due"] for f in scan_json(estate, "--no-blame")["findings"]} == {"2026-12-31"}
    document = scan_json(estate, "--no-blame", "--deadline", "2026-11-30")
    assert document["deadline"] == "2026-11-30" and {f["due"] for f in document["findings"]} == {"2026-11-30"}
    code, _, err = scan(str(estate), "--deadline", "next friday")
    assert code == 2 and err.startswith("smtp2graph: error: --deadline 'next friday': expected a date")


@needs_git
def test_filter_by_owner_and_repository(estate: Path) -> None:
    by_owner = scan_json(estate, "--owner", "hr@contoso.com")["findings"]
    assert sorted(f["path"] for f in by_owner) == ["hr-tools/Scan.ps1", "hr-tools/Welcome.ps1"]
    unowned = scan_json(estate, "--owner", "none")["findings"]
    assert [f["path"] for f in unowned] == ["misc/Old.ps1"]
    by_repo = scan_json(estate, "--repository", "billing")["findings"]
    assert sorted(f["path"] for f in by_repo) == ["billing/Notify.ps1", "billing/jobs/Send-Invoice.ps1"]


@needs_git
def test_terminal_leads_with_triage_lists_breaking_first_and_ends_with_the_fix_count(estate: Path) -> None:
    code, out, err = scan(str(estate))
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "smtp2graph: 3 repositories, 5 files scanned, 5 findings"
    assert lines[1].startswith("  Due 2026-12-31 (")
    counts = {line.split("  ")[1].strip(): line for line in lines[2:8]}
    assert [label for label in counts] == ["Will break", "May break (verdict unknown)", "Already broken",
                                           "Not affected", "Already on Graph", "Secrets found"]
    assert "2  in 2 scripts" in counts["Will break"] and "2  in 2 scripts" in counts["May break (verdict unknown)"]
    # The first finding listed is a breaking call; may-break comes after every breaking call, the relay last.
    finding_lines = [line for line in lines if line.startswith("  ") and ".ps1:" in line]
    order = [line.split()[0].split(str(estate) + "/")[1] for line in finding_lines]
    assert order == ["billing/jobs/Send-Invoice.ps1:2:1", "hr-tools/Welcome.ps1:2:1", "billing/Notify.ps1:3:1",
                     "misc/Old.ps1:3:1", "hr-tools/Scan.ps1:1:1"]
    assert lines.index("1. Breaking, with a safe automatic fix: run `smtp2graph fix` (2)") < 12
    assert lines[-1] == "2 of these are fixed by `smtp2graph fix` (2 more with --unsafe-fixes)"
    by_owner = lines[lines.index("By owner (most breaking calls first)") + 1:]
    assert by_owner[0].split()[0] == "@contoso/billing-team" and by_owner[0].endswith("(CODEOWNERS)")
    assert any(line.split()[0] == "robin@contoso.com" and line.endswith("(git blame)") for line in by_owner)


def test_terminal_fits_a_narrow_terminal() -> None:
    """On an 80-column terminal every line fits: location and rule first, the message wrapped below it (whole)."""
    from scanner.reports.builder import merge_documents as merge
    from scanner.reports.terminal import format_report_terminal

    document = json.loads((FIXTURES / "scan-ops.json").read_text(encoding="utf-8"))
    text = format_report_terminal(merge([document]), width=80, color=False, truncate=True)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    first = next(i for i, line in enumerate(lines) if line.startswith("  ") and ".ps1:" in line)
    assert lines[first].split()[0] == "ops-scripts/reports/Nightly-Report.ps1:8:1"
    assert lines[first + 1].startswith("    ") and lines[first + 2].startswith("    ") and "…" not in text
    assert first < 12  # the first breaking call is on the first screen


def test_terminal_group_by_owner(estate: Path) -> None:
    code, out, _ = scan(str(estate), "--group-by", "owner", "--no-blame")
    headers = [line.split("  ")[0] for line in out.splitlines() if line and not line.startswith(" ") and "will break," in line]
    # Most breaking calls first, then most may-break, then by name.
    assert headers == ["@contoso/billing-team", "hr@contoso.com", "(no owner)"]


def test_summary_line_counts_unknown_as_may_break(estate: Path) -> None:
    code, _, err = scan(str(estate), "--format", "json", "--no-blame")
    assert "2 script(s) break when basic auth is disabled, 2 more may break (verdict unknown)" in err


def test_unknown_verdict_is_never_fine() -> None:
    legacy_unknown = {"rule": "SMTP001", "call": {"api": "send-mailmessage"}, "assessment": {"breaks": None, "server": "unknown"}}
    no_assessment = {"rule": "SMTP004", "call": {"api": "cdo"}, "assessment": None}
    assert finding_triage(legacy_unknown) is Triage.MAY_BREAK
    assert finding_triage(no_assessment) is Triage.MAY_BREAK
    consumer = {"rule": "SMTP001", "assessment": {"breaks": True, "server": "outlook-consumer"}}
    assert finding_triage(consumer) is Triage.ALREADY_BROKEN
    removed = {"rule": "SMTP001", "assessment": {"breaks": True, "server": "other-relay", "outcome": "consumer-basic-auth-removed"}}
    assert finding_triage(removed) is Triage.ALREADY_BROKEN


def test_concise_is_one_unwrapped_line_per_finding(estate: Path) -> None:
    code, out, _ = scan(str(estate), "--format", "concise", "--no-blame")
    lines = out.splitlines()
    assert len(lines) == 5
    first = lines[0]
    assert first.startswith(f"{estate.as_posix()}/billing/jobs/Send-Invoice.ps1:2:1: SMTP001 high [will break] Send-MailMessage:")
    assert len(first) > 120  # CliRunner is not a terminal: nothing is cut or wrapped
    assert lines[2].split(": ", 1)[1].startswith("SMTP001 medium [may break]")


def test_concise_paths_are_relative_when_the_root_is(estate: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(estate.parent)
    code, out, _ = scan(estate.name, "--format", "concise", "--no-blame")
    assert out.splitlines()[0].startswith(f"{estate.name}/billing/jobs/Send-Invoice.ps1:2:1: SMTP001 high")


def test_github_annotations_are_escaped(estate: Path) -> None:
    code, out, _ = scan(str(estate), "--format", "github", "--no-blame")
    lines = out.splitlines()
    assert len(lines) == 5
    assert lines[0].startswith(f"::error file={estate.as_posix()}/billing/jobs/Send-Invoice.ps1,line=2,col=1,endLine=2,"
                               "title=SMTP001 send-mailmessage (will break)::Send-MailMessage: Authenticates")
    assert lines[2].startswith("::warning ")  # may break
    assert lines[4].startswith("::notice ")  # not affected
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_github_hostile_path_and_message_stay_one_command() -> None:
    document = json.loads((FIXTURES / "scan-xss.json").read_text(encoding="utf-8"))
    document["findings"][0]["message"] = "line one\n::error file=x.ps1::injected\x1b[31m"
    document["findings"][0]["path"] = "a,b:c\nd.ps1"
    text = format_github(merge_documents([document]))
    assert len(text.splitlines()) == len(document["findings"])
    assert "file=evil<b>repo<%2Fb>" not in text
    assert "%0A::error file%3Dx.ps1" not in text and "line one%0A::error file=x.ps1::injected\\x1b[31m" in text
    assert "a%2Cb%3Ac%0Ad.ps1" in text


def test_no_powershell_file_is_said_on_stderr(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("nothing here", encoding="utf-8")
    code, out, err = scan(str(tmp_path), "--format", "json")
    assert code == 0
    assert f"smtp2graph: warning: no PowerShell file (.ps1, .psm1, .psd1) found under {tmp_path}" in err
