"""Masking by construction (scanner.masking): what a file with a credential sink may show, scoped to the
file that makes a value secret; a mail user name is not a secret; the context a reader keeps."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from scanner.cli import app
from scanner.findings import file_mask
from scanner.masking import harmless, place_of, strong
from scanner.redact import Redactor
from scanner.script import Script


def _scan_json(root: Path) -> dict:
    result = CliRunner().invoke(app, ["scan", str(root), "-f", "json", "--no-cache", "--exit-zero", "-q"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return json.loads(result.stdout)


def _shown(text: str) -> str:
    script = Script(text, "t.ps1")
    return file_mask(script).masked_text(text)


def test_a_sink_the_tracer_cannot_follow_masks_every_literal_not_known_harmless() -> None:
    """`$_` of a pipeline feeds the SecureString: the flow is opaque, so the Subject, the Body and every
    comment are masked, while the addresses, the host and the path stay readable."""
    shown = _shown(
        "# rotate quarterly\n"
        "$sec = New-Object System.Security.SecureString\n"
        "'Tr0ub4dor&3'.ToCharArray() | ForEach-Object { $sec.AppendChar($_) }\n"
        "$cred = New-Object PSCredential('alerts@contoso.com', $sec)\n"
        "Send-MailMessage -From 'alerts@contoso.com' -To 'ops@contoso.com','it@contoso.com' -Subject 'nightly Tr0ub4dor&3' "
        "-Body 'see attached' -Attachments 'C:\\reports\\daily.csv' -SmtpServer 'smtp.office365.com' -Credential $cred\n"
    )
    for hidden in ("Tr0ub4dor&3", "nightly", "see attached", "rotate quarterly"):
        assert hidden not in shown, hidden
    for kept in ("'alerts@contoso.com'", "'ops@contoso.com'", "'it@contoso.com'", "'smtp.office365.com'", "'C:\\reports\\daily.csv'"):
        assert kept in shown, kept
    assert "-Subject '***'" in shown and "# ***" in shown


def test_a_followed_flow_shows_what_is_proven_unrelated_and_masks_the_value_inside_longer_strings() -> None:
    shown = _shown(
        "$plain = 'Blue-Horse-77'\n"
        "$sec = ConvertTo-SecureString $plain -AsPlainText -Force\n"
        "$cred = New-Object PSCredential('alerts@contoso.com', $sec)\n"
        "Write-Host 'Sending the nightly report' -ForegroundColor Green\n"
        "Send-MailMessage -From alerts@contoso.com -To ops@contoso.com -Subject 'rotated:Blue-Horse-77x' -SmtpServer smtp.office365.com -Credential $cred\n"
    )
    assert "Blue-Horse-77" not in shown
    assert "$plain = '***'" in shown
    assert "'Sending the nightly report'" in shown  # not reaching any sink: shown
    assert "-Subject '***'" in shown or "-Subject 'rotated:***x'" in shown  # the secret inside a longer string
    redactor = file_mask(Script("$sec = ConvertTo-SecureString 'Blue-Horse-77' -AsPlainText -Force\n", "t.ps1")).redactor()
    assert redactor.redact("rotated:Blue-Horse-77x by ops") == "rotated:***x by ops"


def test_comments_of_a_file_with_a_sink_are_masked_and_a_suppression_keeps_working(tmp_path: Path) -> None:
    (tmp_path / "a.ps1").write_text(
        "$cred = Import-Clixml \"$PSScriptRoot\\relay.xml\"  # password: Winter24 for alerts\n"
        "# smtp2graph: ignore[SMTP001] migrated next quarter, pw Winter24\n"
        "Send-MailMessage -From alerts@contoso.com -To ops@contoso.com -Subject s -SmtpServer smtp.office365.com -Credential $cred\n",
        encoding="utf-8",
    )
    document = _scan_json(tmp_path)
    assert "Winter24" not in json.dumps(document)
    assert not [f for f in document["findings"] if f["rule"] == "SMTP001"]  # the suppression still applies
    shown = _shown((tmp_path / "a.ps1").read_text(encoding="utf-8"))
    assert "# smtp2graph: ignore[SMTP001] ***" in shown


def test_a_file_without_a_sink_shows_its_literals_but_not_a_password_it_writes_out() -> None:
    shown = _shown(
        "# the old relay password was Autumn-2019\n"
        "Send-MailMessage -From alerts@contoso.com -To ops@contoso.com -Subject 'Password expiry report' "
        "-Body \"pwd: Autumn-2019\" -SmtpServer relay.contoso.com\n"
    )
    assert "'Password expiry report'" in shown  # names a password, writes none
    assert "Autumn-2019" not in shown


def test_a_mail_user_name_is_not_a_secret_and_the_kit_targets_the_real_mailbox(tmp_path: Path) -> None:
    """MailKit's Authenticate(encoding, user, password): the user name stays readable everywhere, and the
    kit's scope script names the mailbox (it used to target '***')."""
    root = tmp_path / "scripts"
    root.mkdir()
    (root / "mailkit.ps1").write_text(
        "$client = New-Object MailKit.Net.Smtp.SmtpClient\n"
        "$client.Connect('smtp.office365.com', 587, [MailKit.Security.SecureSocketOptions]::StartTls)\n"
        "$client.Authenticate([System.Text.Encoding]::UTF8, 'alerts@contoso.com', 'Hunter2-Relay!')\n"
        "$message = New-Object MimeKit.MimeMessage\n"
        "$message.From.Add([MimeKit.MailboxAddress]::Parse('alerts@contoso.com'))\n"
        "$client.Send($message)\n",
        encoding="utf-8",
    )
    (root / "other.ps1").write_text(
        "Send-MailMessage -From alerts@contoso.com -To ops@contoso.com -Subject 'for alerts@contoso.com' -SmtpServer smtp.office365.com -UseSsl -Credential $c\n",
        encoding="utf-8",
    )
    text = json.dumps(_scan_json(root))
    assert "Hunter2-Relay!" not in text
    assert "'alerts@contoso.com', '***'" in text
    assert "for alerts@contoso.com" in text  # another file: nothing of this one masked there
    out = tmp_path / "fixed"
    result = CliRunner().invoke(app, ["fix", str(root), "--out", str(out)])
    assert result.exit_code in (0, 1), result.output
    scope = (out / "smtp2graph-kit" / "Set-Smtp2GraphScope.ps1").read_text(encoding="utf-8")
    assert "'alerts@contoso.com'" in scope and "'***'" not in scope


