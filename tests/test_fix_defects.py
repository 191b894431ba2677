"""Migration defects found on real code (issue 11): code that runs elsewhere, signed scripts, credentials,
inline snippets' addresses / defaults / importance, and what the inline style must refuse."""

from __future__ import annotations

import json

import pytest

from scanner.check import calls_in_text
from scanner.migrate.mapping import map_call
from scanner.migrate.patch import PatchedText, patch_text
from scanner.migrate.placement import IMPORT_LINE
from scanner.migrate.safety import FixStyle
from scanner.migrate.snippets import _RECIPIENT_HELPER, message_lines
from scanner.model import FixApplicability
from scanner.powershell import run_pwsh

SEND = "Send-MailMessage -To 'ops@contoso.com' -From 'svc@contoso.com' -Subject 'hi' -SmtpServer smtp.office365.com -UseSsl"


def patch(text: str, style: FixStyle = FixStyle.MODULE, unsafe: bool = False) -> PatchedText:
    return patch_text(text, calls_in_text(text, "t.ps1", False), style=style, unsafe_fixes=unsafe)


# --------------------------------------------------------------------------- item 4: code that runs elsewhere


def test_invoke_command_on_another_computer_is_unsafe_and_imports_inside_the_block() -> None:
    text = f"Invoke-Command -ComputerName srv01 -ScriptBlock {{\n    {SEND}\n}}\n"
    fix, = patch(text).fixes
    assert fix.applicability is FixApplicability.UNSAFE
    assert "another computer (Invoke-Command -ComputerName)" in fix.reason and "installed there" in fix.reason
    assert not fix.applied
    applied = patch(text, unsafe=True)
    assert applied.patched == ("Invoke-Command -ComputerName srv01 -ScriptBlock {\n    " + IMPORT_LINE + "\n    "
                               + SEND.replace("Send-MailMessage", "Send-GraphMailMessage") + "\n}\n")


def test_invoke_command_parameters_after_the_block_still_count() -> None:
    text = f"Invoke-Command -ScriptBlock {{ {SEND} }} -Session $session\n"
    fix, = patch(text).fixes
    assert fix.applicability is FixApplicability.UNSAFE and "Invoke-Command -Session" in fix.reason


def test_local_invoke_command_stays_in_the_session_and_uses_the_script_import() -> None:
    text = f"Invoke-Command -ScriptBlock {{ {SEND} }}\n"
    result = patch(text)
    assert result.fixes[0].applied and result.patched.startswith(IMPORT_LINE + "\n")


def test_runspace_script_block_imports_inside_it() -> None:
    text = ("$ps = [powershell]::Create()\n"
            f"$null = $ps.AddScript({{\n    {SEND}\n}})\n"
            "$ps.Invoke()\n")
    result = patch(text)
    assert result.fixes[0].applied
    assert result.patched.index(IMPORT_LINE) > result.patched.index("AddScript({")
    assert not result.patched.startswith(IMPORT_LINE)


def test_script_block_in_a_variable_that_a_job_runs_imports_inside_it() -> None:
    text = f"$work = {{\n    {SEND}\n}}\nStart-ThreadJob -ScriptBlock $work | Wait-Job\n"
    result = patch(text)
    assert result.fixes[0].applied and "Start-ThreadJob" in result.fixes[0].notes[0]
    assert result.patched.startswith("$work = {\n    " + IMPORT_LINE + "\n")


@pytest.mark.pwsh
def test_patched_start_job_finds_the_module_in_the_job(tmp_path: pytest.TempPathFactory) -> None:
    from tests.test_fix_judge import stub_env

    text = f"Start-Job -ScriptBlock {{\n    {SEND}\n}} | Wait-Job | Receive-Job\n"
    result = patch(text)
    run = run_pwsh(result.patched, env=stub_env(tmp_path), timeout=180)  # type: ignore[arg-type]
    assert run.returncode == 0, run.stderr
    assert "graph-sent hi" in run.stdout.splitlines()


@pytest.mark.parametrize("text", [
    f"1..3 | ForEach-Object -Parallel {{\n    {SEND}\n}}\n",
    f"1..2 | ForEach-Object -ThrottleLimit 2 -Parallel {{ {SEND} }}\n",
    f"1..2 | % {{ {SEND} }} -Parallel\n",  # -Parallel after the block still counts
])
def test_a_call_inside_foreach_object_parallel_imports_the_module_inside_the_block(text: str) -> None:
    # Each -Parallel iteration runs in a runspace of its own: the script's Import-Module does not reach it.
    result = patch(text)
    fix, = result.fixes
    assert fix.applied and fix.applicability is FixApplicability.SAFE, fix.reason
    assert "ForEach-Object -Parallel" in fix.notes[0] and "inside that script block" in fix.notes[0]
    assert not result.patched.startswith(IMPORT_LINE)
    block = result.patched[result.patched.index("{"):]
    assert block.index(IMPORT_LINE) < block.index("Send-GraphMailMessage")
    assert result.patched.count(IMPORT_LINE) == 1


