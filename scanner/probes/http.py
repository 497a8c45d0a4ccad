"""HTTP(S) banner probe: ``/`` on each open web port, a few maker-specific pages when hinted.

Politeness and safety: ``/`` on each open web port plus at most ``config.max_requests`` more GETs per host
(with credentials, at most two more: the challenge of the login page if not yet asked, and the login), no
redirect to another host, and never the dangerous requests of fingerprints.md section 13 (no PUT
to /SDK/webLanguage, no ``?auth=``, no /current_config, no ``global.login``). Every exchange is
bounded in time (``config.request_timeout``, enforced by a watchdog even against a server that
drips bytes) and in size (``config.max_body``); a body is read as sent (``identity`` requested),
a compressed one is inflated only up to the same limit. Certificates are not checked here: the
``tls`` probe records them.

With ``--credentials`` covering the host, and only once the unauthenticated answers named a maker,
one authenticated read-only GET is made (Hikvision ``/ISAPI/System/deviceInfo``, Dahua
``magicBox.cgi?action=getSystemInfo``): a login attempt counts against the device's lockout, so
there is never a retry and never another username. Digest is used whenever offered (it never
sends the password); a Basic-only challenge gets the credential over HTTPS only. The reply is an
ordinary HTTP_RESPONSE marked ``http.authenticated = "yes"``; the username, password and the
Authorization header are never logged or put into an observation.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import re
import threading
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from ..config import Credential
from ..models import ArtefactKind, Observation
from ..protocols._common import bound_headers
from . import HostInfo, Probe, ProbeContext, register
from ._tcp import Watchdog

log = logging.getLogger("camsweep")

WEB_PORTS = (80, 443, 8080, 8443, 81, 88, 8081, 8888, 8899, 7443, 49152)
"""Usual web ports, asked first; any other open port is asked too unless it is known not to be HTTP."""
NOT_HTTP = frozenset({21, 22, 23, 25, 53, 445, 554, 8554, 8000, 9010, 9020, 34567, 37777, 37778, 5000, 35000, 3389})
TLS_PORTS = frozenset({443, 8443, 7443, 4443, 10443})

HIKVISION_PAGES = ("/ISAPI/System/deviceInfo", "/doc/page/login.asp")
DAHUA_PAGES = ("/cgi-bin/magicBox.cgi?action=getDeviceType",)
AUTH_PAGES = {"hikvision": "/ISAPI/System/deviceInfo", "dahua": "/cgi-bin/magicBox.cgi?action=getSystemInfo"}
"""The one page asked with the user's credentials, per hinted maker: read-only identity pages."""
# Never requested, whatever a page links to (fingerprints.md section 13). Checked by forbidden().
_FORBIDDEN = re.compile(r"/SDK/webLanguage|[?&]auth=|/current_config|RPC2_Login|/RPC2\b", re.IGNORECASE)

_HIK_SERVER = re.compile(r"(hikvision|dnvrs|dvrdvs|interlogix)-webs|^app-webs|^webs$|^webserver$", re.IGNORECASE)
_HIK_BODY = re.compile(r"doc/page/login\.asp|ISAPI|hikvision", re.IGNORECASE)
_HIK_REALM = re.compile(r'realm="?(hikvision|IP Camera\(|[0-9a-f]{24}")', re.IGNORECASE)
_DAHUA_BODY = re.compile(r"<title>\s*WEB SERVICE\s*</title>|RPC2_Login|t_username|@WebVersion@", re.IGNORECASE)
_DAHUA_REALM = re.compile(r'realm="?Login to ', re.IGNORECASE)

_local = threading.local()


@dataclass
class Fetched:
    """One HTTP exchange as seen on the wire, with the limits it hit."""

    url: str
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    problem: str | None = None
    detail: str = ""
    oversize: bool = False


def _tracked_classes() -> tuple[type, type]:
    """Connection pools whose new sockets register with the current thread's watchdog."""
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    def new_conn(base: type) -> Any:
        def _new_conn(self: Any) -> Any:
            sock = getattr(base, "_new_conn")(self)
            dog: Watchdog | None = getattr(_local, "watchdog", None)
            return dog.watch(sock) if dog else sock
        return _new_conn

    conn = type("TrackedHTTPConnection", (HTTPConnection,), {"_new_conn": new_conn(HTTPConnection)})
    sconn = type("TrackedHTTPSConnection", (HTTPSConnection,), {"_new_conn": new_conn(HTTPSConnection)})
    pool = type("TrackedPool", (HTTPConnectionPool,), {"ConnectionCls": conn})
    spool = type("TrackedSPool", (HTTPSConnectionPool,), {"ConnectionCls": sconn})
    return pool, spool


