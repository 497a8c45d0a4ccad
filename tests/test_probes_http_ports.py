"""The HTTP probe asks ``/`` on a host's web ports at once (at most ``--per-host`` connections),
so a port that accepts and never answers costs its own timeout, not also the next port's; the
replies are still recorded in port order. Loopback servers on 127.0.0.1 record when each
connection opened and when the client hung up."""

from __future__ import annotations

import socket
import threading
import time

from camsweep.config import ScanConfig
from camsweep.models import Observation
from camsweep.probes import HostInfo, ProbeContext
from camsweep.probes import http as http_probe

from tests.test_engine import Server


def test_silent_web_ports_are_asked_at_once_and_recorded_in_port_order() -> None:
    spans: list[tuple[float, float]] = []
    both_over = threading.Condition()

    def silent(server: Server, sock: socket.socket) -> None:
        """Accept, read the request, never answer; note when the client hung up."""
        opened = time.monotonic()
        sock.settimeout(10)
        try:
            while sock.recv(4096):
                pass
        except OSError:
            pass
        with both_over:
            spans.append((opened, time.monotonic()))
            both_over.notify_all()

    servers = [Server(silent), Server(silent)]
    try:
        ports = sorted(s.port for s in servers)
        config = ScanConfig(targets=("127.0.0.1",), read_timeout=1.0, request_timeout=3.0, host_timeout=20, per_host=3)
        seen: list[Observation] = []
        ctx = ProbeContext(config=config, emit=seen.append, cancelled=threading.Event(), in_scope=lambda ip: True)
        http_probe.HttpProbe(config).probe_host(ctx, HostInfo("127.0.0.1", open_ports=set(ports)))
        with both_over:  # the handlers see the hang-ups a moment after the client made them
            assert both_over.wait_for(lambda: len(spans) == 2, timeout=10)
    finally:
        for server in servers:
            server.close()

    assert [o.port for o in seen] == ports  # recorded in port order, one each
    assert all(o.problem == "http-timeout" for o in seen)
    (first_open, first_close), (second_open, second_close) = sorted(spans)
    assert second_open < first_close  # both connections were open at once (one after the other before)
