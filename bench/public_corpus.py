"""Re-create the public corpus of real PowerShell scripts from fetched repository snapshots.

The corpus is never committed: it is rebuilt from git snapshots of public repositories
(brought onto the machine with the search tool's ``fetch``, which lays them out as
``<mirror>/<owner>+<name>/repo``). Each repository becomes one folder of the corpus holding
its PowerShell files and the small configuration files scripts load (JSON, XML, .config,
.psd1, INI, YAML, CSV), so the verdict resolver can follow them.

    python bench/public_corpus.py [--mirror /work/.mirror] [--out /work/corpus/public]

Prints one line per repository (files extracted, commit) and writes ``MANIFEST.tsv`` and
``READY`` into the output folder.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

# Public repositories with scripts that send mail (Send-MailMessage, SmtpClient, Graph, Mailozaurr).
REPOSITORIES: tuple[str, ...] = (
    "admindroid-community/powershell-scripts",
    "12Knocksinna/Office365itpros",
    "lazywinadmin/PowerShell",
    "junecastillote/ExCmdReport",
    "junecastillote/Ms365UsageReport",
    "junecastillote/Get-ExchangeHealth",
    "RamblingCookieMonster/PowerShell",
    "EvotecIT/Mailozaurr",
    "damianjyates/Powershell",
    "BertMueller18/ps-scripts",
    "cunninghamp/Office365MessageCenterDigest",
    "proxb/PowerShell_Scripts",
    "SammyKrosoft/PowerShell",
    "technetcentral/PowerShellScripts",
    "patduckless/PowerShell_Tools",
    "hd9/code",
    "andrepinguim/tools-utils",
    "mlwiles/scripts",
    "piyushv080/Powershell-Hackathon",
    "gerryw1389/powershell",
    "tonyjameshart/Powershell-",
    "dfinke/ImportExcel",
    "MikeSoft007/PowerShell",
    "lukasz-de/Intune-Scripts",
    "pncit/hub",
    "dpaulson45/PublicPowerShellScripts",
    "gioxx/Nebula.Automations",
    "RyKaj/PowerShell",
    "aajibad1/NotifiyUserPasswordExpire",
    "Jolly9642/Windows-AD-Password-Reset-Email-Notification",
    "microsoftgeek/O365-PowerShell",
    "paramsd1997/powershell_scripts",
)

# A second set, swept on 7 December 2026 for shapes the first did not hold (a Mailozaurr splat that sets
# Graph on one path, a MailKit client made twice, a cast-built SmtpClient, CDO factories):
# `--set sweep --out /work/corpus/sweep`.
SWEEP_REPOSITORIES: tuple[str, ...] = (
    "bordera-randy/Powershell-Public",
    "BlaktankmoanPS/Powershell",
    "jmlaubach/powershellscripts",
    "AU-Mark/PS-PasswordExpiryNotification",
    "JhonatanCremona/BackupScrip",
    "DoanhTran03/Send-MailKitMessage",
    "austineric/PowerShellScriptTemplates",
    "aollivierre/Exchange",
    "wasserja/PowerShell",
    "bwya77/PowerShell",
)

SCRIPT_SUFFIXES = (".ps1", ".psm1", ".psd1")
CONFIG_SUFFIXES = (".json", ".xml", ".config", ".ini", ".yml", ".yaml", ".csv", ".txt")
MAX_CONFIG_BYTES = 256 * 1024
MAX_SCRIPT_BYTES = 2 * 1024 * 1024


def git_dir(mirror: Path, repository: str) -> Path | None:
    """The git directory of a fetched snapshot, or None when it was not fetched."""
    base = mirror / repository.replace("/", "+") / "repo"
    for candidate in (base / ".git", base):
        if (candidate / "HEAD").is_file():
            return candidate
    return None


def extract(repository: str, gitdir: Path, out: Path) -> tuple[int, str]:
    """Write the repository's scripts and small config files under ``out``; return (files, commit)."""
    commit = subprocess.run(["git", "--git-dir", str(gitdir), "rev-parse", "HEAD"],
                            capture_output=True, text=True, check=True).stdout.strip()
    listing = subprocess.run(["git", "--git-dir", str(gitdir), "ls-tree", "-r", "-l", "-z", commit],
                             capture_output=True, check=True).stdout
    target = out / repository.replace("/", "__")
    written = 0
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, _, raw_path = entry.partition(b"\t")
        mode, kind, sha, size = meta.split()
        if kind != b"blob" or mode == b"120000" or not size.isdigit():  # a missing blob reads "BAD"
            continue
        name = raw_path.decode("utf-8", "surrogateescape")
        lower = name.lower()
        limit = MAX_SCRIPT_BYTES if lower.endswith(SCRIPT_SUFFIXES) else (
            MAX_CONFIG_BYTES if lower.endswith(CONFIG_SUFFIXES) else 0)
        if not limit or int(size) > limit:
            continue
        data = subprocess.run(["git", "--git-dir", str(gitdir), "cat-file", "blob", sha.decode()],
                              capture_output=True, check=True).stdout
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written += 1
    return written, commit


def main(argv: list[str] | None = None) -> int:
    """Rebuild the corpus; exit 1 when no repository snapshot was found."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--out", type=Path, default=Path("/work/corpus/public"))
    parser.add_argument("--set", choices=("public", "sweep"), default="public", help="which list of repositories")
    options = parser.parse_args(argv)
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "READY").unlink(missing_ok=True)
    manifest = []
    for repository in REPOSITORIES if options.set == "public" else SWEEP_REPOSITORIES:
        gitdir = git_dir(options.mirror, repository)
        if gitdir is None:
            print(f"{repository}: not fetched (fetch github:{repository} first)", file=sys.stderr)
            continue
        count, commit = extract(repository, gitdir, options.out)
        manifest.append(f"{repository}\t{commit}\t{count}")
        print(f"{repository}: {count} file(s) at {commit[:12]}")
    (options.out / "MANIFEST.tsv").write_text("repository\tcommit\tfiles\n" + "\n".join(manifest) + "\n",
                                              encoding="utf-8")
    if not manifest:
        return 1
    (options.out / "READY").write_text("ok\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
