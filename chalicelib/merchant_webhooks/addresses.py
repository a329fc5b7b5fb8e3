"""Where lastmile may send a merchant's webhooks: the URL's parts as the connection will use
them, and the rule that every address it connects to is public (in any spelling the resolver
accepts), plain http being allowed only to this machine and only on the local stage."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
MAX_HOST_LENGTH = 253
HTTPS_PORT = 443
LOWEST_OTHER_PORT = 1024  # below it only 443: no mail, SSH, DNS... on a merchant's host
_HOST_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._")
# IPv6 prefixes that carry an IPv4 address a gateway may deliver to: NAT64 (RFC 6052, 8215)
# and the deprecated IPv4-compatible form. `ipaddress` calls these global; what they lead to
# is the embedded IPv4 address, so that is what is checked.
_EMBEDDING_V4 = (
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("64:ff9b:1::/48"),
    ipaddress.IPv6Network("::/96"),
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrl(ValueError):
    """The URL may not be POSTed to (the message says why, for the merchant)."""


class ResolutionFailed(OSError):
    """The host name did not resolve (in time)."""


class Resolver(Protocol):
    def resolve(self, host: str, port: int, timeout_s: float) -> list[str]:
        """The addresses `host` resolves to, as the connection would use them; raises
        ResolutionFailed when there are none within `timeout_s`."""
        ...


class SystemResolver:
    """The machine's resolver (getaddrinfo, the parser a socket connection uses), waited for
    at most `timeout_s`: a name server that never answers cannot hold a delivery past its
    deadline (the lookup thread is left to finish on its own)."""

    def resolve(self, host: str, port: int, timeout_s: float) -> list[str]:
        found: list[str] = []
        failure: list[BaseException] = []
        done = threading.Event()

        def lookup() -> None:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                found.extend(str(info[4][0]) for info in infos)
            except (OSError, UnicodeError) as exc:
                failure.append(exc)
            finally:
                done.set()

        threading.Thread(target=lookup, name="webhook-dns", daemon=True).start()
        if not done.wait(max(timeout_s, 0.0)):
            raise ResolutionFailed(f"{host} did not resolve within {timeout_s:g} s")
        if failure or not found:
            raise ResolutionFailed(f"{host} does not resolve ({failure[0] if failure else ''})")
        return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Target:
    """A webhook URL as the connection uses it: `host` is the name (IDNA, lower case) sent as
    SNI and Host; `literal` is set when the host is an address itself."""

    scheme: str
    host: str
    port: int
    path: str
    literal: IPAddress | None


def is_localhost_name(host: str) -> bool:
    """`localhost` and names under it are this machine whatever DNS says (RFC 6761)."""
    name = host.rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def literal_address(host: str) -> IPAddress | None:
    """The address `host` spells, in any form the system's parser reads as an address
    (`127.1`, `2130706433`, `0x7f000001`, `0177.0.0.1`, `::ffff:127.0.0.1`, with a trailing
    dot...); None for a name. IPv4 goes through libc's inet_aton, the parser getaddrinfo uses
    for numeric hosts (on a host already limited to name characters, so its leniency about
    trailing text has nothing to accept), so no spelling a connection would take as an
    address passes as a "name"."""
    for spelling in dict.fromkeys((host, host.rstrip("."))):
        if ":" in spelling:
            try:
                return ipaddress.IPv6Address(spelling)
            except ValueError:
                continue
        try:
            return ipaddress.IPv4Address(socket.inet_aton(spelling))
        except OSError:
            continue
    return None


def parse_target(url: str, *, allow_local_http: bool) -> Target:
    """The URL's parts, or UnsafeUrl: https (or, where `allow_local_http`, http), a host, no
    credentials, port 443 or one from 1024 (any port for local http)."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"required, at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"not a valid URL ({exc})") from exc
    if "@" in parts.netloc:
        raise UnsafeUrl("must not carry credentials")
    if parts.scheme == "http" and allow_local_http:
        pass  # checked against the addresses: this machine only
    elif parts.scheme != "https":
        raise UnsafeUrl("must be https")
    if not host:
        raise UnsafeUrl("must name a host")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError as exc:
        raise UnsafeUrl("not a valid host name") from exc
    if len(host) > MAX_HOST_LENGTH or not set(host) <= _HOST_CHARACTERS | set(":%"):
        raise UnsafeUrl("not a valid host name")
    literal = literal_address(host)
    if literal is not None:
        host = str(literal)
    elif ":" in host or "%" in host:
        raise UnsafeUrl("not a valid host name")
    default = HTTPS_PORT if parts.scheme == "https" else 80
    port = default if port is None else port
    if port == 0 or (parts.scheme == "https" and port != HTTPS_PORT and port < LOWEST_OTHER_PORT):
        raise UnsafeUrl(f"port {port} is not allowed (443, or 1024 and above)")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, path, literal)


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if any(address in network for network in _EMBEDDING_V4) and int(address) > 1:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """Globally reachable unicast, and so is any IPv4 address it carries: not private,
    loopback, link-local (the instance metadata), shared, multicast, reserved, unspecified."""
    if address.is_multicast or not address.is_global:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_v4(address)
        return embedded is None or is_public(embedded)
    return True


def is_this_machine(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def check_addresses(target: Target, addresses: Sequence[str]) -> list[IPAddress]:
    """Every address the host resolved to, each allowed for the target's scheme (https: public;
    http: this machine), or UnsafeUrl. All of them, not the first: a connection may take any."""
    if not addresses:
        raise UnsafeUrl(f"{target.host} resolves to no address")
    checked = [ipaddress.ip_address(a.split("%")[0]) for a in addresses]
    for address in checked:
        if target.scheme == "https" and not is_public(address):
            raise UnsafeUrl(f"{target.host} is or resolves to a private or reserved address")
        if target.scheme == "http" and not is_this_machine(address):
            raise UnsafeUrl("plain http only to this machine (the local stage)")
    return checked
