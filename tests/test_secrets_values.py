"""The value registry and the redactor: what counts as a secret value, and how it is masked everywhere."""

from __future__ import annotations

import base64
from pathlib import Path

from scanner.findings import file_secret_values
from scanner.check import analyze_script
from scanner.ruleconfig import RuleConfig
from scanner.redact import MASK, Redactor, SecretRegistry
from scanner.script import Script
from scanner.secrets import secret_values


def values(text: str) -> set[str]:
    return secret_values(Script(text, "t.ps1"))


def test_environment_reads_are_not_secrets() -> None:
    found = values("$pw = ConvertTo-SecureString $env:SMTP_PASSWORD -AsPlainText -Force\n$c = New-Object PSCredential('u', $pw)\n")
    assert found == set()


def test_known_part_of_a_partly_dynamic_secret_is_registered() -> None:
    found = values("$plain = 'Prefix-2024-' + $env:SUFFIX\n$pw = ConvertTo-SecureString $plain -AsPlainText -Force\n")
    assert "Prefix-2024-" in found
    assert not any("SUFFIX" in v for v in found)


def test_escaped_literals_are_registered_as_written_too() -> None:
    found = values("$pw = ConvertTo-SecureString 'it''s-a-secret' -AsPlainText -Force\n")
    assert {"it's-a-secret", "it''s-a-secret"} <= found


def test_user_names_and_addresses_are_not_secrets() -> None:
    found = values("$c = New-Object System.Net.NetworkCredential('alerts@contoso.com', 'Pa55-word-x')\n")
    assert found == {"Pa55-word-x"}


def test_a_value_reused_anywhere_is_masked_with_its_base64_forms() -> None:
    registry = SecretRegistry({"Pa55-word-x"})
    b64 = base64.b64encode(b"Pa55-word-x").decode()
    text = f"Subject 'Pa55-word-x' # Pa55-word-x, {b64}"
    assert registry.redact(text) == f"Subject '{MASK}' # {MASK}, {MASK}"


def test_overlapping_values_are_masked_as_one_stretch() -> None:
    redactor = Redactor({"abc1ef", "ef2ghi", "x-z"})
    assert redactor.redact("--abc1ef2ghi--x-z--") == f"--{MASK}--{MASK}--"
    assert not redactor.leaks(redactor.redact("abc1ef ef2ghi"))


def test_a_plain_word_value_is_masked_as_a_whole_word_and_only_quoted_in_the_tools_sentences() -> None:
    redactor = Redactor({"password", "Pa55-x"})
    assert redactor.redact("$c = 'password'; passwords; xPa55-xy") == f"$c = '{MASK}'; passwords; x{MASK}y"
    assert redactor.redact("Authenticates with a password; subject 'password'", prose=True) == f"Authenticates with a password; subject '{MASK}'"


def test_short_values_are_not_registered() -> None:
    assert SecretRegistry({"ab", "", "\n"}).values == set()


def test_redact_tree_keeps_enums_and_paths() -> None:
    from scanner.model import Location, RelatedLocation, Severity

    redactor = Redactor({"Pa55-word-x"})
    data = {"severity": Severity.HIGH, "where": Location("a/Pa55-word-x.ps1", 1, 1, 1, 1), "items": ["x Pa55-word-x", 3]}
    out = redactor.redact_tree(data)
    assert out["severity"] is Severity.HIGH
    assert out["where"].path == "a/Pa55-word-x.ps1"  # paths are the user's own names: never rewritten
    assert out["items"] == [f"x {MASK}", 3]
    assert redactor.redact_tree(RelatedLocation("Pa55-word-x.ps1", 1, 1, "call-site")).path == "Pa55-word-x.ps1"


def test_variables_feeding_each_other_do_not_explode() -> None:
    """Found by bench/fuzz_mutation.py: chains of multiply-assigned variables branched exponentially."""
    lines = ["$v0 = 'Base-secret-1'"]
    for i in range(1, 40):
        lines += [f"$v{i} = $v{i - 1} + $v{i - 1}", f"$v{i} = $v{i - 1} + 'x'", f"$v{i} = \"$v{i - 1}$v{i - 1}\""]
    lines.append("$pw = ConvertTo-SecureString $v39 -AsPlainText -Force")
    found = values("\n".join(lines) + "\n")
    assert "Base-secret-1" in "".join(found)


