#!/usr/bin/env python3
"""Benchmark: the codec cases of issue 19, each in a fresh process (CPU seconds, peak RSS). Not a test.

Cases (inputs built by ``tests/hostile_inputs.py``):

* ``dhip-surrogate``: the DHIP answer with ``"DeviceType": "IPC-\\ud800"``, parsed and written as
  JSON the way ``last-scan.json`` is (``ensure_ascii=False``, UTF-8);
* ``title-capture`` / ``title-probe``: 256 KiB of ``<title>`` through ``parse_raw_response`` (a
  capture) and ``parse_response`` (the probe's path), then matched against every fingerprint rule;
* ``folded-probe``: a ``WWW-Authenticate`` folded over 97 lines of 64 KiB, served on 127.0.0.1 and
  read by the HTTP probe's ``fetch`` (http.client joins it to 6.4 MB), then parsed and hinted;
* ``folded-capture``: the same response as a capture holds it, through ``parse_raw_response``;
* ``short-folds``: 4 MiB of one-character continuation lines through ``parse_raw_response``.

    PYTHONPATH=$PWD python3 bench/hostile_codecs.py            # all cases
    PYTHONPATH=$PWD python3 bench/hostile_codecs.py title-probe
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

CASES = ("dhip-surrogate", "title-capture", "title-probe", "folded-probe", "folded-capture", "short-folds")


def _identify(observation) -> None:
    from camsweep.models import Device
    from camsweep.verdicts import identify

    identify(Device(key=observation.ip or "198.18.0.9", ips=("198.18.0.9",), observations=(observation,)))


def _serve_once(payload: bytes):
    """A loopback HTTP server answering one request with ``payload``; returns (port, thread)."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(payload)
        server.close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return server.getsockname()[1], thread


def run_case(name: str) -> str:
    from camsweep.protocols import dhip, http
    from tests import hostile_inputs as hostile

    if name == "dhip-surrogate":
        obs = dhip.parse_reply(hostile.dhip_lone_surrogate_reply(), probe="dhip", ip="198.18.0.9")
        json.dumps(obs.to_dict(), ensure_ascii=False).encode("utf-8")
        return f"model={obs.fields.get('dhip.model')!r} problem={obs.problem!r}"
    if name == "title-capture":
        obs = http.parse_raw_response(hostile.title_flood_response(), path="/", port=80, probe="http", ip="198.18.0.9")
        _identify(obs)
        return f"title={obs.fields.get('http.title')!r} problem={obs.problem!r}"
    if name == "title-probe":
        obs = http.parse_response(200, [("Content-Type", "text/html")], hostile.title_flood_body(),
                                  path="/", port=80, probe="http", ip="198.18.0.9")
        _identify(obs)
        return f"title={obs.fields.get('http.title')!r} problem={obs.problem!r}"
    if name == "folded-probe":
        from camsweep.probes.http import fetch, hints

        port, thread = _serve_once(hostile.folded_auth_response())
        got = fetch(f"http://127.0.0.1:{port}/", connect_timeout=5, read_timeout=30, total=60, max_body=65536)
        thread.join()
        hints(got)
        obs = http.parse_response(got.status or 0, got.headers, got.body, path="/", port=port, probe="http",
                                  ip="127.0.0.1")
        _identify(obs)
        size = sum(len(v) for _, v in got.headers)
        return f"status={got.status} header_chars={size} realm={obs.fields.get('http.auth.realm')!r} problem={obs.problem!r}"
    if name == "folded-capture":
        obs = http.parse_raw_response(hostile.folded_auth_response(), path="/", port=80, probe="http", ip="198.18.0.9")
        _identify(obs)
        return f"realm={obs.fields.get('http.auth.realm')!r} problem={obs.problem!r}"
    if name == "short-folds":
        obs = http.parse_raw_response(hostile.many_short_folds(), path="/", port=80, probe="http", ip="198.18.0.9")
        _identify(obs)
        return f"realm={obs.fields.get('http.auth.realm')!r} problem={obs.problem!r}"
    raise SystemExit(f"unknown case {name!r}; one of {', '.join(CASES)}")


def child(name: str) -> None:
    started, cpu = time.monotonic(), time.process_time()
    try:
        outcome = run_case(name)
    except Exception as exc:  # noqa: BLE001 - the "before" numbers include crashes
        outcome = f"RAISED {type(exc).__name__}: {str(exc)[:120]}"
    result = {
        "case": name,
        "wall_s": round(time.monotonic() - started, 3),
        "cpu_s": round(time.process_time() - cpu, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "outcome": outcome[:200],
    }
    print(json.dumps(result, ensure_ascii=True))


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        child(argv[1])
        return 0
    for name in argv or CASES:
        env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
        done = subprocess.run([sys.executable, __file__, "--child", name], env=env, capture_output=True,
                              text=True, timeout=600)
        print(done.stdout.strip() or f'{{"case": "{name}", "error": {json.dumps(done.stderr[-300:])}}}')
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
