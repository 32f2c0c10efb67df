"""Fetching a user-given address without letting it reach into the platform's own network.

The rule is the one outgoing webhooks follow (api/webhooks.py): the host must resolve to
public addresses only; loopback, private, link-local, shared (CGNAT), multicast, reserved
and unspecified addresses are refused, also when written in shorthand (`0x7f000001`,
`127.1`) or embedded in IPv6 (`::ffff:127.0.0.1`, 6to4, NAT64). Here it is applied on
every hop of a redirect, and the connection goes to the address that was checked (the
name is resolved once), so a DNS answer that changes between check and connect (DNS
rebinding) cannot slip through. Size and time are bounded.

Errors carry an internal reason for the log and never reach the user as such: callers turn
them into a plain message.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

REDIRECT_CODES = {301, 302, 303, 307, 308}
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class FetchError(Exception):
    """The address could not be fetched; `reason` is for the log, `kind` for the caller."""

    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind = kind  # "address", "refused", "unreachable", "status", "too_large", "timeout"
        self.reason = reason


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(address: str) -> bool:
    """True for an address on the public internet, the only kind a user may make us fetch."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return is_public_address(str(embedded))
    return ip.is_global and not (
        ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_private
    )


def resolve(host: str, port: int) -> list[str]:
    """Every address the name stands for (numeric shorthands included, as the OS reads them)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchError("unreachable", f"cannot resolve {host!r}: {exc}") from exc
    addresses: list[str] = []
    for info in infos:
        address = info[4][0]  # a host's text for IPv4 and IPv6, the stream families asked for
        if isinstance(address, str) and address not in addresses:
            addresses.append(address)
    if not addresses:
        raise FetchError("unreachable", f"{host!r} has no address")
    return addresses


def checked_address(host: str, port: int, allow_private: bool) -> str:
    """The address to connect to: all the name's addresses must be public (else one of
    them could be chosen by a rebinding resolver), unless private ones are allowed."""
    addresses = resolve(host, port)
    if not allow_private:
        refused = [a for a in addresses if not is_public_address(a)]
        if refused:
            raise FetchError("refused", f"{host!r} resolves to non-public {refused[0]}")
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address; the Host header keeps the name."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to the checked address; TLS verifies the certificate against the name."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    timeout: float = 10.0  # each connect and read
    deadline: float = 30.0  # the whole fetch, redirects included
    max_redirects: int = 5


def fetch_public(url: str, limits: Limits, *, allow_private: bool = False) -> bytes:
    """GET `url` and return its body, following redirects under the same rule."""
    started = time.monotonic()
    for _hop in range(limits.max_redirects + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError("address", f"not an http(s) address: {url[:200]!r}")
        if parts.username or parts.password:
            raise FetchError("address", "credentials in the address")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise FetchError("address", f"bad port in {url[:200]!r}") from exc
        host = parts.hostname
        address = checked_address(host, port, allow_private)
        remaining = limits.deadline - (time.monotonic() - started)
        if remaining <= 0:
            raise FetchError("timeout", "the fetch took too long")
        kind = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
        connection = kind(host, port, address, min(limits.timeout, remaining))
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        response = None
        try:
            connection.request(
                "GET",
                path,
                headers={"User-Agent": "ShareHub-Calendar/1", "Accept": "text/calendar, */*"},
            )
            response = connection.getresponse()
            if response.status in REDIRECT_CODES and response.getheader("Location"):
                url = urljoin(url, response.getheader("Location"))
                continue
            if response.status != 200:
                raise FetchError("status", f"HTTP {response.status} from {host}")
            length = response.getheader("Content-Length")
            if length and length.isdigit() and int(length) > limits.max_bytes:
                raise FetchError("too_large", f"Content-Length {length}")
            return _read_limited(response, limits, started)
        except (OSError, http.client.HTTPException) as exc:
            kind_ = "timeout" if isinstance(exc, TimeoutError) else "unreachable"
            raise FetchError(kind_, f"{host}: {exc.__class__.__name__}: {exc}") from exc
        finally:
            if response is not None:
                response.close()  # it holds the socket once the server said it closes
            connection.close()
    raise FetchError("unreachable", "too many redirects")


def _read_limited(response, limits: Limits, started: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() - started > limits.deadline:
            raise FetchError("timeout", "the body took too long")
        chunk = response.read(64 * 1024)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limits.max_bytes:
            raise FetchError("too_large", f"more than {limits.max_bytes} bytes")
        chunks.append(chunk)
