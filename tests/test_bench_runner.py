"""The benchmark runner's measuring helpers (bench/run.py): memory polling, recall check, verdicts, baselines."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


run = _load("run")
gen = sys.modules["gen_corpus"]  # run.py imports the generator from bench/ by name

linux_proc = pytest.mark.skipif(not Path("/proc/self/smaps_rollup").exists(), reason="needs Linux /proc smaps_rollup")


@linux_proc
def test_run_once_sees_memory_held_by_a_grandchild() -> None:
    """The tree poll must count worker processes, not just the process it started."""
    child = (
        "import subprocess, sys\n"
        "code = 'import time; b = bytearray(120 * 1024 * 1024); b[::4096] = b\"x\" * len(b[::4096]); time.sleep(0.6)'\n"
        "subprocess.run([sys.executable, '-c', code], check=True)\n"
    )
    m = run.run_once([sys.executable, "-c", child], ok_codes=(0,), poll_memory=True)
    assert m.exit_code == 0 and m.seconds >= 0.6
    assert m.peak_tree_rss_mb is not None and m.peak_tree_rss_mb >= 120
    assert m.peak_tree_pss_mb is not None and m.peak_tree_pss_mb >= 110
    # The memory sits in the grandchild, not in the process we started.
    assert m.peak_child_rss_mb is not None and m.peak_child_rss_mb >= 120
    assert m.peak_main_rss_mb is not None and m.peak_main_rss_mb < 60


def test_run_once_raises_with_stderr_on_an_unexpected_exit_code() -> None:
    with pytest.raises(run.CommandFailed, match="exited 3:\nboom"):
        run.run_once([sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"], ok_codes=(0, 1))
    assert run.run_once([sys.executable, "-c", "raise SystemExit(1)"], ok_codes=(0, 1)).exit_code == 1


def test_recall_summary_counts_found_missed_and_extra_files(tmp_path: Path) -> None:
    records = gen.generate(tmp_path / "c", gen.CorpusSpec(size_mb=0.3, files=100, seed=5))
    mail = [r.path for r in records if r.sends_mail and not r.ignored]
    quiet = next(r.path for r in records if not r.sends_mail and not r.ignored)
    report = tmp_path / "r.json"
    report.write_text(json.dumps({
        "files_scanned": 99, "errors": [],
        "findings": [{"path": p} for p in mail[1:]] + [{"path": quiet}],
    }), encoding="utf-8")
    line = run.recall_summary(report, records)
    assert line.startswith(f"recall: {len(mail) - 1}/{len(mail)} mail-sending files have a finding; 1 files without")
    assert f"missed e.g. {mail[0]}" in line
    assert "could not read" in run.recall_summary(tmp_path / "absent.json", records)


def test_verdicts_mark_pass_and_say_by_how_much_a_target_is_missed() -> None:
    assert run.at_most("cold", 2.5, 3.0).passed
    missed = run.at_most("cold", 4.5, 3.0)
    assert not missed.passed and "over by 50%" in missed.line() and "[MISS]" in missed.line()
    assert run.at_least("speed-up", 1.9, 1.8).passed
    short = run.at_least("speed-up", 1.35, 1.8)
    assert not short.passed and "short by 25%" in short.line()


def test_baselines_find_exactly_the_files_matching_the_pattern(tmp_path: Path) -> None:
    root = tmp_path / "c"
    records = gen.generate(root, gen.CorpusSpec(size_mb=0.3, files=150, seed=9))
    expected = sum((r.sends_mail or r.mentions_api) and not r.ignored for r in records)
    out = subprocess.run(run.python_grep_command(run.FALLBACK_TOKENS, root), capture_output=True, text=True,
                         check=True).stdout
    assert int(out) == expected  # UTF-16 files included
    rg = run.rg_command(run.FALLBACK_TOKENS, root)
    if rg is None:
        pytest.skip("ripgrep (rg) is not installed")
    hits = subprocess.run(rg, capture_output=True, text=True).stdout.split()
    assert len(hits) == expected  # .gitignore honoured without a git repository, UTF-16 transcoded


def test_markdown_tables_quote_medians_memory_and_verdicts() -> None:
    def series(*walls: float) -> dict:
        return {"runs": [{"seconds": w, "cpu_seconds": 2 * w, "load_before": 0.5} for w in walls]}

    results = {
        "revision": "abc1234", "machine": "test box",
        "big": {"rg": series(0.3, 0.2, 0.4), "cold": series(3.0, 1.0, 2.0)},
        "memory": {"small": {"peak_tree_rss_mb": 100.0, "peak_tree_pss_mb": 60.0, "peak_main_rss_mb": 40.0,
                             "peak_child_rss_mb": 30.0}},
        "verdicts": [vars(run.at_most("cold scan / rg -il", 2.0 / 0.3, 3.0))],
    }
    text = run.markdown_tables(results)
    assert "Scanner revision `abc1234`; test box." in text
    assert "| rg, big corpus | 0.30 s | 0.60 s | 0.30 0.20 0.40 | 0.5–0.5 |" in text
    assert "| cold, big corpus | 2.00 s | 4.00 s | 3.00 1.00 2.00 | 0.5–0.5 |" in text
    assert "| small corpus | 100.0 MB | 60.0 MB | 40.0 MB | 30.0 MB |" in text
    assert "| cold scan / rg -il <= 3x | 6.67x  -> over by 122% | **MISS** |" in text


def test_public_corpus_and_scaling_tables_and_the_mail_subset(tmp_path: Path) -> None:
    def series(*walls: float) -> dict:
        return {"runs": [{"seconds": w, "cpu_seconds": w, "load_before": 0.1} for w in walls]}

    results = {
        "revision": "abc1234", "machine": "test box",
        "public": {"public": {"rg -ilF (ripgrep)": series(0.03, 0.04, 0.05)},
                   "public-mail": {"raw tree-sitter parse (1 process)": series(0.4, 0.5, 0.6)},
                   "memory": {"peak_tree_rss_mb": 120.0, "peak_tree_pss_mb": 70.0, "peak_main_rss_mb": 45.0,
                              "peak_child_rss_mb": 40.0}},
        "scaling": {"1": {"seconds": 10.0, "cpu_seconds": 10.0, "load_before": 0.1},
                    "2": {"seconds": 5.0, "cpu_seconds": 10.2, "load_before": 0.1}},
        "verdicts": [vars(run.at_most("cold scan / rg -il", 2.0, 3.0))],
        "public_verdicts": [vars(run.at_least("mail files: speed-up --jobs 2 vs --jobs 1", 1.5, 1.8))],
    }
    text = run.markdown_tables(results)
    assert "| rg -ilF (ripgrep), all files | 0.04 s | 0.04 s | 0.03 0.04 0.05 | 0.1–0.1 |" in text
    assert "| raw tree-sitter parse (1 process), files the prefilter passes | 0.50 s |" in text
    assert "| 2 | 5.00 s | 10.20 s | 2.00x | 0.1 |" in text
    assert "| Target (synthetic estate) | Measured | Verdict |" in text
    assert "| Target (public corpus) | Measured | Verdict |" in text
    assert "| mail files: speed-up --jobs 2 vs --jobs 1 >= 1.8x | 1.50x  -> short by 17% | **MISS** |" in text

    public = tmp_path / "public" / "owner__repo"
    public.mkdir(parents=True)
    (public / "mail.ps1").write_text("Send-MailMessage -To a@b.c -SmtpServer s\n", encoding="utf-8")
    (public / "other.ps1").write_text("Get-ChildItem\n", encoding="utf-8")
    (public / "README.md").write_text("Send-MailMessage\n", encoding="utf-8")
    subset, total, kept = run.public_mail_subset(tmp_path / "public", tmp_path / "work")
    assert (total, kept) == (2, 1)
    assert [p.relative_to(subset).as_posix() for p in subset.rglob("*") if p.is_file()] == ["owner__repo/mail.ps1"]


def test_the_wrapper_record_benchmark_runs_on_a_small_tree(tmp_path: Path) -> None:
    """bench/wrapper_record.py (issue 16 item 2's measurement) prints both comparisons."""
    import subprocess
    import sys

    (tmp_path / "lib.ps1").write_text("function Send-Report($To) { Send-MailMessage -To $To -From a@b.c -Subject s -SmtpServer mail.example.com }\n")
    (tmp_path / "job.ps1").write_text("# nightly\nSend-Report -To ops@example.com\nGet-Date\n")
    (tmp_path / "other.ps1").write_text("Write-Host 'no mail here'\n")
    out = subprocess.run([sys.executable, "bench/wrapper_record.py", str(tmp_path), "--runs", "1"], capture_output=True, text=True, check=True).stdout
    assert "3 files, 1 pass the mail prefilter, 2 do not" in out
    assert "1 wrapper names" in out
    assert "now: second pass" in out and "record in pass 1: every word" in out
    assert "the whole wrapper pass of a --jobs 1 scan" in out


def test_the_stage_timer_runs_and_sums_the_analysis(tmp_path: Path) -> None:
    """bench/stages.py times each stage of the analysis directly and prints the full analysis last."""
    import subprocess
    import sys

    (tmp_path / "a.ps1").write_text("$p = ConvertTo-SecureString 'x1y2z3' -AsPlainText -Force\nSend-MailMessage -To a@b.c -From c@d.e -Subject s -SmtpServer smtp.office365.com -Port 587 -UseSsl\n")
    (tmp_path / "b.ps1").write_text("$c = New-Object Net.Mail.SmtpClient('smtp.office365.com', 587)\n$c.Send('a@b.c', 'c@d.e', 's', 'b')\n")
    out = subprocess.run([sys.executable, "bench/stages.py", str(tmp_path), "--runs", "1"], capture_output=True, text=True, check=True).stdout
    assert "2 files pass the prefilter" in out
    for stage in ("parse (tree-sitter)", "structure (masking lexer", "recognizer send-mailmessage", "recognizer smtpclient", "secrets (find_secrets)", "= analyze_script in full"):
        assert stage in out, stage
    assert out.rstrip().splitlines()[-1].endswith("= analyze_script in full")
