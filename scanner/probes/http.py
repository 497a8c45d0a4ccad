"""HTTP(S) banner probe: ``/`` on each open web port, then the maker pages the fingerprint data names.

Politeness and safety: ``/`` on each open web port plus at most ``config.max_requests`` more GETs per host
(with credentials, at most two more: the challenge of the login page if not yet asked, and the login), no
redirect to another host, and never the dangerous requests of fingerprints.md section 13 (no PUT
to /SDK/webLanguage, no ``?auth=``, no /current_config, no ``global.login``). Every request goes
through the one bounded client (``_http_client.py``): each exchange is bounded in time
(``config.request_timeout``, enforced by a watchdog even against a server that drips bytes) and in
size (``config.max_body``), paced by ``--rate`` and counted against ``config.per_host``.

Which pages follow ``/`` is data, not code: a fingerprint rule may name the read-only pages that
confirm it (``confirm_paths``, checked by the loader). Each reply is matched against the rules as
the verdict will match it, and the pages named by the rules it matched are asked next, on the same
port, in the order found, within the request budget (a Hikvision ``Server: App-webs/`` leads to
``/ISAPI/System/deviceInfo``; a bare ``Webs``, a counter-example in the data, leads nowhere).

With ``--credentials`` covering the host, and only once a matched rule names a ``login_path``,
one authenticated read-only GET of that page is made (Hikvision ``/ISAPI/System/deviceInfo``,
Dahua ``magicBox.cgi?action=getSystemInfo``): a login attempt counts against the device's lockout,
so there is never a retry and never another username. Digest is used whenever offered (it never
sends the password); a Basic-only challenge gets the credential over HTTPS only. The reply is an
ordinary HTTP_RESPONSE marked ``http.authenticated = "yes"``; the username, password and the
Authorization header are never logged or put into an observation.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from ..config import Credential
from ..fingerprints._paths import forbidden
from ..models import ArtefactKind, Observation
from ..protocols import http as http_codec
from . import HostInfo, Probe, ProbeContext, register
from ._http_client import Fetched, HttpClient, redirect_target, target_of

log = logging.getLogger("camsweep")

WEB_PORTS = (80, 443, 8080, 8443, 81, 88, 8081, 8888, 8899, 7443, 49152)
"""Usual web ports, asked first; any other open port is asked too unless it is known not to be HTTP."""
NOT_HTTP = frozenset({21, 22, 23, 25, 53, 445, 554, 8554, 8000, 9010, 9020, 34567, 37777, 37778, 5000, 35000, 3389})
TLS_PORTS = frozenset({443, 8443, 7443, 4443, 10443})

REDIRECTS = (301, 302, 303, 307, 308)

__all__ = ["HttpProbe", "authorization_for", "follow_ups", "forbidden"]


def authorization_for(headers: Iterable[tuple[str, str]], credential: Credential, url: str) -> tuple[str | None, str]:
    """The Authorization value answering a 401's challenges, or (None, why not).

    Digest is preferred whenever offered: over plain HTTP it is the only scheme that does not
    send the password. Basic is answered only over HTTPS.
    """
    from ..protocols.http import digest_authorization, parse_challenges

    challenges = [c for name, value in headers if name.lower() == "www-authenticate" for c in parse_challenges(value)]
    schemes = {scheme.lower() for scheme, _ in challenges}
    target = target_of(url)
    for scheme, params in challenges:
        if scheme.lower() != "digest":
            continue
        value = digest_authorization(params, credential.username, credential.password, "GET", target.path)
        if value:
            return value, ""
    if "digest" in schemes:
        return None, "http-auth-skipped: digest challenge with an unsupported algorithm or qop"
    if "basic" in schemes:
        if target.scheme != "https":
            return None, "http-auth-skipped: Basic over plain HTTP would expose the password"
        token = base64.b64encode(f"{credential.username}:{credential.password}".encode()).decode("ascii")
        return f"Basic {token}", ""
    if schemes:
        return None, f"http-auth-skipped: unsupported authentication scheme(s) {', '.join(sorted(schemes))}"
    return None, "http-auth-skipped: no authentication challenge"


def follow_ups(observations: Iterable[Observation]) -> tuple[list[str], str | None]:
    """The pages named by the fingerprint rules these observations match (``confirm_paths``, in
    order, each once) and the first rule's ``login_path``: what to ask the device next."""
    from ..verdicts import matched_rules

    pages: list[str] = []
    login: str | None = None
    for observation in observations:
        for rule in matched_rules(observation):
            pages += [page for page in rule.confirm_paths if page not in pages]
            login = login or rule.login_path
    return pages, login


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


