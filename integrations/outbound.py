"""Outbound HTTP for lead delivery, guarded against SSRF.

At send time the host name is resolved here (socket.getaddrinfo); unless
INTEGRATIONS_ALLOW_PRIVATE_URLS is on, any address that is not globally routable (private,
loopback, link-local such as 169.254.169.254, carrier-grade NAT, reserved, multicast,
unspecified, IPv4-mapped forms of those) refuses the URL. The connection then goes to the address
that was checked, with the name in the Host header and in TLS (SNI and certificate check), so a
second, different DNS answer cannot redirect it (DNS rebinding). Redirects are never followed;
connect and read have timeouts, and the whole answer must arrive within the read timeout.
"""

import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

MAX_RESPONSE_BYTES = 64 * 1024


class UrlRefused(Exception):
    """The URL may not be called (scheme, address); permanent: retrying does not help."""


class SendFailed(Exception):
    """The request could not be completed (connect, TLS, timeout, reset)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    latency_ms: int


def address_allowed(ip: str) -> bool:
    """Whether an outbound connection may go to `ip` when private addresses are not allowed."""
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_global and not addr.is_multicast


def check_url(url: str) -> None:
    """Refuse a URL that can never be sent to (scheme, credentials, no host); the address check
    happens at send time (resolve_checked)."""
    parts = urlsplit(url)
    schemes = ("https",) if settings.INTEGRATIONS_REQUIRE_HTTPS else ("https", "http")
    if parts.scheme not in schemes:
        raise UrlRefused(f"only {' or '.join(schemes)} URLs are allowed")
    if not parts.hostname:
        raise UrlRefused("the URL has no host")
    if parts.username or parts.password:
        raise UrlRefused("credentials in the URL are not allowed; use the Authorization header setting")


def resolve_checked(host: str, port: int) -> str:
    """The address to connect to: every address the name resolves to must be allowed (unless
    private URLs are allowed), the first one is used."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise SendFailed(f"could not resolve {host}: {exc}") from exc
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise SendFailed(f"{host} has no address")
    if not settings.INTEGRATIONS_ALLOW_PRIVATE_URLS:
        for ip in addresses:
            if not address_allowed(ip):
                raise UrlRefused(f"{host} resolves to {ip}, a private, loopback, link-local or reserved address")
    return addresses[0]


def post(*, url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` to `url` under the SSRF rules. Raises UrlRefused (permanent) or SendFailed."""
    check_url(url)
    parts = urlsplit(url)
    host = parts.hostname
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    ip = resolve_checked(host, port)
    timeout = urllib3.Timeout(connect=settings.INTEGRATIONS_CONNECT_TIMEOUT, read=settings.INTEGRATIONS_READ_TIMEOUT)
    pool_kwargs = dict(timeout=timeout, retries=False, maxsize=1, block=False)
    if https:
        pool = urllib3.HTTPSConnectionPool(
            ip,
            port,
            server_hostname=host,
            assert_hostname=host,
            cert_reqs=ssl.CERT_REQUIRED,
            ssl_context=ssl.create_default_context(),
            **pool_kwargs,
        )
    else:
        pool = urllib3.HTTPConnectionPool(ip, port, **pool_kwargs)
    default_port = 443 if https else 80
    host_header = host if port == default_port else f"{host}:{port}"
    if ":" in host and not host.startswith("["):
        host_header = f"[{host}]" if port == default_port else f"[{host}]:{port}"
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    started = time.perf_counter()
    deadline = started + settings.INTEGRATIONS_CONNECT_TIMEOUT + settings.INTEGRATIONS_READ_TIMEOUT
    try:
        response = pool.urlopen(
            "POST",
            path,
            body=body,
            headers={**headers, "Host": host_header},
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            chunks, size = [], 0
            for chunk in response.stream(4096):
                chunks.append(chunk)
                size += len(chunk)
                if size >= MAX_RESPONSE_BYTES:
                    break
                if time.perf_counter() > deadline:
                    raise SendFailed("the answer took longer than the read timeout")
            data = b"".join(chunks)[:MAX_RESPONSE_BYTES]
        finally:
            response.release_conn()
            response.close()
    except urllib3.exceptions.HTTPError as exc:
        raise SendFailed(f"{type(exc).__name__}: {_short(exc)}") from exc
    except OSError as exc:
        raise SendFailed(f"{type(exc).__name__}: {exc}") from exc
    finally:
        pool.close()
    return Answer(status=response.status, body=data, latency_ms=int((time.perf_counter() - started) * 1000))


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:200] + "…"
