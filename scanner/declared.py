"""Facts an estate declares about itself in .smtp2graph.toml, for verdicts a script alone cannot give.

    exchange-online-hosts = ["mail.contoso.com"]      # names that reach Exchange Online client submission
    [relay-hosts]                                      # or a list: relays that need no Exchange Online SMTP AUTH
    "relay.contoso.local" = "anonymous"                # the retirement does not touch it
    "smarthost.contoso.local" = "authenticated"        # it relays on to Exchange Online with SMTP AUTH basic
    [assume]                                           # values the scanner cannot see
    "$SmtpServer" = "smtp.office365.com"               # a variable (any script), $env:NAME too
    "settings.json:Mail.Server" = "smtp.office365.com" # a key of a configuration file a script loads

Every value taken from here is marked ``declared`` in the report, with the entry it came from.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Optional

CONFIG_NAME = ".smtp2graph.toml"


@dataclass(frozen=True)
class HostFact:
    """What the estate says about one SMTP host name."""

    pattern: str
    exchange_online: bool  # True: Exchange Online client submission; False: a relay
    relays_with_basic_auth: bool = False  # a relay that submits to Exchange Online with SMTP AUTH basic

    @property
    def entry(self) -> str:
        if self.exchange_online:
            return f'exchange-online-hosts = ["{self.pattern}"]'
        return f'relay-hosts."{self.pattern}" = "{"authenticated" if self.relays_with_basic_auth else "anonymous"}"'


@dataclass(frozen=True)
class EstateFacts:
    hosts: tuple[HostFact, ...] = ()
    assume: tuple[tuple[str, str], ...] = ()  # (key as written, value); keys compare case-insensitively
    source: str = CONFIG_NAME

    def host(self, name: Optional[str]) -> Optional[HostFact]:
        """The declared fact matching a host name (exact names first, then `*` patterns)."""
        if not name:
            return None
        host = name.strip().lower().rstrip(".")
        for fact in sorted(self.hosts, key=lambda f: "*" in f.pattern):
            if fnmatch.fnmatchcase(host, fact.pattern.lower()):
                return fact
        return None

    def assumed_variable(self, name: str) -> Optional[tuple[str, str]]:
        """(entry, value) assumed for `$name` (scope prefixes ignored except env:)."""
        low = name.lower()
        for prefix in ("script:", "global:", "local:", "private:", "using:"):
            if low.startswith(prefix):
                low = low[len(prefix) :]
        for key, value in self.assume:
            k = key.strip().lower()
            if k.startswith("$") and k[1:] == low:
                return key, value
        return None

    def assumed_key(self, path: str, key: str) -> Optional[tuple[str, str]]:
        """(entry, value) assumed for ``key`` of the configuration file at ``path`` (matched by its tail)."""
        want_path = path.replace("\\", "/").lower()
        want_key = key.lower()
        for entry, value in self.assume:
            if entry.startswith("$") or ":" not in entry:
                continue
            file_part, key_part = entry.rsplit(":", 1)
            file_part = file_part.replace("\\", "/").lower()
            if key_part.lower() == want_key and (want_path == file_part or want_path.endswith("/" + file_part)):
                return entry, value
        return None

    def __bool__(self) -> bool:
        return bool(self.hosts or self.assume)


def kind_of(value: object) -> str:
    """What a TOML value is, in the words of a configuration error."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def parse_estate(data: dict[str, object], source: str) -> EstateFacts:
    """The estate facts of a configuration table; a wrong shape raises ValueError naming the setting."""
    hosts: list[HostFact] = []
    exo = data.get("exchange-online-hosts", [])
    if not isinstance(exo, list) or not all(isinstance(h, str) and h.strip() for h in exo):
        raise ValueError(f"exchange-online-hosts: expected an array of host names, got {kind_of(exo)}")
    hosts.extend(HostFact(h.strip(), True) for h in exo)
    relays = data.get("relay-hosts", [])
    if isinstance(relays, list):
        if not all(isinstance(h, str) and h.strip() for h in relays):
            raise ValueError("relay-hosts: expected an array of host names or a table of host = \"anonymous\" | \"authenticated\"")
        hosts.extend(HostFact(h.strip(), False) for h in relays)
    elif isinstance(relays, dict):
        for host, how in relays.items():
            if not isinstance(how, str) or how not in ("anonymous", "authenticated"):
                raise ValueError(f'relay-hosts."{host}": expected "anonymous" or "authenticated", got {kind_of(how)}')
            hosts.append(HostFact(str(host).strip(), False, how == "authenticated"))
    else:
        raise ValueError(f"relay-hosts: expected an array of host names or a table of host = \"anonymous\" | \"authenticated\", got {kind_of(relays)}")
    assume = data.get("assume", {})
    if not isinstance(assume, dict):
        raise ValueError(f'assume: expected a table of "$Variable" or "file:Key.Path" = "value", got {kind_of(assume)}')
    for key, value in assume.items():
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise ValueError(f'assume."{key}": expected a string, got {kind_of(value)}')
        if not (key.startswith("$") or ":" in key):
            raise ValueError(f'assume."{key}": the key must be a "$Variable" or "file:Key.Path"')
    return EstateFacts(tuple(hosts), tuple((str(k), str(v)) for k, v in assume.items()), source)