_POOLS: tuple[type, type] | None = None


def _session() -> Any:
    import requests
    import urllib3
    from requests.adapters import HTTPAdapter

    global _POOLS
    if _POOLS is None:
        _POOLS = _tracked_classes()
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    session = requests.Session()
    session.trust_env = False  # never a proxy from the environment, never ~/.netrc credentials
    adapter = HTTPAdapter(max_retries=0, pool_connections=1, pool_maxsize=1)
    adapter.poolmanager.pool_classes_by_scheme = {"http": _POOLS[0], "https": _POOLS[1]}
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.clear()
    session.headers.update({
        "User-Agent": "camsweep (device inventory)",
        "Accept": "*/*",
        "Accept-Encoding": "identity",
        "Connection": "close",
    })
    return session


def _inflate(body: bytes, encoding: str, limit: int) -> bytes:
    wbits = {"gzip": 47, "x-gzip": 47, "deflate": 15}.get(encoding.strip().lower())
    if wbits is None:
        return body
    try:
        return zlib.decompressobj(wbits).decompress(body, limit)
    except zlib.error:
        return body


def fetch(url: str, *, connect_timeout: float, read_timeout: float, total: float, max_body: int,
          authorization: str | None = None) -> Fetched:
    """GET ``url`` once; never raises for anything the server does.

    ``authorization`` is sent as the Authorization header as given (no auth handler: a 401 is
    returned as it is, never answered again).
    """
    import requests

    result = Fetched(url)
    session = _session()
    dog = Watchdog(total)
    _local.watchdog = dog
    started = time.monotonic()
    try:
        with dog:
            response = session.get(url, timeout=(connect_timeout, read_timeout), allow_redirects=False,
                                   stream=True, verify=False,
                                   headers={"Authorization": authorization} if authorization else None)
            if dog.fired:  # the head itself was cut: what http.client parsed is not evidence
                response.close()
                result.problem, result.detail = "http-timeout", f"reply head not complete within {total:g} s"
                return result
            try:
                result.status = response.status_code
                original = getattr(response.raw, "_original_response", None)
                message = getattr(original, "msg", None)
                items = message.items() if message is not None else response.raw.headers.items()
                # Bounded here, so the hint, redirect and login steps never see a 6 MB header.
                result.headers = bound_headers(items)
                body = bytearray()
                while len(body) <= max_body:
                    if time.monotonic() - started > total:
                        result.problem, result.detail = "http-timeout", f"body not complete after {total:g} s"
                        break
                    chunk = response.raw.read(min(65536, max_body + 1 - len(body)), decode_content=False)
                    if not chunk:
                        break
                    body += chunk
                if len(body) > max_body:
                    result.oversize = True
                    del body[max_body:]
                encoding = response.headers.get("Content-Encoding", "")
                result.body = _inflate(bytes(body), encoding, max_body) if encoding else bytes(body)
            finally:
                response.close()
    except requests.exceptions.ConnectionError as exc:
        if dog.fired:
            result.problem, result.detail = "http-timeout", f"no complete reply within {total:g} s"
        elif _refused(exc):
            result.problem, result.detail = "http-refused", "connection refused"
        else:
            result.problem, result.detail = "http-bad-reply", _reason(exc)
    except requests.exceptions.Timeout:
        result.problem, result.detail = "http-timeout", f"no reply within {read_timeout:g} s"
    except (requests.exceptions.RequestException, OSError, ValueError) as exc:
        result.problem = "http-timeout" if dog.fired else "http-bad-reply"
        result.detail = _reason(exc)
    finally:
        _local.watchdog = None
        session.close()
    if dog.fired and result.problem is None:
        result.problem, result.detail = "http-timeout", f"reply cut after {total:g} s"
    return result


