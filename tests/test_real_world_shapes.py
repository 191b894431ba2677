"""Shapes met in public scripts that once fooled the scanner (written anew for the tests)."""

from __future__ import annotations

from scanner.check import analyze_script
from scanner.ruleconfig import RuleConfig
from scanner.script import Script
from scanner.secrets import find_secrets

CDO_LOOP = """
function Read-Eml($Path) {
    $stream = New-Object -ComObject ADODB.Stream
    $stream.Open(); $stream.LoadFromFile($Path)
    $eml = New-Object -ComObject CDO.Message
    $eml.DataSource.OpenObject($stream, '_Stream')
    return $eml
}
$mailServer = "smtp.office365.com"
$email = New-Object -ComObject CDO.Message
$email.From = "alerts@contoso.com"
$email.To = "ops@contoso.com"
$schema = "http://schemas.microsoft.com/cdo/configuration/"
$settings = @{
    "sendusing" = 2
    "smtpserver" = $mailServer
    "smtpserverport" = 587
    "smtpauthenticate" = 1
    "sendusername" = "alerts@contoso.com"
    "sendpassword" = $mailPass
}
foreach ($key in $settings.Keys) {
    $email.Configuration.Fields.Item($schema + $key) = $settings[$key]
}
$email.Configuration.Fields.Update()
$email.Send()
"""


def test_cdo_configured_through_a_settings_hashtable_loop() -> None:
    findings = [f for f in analyze_script(Script(CDO_LOOP, "cdo.ps1"), RuleConfig()).findings if f.rule == "SMTP004"]
    assert [f.location.line for f in findings] == [26], "the .eml reader is not a sender; the loop-configured message is"
    (finding,) = findings
    assert finding.call is not None
    assert finding.call.static_text("SmtpServer") == "smtp.office365.com"
    assert finding.assessment is not None and finding.assessment.breaks is True
    assert finding.severity.value == "high"


def test_short_password_variable_names_are_secrets_but_words_ending_in_pass_are_not() -> None:
    text = (
        '$smtpPass = "a1"\n$mailPw = "a2"\n$pass = "a3"\n$mail_pass = "a4"\n'
        '$PassThru = "no"\n$bypass = "no"\n$compass = "north"\n'
    )
    assert [text[s.start : s.end] for s in find_secrets(Script(text, "s.ps1"))] == ['"a1"', '"a2"', '"a3"', '"a4"']


def test_pnp_graph_method_is_already_on_graph() -> None:
    text = (
        "$payload = @{ message = $message; saveToSentItems = $true } | ConvertTo-Json -Depth 10\n"
        "$null = Invoke-PnPGraphMethod -Url \"users/$senderId/sendMail\" -Method Post -Content $payload -ContentType 'application/json'\n"
        "Invoke-PnPGraphMethod -Url 'sites/root' -Method Get\n"
    )
    findings = analyze_script(Script(text, "pnp.ps1"), RuleConfig()).findings
    assert [(f.rule, f.location.line) for f in findings] == [("GRAPH001", 2)]
    assert findings[0].call is not None and findings[0].call.api.value == "graph-sendmail"
