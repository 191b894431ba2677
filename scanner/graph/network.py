"""What a connection failure says about the way out: the proxy the request went through (or that none was
set) and the CA bundle, by the names of the settings that change them.

smtp2graph talks to the identity platform and Graph with requests, which reads the proxy from
HTTPS_PROXY / https_proxy (or ALL_PROXY), skips it for the hosts in NO_PROXY, and trusts the CA bundle
in REQUESTS_CA_BUNDLE. A proxy URL may carry a user name and password: they are never shown.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def masked_proxy(url: str) -> str:
    """A proxy URL with its user name and password replaced by ***."""
    parts = urlsplit(url if "://" in url else "http://" + url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, "***@" + host, parts.path, parts.query, parts.fragment))


def _proxy_for(url: str) -> tuple[str, str]:
    """(variable, proxy URL) requests would use for ``url``; ("", "") when it goes direct."""
    import requests.utils

    proxies = requests.utils.get_environ_proxies(url)
    chosen = requests.utils.select_proxy(url, proxies)
    if not chosen:
        return "", ""
    for name in PROXY_VARIABLES:
        if os.environ.get(name) == chosen:
            return name, chosen
    return "HTTPS_PROXY", chosen


def _bypassed(url: str) -> str:
    """The NO_PROXY variable that sends ``url`` around a set proxy, if one does."""
    import requests.utils

    if not any(os.environ.get(name) for name in PROXY_VARIABLES):
        return ""
    for name in ("NO_PROXY", "no_proxy"):
        value = os.environ.get(name)
        if value and requests.utils.should_bypass_proxies(url, no_proxy=value):
            return f"{name}={value}"
    return ""


def network_hint(url: str) -> str:
    """One sentence for a connection failure to ``url``: which proxy was used (masked) or that none was set, and
    the CA bundle trusted."""
    host = urlsplit(url).hostname or url
    name, proxy = _proxy_for(url)
    if proxy:
        route = (f"the request went through the proxy {name}={masked_proxy(proxy)}: check that it is reachable and "
                 f"lets {host} through (NO_PROXY lists hosts that skip it)")
    else:
        bypass = _bypassed(url)
        if bypass:
            route = f"the request went direct to {host} ({bypass} skips the proxy for it)"
        else:
            route = (f"no proxy is set, so the request went direct to {host}: behind a proxy set "
                     "HTTPS_PROXY=http://proxy.example:8080 (and NO_PROXY for hosts that skip it)")
    bundle = next((f"{name}={os.environ[name]}" for name in CA_VARIABLES if os.environ.get(name)), "")
    trust = (f"certificates are checked against {bundle}" if bundle else
             "certificates are checked against the certifi bundle; a proxy that inspects TLS needs its root "
             "certificate in REQUESTS_CA_BUNDLE")
    return f"{route}; {trust}"
