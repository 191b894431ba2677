"""The value registry and the redactor: what counts as a secret value, and how it is masked everywhere."""

from __future__ import annotations

import base64

from scanner.engine import RuleConfig, analyze_script, file_secret_values
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
    analysis = analyze_script(Script(text, "t.ps1"), RuleConfig())
    assert analysis is not None


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