def test_a_weak_secret_of_one_file_is_not_masked_in_another(tmp_path: Path) -> None:
    """`$pass = "Green"` in one script masked `-ForegroundColor Green` in every other one."""
    (tmp_path / "colors.ps1").write_text(
        '$pass = "Green"\n$sec = ConvertTo-SecureString $pass -AsPlainText -Force\n'
        "$cred = New-Object PSCredential('alerts@contoso.com', $sec)\n"
        "Send-MailMessage -From alerts@contoso.com -To ops@contoso.com -Subject s -SmtpServer smtp.office365.com -UseSsl -Credential $cred\n",
        encoding="utf-8",
    )
    (tmp_path / "report.ps1").write_text(
        "Write-Host 'sending the report' -ForegroundColor Green\n"
        "Send-MailMessage -From alerts@contoso.com -To ops@contoso.com -Subject 'Report' -SmtpServer relay.contoso.com\n",
        encoding="utf-8",
    )
    document = _scan_json(tmp_path)
    report = [f for f in document["findings"] if f["path"] == "report.ps1"]
    assert report and "-ForegroundColor Green" in "\n".join(report[0]["context"]["lines"])
    colors = [f for f in document["findings"] if f["path"] == "colors.ps1"]
    assert colors and all("Green" not in f["snippet"] + "\n".join(f["context"]["lines"]) for f in colors)


def test_only_a_value_no_word_or_name_can_be_is_masked_across_files() -> None:
    assert strong("KxcrossfileQ9zv") and strong("Tr0ub4dor&3")
    for weak in ("Green", "password", "alerts@contoso.com", "summer2024", "https://contoso.com/x", "C:\\temp\\a.txt"):
        assert not strong(weak), weak


def test_a_long_secret_is_masked_by_any_long_part_of_it() -> None:
    token = "9f8e7d6c5b4a39281706f5e4d3c2b1a0ffeeddcc"
    redactor = Redactor({token})
    assert redactor.redact(f"note: first part {token[:20]} pasted") == "note: first part *** pasted"
    assert redactor.redact("nothing of it here: 9f8e7d6c") == "nothing of it here: 9f8e7d6c"