def test_a_self_referencing_variable_stops() -> None:
    found = values("$p = 'Start-secret'\n$p = $p + $p\n$pw = ConvertTo-SecureString $p -AsPlainText -Force\n")
    assert "Start-secret" in found


def test_assignment_at_the_very_end_of_a_file() -> None:
    """Found by bench/fuzz_mutation.py: `$x =` as the last characters raised IndexError."""
    text = "Invoke-RestMethod -Uri https://login.microsoftonline.com/x/oauth2/v2.0/token -Body $b\n$token ="
    script = Script(text, "t.ps1")
    analysis = analyze_script(script, RuleConfig())
    # The token request is read, the dangling assignment holds no literal: nothing to report, nothing to mask.
    assert analysis.findings == [] and analysis.unused_suppressions == []
    assert file_secret_values(script) == set()


def test_every_reported_secret_literal_is_registered() -> None:
    text = (
        "$password = 'Literal-pass-1'\n"
        "$c = New-Object Net.Mail.SmtpClient('smtp.office365.com', 587)\n"
        "$c.Credentials = New-Object System.Net.NetworkCredential('a@contoso.com', $password)\n$c.Send($m)\n"
    )
    script = Script(text, "t.ps1")
    analysis = analyze_script(script, RuleConfig())
    assert any(f.rule.startswith("SEC") for f in analysis.findings)
    assert "Literal-pass-1" in file_secret_values(script)
    for finding in analysis.findings:
        assert "Literal-pass-1" not in finding.snippet + "\n".join(finding.context_lines) + finding.message


def _config_values(root: Path, script_text: str) -> set[str]:
    (root / "job.ps1").write_text(script_text, encoding="utf-8")
    script = Script(script_text, "job.ps1")
    script.root = root
    return secret_values(script)


def test_a_sink_argument_read_from_a_configuration_file_registers_the_files_value(tmp_path: Path) -> None:
    """$cfg.Pass (ConvertFrom-Json), $ini['password'] (ConvertFrom-StringData), a .psd1 key: the resolver's value."""
    (tmp_path / "m.json").write_text('{"Relay": "smtp.office365.com", "User": "a@contoso.com", "Pass": "KxJsonPassQ9"}', encoding="utf-8")
    (tmp_path / "m.ini").write_text("relay=smtp.office365.com\nuser=a@contoso.com\npassword=KxIniPassQ9\n", encoding="utf-8")
    (tmp_path / "m.psd1").write_text("@{ Relay = 'smtp.office365.com'; Secret = 'KxPsd1PassQ9' }\n", encoding="utf-8")
    found = _config_values(
        tmp_path,
        "$cfg = Get-Content \"$PSScriptRoot\\m.json\" -Raw | ConvertFrom-Json\n"
        "$sec = ConvertTo-SecureString $cfg.Pass -AsPlainText -Force\n"
        "$ini = ConvertFrom-StringData (Get-Content \"$PSScriptRoot\\m.ini\" -Raw)\n"
        "$c2 = New-Object System.Net.NetworkCredential($ini['user'], $ini['password'])\n"
        "$data = Import-PowerShellDataFile \"$PSScriptRoot\\m.psd1\"\n"
        "$c3 = [pscredential]::new('a@contoso.com', (ConvertTo-SecureString -String $data.Secret -AsPlainText -Force))\n"
        "Send-MailMessage -To b@contoso.com -From a@contoso.com -Subject $cfg.Pass -SmtpServer $cfg.Relay -UseSsl -Credential $c3\n",
    )
    assert {"KxJsonPassQ9", "KxIniPassQ9", "KxPsd1PassQ9"} <= found
    # Values the sinks do not read stay readable (the relay, the user name).
    assert "smtp.office365.com" not in found and "a@contoso.com" not in found


def test_a_configuration_file_missing_or_without_a_root_registers_nothing_and_does_not_fail(tmp_path: Path) -> None:
    text = "$cfg = Get-Content \"$PSScriptRoot\\absent.json\" -Raw | ConvertFrom-Json\n$sec = ConvertTo-SecureString $cfg.Pass -AsPlainText -Force\n"
    assert _config_values(tmp_path, text) == set()
    assert values(text) == set()