def forbidden(path: str) -> bool:
    """True if ``path`` (with its query) is one we never request, however it is spelled.

    A redirect is device input: ``/%63urrent_config``, ``/RPC%32``, ``/%2563urrent_config`` or
    ``\\current_config`` reach the same handler on a device that decodes (even twice) or takes
    backslashes as slashes, so the path is compared as written, percent-decoded until it no longer
    changes, and with backslashes as slashes and control characters and whitespace removed.
    Dot segments and doubled slashes need nothing: the patterns are searched anywhere in the path.
    """
    forms = [path]
    decoded = path
    for _ in range(4):
        again = unquote(decoded, errors="replace")
        if again == decoded:
            break
        decoded = again
        forms.append(decoded)
    else:
        return True  # still encoded after four rounds: nothing a device serves, only a disguise
    forms.append(re.sub(r"[\x00-\x20\x7f]+", "", decoded.replace("\\", "/")))
    return any(_FORBIDDEN.search(form) for form in forms)


def _refused(exc: BaseException) -> bool:
    text = repr(exc)
    return "Connection refused" in text or "Errno 111" in text


def _reason(exc: BaseException) -> str:
    """The innermost useful message of a requests/urllib3 exception chain, one line."""
    text = str(exc)[:600]
    cause: BaseException | None = exc
    while cause is not None:
        if cause.args and isinstance(cause.args[0], str):
            text = cause.args[0][:600]
        cause = cause.__cause__ or cause.__context__
    return re.sub(r"\s+", " ", text)[:300]


def authorization_for(headers: Iterable[tuple[str, str]], credential: Credential, url: str) -> tuple[str | None, str]:
    """The Authorization value answering a 401's challenges, or (None, why not).

    Digest is preferred whenever offered: over plain HTTP it is the only scheme that does not
    send the password. Basic is answered only over HTTPS.
    """
    from requests.auth import HTTPDigestAuth

    from ..protocols.http import parse_challenges

    challenges = [c for name, value in headers if name.lower() == "www-authenticate" for c in parse_challenges(value)]
    schemes = {scheme.lower() for scheme, _ in challenges}
    for scheme, params in challenges:
        if scheme.lower() != "digest" or "nonce" not in params or "realm" not in params:
            continue
        digest = HTTPDigestAuth(credential.username, credential.password)
        digest.init_per_thread_state()
        # requests builds the header from the challenge it stored on its own 401; handing it the
        # challenge already read keeps the exchange to one bounded, unretried request.
        digest._thread_local.chal = dict(params)
        value = digest.build_digest_header("GET", url)
        if value:
            return value, ""
    if "digest" in schemes:
        return None, "http-auth-skipped: digest challenge with an unsupported algorithm or qop"
    if "basic" in schemes:
        if urlsplit(url).scheme != "https":
            return None, "http-auth-skipped: Basic over plain HTTP would expose the password"
        token = base64.b64encode(f"{credential.username}:{credential.password}".encode()).decode("ascii")
        return f"Basic {token}", ""
    if schemes:
        return None, f"http-auth-skipped: unsupported authentication scheme(s) {', '.join(sorted(schemes))}"
    return None, "http-auth-skipped: no authentication challenge"


def _scrub(observation: Observation, secrets: Iterable[str]) -> Observation:
    """Belt and braces: a device echoing the password must not put it into the output."""
    words = [w for w in secrets if len(w) >= 4]
    if not words:
        return observation

    def clean(text: str) -> str:
        for word in words:
            text = text.replace(word, "[redacted]")
        return text

    return dataclasses.replace(observation, raw=clean(observation.raw) if observation.raw else observation.raw,
                               fields={k: clean(v) for k, v in observation.fields.items()})


def hints(fetched: Fetched) -> set[str]:
    """Which maker a first answer hints at ("hikvision", "dahua"): decides the follow-up pages."""
    found: set[str] = set()
    names = [k for k, _ in fetched.headers]
    values = {k.lower(): v for k, v in fetched.headers}
    server = values.get("server", "").strip()
    text = fetched.body[:65536].decode("latin-1", errors="replace")
    auth = values.get("www-authenticate", "")
    location = values.get("location", "")
    if _HIK_SERVER.search(server) or _HIK_BODY.search(text) or _HIK_REALM.search(auth) or "/doc/page/" in location:
        found.add("hikvision")
    upper_names = any(n.isupper() and len(n) > 3 for n in names)
    if (not server and upper_names) or _DAHUA_BODY.search(text) or _DAHUA_REALM.search(auth):
        found.add("dahua")
    return found