def test_a_masked_literal_is_masked_as_written_as_a_whole_field_or_between_quotes_never_inside_code() -> None:
    redactor = Redactor((), literals={"'Send'", "Send"})
    assert redactor.redact("Send-MailMessage -Subject 'Send'") == "Send-MailMessage -Subject ***"
    assert redactor.redact("Send") == "***"
    assert redactor.redact('x "Send" y') == 'x "***" y'


def test_where_a_literal_stands_decides_what_it_may_look_like() -> None:
    text = (
        "$mail = @{ From = 'a@contoso.com'; SmtpServer = 'smtp.office365.com'; Subject = 'x' }\n"
        "$m = New-Object System.Net.Mail.MailAddress('b@contoso.com', 'Ops Team')\n"
        "Send-MailMessage -To 'c@contoso.com', 'd@contoso.com' -Attachments '.\\out.csv' -Encoding 'UTF8'\n"
    )
    script = Script(text, "t.ps1")
    places = {text[s:e]: place_of(script, s) for s, e in script.structure.masked.strings}
    assert places["'a@contoso.com'"] == "address" and places["'smtp.office365.com'"] == "host"
    assert places["'b@contoso.com'"] == "address" and places["'d@contoso.com'"] == "address"
    assert places["'.\\out.csv'"] == "path" and places["'UTF8'"] == "name" and places["'x'"] == "text"
    assert harmless("address", "Ops <ops@contoso.com>") and not harmless("address", "P4ss word")
    assert not harmless("host", "P@ss.word") and harmless("host", "smtp.office365.com")


def test_a_long_word_without_digits_is_read_in_linear_time() -> None:
    """The search for password-shaped words backtracked over every start inside a word that holds no digit
    nor symbol: a 20,000-letter literal or comment in a file with a credential sink took seconds, 200,000 hours."""
    import time

    from scanner.masking import _looks_like_a_password

    word = "abcdefghij" * 20_000
    started = time.monotonic()
    assert not _looks_like_a_password(word)
    assert not _looks_like_a_password(f"# {word} and {word}x")
    assert _looks_like_a_password(f"{word} Blue-Horse-77")
    shown = _shown(f"$sec = ConvertTo-SecureString 'Blue-Horse-77' -AsPlainText -Force\n# {word}\nWrite-Host '{word}'\n")
    assert "Blue-Horse-77" not in shown
    assert time.monotonic() - started < 10


def test_in_an_opaque_file_a_media_type_and_a_subject_stay_readable_where_they_stand() -> None:
    """The token's flow cannot be followed (it comes from outside the file), so free text is masked; a
    content type (even a wrong one, which GRAPH004 quotes) and a subject are harmless where they stand,
    unless they write a secret out or look like a password."""
    shown = _shown(
        "$headers = @{ Authorization = \"Bearer $token\"; 'Content-Type' = 'application/json; charset=UTF-8' }\n"
        "Invoke-RestMethod -Method Post -Uri $uri -Headers $headers -ContentType 'application\\json' -Body $json\n"
        "$subject = 'Nightly disk report'\n"
        "$other = 'Quarterly figures are attached'\n"
        "$m.Subject = 'pwd: Xy7!kQ2#pLm'\n"
    )
    for readable in ("application/json; charset=UTF-8", "application\\json", "Nightly disk report"):
        assert readable in shown, readable
    for hidden in ("Quarterly figures are attached", "Xy7!kQ2#pLm"):
        assert hidden not in shown, hidden
    assert harmless("media", "text/plain") and not harmless("media", "password=hunter22")


def test_a_graph_attachments_odata_type_stays_readable_in_an_opaque_file() -> None:
    shown = _shown(
        "$headers = @{ Authorization = \"Bearer $token\" }\n"
        "$attachment = @{ '@odata.type' = '#microsoft.graph.fileAttachment'; name = 'report.csv' }\n"
        "$note = 'ask finance first'\n"
    )
    assert "'@odata.type' = '#microsoft.graph.fileAttachment'" in shown
    assert "ask finance first" not in shown