def test_a_parallel_block_and_a_top_level_call_each_get_their_import() -> None:
    text = f"1..2 | ForEach-Object -Parallel {{\n    {SEND}\n}}\n{SEND}\n"
    result = patch(text)
    assert all(fix.applied for fix in result.fixes)
    assert result.patched.startswith(IMPORT_LINE + "\n")
    assert result.patched.count(IMPORT_LINE) == 2
    assert "-Parallel {\n    " + IMPORT_LINE + "\n    Send-GraphMailMessage" in result.patched


@pytest.mark.pwsh
def test_patched_foreach_object_parallel_sends_from_every_runspace(tmp_path: pytest.TempPathFactory) -> None:
    from tests.test_fix_judge import stub_env

    # Autoloading off in the runspace: only the Import-Module the patch put in the block can find the command.
    text = (f"1..3 | ForEach-Object -Parallel {{\n    $PSModuleAutoLoadingPreference = 'None'\n"
            f"    Import-Module Microsoft.PowerShell.Utility\n    {SEND}\n}}\n'done'\n")
    result = patch(text)
    run = run_pwsh(result.patched, env=stub_env(tmp_path), timeout=180)  # type: ignore[arg-type]
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines().count("graph-sent hi") == 3 and "done" in run.stdout.splitlines()


# --------------------------------------------------------------------------- item 5: signed scripts

SIGNED = SEND + "\n\n# SIG # Begin signature block\n# MIIFuwYJKoZIhvcNAQcCoIIFrDCCBagCAQExCzAJBgUrDgMCGgUAMGkGCisGAQQB\n# SIG # End signature block\n"


def test_a_signed_script_is_unsafe_and_says_how_to_re_sign() -> None:
    fix, = patch(SIGNED).fixes
    assert fix.applicability is FixApplicability.UNSAFE and not fix.applied
    assert "Authenticode signature" in fix.reason and "invalidates" in fix.reason
    assert "Set-AuthenticodeSignature" in fix.reason
    forced = patch(SIGNED, unsafe=True)
    assert forced.fixes[0].applied and "# SIG # Begin signature block" in forced.patched


# --------------------------------------------------------------------------- item 6: the credential


CREDENTIALED = (
    "$password = 'Summer-2026-Example!'\n"
    "$secure = ConvertTo-SecureString $password -AsPlainText -Force\n"
    "$cred = New-Object System.Management.Automation.PSCredential('svc@contoso.com', $secure)\n"
    "Send-MailMessage -To 'ops@contoso.com' -From 'svc@contoso.com' -Subject 'hi' `\n"
    "    -SmtpServer smtp.office365.com -Port 587 -UseSsl -Credential $cred\n"
    "$prompted = Get-Credential\n"
    "Send-MailMessage -To 'ops@contoso.com' -From 'svc@contoso.com' -Subject 'two' -Credential:$prompted -SmtpServer smtp.office365.com -UseSsl\n"
)


def test_patched_calls_do_not_depend_on_the_credential_and_notes_point_at_its_lines() -> None:
    result = patch(CREDENTIALED)
    assert all(fix.applied for fix in result.fixes)
    calls = [line for line in result.patched.splitlines() if "Send-Graph" in line or "-SmtpServer" in line]
    assert calls and not any("-Credential" in line for line in calls)
    assert "    -SmtpServer smtp.office365.com -Port 587 -UseSsl\n" in result.patched
    notes = " ".join(note for fix in result.fixes for note in fix.notes)
    for line in ("line 1 (", "line 2 (ConvertTo-SecureString)", "line 3 (PSCredential)", "line 6 (Get-Credential)"):
        assert line in notes
    assert "Summer-2026-Example!" not in notes


@pytest.mark.pwsh
def test_patched_call_without_credential_runs_and_the_parser_agrees() -> None:
    from scanner.powershell import parse_scripts

    result = patch(CREDENTIALED)
    before, after = parse_scripts([CREDENTIALED, result.patched])
    assert after.errors == () and after.structure == before.structure


