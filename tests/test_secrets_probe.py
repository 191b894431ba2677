"""Probe suite: one canary secret per shape real scripts use, and every output the tool writes.

Each probe script puts its canary where a credential sink reads it (ConvertTo-SecureString,
a credential constructor, -Password, Authenticate(), CDO sendpassword, an Authorization header,
a client_secret, a URL, a connection string, an API key …), then reuses the very value as a
Subject, in a Body and in a comment on the same line: value masking must hide all of them.
The suite then runs every command and asserts that no canary (nor its base64 form) appears in
any output: stdout, stderr, report files, the on-disk cache, the merged report, the fix preview,
`fix --out` (kit and messages; the patched copies keep the script's own text but add no copy),
`snippet`, and the kit.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scanner.cli import app

SEND = (
    "Send-MailMessage -From alerts@contoso.com -To ops@contoso.com -Subject 'login {value}' "
    '-Body "the password is {value}" -SmtpServer smtp.office365.com -Port 587 -UseSsl -Credential $cred  # was {value}\n'
)
CRED = "$cred = New-Object System.Management.Automation.PSCredential('alerts@contoso.com', $sec)\n"


# A send that does not repeat the canary: for shapes where only a comment says it is a password.
QUIET_SEND = (
    "Send-MailMessage -From alerts@contoso.com -To ops@contoso.com -Subject 'nightly' "
    "-SmtpServer smtp.office365.com -Port 587 -UseSsl -Credential $cred  # relay pw {value}\n"
)


@dataclass(frozen=True)
class Shape:
    name: str
    setup: str  # PowerShell lines that bring the canary to a sink; {value} / {part1} {part2} / {b64} / {codes}
    tail: str = CRED  # what turns the sink into $cred (or nothing)
    send: str = SEND  # the mail call (it reuses the canary as Subject, Body and in a comment)
    parts: bool = False  # the halves of the canary are written apart: neither may show either
    # Whether the tracer knows the value; when it does not (a pipeline item, a comment), masking by
    # construction must hide it all the same.
    known: bool = True

    @property
    def value(self) -> str:
        return f"Kx{self.name.replace('-', '')}Q9zv"

    def script(self) -> str:
        v = self.value
        half = len(v) // 2
        fields = {
            "value": v,
            "part1": v[:half],
            "part2": v[half:],
            "b64": base64.b64encode(v.encode()).decode(),
            "basic": base64.b64encode(f"alerts@contoso.com:{v}".encode()).decode(),
            "codes": ",".join(str(ord(c)) for c in v),
        }
        return self.setup.format(**fields) + self.tail.format(**fields) + self.send.format(value=v)

    def forbidden(self) -> list[str]:
        v = self.value
        out = [v, base64.b64encode(v.encode()).decode(), base64.b64encode(v.encode("utf-16-le")).decode()]
        if self.parts:
            half = len(v) // 2
            out += [v[:half], v[half:]]
        if "{codes}" in self.setup + self.tail:
            out.append(",".join(str(ord(c)) for c in v))
        return out


SHAPES = [
    Shape("securestring", "$sec = ConvertTo-SecureString '{value}' -AsPlainText -Force\n"),
    Shape("anyorder", "$sec = ConvertTo-SecureString -AsPlainText -Force -String \"{value}\"\n"),
    Shape("piped", "$sec = '{value}' | ConvertTo-SecureString -AsPlainText -Force\n"),
    Shape("variable", "$plain = '{value}'\n$sec = ConvertTo-SecureString $plain -AsPlainText -Force\n"),
    Shape("concat", "$plain = '{part1}' + `\n    '{part2}'\n$sec = ConvertTo-SecureString $plain -AsPlainText -Force\n"),
    Shape("format", "$plain = '{{0}}{{1}}' -f '{part1}', '{part2}'\n$sec = ConvertTo-SecureString -String $plain -AsPlainText -Force\n"),
    Shape("join", "$plain = ('{part1}', '{part2}') -join ''\n$sec = ConvertTo-SecureString $plain -AsPlainText -Force\n"),
    Shape("herestring", "$plain = @'\n{value}\n'@\n$sec = ConvertTo-SecureString $plain -AsPlainText -Force\n"),
    Shape("interpolated", "$first = '{part1}'\n$plain = \"${{first}}{part2}\"\n$sec = ConvertTo-SecureString $plain -AsPlainText -Force\n"),
    Shape("hashtable", "$config = @{{ Smtp = @{{ Pass = '{value}' }} }}\n$sec = ConvertTo-SecureString $config.Smtp.Pass -AsPlainText -Force\n"),
    Shape("base64", "$plain = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('{b64}'))\n$sec = ConvertTo-SecureString $plain -AsPlainText -Force\n"),
    Shape("key", "$key = (3,4,2,3,56,34,254,222,1,1,2,23,42,54,33,233)\n$sec = ConvertTo-SecureString '{value}' -Key $key\n"),
    Shape("pscredctor", "", "$cred = New-Object PSCredential('alerts@contoso.com', (ConvertTo-SecureString '{value}' -AsPlainText -Force))\n"),
    Shape("argumentlist", "$sec = ConvertTo-SecureString \"{value}\" -AsPlainText -Force\n",
          "$cred = New-Object -TypeName System.Management.Automation.PSCredential -ArgumentList 'alerts@contoso.com', $sec\n"),
    Shape("staticnew", "$sec = '{value}' | ConvertTo-SecureString -AsPlainText -Force\n", "$cred = [pscredential]::new('alerts@contoso.com', $sec)\n"),
    Shape("networkcredential", "", "$cred = New-Object System.Net.NetworkCredential('alerts@contoso.com', '{value}')\n"),
    Shape("netcredproperty", "", "$cred = New-Object System.Net.NetworkCredential -Property @{{ UserName = 'alerts@contoso.com'; Password = '{value}' }}\n"),
    Shape("netcrednew", "", "$cred = [System.Net.NetworkCredential]::new('alerts@contoso.com', '{value}')\n"),
    Shape("mailozaurr", "Send-EmailMessage -Server smtp.office365.com -Port 587 -Username alerts@contoso.com -Password '{value}' -To ops@contoso.com -Subject x\n", ""),
    Shape("mailkit", "$kit = New-Object MailKit.Net.Smtp.SmtpClient\n$kit.Connect('smtp.office365.com', 587)\n$kit.Authenticate('alerts@contoso.com', \"{value}\")\n$kit.Send($m)\n", ""),
    Shape("cdo", "$msg = New-Object -ComObject CDO.Message\n$msg.Configuration.Fields.Item('http://schemas.microsoft.com/cdo/configuration/sendpassword').Value = '{value}'\n$msg.Send()\n", ""),
    Shape("bearer", "$headers = @{{ Authorization = \"Bearer {value}\" }}\nInvoke-RestMethod -Uri https://graph.microsoft.com/v1.0/me/sendMail -Headers $headers -Method Post -Body '{{}}'\n", ""),
    Shape("basic", "$headers = @{{ 'Authorization' = 'Basic {basic}' }}\nInvoke-RestMethod -Uri https://api.example.com/mail -Headers $headers\n", ""),
    Shape("clientsecret", "$body = @{{ client_id = $id; client_secret = '{value}'; grant_type = 'client_credentials' }}\n"
          "$t = Invoke-RestMethod -Method Post -Uri 'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token' -Body $body\n", ""),
    Shape("userinfo", "$relay = 'smtp://alerts:{value}@relay.contoso.com:587'\n", ""),
    Shape("query", "Invoke-RestMethod -Uri 'https://api.example.com/send?user=alerts&password={value}&to=ops'\n", ""),
    Shape("connstring", "$db = 'Server=sql01;Database=Mail;User Id=alerts;Password={value};'\n", ""),
    # A pipeline opened by `(` or `$(` (the masked code blanks the piped literal).
    Shape("pipedparen", "", "$cred = New-Object PSCredential('alerts@contoso.com', ('{value}' | ConvertTo-SecureString -AsPlainText -Force))\n"),
    Shape("pipedsubexpr", "$sec = $('{value}' | ConvertTo-SecureString -AsPlainText -Force)\n"),
    Shape("querytoken", "Invoke-RestMethod -Uri 'https://api.example.com/send?user=alerts&token={value}&to=ops'\n", ""),
    Shape("querykey", "Invoke-RestMethod -Uri \"https://api.example.com/send?key={value}&to=ops\"\n", ""),
    Shape("securekey", "$sk = Read-Host -AsSecureString\n$sec = ConvertTo-SecureString '{value}' -SecureKey $sk\n"),
    Shape("mailozaurrcred", "Send-EmailMessage -Server smtp.office365.com -Port 587 -From alerts@contoso.com -To ops@contoso.com -Subject 'x {value}' "
          "-Credential ([pscredential]::new('alerts@contoso.com', (ConvertTo-SecureString '{value}' -AsPlainText -Force)))\n", ""),
    Shape("mailkitmodule", "Import-Module Send-MailKitMessage\nSend-MailKitMessage -SMTPServer smtp.office365.com -Port 587 -From alerts@contoso.com "
          "-RecipientList ops@contoso.com -Subject 'hi {value}' -Credential ([pscredential]::new('alerts@contoso.com', ('{value}' | ConvertTo-SecureString -AsPlainText -Force)))\n", ""),
    # Read from a JSON configuration file in the scanned tree (written by the `tree` fixture), reused as Subject and Body.
    Shape("configjson", "$cfg = Get-Content \"$PSScriptRoot\\configjson.json\" -Raw | ConvertFrom-Json\n"
          "$sec = ConvertTo-SecureString $cfg.Pass -AsPlainText -Force\n"
          "Send-MailMessage -From alerts@contoso.com -To ops@contoso.com -Subject \"pw $($cfg.Pass)\" -Body $cfg.Pass -SmtpServer smtp.office365.com -UseSsl -Credential $cred\n"),
    Shape("configini", "$ini = ConvertFrom-StringData (Get-Content \"$PSScriptRoot\\configini.ini\" -Raw)\n"
          "$sec = ConvertTo-SecureString $ini['pass'] -AsPlainText -Force\n"
          "Send-MailMessage -From alerts@contoso.com -To ops@contoso.com -Subject $ini['pass'] -SmtpServer smtp.office365.com -UseSsl -Credential $cred\n"),
    Shape("configpsd", "$data = Import-PowerShellDataFile \"$PSScriptRoot\\configpsd.psd1\"\n"
          "$sec = ConvertTo-SecureString -String $data.Login -AsPlainText -Force\n"
          "Send-MailMessage -From alerts@contoso.com -To ops@contoso.com -Subject \"pw $($data.Login)\" -SmtpServer smtp.office365.com -UseSsl -Credential $cred\n"),
    Shape("apikey", "", ""),  # value itself is a prefixed key (below)
    # Shapes a second review found leaking (issue 22), each written anew here.
    Shape("twobranches", "$pw = if ($env:COMPUTERNAME -eq 'PROD01') {{ '{value}' }} else {{ 'staging-only-login' }}\n"
          "$sec = ConvertTo-SecureString $pw -AsPlainText -Force\n"),
    Shape("setvariable", "Set-Variable -Name relayLogin -Value '{value}' -Scope Script\n"
          "$sec = ConvertTo-SecureString $relayLogin -AsPlainText -Force\n"),
    Shape("setvarpositional", "New-Variable relayLogin '{value}'\n$sec = ConvertTo-SecureString -String $relayLogin -AsPlainText -Force\n"),
    Shape("arrayindex", "$logins = @('alerts@contoso.com', '{value}')\n$sec = ConvertTo-SecureString $logins[1] -AsPlainText -Force\n"),
    Shape("appendcharpipe", "$sec = New-Object System.Security.SecureString\n"
          "'{value}'.ToCharArray() | ForEach-Object {{ $sec.AppendChar($_) }}\n", known=False),
    Shape("appendcharloop", "$sec = [System.Security.SecureString]::new()\n"
          "foreach ($ch in '{value}'.ToCharArray()) {{ $sec.AppendChar($ch) }}\n$sec.MakeReadOnly()\n"),
    Shape("charcodes", "$plain = [string]::new([char[]]({codes}))\n$sec = ConvertTo-SecureString $plain -AsPlainText -Force\n"),
    Shape("charjoin", "$plain = -join [char[]]({codes})\n$sec = ConvertTo-SecureString $plain -AsPlainText -Force\n"),
    Shape("charloop", "$plain = ({codes} | ForEach-Object {{ [char]$_ }}) -join ''\n$sec = ConvertTo-SecureString $plain -AsPlainText -Force\n", known=False),
    Shape("concatdouble", "$plain = \"{part1}\" + `\n        \"{part2}\"\n$sec = ConvertTo-SecureString $plain -AsPlainText -Force\n", parts=True),
    Shape("concatsplit", "$plain = '{part1}' +\n    '{part2}'\n$sec = ConvertTo-SecureString $plain -AsPlainText -Force\n", parts=True),
    Shape("parenvariable", "$plain = '{value}'\n",
          "$cred = New-Object PSCredential('alerts@contoso.com', (ConvertTo-SecureString ($plain) -AsPlainText -Force))\n"),
    Shape("parenparameter", "$plain = '{value}'\nSend-EmailMessage -Server smtp.office365.com -Username alerts@contoso.com -Password ($plain) -To ops@contoso.com\n", ""),
    Shape("x509ctor", "$cert = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2(\"$PSScriptRoot\\mail.pfx\", '{value}')\n", ""),
    Shape("x509static", "$pfxPass = '{value}'\n$cert = [System.Security.Cryptography.X509Certificates.X509Certificate2]::new('C:\\certs\\mail.pfx', $pfxPass, 'Exportable')\n", ""),
    Shape("blockcomment", "<#\n  Relay account: alerts@contoso.com\n  Relay password: {value}\n#>\n",
          "$cred = Import-Clixml \"$PSScriptRoot\\relay.xml\"\n", QUIET_SEND, known=False),
    Shape("linecomment", "", "$cred = Get-Credential -UserName alerts@contoso.com -Message 'relay'\n", QUIET_SEND, known=False),
    Shape("startprocess", "Start-Process -FilePath \"$env:ProgramFiles\\blat\\blat.exe\" -ArgumentList "
          "\"-to ops@contoso.com -f alerts@contoso.com -u alerts -pw {value} -server smtp.office365.com:587\" -Wait\n", ""),
    Shape("nativeargs", "& \"$PSScriptRoot\\blat.exe\" report.txt -to ops@contoso.com -u alerts -pw {value} -server smtp.office365.com\n", ""),
    Shape("inlinejson", "$settings = '{{\"relay\":\"smtp.office365.com\",\"user\":\"alerts@contoso.com\",\"password\":\"{value}\"}}' | ConvertFrom-Json\n"
          "$sec = ConvertTo-SecureString $settings.password -AsPlainText -Force\n"),
    Shape("longernote", "$sec = ConvertTo-SecureString '{value}' -AsPlainText -Force\n$note = \"rotated:{value}2024 by ops\"\n"),
]

APIKEY = "SG.probeKeyAbcdefghij012.KLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv12"


def _apikey_script() -> str:
    return f"$sendgrid = '{APIKEY}'\n" + SEND.format(value=APIKEY)


def _forbidden(shape: Shape) -> list[str]:
    return [APIKEY] if shape.name == "apikey" else shape.forbidden()


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("probe") / "scripts"
    root.mkdir()
    for shape in SHAPES:
        text = _apikey_script() if shape.name == "apikey" else shape.script()
        (root / f"{shape.name}.ps1").write_text(text, encoding="utf-8")
        if shape.name == "configjson":
            (root / "configjson.json").write_text(json.dumps({"User": "alerts@contoso.com", "Pass": shape.value}), encoding="utf-8")
        elif shape.name == "configini":
            (root / "configini.ini").write_text(f"user=alerts@contoso.com\npass={shape.value}\n", encoding="utf-8")
        elif shape.name == "configpsd":  # a key not named like a secret: only the script's sink says it is one
            (root / "configpsd.psd1").write_text(f"@{{\n    User = 'alerts@contoso.com'\n    Login = '{shape.value}'\n}}\n", encoding="utf-8")
    # A value defined in one script and reused (outside any sink) in another.
    shared = Shape("crossfile", "$sec = ConvertTo-SecureString '{value}' -AsPlainText -Force\n")
    (root / "shared.ps1").write_text(shared.script(), encoding="utf-8")
    (root / "reuse.ps1").write_text(
        f"Send-MailMessage -From a@contoso.com -To b@contoso.com -Subject 'reminder {shared.value}' -SmtpServer smtp.office365.com -UseSsl\n",
        encoding="utf-8",
    )
    return root


ALL = SHAPES + [Shape("crossfile", "")]
OUTPUTS: dict[str, str] = {}  # output name -> text, filled by the `outputs` fixture


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout + "\n" + result.stderr


def _formats(enum_path: str, wanted: tuple[str, ...]) -> tuple[str, ...]:
    """The formats of this build among ``wanted`` (new formats join the probe as they land)."""
    module, name = enum_path.rsplit(".", 1)
    import importlib

    values = {f.value for f in getattr(importlib.import_module(module), name)}
    return tuple(f for f in wanted if f in values)


SCAN_FORMATS = _formats("scanner.reports.Format", ("terminal", "concise", "github", "json", "sarif", "html", "markdown", "csv", "xlsx"))
REPORT_FORMATS = _formats("scanner.reports.ReportFormat", ("html", "markdown", "csv", "xlsx", "terminal", "concise"))


def _file_text(path: Path) -> str:
    """A report file's text; an .xlsx is a zip of XML parts, read them all."""
    data = path.read_bytes()
    if data[:2] == b"PK":
        import io
        import zipfile

        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "\n".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())
    return data.decode("utf-8", "replace")