def test_a_strong_secret_of_one_file_is_masked_in_the_patch_of_another_made_in_a_worker(tmp_path: Path) -> None:
    """A worker makes each file's patch diff with the file's own mask; the run's strong values are known
    only in the parent, which makes the diff again for a file whose texts hold one: the pasted password
    is masked there and the context around it shrinks, with a pool of workers as without one."""
    (tmp_path / "define.ps1").write_text(
        "$sec = ConvertTo-SecureString 'Qx7-Relay!2931z' -AsPlainText -Force\n"
        "$cred = New-Object PSCredential('alerts@contoso.com', $sec)\n"
        "Send-MailMessage -From alerts@contoso.com -To ops@contoso.com -Subject s -SmtpServer smtp.office365.com -UseSsl -Credential $cred\n",
        encoding="utf-8",
    )
    (tmp_path / "pasted.ps1").write_text(
        "Write-Host 'step one'\n"
        "Write-Host 'Qx7-Relay!2931z'\n"
        "Send-MailMessage -From alerts@contoso.com -To ops@contoso.com -Subject 'Report' -SmtpServer smtp.office365.com -UseSsl\n"
        "Write-Host 'done'\n",  # no credential sink here: its own mask shows its literals
        encoding="utf-8",
    )
    for extra in ((), ("--jobs", "2")):
        result = CliRunner().invoke(app, ["scan", str(tmp_path), "-f", "json", "--no-cache", "--exit-zero", "-q", *extra])
        document = json.loads(result.stdout)
        assert "Qx7-Relay!2931z" not in result.stdout
        views = [p for p in document["patches"] if p["path"] == "pasted.ps1"]
        assert views and all("+Send-GraphMailMessage" in p["diff"] for p in views)
        assert all("Write-Host '***'" not in p["diff"] for p in views)  # a context line holding it is left out
        assert not any(p["applies"] for p in views)  # cut short there, the hunk no longer applies as it is


def test_a_warm_scan_reads_a_cached_files_secret_values_only_when_a_fresh_output_may_hold_them(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A result taken from the cache holds no secret values. A warm scan reads them again only when the run
    analysed a file afresh (its output must be masked with the other files' strong values): a value
    defined in a cached script stays masked in a changed one, and an unchanged tree reads nothing."""
    import scanner.estate.scan as estate_scan

    root = tmp_path / "scripts"
    root.mkdir()
    (root / "shared.ps1").write_text(
        "$sec = ConvertTo-SecureString 'Kx7-warmQ9zv!' -AsPlainText -Force\n"
        "$cred = New-Object System.Management.Automation.PSCredential('alerts@contoso.com', $sec)\n"
        "Send-MailMessage -From alerts@contoso.com -To ops@contoso.com -Subject 'a' -SmtpServer smtp.office365.com -UseSsl -Credential $cred\n",
        encoding="utf-8")
    reuse = root / "reuse.ps1"
    reuse.write_text(
        "Send-MailMessage -From a@contoso.com -To b@contoso.com -Subject 'reminder Kx7-warmQ9zv!' -SmtpServer smtp.office365.com -UseSsl\n",
        encoding="utf-8")
    reads: list[str] = []
    real = estate_scan.values_of_file
    monkeypatch.setattr(estate_scan, "values_of_file", lambda path, rel, *a: reads.append(rel) or real(path, rel, *a))

    def scan() -> dict:
        result = CliRunner().invoke(app, ["scan", str(root), "-f", "json", "--exit-zero", "-q", "--jobs", "1",
                                          "--cache-dir", str(tmp_path / "cache")])
        assert result.exit_code == 0, result.output
        assert "Kx7-warmQ9zv!" not in result.stdout
        document = json.loads(result.stdout)
        document.pop("generated_at", None)
        # Each finding's fix.patch is the patch that names it (its fingerprint as masked across files).
        reminder = [f for f in document["findings"] if f["path"] == "reuse.ps1"]
        assert reminder and "reminder ***" in reminder[0]["snippet"]
        assert reminder[0]["fix"]["patch"] is not None
        assert reminder[0]["fingerprint"] in document["patches"][reminder[0]["fix"]["patch"]]["fingerprints"]
        return document

    cold = scan()
    assert not reads
    assert scan() == cold and not reads  # every result from the cache: nothing to read, the same report
    reuse.write_text(reuse.read_text(encoding="utf-8") + "# changed\n", encoding="utf-8")
    scan()
    assert reads == ["shared.ps1"]  # the changed file's output is masked with the cached file's value