# --------------------------------------------------------------------------- item 8: inline fields


@pytest.mark.pwsh
def test_recipient_helper_reads_each_string_as_one_address_like_send_mailmessage() -> None:
    # Send-MailMessage: new MailAddress(s) per string. A quoted name with a comma is one recipient; 'a, b' is what
    # MailAddress makes of it (b with the display name 'a,'), 'a,b' is refused (FormatException, collected) and
    # the others still count. -List splits like MailAddressCollection.Add (SmtpClient's MailMessage(from, to)).
    script = _RECIPIENT_HELPER + (
        "$errors = New-Object System.Collections.ArrayList\n"
        "$r = @(ConvertTo-GraphRecipient -Address @('\"Doe, John\" <j@contoso.com>', 'a@contoso.com,b@contoso.com', "
        "'c@contoso.com') -Errors $errors)\n"
        "$l = @(ConvertTo-GraphRecipient -Address @('a@contoso.com, b@contoso.com') -List)\n"
        "ConvertTo-Json -InputObject @{ r = $r; l = $l; e = @($errors | ForEach-Object { $_.GetType().Name }) } -Depth 5 -Compress\n")
    run = run_pwsh(script, timeout=120)
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    assert [r["emailAddress"]["address"] for r in answer["r"]] == ["j@contoso.com", "c@contoso.com"]
    assert answer["r"][0]["emailAddress"]["name"] == "Doe, John"
    assert answer["e"] == ["FormatException"]
    assert [r["emailAddress"]["address"] for r in answer["l"]] == ["a@contoso.com", "b@contoso.com"]


def _message_script(text: str) -> str:
    call = calls_in_text(text, "t.ps1", False)[-1]
    lines = message_lines(map_call(call))
    prelude = text[: call.call_span[0]]
    return prelude + "\n".join(lines) + "\n[pscustomobject]@{ sender = $graphMailbox; message = $message } | ConvertTo-Json -Depth 8 -Compress\n"


@pytest.mark.pwsh
def test_script_block_defaults_run_and_an_attachments_default_is_kept(tmp_path: pytest.TempPathFactory) -> None:
    log = tmp_path / "run.log"  # type: ignore[operator]
    log.write_text("ok", encoding="utf-8")
    text = (
        "$PSDefaultParameterValues['Send-MailMessage:From'] = { 'ops' + '@contoso.com' }\n"
        f"$PSDefaultParameterValues['Send-MailMessage:Attachments'] = '{log}'\n"
        "Send-MailMessage -To 'a@contoso.com' -Subject 'hi' -SmtpServer smtp.office365.com\n"
    )
    run = run_pwsh(_message_script(text), timeout=120)
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    assert answer["sender"] == "ops@contoso.com"
    assert answer["message"]["from"]["emailAddress"]["address"] == "ops@contoso.com"
    assert [a["name"] for a in answer["message"]["attachments"]] == ["run.log"]


def test_a_default_script_block_that_reads_its_binding_context_is_not_inlined() -> None:
    text = ("$PSDefaultParameterValues['Send-MailMessage:Subject'] = { 'Report for ' + $args[0].BoundParameters['To'] }\n"
            + SEND.replace("-Subject 'hi' ", "") + "\n")
    fix, = patch(text, FixStyle.INLINE, unsafe=True).fixes
    assert fix.applicability is FixApplicability.DISPLAY_ONLY and "binding context" in fix.reason


# --------------------------------------------------------------------------- item 9: inline style


def test_inline_never_turns_an_unresolved_splat_into_an_expression() -> None:
    text = "Send-MailMessage @mailArgs -SmtpServer smtp.office365.com\n"
    result = patch(text, FixStyle.INLINE, unsafe=True)
    fix, = result.fixes
    assert not fix.applied and fix.applicability is FixApplicability.DISPLAY_ONLY
    assert "@mailArgs" in fix.reason and "--style module" in fix.reason
    assert "(@mailArgs)" not in result.patched and result.patched == text
    assert patch(text, FixStyle.MODULE, unsafe=True).fixes[0].applied


def test_inline_never_merges_exclusive_branches_into_one_request() -> None:
    text = ("if ($urgent) { $p = @{ Subject = 'URGENT'; To = 'oncall@contoso.com' } }\n"
            "else { $p = @{ Subject = 'fyi'; To = 'team@contoso.com' } }\n"
            "Send-MailMessage @p -From 'svc@contoso.com' -SmtpServer smtp.office365.com -UseSsl\n")
    result = patch(text, FixStyle.INLINE, unsafe=True)
    fix, = result.fixes
    assert not fix.applied and "some code paths" in fix.reason
    assert result.patched == text