@register
class HttpProbe(Probe):
    spec = http_codec.SPEC
    description = "HTTP(S) GET / on open web ports, plus the maker pages the fingerprint rules it matched name"

    def _observations(self, host: HostInfo, port: int, scheme: str, path: str, got: Fetched) -> list[Observation]:
        """What one exchange tells: the parsed reply, and a problem observation if a limit cut it."""
        if got.problem == "http-refused":
            return []
        if got.problem is not None and got.status is None:
            return [Observation.make(self.name, ArtefactKind.HTTP_RESPONSE, ip=host.ip, mac=host.mac, port=port,
                                     raw=f"GET {path}: {got.detail}", problem=got.problem)]
        assert got.status is not None
        made: Observation | list[Observation]
        try:
            made = http_codec.parse_response(got.status, got.headers, got.body, path=path, port=port, scheme=scheme,
                                             probe=self.name, ip=host.ip, mac=host.mac)
        except Exception as exc:  # a codec bug must not end the scan; keep the evidence
            log.debug("http: codec failed on %s:%s%s: %s", host.ip, port, path, exc)
            made = [Observation.make(self.name, ArtefactKind.HTTP_RESPONSE, ip=host.ip, port=port,
                                     raw=got.body[:4096], problem="http-unparsed")]
        out = _as_list(made)
        if got.problem is not None or got.oversize:
            problem = got.problem or "http-oversize"
            detail = got.detail or f"body larger than {self.config.max_body} bytes; read cut"
            out.append(Observation.make(self.name, ArtefactKind.HTTP_RESPONSE, ip=host.ip, mac=host.mac, port=port,
                                        raw=f"GET {path}: {detail}", problem=problem))
        return out

    def probe_host(self, ctx: ProbeContext, host: HostInfo) -> None:
        cfg = self.config
        client = HttpClient.for_context(ctx)
        ports = [p for p in WEB_PORTS if p in host.open_ports]
        ports += sorted(p for p in host.open_ports if p not in NOT_HTTP and p not in ports)
        budget = cfg.max_requests + len(ports)
        done: set[tuple[int, str]] = set()
        replies: dict[tuple[int, str], Fetched] = {}
        redirects: list[tuple[int, str, str]] = []
        pages: list[tuple[int, str, str]] = []  # (port, scheme, path) named by matched rules, in the order found
        named: set[str] = set()  # each page is asked once per host, on the port whose reply named it first
        login: tuple[int, str, str] | None = None  # the first matched rule's login page, where it matched

        # All requests to one host share a time budget, so a device with several dripping or
        # silent ports costs at most this long, not one request_timeout per port.
        ends = time.monotonic() + max(cfg.request_timeout, 0.4 * cfg.host_timeout)

        def url(port: int, scheme: str, path: str) -> str:
            return f"{scheme}://{host.ip}:{port}{path}"

        def claim(port: int, path: str) -> bool:
            """Whether ``path`` on ``port`` may still be asked (and count it against the budget)."""
            nonlocal budget
            if budget <= 0 or ctx.cancelled.is_set() or (port, path) in done or forbidden(path):
                return False
            if ends - time.monotonic() < 0.5:
                return False
            budget -= 1
            done.add((port, path))
            return True

        def get(port: int, scheme: str, path: str) -> Fetched | None:
            if not claim(port, path):
                return None
            return record(port, scheme, path, client.get(url(port, scheme, path), deadline=ends))

        def get_each(wanted: list[tuple[int, str, str]]) -> list[Fetched | None]:
            """``get`` for each, the exchanges at once, recorded in order.

            A silent or dripping port then costs its own timeout, not also the next port's: a
            unit that accepts on 80 and 443 and never answers took 2 s + 1 s one after the other.
            At most ``--per-host`` - 1 at once: the other probes' steps (TLS, RTSP, ONVIF) keep a
            connection to the host."""
            at_once = min(len(wanted), cfg.per_host - 1)
            if at_once < 2:
                return [get(*job) for job in wanted]
            asked = [job for job in wanted if claim(job[0], job[2])]
            with ThreadPoolExecutor(max_workers=at_once, thread_name_prefix=f"http-{host.ip}") as pool:
                fetched = dict(zip(asked, pool.map(lambda job: client.get(url(*job), deadline=ends), asked)))
            return [record(*job, fetched[job]) if job in fetched else None for job in wanted]

        def record(port: int, scheme: str, path: str, got: Fetched) -> Fetched:
            nonlocal login
            made = self._observations(host, port, scheme, path, got)
            for observation in made:
                ctx.emit(observation)
            replies[(port, path)] = got
            if got.status is None or got.problem is not None:
                return got
            found, login_path = follow_ups(made)
            pages.extend((port, scheme, page) for page in found if page not in named)
            named.update(found)
            if login is None and login_path:
                login = (port, scheme, login_path)
            return got

        first = [(port, "https" if port in TLS_PORTS else "http", "/") for port in ports]
        for (port, scheme, _), got in zip(first, get_each(first)):
            if got is None or got.status is None or got.problem is not None:
                continue
            location = got.header("Location")
            if got.status in REDIRECTS and location:
                target = self._same_host(host, port, scheme, location)
                if target:
                    redirects.append(target)
        for port, scheme, path in redirects:
            get(port, scheme, path)
        for port, scheme, path in pages:  # grows while it runs: a page may match rules naming more
            get(port, scheme, path)

        credential = cfg.credential_for(host.ip) if cfg.credentials else None
        if credential is None or login is None or ctx.cancelled.is_set():
            return
        # One login per host: the page of the first rule that named one.
        port, scheme, path = login
        challenge = replies.get((port, path))
        if challenge is None:
            if ends - time.monotonic() < 0.5:
                self._out_of_time(ctx, host, port, path)
                return
            # Asked without credentials first: the 401 says which scheme the device wants.
            done.add((port, path))
            challenge = client.get(url(port, scheme, path), deadline=ends)
            for observation in self._observations(host, port, scheme, path, challenge):
                ctx.emit(observation)
        if challenge.status != 401 or challenge.problem is not None:
            return  # answered without credentials (already recorded), missing, or broken: no login
        self._authenticated_get(ctx, client, host, url(port, scheme, path), challenge, credential, ends)

    def _out_of_time(self, ctx: ProbeContext, host: HostInfo, port: int | None, path: str) -> None:
        """The login a covered host was due is not sent: recorded, so a missing authenticated
        reply is explained on the device (and in its notes), not silently absent."""
        why = (f"GET {path} with credentials not sent: the requests before it used up the host's HTTP time "
               f"(a share of --host-timeout {self.config.host_timeout:g} s); raise --host-timeout")
        ctx.emit(Observation.make(self.name, ArtefactKind.HTTP_RESPONSE, ip=host.ip, mac=host.mac, port=port,
                                  raw=why, problem="http-auth-skipped"))
        ctx.note(f"http: {host.ip}: {why}")

    def _authenticated_get(self, ctx: ProbeContext, client: HttpClient, host: HostInfo, url: str,
                           challenge: Fetched, credential: Credential, ends: float) -> None:
        """The single authenticated GET: emitted as an observation, never retried."""
        target = target_of(url)
        port, scheme, path = target.port, target.scheme, target.path
        authorization, why_not = authorization_for(challenge.headers, credential, url)
        if authorization is None:
            log.debug("http: %s:%s%s: %s", host.ip, port, path, why_not)
            ctx.emit(Observation.make(self.name, ArtefactKind.HTTP_RESPONSE, ip=host.ip, mac=host.mac, port=port,
                                      raw=f"GET {path}: {why_not}", problem="http-auth-skipped"))
            return
        if ctx.cancelled.is_set():
            return
        if ends - time.monotonic() < 0.5:
            self._out_of_time(ctx, host, port, path)
            return
        got = client.get(url, headers=[("Authorization", authorization)], deadline=ends)
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
        for observation in self._observations(host, port, scheme, path, got):
            if observation.problem is None:
                observation = dataclasses.replace(
                    observation, fields={**observation.fields, "http.authenticated": "yes"})
            ctx.emit(_scrub(observation, secrets))

    def _same_host(self, host: HostInfo, port: int, scheme: str, location: str) -> tuple[int, str, str] | None:
        """Where a redirect points, if the client's policy allows it (same host, not a never-request
        path) and its port is open; else it is not followed."""
        target = redirect_target(f"{scheme}://{host.ip}:{port}/", location)
        if target is None:
            log.debug("http: not following a redirect of %s (another host, unparseable, or never requested)",
                      host.ip)
            return None
        if target.port not in host.open_ports:
            return None
        return target.port, target.scheme, target.path


def _as_list(made: Observation | Iterable[Observation] | None) -> list[Observation]:
    if made is None:
        return []
    if isinstance(made, Observation):
        return [made]
    return list(made)
