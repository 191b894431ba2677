"""The cache's dataclass <-> JSON conversion round-trips every finding and refuses foreign data."""

from __future__ import annotations

import json

import pytest

from scanner.estate.worker import FileOutcome
from scanner.estate.wrappers import file_wrappers
from scanner.check import analyze_script
from scanner.ruleconfig import RuleConfig
from scanner.script import Script
from scanner.serialize import from_data, to_data

SCRIPT = (
    "$p = @{ To = 'a@contoso.com','b@contoso.com'; Port = 587; UseSsl = $true }\n"
    "if ($x) { $p['Cc'] = 'c@contoso.com' }\n"
    "Send-MailMessage @p -From me@contoso.com -SmtpServer smtp.office365.com -Credential $c\n"
    "$s = New-Object Net.Mail.SmtpClient('relay.local')\n$s.Send('a@b.c', 'd@e.f', 's', 'b')\n"
)


def test_round_trip_of_real_findings() -> None:
    script = Script(SCRIPT, "x.ps1")
    analysis = analyze_script(script, RuleConfig())
    outcome = FileOutcome("x.ps1", analysis.findings, analysis.unused_suppressions, None, file_wrappers(script, analysis.findings), "k", (1, 2, 3))
    data = json.loads(json.dumps(to_data(outcome)))
    assert from_data(FileOutcome, data) == outcome
    assert analysis.findings and analysis.findings[0].call is not None


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(rel=5),
        lambda d: d.update(findings="nope"),
        lambda d: d["findings"][0].update(severity="catastrophic"),
        lambda d: d["findings"][0].pop("rule"),
        lambda d: d.update(stat=[1, 2]),
        lambda d: d["findings"][0]["call"]["params"]["To"].update(value={"a": 1}),
    ],
)
def test_foreign_data_is_refused(mutate) -> None:  # type: ignore[no-untyped-def]
    analysis = analyze_script(Script(SCRIPT, "x.ps1"), RuleConfig())
    data = json.loads(json.dumps(to_data(FileOutcome("x.ps1", analysis.findings))))
    mutate(data)
    with pytest.raises((TypeError, ValueError, KeyError)):
        from_data(FileOutcome, data)