@pytest.mark.pwsh
@pytest.mark.parametrize(("priority", "expected"), [("$null", None), ("''", None), ("'High'", "high")])
def test_inline_sends_importance_only_when_there_is_one(priority: str, expected: str | None) -> None:
    text = f"$prio = {priority}\n" + SEND + " -Priority $prio\n"
    run = run_pwsh(_message_script(text), timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["message"].get("importance") == expected


# --------------------------------------------------------------------------- inline failures fail like the original

FAILING_GRAPH = "function Invoke-RestMethod { throw 'Graph answered 403 ErrorAccessDenied' }\n"


def _run_inline(body: str) -> tuple[list[str], object]:
    return _run_inline_with(FAILING_GRAPH, body)


@pytest.mark.pwsh
def test_inline_send_mailmessage_failure_is_non_terminating_unless_the_caller_stops() -> None:
    lines, run = _run_inline(f"try {{ {SEND}; 'sent' }} catch {{ 'caught' }}\n'after'\n")
    assert lines == ["sent", "after"] and "403" in run.stderr  # type: ignore[attr-defined]
    lines, _ = _run_inline(f"$ErrorActionPreference = 'Stop'\ntry {{ {SEND}; 'sent' }} catch {{ 'caught' }}\n'after'\n")
    assert lines == ["caught", "after"]
    lines, _ = _run_inline(f"try {{ {SEND} -ErrorAction Stop; 'sent' }} catch {{ 'caught' }}\n")
    assert lines == ["caught"]


@pytest.mark.pwsh
def test_inline_smtpclient_failure_throws_an_smtp_exception_like_smtpclient_send() -> None:
    lines, _ = _run_inline(
        "$smtp = New-Object System.Net.Mail.SmtpClient('smtp.office365.com', 587)\n"
        "$smtp.EnableSsl = $true\n"
        "$msg = New-Object System.Net.Mail.MailMessage('svc@contoso.com', 'ops@contoso.com', 'hi', 'body')\n"
        "try { $smtp.Send($msg); 'sent' } catch [System.Net.Mail.SmtpException] { 'smtp failed' } catch { 'other' }\n")
    assert lines == ["smtp failed"]


def test_inline_refuses_a_call_whose_error_variable_it_cannot_fill() -> None:
    fix, = patch(SEND + " -ErrorVariable sendError\n", FixStyle.INLINE, unsafe=True).fixes
    assert fix.applicability is FixApplicability.DISPLAY_ONLY and "-errorvariable" in fix.reason


ALTERNATE_VIEWS = ("$smtp = New-Object System.Net.Mail.SmtpClient('smtp.office365.com', 587)\n"
                   "$smtp.EnableSsl = $true\n"
                   "$msg = New-Object System.Net.Mail.MailMessage('svc@contoso.com', 'ops@contoso.com', 'hi', 'body')\n"
                   "$view = [System.Net.Mail.AlternateView]::CreateAlternateViewFromString('<b>hi</b>', $null, 'text/html')\n"
                   "$msg.AlternateViews.Add($view)\n"
                   "$smtp.Send($msg)\n")


def test_a_message_with_alternate_views_is_unsafe_in_both_styles_saying_what_changes() -> None:
    # Oracle F9: Graph holds one body. The module sends the HTML view as the body (the plain Body is not sent),
    # the inline request sends the Body only: a different message, so never a safe fix.
    inline, = [fix for fix in patch(ALTERNATE_VIEWS, FixStyle.INLINE).fixes if fix.call.sent]
    assert inline.applicability is FixApplicability.UNSAFE and not inline.applied
    assert "alternate views" in inline.reason and "sends the Body only" in inline.reason
    module, = [fix for fix in patch(ALTERNATE_VIEWS).fixes if fix.call.sent]
    assert module.applicability is FixApplicability.UNSAFE and not module.applied
    assert "HTML view as the body" in module.reason and "plain-text Body" in module.reason
    assert patch(ALTERNATE_VIEWS, unsafe=True).fixes[-1].applied


def test_the_scan_labels_a_message_with_alternate_views_unsafe_as_fix_does() -> None:
    from scanner.check import analyze_script
    from scanner.ruleconfig import RuleConfig
    from scanner.script import Script

    findings = [f for f in analyze_script(Script(ALTERNATE_VIEWS, "views.ps1"), RuleConfig()).findings
                if f.call is not None and f.call.sent]
    assert findings and all(f.fix.applicability is FixApplicability.UNSAFE for f in findings)
    assert all("HTML view as the body" in f.fix.reason for f in findings)
    plain = ALTERNATE_VIEWS.replace("$view = [System.Net.Mail.AlternateView]::CreateAlternateViewFromString('<b>hi</b>', "
                                    "$null, 'text/html')\n$msg.AlternateViews.Add($view)\n", "")
    assert [f.fix.applicability for f in analyze_script(Script(plain, "plain.ps1"), RuleConfig()).findings
            if f.call is not None and f.call.sent] == [FixApplicability.SAFE]


NON_ASCII = ("Send-MailMessage -To 'Zoë <zoe@contoso.com>' -From 'svc@contoso.com' -Subject {subject} -Body {body} "
             "-SmtpServer smtp.office365.com -UseSsl{extra}\n")


@pytest.mark.parametrize("style", [FixStyle.MODULE, FixStyle.INLINE])
def test_non_ascii_text_without_encoding_is_unsafe_the_message_changes(style: FixStyle) -> None:
    # Oracle P2: Send-MailMessage without -Encoding sends ASCII ('?'); Graph sends the real characters.
    fix, = patch(NON_ASCII.format(subject="'Relatório'", body="'ok'", extra=""), style).fixes
    assert fix.applicability is FixApplicability.UNSAFE and not fix.applied
    assert "without -Encoding sends Subject as ASCII" in fix.reason and "message changes" in fix.reason
    resolved = "$body = 'Größe'\n" + NON_ASCII.format(subject="'x'", body="$body", extra="")
    fix, = patch(resolved, style).fixes
    assert fix.applicability is FixApplicability.UNSAFE and "sends Body as ASCII" in fix.reason


@pytest.mark.parametrize("text", [
    NON_ASCII.format(subject="'x'", body="'ok'", extra=""),  # display names are UTF-8 whatever -Encoding says
    NON_ASCII.format(subject="'Relatório'", body="'ok'", extra=" -Encoding UTF8"),
    NON_ASCII.format(subject="(Get-Content subject.txt)", body="'ok'", extra=""),  # run time: cannot be seen
])
def test_ascii_text_an_utf8_encoding_or_run_time_text_stay_safe(text: str) -> None:
    fix, = patch(text).fixes
    assert fix.applicability is FixApplicability.SAFE, fix.reason


@pytest.mark.pwsh
def test_four_string_smtpclient_send_with_a_null_body_still_sends(tmp_path: "pytest.TempPathFactory") -> None:
    import os
    from pathlib import Path

    folder = Path(str(tmp_path)) / "Smtp2Graph"
    folder.mkdir()
    (folder / "Smtp2Graph.psm1").write_text(
        "function Send-GraphMailMessage { param([System.Net.Mail.MailMessage]$MailMessage)\n"
        "  \"graph-sent $($MailMessage.Subject) to $($MailMessage.To) body=[$($MailMessage.Body)]\" }\n", encoding="utf-8")
    text = ("$client = New-Object System.Net.Mail.SmtpClient('smtp.office365.com', 587)\n"
            "$client.EnableSsl = $true\n"
            "$client.Send('svc@contoso.com', 'ops@contoso.com', 'subject', $body)\n")
    result = patch(text)
    assert result.fixes[0].applied
    env = dict(os.environ, PSModulePath=str(tmp_path) + os.pathsep + os.environ.get("PSModulePath", ""))
    run = run_pwsh(result.patched, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["graph-sent subject to ops@contoso.com body=[]"]


@pytest.mark.pwsh
def test_inline_smtpclient_failure_is_statement_terminating_like_the_original() -> None:
    # Oracle P14: without try/catch the script goes on after a failed SmtpClient.Send.
    lines, _ = _run_inline(
        "$smtp = New-Object System.Net.Mail.SmtpClient('smtp.office365.com', 587)\n"
        "$smtp.EnableSsl = $true\n"
        "$msg = New-Object System.Net.Mail.MailMessage('svc@contoso.com', 'ops@contoso.com', 'hi', 'body')\n"
        "$smtp.Send($msg)\n'after'\n")
    assert lines == ["after"]


def test_inline_rewrite_in_an_expression_is_parenthesised() -> None:
    # Oracle P15/P16: `[void]& { ... }` runs `[void]` as a background job.
    text = ("$smtp = New-Object System.Net.Mail.SmtpClient('smtp.office365.com', 587)\n"
            "$smtp.EnableSsl = $true\n"
            "$msg = New-Object System.Net.Mail.MailMessage('svc@contoso.com', 'ops@contoso.com', 'hi', 'body')\n"
            "[void]$smtp.Send($msg)\n")
    result = patch(text, FixStyle.INLINE, unsafe=True)
    assert "[void](& {" in result.patched


# --------------------------------------------------------------------------- oracle F10 / P4: addresses and $? inline

RECORDING_GRAPH = ("$global:graphSent = New-Object System.Collections.ArrayList\n"
                   "function Invoke-RestMethod { param($Method, $Uri, $Headers, $ContentType, $Body)\n"
                   "  $request = [System.Text.Encoding]::UTF8.GetString($Body) | ConvertFrom-Json\n"
                   "  $null = $global:graphSent.Add((@($request.message.toRecipients | ForEach-Object { $_.emailAddress.address }) -join ',')) }\n")
REPORT = "\n'sent to: ' + ($global:graphSent -join ' | ')\n'errors: ' + $Error.Count\n"


def _run_inline_recorded(body: str) -> list[str]:
    lines, _ = _run_inline_with(RECORDING_GRAPH, body + REPORT)
    return lines


def _run_inline_with(graph: str, body: str) -> tuple[list[str], object]:
    import os
    import tempfile
    from pathlib import Path

    text = graph + body
    result = patch(text, FixStyle.INLINE, unsafe=True)
    assert all(fix.applied for fix in result.fixes if fix.call.sent), [f.refused or f.reason for f in result.fixes]
    with tempfile.TemporaryDirectory() as folder:
        module = Path(folder) / "Smtp2Graph"
        module.mkdir()
        (module / "Smtp2Graph.psm1").write_text("function Get-Smtp2GraphToken { 'token' }\n", encoding="utf-8")
        env = dict(os.environ, PSModulePath=folder + os.pathsep + os.environ.get("PSModulePath", ""))
        run = run_pwsh(result.patched, timeout=120, env=env)
    return run.stdout.splitlines(), run


COMMA = ("Send-MailMessage -To {to} -From 'svc@contoso.com' -Subject 'hi' -Body 'x' -SmtpServer smtp.office365.com -UseSsl\n"
         "if ($?) {{ 'ok' }} else {{ 'failed' }}")


@pytest.mark.pwsh
def test_inline_reads_each_recipient_string_as_one_address_like_send_mailmessage() -> None:
    # Oracle F10: Send-MailMessage refuses 'a,b' (FormatException) and, with no recipient left, 'A recipient must be
    # specified.': nothing sent, 2 errors. With another good address: 1 error, the good one gets the mail.
    assert _run_inline_recorded(COMMA.format(to="'ops@contoso.com,it@contoso.com'")) == ["failed", "sent to: ", "errors: 2"]
    assert _run_inline_recorded(COMMA.format(to="'ops@contoso.com,it@contoso.com', 'lead@contoso.com'")) == [
        "failed", "sent to: lead@contoso.com", "errors: 1"]
    # The same through a variable (resolved or run time) and with a quoted display name holding a comma.
    assert _run_inline_recorded("$to = 'ops@contoso.com;it@contoso.com'\n" + COMMA.format(to="$to")) == [
        "failed", "sent to: ", "errors: 2"]
    assert _run_inline_recorded(COMMA.format(to="'\"Doe, John\" <john@contoso.com>', 'ops@contoso.com'")) == [
        "ok", "sent to: john@contoso.com,ops@contoso.com", "errors: 0"]


def test_a_comma_list_in_one_string_is_kept_for_run_time_and_noted() -> None:
    fix, = patch(COMMA.format(to="'ops@contoso.com,it@contoso.com'") + "\n", FixStyle.INLINE).fixes
    assert fix.applicability is FixApplicability.SAFE and fix.applied
    request = fix.mapping.request["message"]  # type: ignore[union-attr,index]
    assert request["toRecipients"] == "@('ops@contoso.com,it@contoso.com')"  # type: ignore[index]
    assert any("not one address per string" in note for note in fix.mapping.notes)  # type: ignore[union-attr]


@pytest.mark.pwsh
def test_inline_leaves_dollar_question_false_after_a_refused_send_as_the_cmdlet_does() -> None:
    # Oracle P4: `& { ... Write-Error }` left $? true; $PSCmdlet.WriteError in an advanced block leaves it false.
    lines, run = _run_inline(f"{SEND}\nif ($?) {{ 'sent' }} else {{ 'failed' }}\n")
    assert lines == ["failed"] and "403" in run.stderr  # type: ignore[attr-defined]
    lines, run = _run_inline(f"{SEND} -ErrorAction SilentlyContinue\nif ($?) {{ 'sent' }} else {{ 'failed' }}\n")
    assert lines == ["failed"] and "403" not in run.stderr  # type: ignore[attr-defined]
    assert _run_inline_recorded(f"{SEND}\nif ($?) {{ 'ok' }} else {{ 'failed' }}") == [
        "ok", "sent to: ops@contoso.com", "errors: 0"]


@pytest.mark.parametrize("value", ["$PSBoundParameters['To']", "$MyInvocation.MyCommand.Name", "$PSCmdlet.ParameterSetName"])
def test_inline_refuses_values_read_from_the_callers_own_automatic_variables(value: str) -> None:
    # Inside `& { }` these are the block's own ($PSBoundParameters empty, $MyInvocation the block's).
    call = SEND.replace("-Subject 'hi'", "-Subject " + value)
    text = "function Send-Report {\n    [CmdletBinding()] param($To)\n    " + call + "\n}\n"
    fix, = patch(text, FixStyle.INLINE, unsafe=True).fixes
    assert fix.applicability is FixApplicability.DISPLAY_ONLY and "use --style module" in fix.reason, fix.reason
    assert not fix.applied
    module, = patch(text).fixes
    assert module.applied


@pytest.mark.pwsh
def test_inline_refuses_a_non_ascii_local_part_as_smtpclient_does() -> None:
    # Oracle P3 (inline): SmtpClient sends 7-bit and refuses 'café@…' (nothing sent); Send-MailMessage reports its
    # SmtpException as a non-terminating error, SmtpClient.Send throws it. A non-ASCII domain is fine (punycode).
    send = COMMA.format(to="'ops@contoso.com'").replace("'svc@contoso.com'", "'caf\u00e9@contoso.com'")
    assert _run_inline_recorded(send) == ["failed", "sent to: ", "errors: 1"]
    to_domain = COMMA.format(to="'ops@z\u00fcrich.example'")
    assert _run_inline_recorded(to_domain) == ["ok", "sent to: ops@z\u00fcrich.example", "errors: 0"]
    lines, _ = _run_inline_with(RECORDING_GRAPH,
        "$smtp = New-Object System.Net.Mail.SmtpClient('smtp.office365.com', 587)\n"
        "$msg = New-Object System.Net.Mail.MailMessage('svc@contoso.com', 'j\u00fcrg@contoso.com', 'hi', 'body')\n"
        "try { $smtp.Send($msg); 'sent' } catch [System.Net.Mail.SmtpException] { 'smtp failed' }\n" + REPORT)
    assert lines == ["smtp failed", "sent to: ", "errors: 1"]


@pytest.mark.pwsh
def test_a_refused_inline_smtpclient_send_leaves_one_error_in_dollar_error_like_smtpclient_send() -> None:
    lines, _ = _run_inline(
        "$smtp = New-Object System.Net.Mail.SmtpClient('smtp.office365.com', 587)\n"
        "$msg = New-Object System.Net.Mail.MailMessage('svc@contoso.com', 'ops@contoso.com', 'hi', 'body')\n"
        "try { $smtp.Send($msg); 'sent' } catch [System.Net.Mail.SmtpException] { 'smtp failed' }\n'errors: ' + $Error.Count\n")
    assert lines == ["smtp failed", "errors: 1"]


@pytest.mark.pwsh
@pytest.mark.parametrize("text", [
    "$to = 'ops@contoso.com'\n" + SEND.replace("-To 'ops@contoso.com'", "-To $to") + "\n",
    "$smtp = New-Object System.Net.Mail.SmtpClient('smtp.office365.com', 587)\n"
    "$smtp.EnableSsl = $true\n$smtp.Send('svc@contoso.com', 'ops@contoso.com', 'hi', 'body')\n",
])
def test_powershells_judge_accepts_the_inline_blocks_own_helper_functions(text: str) -> None:
    # The helpers (address parsing, the 7-bit check) live inside the rewritten `& { }` block: not script functions.
    from scanner.migrate.judge import PowerShellJudge
    from scanner.powershell import find_pwsh

    pwsh = find_pwsh()
    assert pwsh is not None
    result = patch_text(text, calls_in_text(text, "t.ps1", False), style=FixStyle.INLINE, judge=PowerShellJudge(pwsh))
    assert [fix.applied for fix in result.fixes if fix.call.sent] == [True], [f.refused for f in result.fixes]
    assert "function Assert-GraphAsciiLocalPart" in result.patched


@pytest.mark.pwsh
def test_inline_resolves_attachment_paths_as_send_mailmessage_does(tmp_path: "pytest.TempPathFactory") -> None:
    # Oracle F11 (inline): -Attachments is a wildcard pattern that must match one file (PathUtils.ResolveFilePath,
    # 5.1 and 7): 'data[1].txt' matches nothing and stops the call (statement-terminating: the script goes on), even
    # though a file has that literal name; escaped, it is sent. Addresses are read before attachments, as the cmdlet.
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / "data[1].txt").write_text("one", encoding="utf-8")
    (folder / "notes.txt").write_text("two", encoding="utf-8")
    call = ("Send-MailMessage -To {to} -From 'svc@contoso.com' -Subject 'hi' -Body 'x' -Attachments {path} "
            "-SmtpServer smtp.office365.com -UseSsl\n'after'")
    bracket = f"'{folder}/data[1].txt'"
    assert _run_inline_recorded(call.format(to="'ops@contoso.com'", path=bracket)) == [
        "after", "sent to: ", "errors: 1"]
    escaped = f"'{folder}/data`[1`].txt'"
    assert _run_inline_recorded(call.format(to="'ops@contoso.com'", path=escaped)) == [
        "after", "sent to: ops@contoso.com", "errors: 0"]
    relative = f"Set-Location '{folder}'\n" + call.format(to="'ops@contoso.com'", path="'notes.txt'")
    assert _run_inline_recorded(relative) == ["after", "sent to: ops@contoso.com", "errors: 0"]
    missing = call.format(to="'a@contoso.com,b@contoso.com', 'ops@contoso.com'", path=f"'{folder}/gone.txt'")
    assert _run_inline_recorded(missing) == ["after", "sent to: ", "errors: 2"]


# --------------------------------------------------------------------------- attachments: one inline request is 4 MB

SMM_ATTACHMENTS = ("Send-MailMessage -To 'ops@contoso.com' -From 'svc@contoso.com' -Subject 'two' -Body 'b' "
                   "-Attachments 'a.bin','b.bin' -SmtpServer smtp.office365.com -UseSsl\n")
SMTPCLIENT_ATTACHMENT = ("$smtp = New-Object System.Net.Mail.SmtpClient('smtp.office365.com', 587)\n"
                         "$smtp.EnableSsl = $true\n"
                         "$msg = New-Object System.Net.Mail.MailMessage('svc@contoso.com', 'ops@contoso.com', 'hi', 'b')\n"
                         "$msg.Attachments.Add((New-Object System.Net.Mail.Attachment('a.bin')))\n"
                         "$smtp.Send($msg)\n")


@pytest.mark.parametrize("text", [SMM_ATTACHMENTS, SMTPCLIENT_ATTACHMENT])
@pytest.mark.parametrize("style", [FixStyle.INLINE, FixStyle.INLINE_SDK])
def test_inline_rewrite_of_a_call_with_attachments_is_never_safe(text: str, style: FixStyle) -> None:
    # Review: two 2.5 MB files make a 6.7 MB request that Graph refuses where SMTP sent them; a single inline
    # request has no draft / upload session, so the call cannot be called safe in an inline style.
    fix, = [fix for fix in patch(text, style).fixes if fix.call.sent]
    assert fix.applicability is FixApplicability.UNSAFE and not fix.applied
    assert "limited to 4 MB in all" in fix.reason and "--style module" in fix.reason
    # The module style (draft + upload sessions) keeps the drop-in rename safe.
    module, = [fix for fix in patch(text).fixes if fix.call.sent]
    assert module.applicability is FixApplicability.SAFE and module.applied, module.reason


def test_no_note_claims_an_upload_session_for_an_inline_request() -> None:
    from scanner.migrate.snippets import invoke_restmethod_snippet

    fix, = patch(SMM_ATTACHMENTS, FixStyle.INLINE, unsafe=True).fixes
    assert fix.applied
    notes = [line for line in fix_text_lines(fix.mapping.notes) if "upload session" in line]
    assert notes and all("Send-GraphMailMessage (--style module)" in line and "4 MB at most" in line for line in notes)
    snippet = invoke_restmethod_snippet(map_call(fix.call))
    assert "Attachments larger than 3 MB go through a draft" not in snippet


def fix_text_lines(notes: list[str]) -> list[str]:
    return [line for note in notes for line in note.splitlines()]