def _folder_text(folder: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in sorted(folder.rglob("*")) if p.is_file())


@pytest.fixture(scope="module")
def outputs(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    work = tmp_path_factory.mktemp("outputs")
    cache = work / "cache"
    found: dict[str, str] = {}
    for fmt in SCAN_FORMATS:
        if fmt != "xlsx":
            code, text = _invoke("scan", str(tree), "--format", fmt, "--cache-dir", str(cache), "--jobs", "2", "--exit-zero")
            assert code == 0, text
            found[f"scan {fmt} (stdout+stderr)"] = text
        out = work / f"report.{fmt}"
        _invoke("scan", str(tree), "--format", fmt, "--cache-dir", str(cache), "--jobs", "1", "--exit-zero", "-o", str(out))
        found[f"scan {fmt} --output file (warm cache)"] = _file_text(out)
    found["on-disk cache"] = _folder_text(cache)
    scan_json = work / "report.json"
    assert json.loads(scan_json.read_text(encoding="utf-8"))["findings"]
    for fmt in REPORT_FORMATS:
        merged = work / f"merged.{fmt}"
        code, text = _invoke("report", str(scan_json), "--format", fmt, "-o", str(merged))
        assert code == 0, text
        found[f"report {fmt} (merged)"] = _file_text(merged) + text
    code, text = _invoke("fix", str(tree))
    found["fix preview"] = text
    assert "Send-GraphMailMessage" in text
    fixed = work / "fixed"
    code, text = _invoke("fix", str(tree), "--out", str(fixed))
    found["fix --out messages"] = text
    found["fix --out kit"] = _folder_text(fixed / "smtp2graph-kit")
    snippets = []
    for path in sorted(tree.glob("*.ps1")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.startswith("Send-MailMessage"):
                snippets.append(_invoke("snippet", f"{path}:{number}")[1])
    found["snippet"] = "\n".join(snippets)
    code, text = _invoke("kit", str(work / "kit"), "--senders-from", str(scan_json))
    found["kit --senders-from"] = text + _folder_text(work / "kit")
    # Errors and logs: every file an error entry, a baseline run, PowerShell's parser judging (its
    # messages quote the script), and the messages of `fix --write` on a copy.
    code, text = _invoke("scan", str(tree), "--no-cache", "--max-file-size", "1", "--format", "json", "--exit-zero")
    found["scan errors (file over the size limit)"] = text
    code, text = _invoke("scan", str(tree), "--no-cache", "--baseline", str(scan_json), "--format", "json", "--exit-zero")
    found["scan --baseline"] = text
    from scanner.powershell import find_pwsh

    if find_pwsh() is not None:
        code, text = _invoke("fix", str(tree), "--judge", "powershell", "--unsafe-fixes")
        found["fix --judge powershell preview"] = text
    import shutil

    copy = work / "copy" / "scripts"
    shutil.copytree(tree, copy)
    code, text = _invoke("fix", str(copy), "--write", "--no-backup")
    found["fix --write messages"] = text
    OUTPUTS.update(found)
    return found


def test_every_probe_is_a_real_secret_the_scanner_sees(tree: Path) -> None:
    """The canaries are in the scripts, and every shape's value is registered (so masking is by value)."""
    from scanner.findings import file_secret_values
    from scanner.script import Script

    for shape in SHAPES:
        path = tree / f"{shape.name}.ps1"
        text = path.read_text(encoding="utf-8")
        script = Script(text, path.name)
        script.root = tree  # configuration files are read below the scan root
        values = file_secret_values(script)
        expected = APIKEY if shape.name == "apikey" else shape.value
        if shape.known:
            assert expected in values, (shape.name, sorted(values))
        else:
            from scanner.secrets import credential_flows

            assert expected not in values and credential_flows(script).has_sink, shape.name


@pytest.mark.parametrize("shape", ALL, ids=[s.name for s in ALL])
def test_no_canary_in_any_output(shape: Shape, outputs: dict[str, str]) -> None:
    leaks = [(name, secret) for name, text in outputs.items() for secret in _forbidden(shape) if secret in text]
    assert not leaks, f"{shape.name}: leaked into {leaks}"


def test_outputs_were_real(outputs: dict[str, str]) -> None:
    """Each output holds masked findings, so the leak check above looked at something."""
    for name in ("scan json (stdout+stderr)", "scan sarif --output file (warm cache)", "scan html --output file (warm cache)", "on-disk cache"):
        assert "***" in outputs[name], name
    assert "SEC00" in outputs["scan terminal (stdout+stderr)"]
    assert "Invoke-RestMethod" in outputs["snippet"]
    print(f"probed {len(ALL)} shapes x {len(outputs)} outputs = {len(ALL) * len(outputs)}")


def test_patched_copies_add_no_copy_of_a_secret(tree: Path, tmp_path: Path) -> None:
    """`fix --out` keeps the script's own text, but generated code never adds a copy of a secret."""
    out = tmp_path / "fixed"
    _invoke("fix", str(tree), "--out", str(out))
    patched = {p.name: p.read_text(encoding="utf-8") for p in out.glob("*.ps1")}
    assert patched
    for shape in ALL:
        source = tree / f"{shape.name}.ps1"
        if source.name not in patched:
            continue
        for secret in _forbidden(shape):
            assert patched[source.name].count(secret) <= source.read_text(encoding="utf-8").count(secret), (shape.name, secret)


def test_a_finding_claims_masking_only_when_the_value_is_masked(outputs: dict[str, str]) -> None:
    document = json.loads(outputs["scan json --output file (warm cache)"])
    claims = [f for f in document["findings"] if "'***'" in f["message"]]
    assert claims
    for finding in claims:
        assert "***" in finding["snippet"] or "***" in "\n".join(finding["context"]["lines"]), finding["rule"]


def test_a_plain_word_password_leaves_the_tools_own_words_and_paths_readable(tmp_path: Path) -> None:
    """A script whose password is "password" (or "public"): masked where the script has it, but the
    messages keep their words and the scan root and paths are not rewritten."""
    root = tmp_path / "public"
    root.mkdir()
    (root / "public.ps1").write_text(
        "$sec = ConvertTo-SecureString 'password' -AsPlainText -Force\n"
        "$pw2 = ConvertTo-SecureString 'public' -AsPlainText -Force\n" + CRED
        + "Send-MailMessage -From a@contoso.com -To b@contoso.com -Subject 'password' -SmtpServer smtp.office365.com -Port 587 -UseSsl -Credential $cred\n",
        encoding="utf-8",
    )
    code, text = _invoke("scan", str(root), "--format", "json", "--no-cache", "--exit-zero", "-q")
    document = json.loads(text.split("\n", 1)[0] if text.startswith("{") else text[text.index("{") :].split("\n")[0])
    assert document["root"].endswith("/public")
    smtp = [f for f in document["findings"] if f["rule"] == "SMTP001"]
    assert smtp and "password" in smtp[0]["message"] and "***" not in smtp[0]["message"]
    assert smtp[0]["path"] == "public.ps1"
    sec = [f for f in document["findings"] if f["rule"] == "SEC001"]
    assert sec and "'password'" not in sec[0]["snippet"] and "'***'" in sec[0]["snippet"]
    for finding in document["findings"]:
        assert "'password'" not in finding["snippet"] and "'public'" not in "\n".join(finding["context"]["lines"])