@register
class HttpProbe(Probe):
    name = "http"
    description = "HTTP(S) GET / on open web ports, plus a few maker pages when the first answer hints"

    def _observe(self, ctx: ProbeContext, host: HostInfo, port: int, scheme: str, path: str, got: Fetched) -> None:
        if got.problem == "http-refused":
            return
        if got.problem is not None and got.status is None:
            ctx.emit(Observation.make(self.name, ArtefactKind.HTTP_RESPONSE, ip=host.ip, mac=host.mac, port=port,
                                      raw=f"GET {path}: {got.detail}", problem=got.problem))
            return
        from ..protocols import http as http_codec

        assert got.status is not None
        made: Observation | list[Observation]
        try:
            made = http_codec.parse_response(got.status, got.headers, got.body, path=path, port=port, scheme=scheme,
                                             probe=self.name, ip=host.ip, mac=host.mac)
        except Exception as exc:  # a codec bug must not end the scan; keep the evidence
            log.debug("http: codec failed on %s:%s%s: %s", host.ip, port, path, exc)
            made = [Observation.make(self.name, ArtefactKind.HTTP_RESPONSE, ip=host.ip, port=port,
                                     raw=got.body[:4096], problem="http-unparsed")]
        for observation in _as_list(made):
            ctx.emit(observation)
        if got.problem is not None or got.oversize:
            problem = got.problem or "http-oversize"
            detail = got.detail or f"body larger than {self.config.max_body} bytes; read cut"
            ctx.emit(Observation.make(self.name, ArtefactKind.HTTP_RESPONSE, ip=host.ip, mac=host.mac, port=port,
                                      raw=f"GET {path}: {detail}", problem=problem))

    def probe_host(self, ctx: ProbeContext, host: HostInfo) -> None:
        cfg = self.config
        ports = [p for p in WEB_PORTS if p in host.open_ports]
        ports += sorted(p for p in host.open_ports if p not in NOT_HTTP and p not in ports)
        budget = cfg.max_requests + len(ports)
        limits = dict(connect_timeout=cfg.connect_timeout, read_timeout=cfg.read_timeout,
                      total=cfg.request_timeout, max_body=cfg.max_body)
        done: set[tuple[int, str]] = set()
        replies: dict[tuple[int, str], Fetched] = {}
        follow: list[tuple[int, str, str]] = []
        hinted: dict[str, tuple[int, str]] = {}  # maker -> the (port, scheme) that hinted at it

        # All requests to one host share a time budget, so a device with several dripping or
        # silent ports costs at most this long, not one request_timeout per port.
        ends = time.monotonic() + max(limits["total"], 0.4 * cfg.host_timeout)

        def get(port: int, scheme: str, path: str) -> Fetched | None:
            nonlocal budget
            if budget <= 0 or ctx.cancelled.is_set() or (port, path) in done or forbidden(path):
                return None
            remaining = ends - time.monotonic()
            if remaining < 0.5:
                return None
            budget -= 1
            done.add((port, path))
            got = fetch(f"{scheme}://{host.ip}:{port}{path}", **{**limits, "total": min(limits["total"], remaining)})
            self._observe(ctx, host, port, scheme, path, got)
            replies[(port, path)] = got
            if got.status is not None and got.problem is None:
                for maker in hints(got):
                    hinted.setdefault(maker, (port, scheme))
            return got

        for port in ports:
            scheme = "https" if port in TLS_PORTS else "http"
            got = get(port, scheme, "/")
            if got is None or got.status is None or got.problem is not None:
                continue
            location = dict((k.lower(), v) for k, v in got.headers).get("location")
            if got.status in (301, 302, 303, 307, 308) and location:
                target = self._same_host(host, port, scheme, location)
                if target:
                    follow.append(target)
        for port, scheme, path in follow:
            get(port, scheme, path)
        for maker, pages in (("hikvision", HIKVISION_PAGES), ("dahua", DAHUA_PAGES)):
            if maker in hinted:
                port, scheme = hinted[maker]
                for path in pages:
                    get(port, scheme, path)

        credential = cfg.credential_for(host.ip) if cfg.credentials else None
        if credential is None or not hinted or ctx.cancelled.is_set():
            return
        # One login per host, whatever was hinted: the maker that answered first.
        maker = next(iter(hinted))
        port, scheme = hinted[maker]
        path = AUTH_PAGES[maker]
        challenge = replies.get((port, path))
        if challenge is None:
            remaining = ends - time.monotonic()
            if remaining < 0.5:
                return
            # Asked without credentials first: the 401 says which scheme the device wants.
            done.add((port, path))
            challenge = fetch(f"{scheme}://{host.ip}:{port}{path}", **{**limits, "total": min(limits["total"], remaining)})
            self._observe(ctx, host, port, scheme, path, challenge)
        if challenge.status != 401 or challenge.problem is not None:
            return  # answered without credentials (already recorded), missing, or broken: no login
        self._authenticated_get(ctx, host, port, scheme, path, challenge, credential, limits, ends)

    def _authenticated_get(self, ctx: ProbeContext, host: HostInfo, port: int, scheme: str, path: str,
                           challenge: Fetched, credential: Credential, limits: dict[str, Any], ends: float) -> None:
        """The single authenticated GET: emitted as an observation, never retried."""
        url = f"{scheme}://{host.ip}:{port}{path}"
        authorization, why_not = authorization_for(challenge.headers, credential, url)
        if authorization is None:
            log.debug("http: %s:%s%s: %s", host.ip, port, path, why_not)
            ctx.emit(Observation.make(self.name, ArtefactKind.HTTP_RESPONSE, ip=host.ip, mac=host.mac, port=port,
                                      raw=f"GET {path}: {why_not}", problem="http-auth-skipped"))
            return
        remaining = ends - time.monotonic()
        if remaining < 0.5 or ctx.cancelled.is_set():
            return
        got = fetch(url, **{**limits, "total": min(limits["total"], remaining)}, authorization=authorization)
        log.debug("http: authenticated GET %s:%s%s -> %s", host.ip, port, path, got.status or got.problem)
        secrets = (credential.password, authorization)
        if got.status == 401:
            ctx.emit(Observation.make(self.name, ArtefactKind.HTTP_RESPONSE, ip=host.ip, mac=host.mac, port=port,
                                      raw=f"GET {path} with credentials: 401, login refused (not retried)",
                                      problem="http-auth-failed"))
            return
        if got.status is None:
            ctx.emit(Observation.make(self.name, ArtefactKind.HTTP_RESPONSE, ip=host.ip, mac=host.mac, port=port,
                                      raw=f"GET {path} with credentials: {got.detail}", problem=got.problem))
            return
        collected = _Collector()
        self._observe(collected, host, port, scheme, path, got)  # type: ignore[arg-type]
        for observation in collected.observations:
            if observation.problem is None:
                observation = dataclasses.replace(
                    observation, fields={**observation.fields, "http.authenticated": "yes"})
            ctx.emit(_scrub(observation, secrets))

    def _same_host(self, host: HostInfo, port: int, scheme: str, location: str) -> tuple[int, str, str] | None:
        """Where a redirect points, if it stays on this host (else it is not followed)."""
        try:
            url = urlsplit(urljoin(f"{scheme}://{host.ip}:{port}/", location.strip()))
            hostname, url_port = url.hostname, url.port  # a hostile Location may hold a bad port
        except ValueError:
            log.debug("http: not following an unparseable redirect of %s", host.ip)
            return None
        if url.scheme not in ("http", "https") or hostname != host.ip:
            log.debug("http: not following redirect of %s to %s", host.ip, hostname)
            return None
        target_port = url_port or (443 if url.scheme == "https" else 80)
        if target_port not in host.open_ports:
            return None
        path = url.path or "/"
        if url.query:
            path += "?" + url.query
        if forbidden(path):
            log.debug("http: not following redirect of %s to a path never requested", host.ip)
            return None
        return target_port, url.scheme, path


class _Collector:
    """Stands in for the probe context to mark what ``_observe`` makes before it is emitted."""

    def __init__(self) -> None:
        self.observations: list[Observation] = []

    def emit(self, observation: Observation) -> None:
        self.observations.append(observation)


def _as_list(made: Observation | Iterable[Observation] | None) -> list[Observation]:
    if made is None:
        return []
    if isinstance(made, Observation):
        return [made]
    return list(made)
