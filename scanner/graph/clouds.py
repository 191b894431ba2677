"""Microsoft's clouds: each has its own authority, Graph host and token resource, which must be used together."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Optional
from urllib.parse import urlsplit

from scanner.graph.errors import ToolError


class Cloud(str, Enum):
    """`--cloud`."""

    GLOBAL = "global"
    USGOV = "usgov"  # GCC High (US Government L4)
    USGOVDOD = "usgovdod"  # DoD (US Government L5)
    CHINA = "china"  # operated by 21Vianet


# What each cloud lacks that audit would otherwise read (Microsoft Graph national cloud notes).
SIGN_IN_LOGS = "sign-in logs (auditLogs/signIns)"
USAGE_REPORT = "the email app usage report (Microsoft 365 usage reports)"


@dataclass(frozen=True)
class CloudEndpoints:
    """Authority host, Graph host and what the cloud does not offer."""

    cloud: Cloud
    authority_host: str
    graph_host: str
    lacks: tuple[str, ...] = ()

    @property
    def graph_url(self) -> str:
        """Graph v1.0 base URL."""
        return f"https://{self.graph_host}/v1.0"

    @property
    def resource(self) -> str:
        """The token audience: `<resource>/.default` for app-only tokens."""
        return f"https://{self.graph_host}"

    def module_settings(self) -> dict[str, str]:
        """The SMTP2GRAPH_* values the generated module and kit need for this cloud."""
        return {"SMTP2GRAPH_AUTHORITY_HOST": f"https://{self.authority_host}",
                "SMTP2GRAPH_GRAPH_ENDPOINT": f"https://{self.graph_host}"}


CLOUDS: dict[Cloud, CloudEndpoints] = {
    Cloud.GLOBAL: CloudEndpoints(Cloud.GLOBAL, "login.microsoftonline.com", "graph.microsoft.com"),
    Cloud.USGOV: CloudEndpoints(Cloud.USGOV, "login.microsoftonline.us", "graph.microsoft.us", (USAGE_REPORT,)),
    Cloud.USGOVDOD: CloudEndpoints(Cloud.USGOVDOD, "login.microsoftonline.us", "dod-graph.microsoft.us",
                                   (USAGE_REPORT,)),
    Cloud.CHINA: CloudEndpoints(Cloud.CHINA, "login.chinacloudapi.cn", "microsoftgraph.chinacloudapi.cn",
                                (SIGN_IN_LOGS, USAGE_REPORT)),
}


def endpoints(cloud: Cloud | str) -> CloudEndpoints:
    """The endpoints of a cloud (a ToolError for an unknown name)."""
    try:
        return CLOUDS[Cloud(cloud)]
    except ValueError:
        names = ", ".join(c.value for c in Cloud)
        raise ToolError(f"--cloud {cloud}: choose one of {names}") from None


def cloud_of_graph_host(host: str) -> Optional[Cloud]:
    """The cloud a known Graph host belongs to (None for anything else: a proxy, the test fake)."""
    for entry in CLOUDS.values():
        if host.lower() == entry.graph_host:
            return entry.cloud
    return None


def cloud_of_authority_host(host: str) -> Optional[set[Cloud]]:
    """The clouds a known authority host serves (usgov and usgovdod share one)."""
    found = {entry.cloud for entry in CLOUDS.values() if host.lower() == entry.authority_host}
    return found or None


def check_consistent(cloud: CloudEndpoints, authority_host: str, graph_url: str) -> None:
    """Refuse an authority or Graph URL from another cloud than --cloud, with the reason."""
    graph_host = (urlsplit(graph_url).hostname or "").lower()
    other = cloud_of_graph_host(graph_host)
    if other is not None and other is not cloud.cloud:
        raise ToolError(
            f"--graph-url {graph_url} is Graph in the '{other.value}' cloud but --cloud is '{cloud.cloud.value}': a token "
            f"for one cloud is refused by the other's Graph — use --cloud {other.value}, or drop --graph-url")
    authority = authority_host.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
    clouds = cloud_of_authority_host(authority)
    if clouds is not None and cloud.cloud not in clouds:
        names = " or ".join(sorted(c.value for c in clouds))
        raise ToolError(
            f"--authority-host {authority_host} signs in to the {names} cloud but --cloud is '{cloud.cloud.value}': "
            "the tenant, the authority and Graph must all be in one cloud")


def graph_resource(cloud: CloudEndpoints, graph_url: str) -> str:
    """The token resource: the Graph host's own cloud when it is a known host, else --cloud's (proxies, the fake)."""
    host = (urlsplit(graph_url).hostname or "").lower()
    known = cloud_of_graph_host(host)
    return CLOUDS[known].resource if known is not None else cloud.resource
