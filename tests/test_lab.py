"""The device lab is faithful: probes sent from inside the scanner namespace get what the profiles say.

Network tests use the session ``lab`` fixture (tests/conftest.py) and run every probe as a small
Python program inside ``cs-scanner`` (``lab.exec``), never in the root namespace. The first block
needs no network: profile validation, cloning and address planning.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from camsweep.errors import DataFileError
from camsweep.lab import IsolationError, Lab, load_profiles, parse_profile
from camsweep.lab import down as lab_down
from camsweep.lab.netns import lab_namespaces
from camsweep.lab.profiles import SHIPPED_PROFILES, clone_mac, expand
from camsweep.lab.services.discovery import dhip_frame
from camsweep.lab.templates import device_variables, fill
from camsweep.lab.topology import NARROW, WIDE, Names, assign

EXAMPLE = SHIPPED_PROFILES / "example-hik-camera.toml"
SMALL = f"cs-t{os.getpid()}-"  # throw-away labs of the teardown tests, unique per test session
CHILD = f"cs-u{os.getpid()}-"
ROOT = Path(__file__).resolve().parents[1]

# -- profiles, clones and addresses (no network) ---------------------------------------------------


def test_shipped_profiles_load_and_have_truth_and_sources() -> None:
    profiles = load_profiles()
    assert len(profiles) >= 4
    for profile in profiles:
        assert profile.truth["manufacturer"] and profile.truth["type"]
        assert profile.sources


def test_misplaced_tcp_ports_is_rejected_with_a_hint() -> None:
    text = EXAMPLE.read_text() + "\ntcp_ports = [8000]\n"  # after [sadp]: becomes sadp.tcp_ports
    with pytest.raises(DataFileError, match=r"\[sadp\].*tcp_ports belongs in \[device\]"):
        parse_profile(text, "x.toml")


def test_top_level_tcp_ports_before_tables_is_accepted() -> None:
    text = EXAMPLE.read_text().replace("tcp_ports = [8000]\n", "")
    profile = parse_profile("tcp_ports = [8000, 37777]\n" + text, "x.toml")
    assert profile.tcp_ports == (8000, 37777)


def test_unknown_key_and_bad_values_are_rejected() -> None:
    text = EXAMPLE.read_text()
    with pytest.raises(DataFileError, match="unknown key 'colour'"):
        parse_profile(text.replace('hostname = "DS-2CD2385G1-I"', 'hostname = "x"\ncolour = "red"'), "x.toml")
    with pytest.raises(DataFileError, match="bad MAC"):
        parse_profile(text.replace('mac = "58:50:ed:1f:e3:85"', 'mac = "58:50:ed"'), "x.toml")
    with pytest.raises(DataFileError, match="segment"):
        parse_profile(text.replace('segment = "A"', 'segment = "C"'), "x.toml")


def test_clones_keep_oui_get_deterministic_fresh_macs_and_no_fixed_ip() -> None:
    profiles = load_profiles()
    devices = expand(profiles, 3 * len(profiles))
    assert len(devices) == 3 * len(profiles)
    macs = [d.mac for d in devices]
    assert len(set(macs)) == len(macs)
    for device in devices[len(profiles):]:
        original = next(p for p in profiles if p.name == device.clone_of)
        assert device.mac[:8] == original.mac[:8] and device.mac != original.mac
        assert device.ip is None and device.truth == original.truth
    assert [d.mac for d in expand(profiles, 3 * len(profiles))] == macs
    assert clone_mac("58:50:ed:00:00:00", "x", 1) == clone_mac("58:50:ed:00:00:00", "x", 1)


def test_address_plan_widens_for_big_labs_and_keeps_lab_ranges() -> None:
    profiles = load_profiles()
    plan, hosts = assign(expand(profiles, 30))
    assert plan == NARROW
    plan, hosts = assign(expand(profiles, 400))
    assert plan == WIDE
    assert len({h.ip for h in hosts}) == 400
    for host in hosts:
        assert host.ip.startswith("198.18.")
        assert host.namespace.startswith("cs-d")


def test_placeholders_are_plain_text_and_leave_other_braces_alone() -> None:
    variables = device_variables("n", "h", "58:50:ed:1f:e3:85", "198.18.0.10", "198.18.0.0/24", "198.18.0.1")
    assert fill('{"a":{ip}} {case"HIKVISION" {mac_dash} {MAC_HEX}', variables) == \
        '{"a":198.18.0.10} {case"HIKVISION" 58-50-ed-1f-e3-85 5850ED1FE385'
    assert variables["device_uuid"].endswith("5850ed1fe385")


def test_dhip_frame_is_the_32_byte_header() -> None:
    frame = dhip_frame(b'{"x":1}\n')
    assert frame[:8] == b"\x20\x00\x00\x00DHIP" and len(frame) == 32 + 8
    assert int.from_bytes(frame[16:20], "little") == 8 == int.from_bytes(frame[24:28], "little")


def _onvif_request(operation: str, password: str | None) -> bytes:
    """A SOAP request signed by zeep's own WS-UsernameToken code (independent of the emulator)."""
    from lxml import etree
    from zeep.wsse.username import UsernameToken

    envelope = etree.fromstring(
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/><s:Body>'
        f'<{operation} xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>')
    if password is not None:
        envelope, _ = UsernameToken("admin", password, use_digest=True).apply(envelope, {})
    return etree.tostring(envelope)


def test_onvif_service_checks_password_digest_and_answers_faults() -> None:
    import asyncio

    from camsweep.lab.services.http import Request
    from camsweep.lab.services.onvif import OnvifService

    variables = device_variables("n", "h", "58:50:ed:1f:e3:85", "198.18.0.10", "198.18.0.0/24", "198.18.0.1")
    service = OnvifService({"username": "admin", "password": "pw", "manufacturer": "HIKVISION"}, variables, 80)

    def call(body: bytes) -> str:
        answer = asyncio.run(service.handle(Request("POST", "/onvif/device_service", "HTTP/1.1", {}, body)))
        assert answer is not None
        return answer.decode()

    assert call(_onvif_request("GetSystemDateAndTime", None)).startswith("HTTP/1.1 200")
    assert "<tds:Manufacturer>HIKVISION</tds:Manufacturer>" in call(_onvif_request("GetDeviceInformation", "pw"))
    wrong = call(_onvif_request("GetDeviceInformation", "nope"))
    assert wrong.startswith("HTTP/1.1 400") and "ter:NotAuthorized" in wrong
    assert "ter:NotAuthorized" in call(_onvif_request("GetDeviceInformation", None))
    assert "ter:ActionNotSupported" in call(_onvif_request("SystemReboot", "pw"))
    assert "ter:InvalidArgVal" in call(b"<not-xml")


def test_privilege_error_is_one_clear_line_when_not_root(monkeypatch: pytest.MonkeyPatch) -> None:
    from camsweep.errors import PrivilegeError
    from camsweep.lab import netns

    monkeypatch.setattr(netns.os, "geteuid", lambda: 1000)
    with pytest.raises(PrivilegeError, match="needs root") as caught:
        Lab(SHIPPED_PROFILES).up()
    assert "\n" not in str(caught.value)


def test_privilege_error_when_ip_netns_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from camsweep.errors import PrivilegeError
    from camsweep.lab import netns

    monkeypatch.setattr(netns.os, "geteuid", lambda: 0)
    monkeypatch.setattr(netns.shutil, "which", lambda name: None)
    with pytest.raises(PrivilegeError, match="iproute2"):
        netns.require_privileges()


def test_cli_lab_lists_its_subcommands() -> None:
    from click.testing import CliRunner

    from camsweep.cli import cli

    result = CliRunner().invoke(cli, ["lab", "--help"])
    assert result.exit_code == 0
    for name in ("up", "status", "exec", "down"):
        assert f"  {name} " in result.output


# -- helpers for probes run inside the scanner namespace ---------------------------------------


def scanner_python(lab: Lab, code: str, args: Any) -> Any:
    """Run ``code`` (which reads ``ARGS`` and prints one JSON document) inside cs-scanner."""
    parts = code.split(PART_BREAK)  # a shared prelude and the test's own, indented, code
    program = "import json, sys\nARGS = json.loads(sys.argv[1])\n" + "\n".join(textwrap.dedent(p) for p in parts)
    done = lab.exec([sys.executable, "-c", program, json.dumps(args)], cwd=str(ROOT), timeout=600)  # stops a hang only
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def variables_of(lab: Lab, device: Any) -> dict[str, str]:
    plan = lab.plan
    assert plan is not None
    network = plan.segment_a if device.segment == "A" else plan.segment_b
    return device_variables(device.name, device.profile.hostname, device.mac, device.ip, network,
                            plan.gateway(device.segment))


UDP_COLLECT = """
import socket, time
def collect(payload, destination, expect=(), unicast=False, window=3.0, bound=90.0, every=1.0):
    # Bound to the scanner's interface explicitly: multicast leaves through eth0 only. The request
    # is repeated like real discovery clients do (UDP may drop under load on a 2-CPU machine);
    # each address's first answer is kept. Listens at least ``window`` (so an address that should
    # not answer is seen if it does) and then on until every ``expect``ed address has answered,
    # resending every ``every`` s: an emulated device on a loaded machine may answer after
    # ``window``. A unicast collect ends at its first answer. ``bound`` only stops a broken test.
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)  # hundreds of answers at --count 250
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ARGS["scanner_ip"]))
    sock.bind((ARGS["scanner_ip"], 0))
    replies = {}
    sends = [0.0, 0.5, 1.5]
    start = time.monotonic()
    while True:
        elapsed = time.monotonic() - start
        waiting = (not replies) if unicast else (elapsed < window or not set(expect) <= set(replies))
        if not waiting or elapsed >= bound:
            break
        if sends and sends[0] <= elapsed:
            sock.sendto(payload, tuple(destination))
            sends = [t for t in sends if t > elapsed] or [elapsed + every]
        wake = min(sends[0], window if elapsed < window else bound, bound)
        sock.settimeout(max(0.01, wake - elapsed))
        try:
            data, addr = sock.recvfrom(65535)
        except socket.timeout:
            continue
        replies.setdefault(addr[0], data.hex())
    return replies
#--
"""
PART_BREAK = "\n#--\n"

WSD_PROBE = ('<?xml version="1.0" encoding="UTF-8"?><e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" '
             'xmlns:w="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
             'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><e:Header><w:MessageID>{mid}</w:MessageID>'
             '<w:To e:mustUnderstand="true">urn:schemas-xmlsoap-org:ws:2005:04:discovery</w:To>'
             '<w:Action e:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</w:Action></e:Header>'
             '<e:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></e:Body></e:Envelope>')


# -- the network --------------------------------------------------------------------------------


def test_scanner_namespace_is_isolated_and_refuses_a_foreign_route(lab: Lab) -> None:
    lab.check_isolated()
    ns = lab.scanner_namespace
    subprocess.run(["ip", "-n", ns, "route", "add", "10.99.0.0/16", "dev", "eth0"], check=True)
    try:
        with pytest.raises(IsolationError, match="non-lab route"):
            lab.exec(["true"])
    finally:
        subprocess.run(["ip", "-n", ns, "route", "del", "10.99.0.0/16", "dev", "eth0"], check=True)
    lab.check_isolated()
    root_links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True, check=True).stdout
    assert "brA" not in root_links and "p-scanner" not in root_links


def test_arp_sees_every_segment_a_mac_and_nothing_behind_the_router(lab: Lab) -> None:
    plan = lab.plan
    assert plan is not None
    targets = [d.ip for d in lab.devices] + [plan.router_a]
    seen = scanner_python(lab, """
        from scapy.all import ARP, Ether, conf, srp
        conf.verb = 0
        answered, _ = srp(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst=ARGS["targets"]), iface="eth0", timeout=2, retry=2)
        print(json.dumps({reply[ARP].psrc: reply[ARP].hwsrc for _, reply in answered}))
    """, {"targets": targets})
    for device in lab.devices:
        if device.segment == "A":
            assert seen.get(device.ip) == device.mac, device.name
        else:
            assert device.ip not in seen, f"{device.name} on segment B answered ARP on segment A"
            assert device.mac not in seen.values()
    assert plan.router_a in seen


def test_wsd_multicast_reaches_segment_a_only_and_echoes_the_message_id(lab: Lab) -> None:
    plan = lab.plan
    assert plan is not None
    message_id = "urn:uuid:5e7d1c4a-1111-4222-8333-944455556666"
    expected_a = {d.ip for d in lab.devices if d.segment == "A" and d.profile.wsd}
    replies = scanner_python(lab, UDP_COLLECT + """
        print(json.dumps(collect(ARGS["probe"].encode(), ("239.255.255.250", 3702), ARGS["expect"])))
    """, {"scanner_ip": plan.scanner_ip, "probe": WSD_PROBE.format(mid=message_id), "expect": sorted(expected_a)})
    assert expected_a, "shipped profiles must include a segment-A device with WS-Discovery"
    assert set(replies) == expected_a
    for device in lab.devices:
        if device.ip in replies:
            text = bytes.fromhex(replies[device.ip]).decode()
            assert "ProbeMatches" in text and f">{message_id}<" in text
            assert variables_of(lab, device)["device_uuid"] in text


def test_wsd_unicast_probe_reaches_a_segment_b_device_through_the_router(lab: Lab) -> None:
    plan = lab.plan
    assert plan is not None
    targets = [d for d in lab.devices if d.segment == "B" and d.profile.wsd]
    assert targets, "shipped profiles must include a segment-B device with WS-Discovery"
    message_id = "urn:uuid:0b2c3d4e-aaaa-4bbb-8ccc-dddddddddddd"
    for device in targets[:3]:
        replies = scanner_python(lab, UDP_COLLECT + """
            print(json.dumps(collect(ARGS["probe"].encode(), (ARGS["ip"], 3702), unicast=True)))
        """, {"scanner_ip": plan.scanner_ip, "probe": WSD_PROBE.format(mid=message_id), "ip": device.ip})
        assert list(replies) == [device.ip]
        assert f">{message_id}<" in bytes.fromhex(replies[device.ip]).decode()


HTTP_FETCH = """
import socket, ssl
results = []
for ip, port, tls, target in ARGS["requests"]:
    sock = socket.create_connection((ip, port), timeout=60)
    cert = ""
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        sock = context.wrap_socket(sock)
        cert = sock.getpeercert(binary_form=True).hex()
    sock.sendall(f"GET {target} HTTP/1.1\\r\\nHost: {ip}\\r\\nConnection: close\\r\\n\\r\\n".encode())
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    results.append([data.hex(), cert])
print(json.dumps(results))
"""


def expected_http(route: dict[str, Any], variables: dict[str, str], base_dir: str) -> bytes:
    body = (Path(base_dir) / route["body_file"]).read_bytes() if "body_file" in route else \
        fill(route.get("body", ""), variables).encode()
    variables = {**variables, "content_length": str(len(body))}
    headers = [(fill(n, variables), fill(v, variables)) for n, v in route.get("headers", [])]
    if not any(n.lower() in ("content-length", "transfer-encoding") for n, _ in headers):
        headers.append(("Content-Length", str(len(body))))
    import http as _http
    status = route.get("status", 200)
    reason = route.get("reason", _http.HTTPStatus(status).phrase)
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers) + "\r\n"
    return head.encode("latin-1") + body


def test_http_routes_answer_exactly_as_the_profiles_say(lab: Lab) -> None:
    requests, expected = [], []
    for device in lab.devices:
        variables = variables_of(lab, device)
        for server in device.profile.http:
            if server.get("behaviour"):
                continue
            for route in server.get("routes", []):
                if "auth" in route or route.get("method", "GET") != "GET":
                    continue
                requests.append([device.ip, server["port"], bool(server.get("tls")), route["path"]])
                expected.append((device, server, expected_http(route, variables, device.profile.base_dir)))
            default = server.get("default")
            if default is not None:
                requests.append([device.ip, server["port"], bool(server.get("tls")), "/camsweep-lab-no-such-path"])
                expected.append((device, server, expected_http({"status": 404, **default}, variables, device.profile.base_dir)))
    assert requests
    results = scanner_python(lab, HTTP_FETCH, {"requests": requests})
    for (device, server, wanted), (raw, cert) in zip(expected, results):
        assert bytes.fromhex(raw) == wanted, f"{device.name}:{server['port']}"
        if server.get("tls"):
            certificate = x509.load_der_x509_certificate(bytes.fromhex(cert))
            subject = server.get("cert_subject") or f"CN={device.ip}"
            assert certificate.subject == x509.Name.from_rfc4514_string(subject)
            assert certificate.issuer == x509.Name.from_rfc4514_string(server.get("cert_issuer") or subject)


def test_http_auth_routes_challenge_and_accept_the_profile_credentials(lab: Lab) -> None:
    cases = []
    for device in lab.devices:
        for server in device.profile.http:
            for route in server.get("routes", []):
                if "auth" in route and not server.get("behaviour") and not server.get("tls"):
                    cases.append([f"http://{device.ip}:{server['port']}{route['path']}", route["auth"],
                                  route.get("username"), route.get("password"),
                                  route.get("unauthorized", {}).get("status", 401), route.get("status", 200)])
    assert cases, "shipped profiles must include an authenticated HTTP route"
    results = scanner_python(lab, """
        import requests
        from requests.auth import HTTPBasicAuth, HTTPDigestAuth
        out = []
        for url, scheme, user, password, _, _ in ARGS["cases"]:
            bare = requests.get(url, timeout=60)
            authed = None
            if user is not None:
                auth = HTTPDigestAuth(user, password) if scheme == "digest" else HTTPBasicAuth(user, password)
                authed = requests.get(url, auth=auth, timeout=60).status_code
            out.append([bare.status_code, bare.headers.get("WWW-Authenticate", ""), authed])
        print(json.dumps(out))
    """, {"cases": cases})
    for (url, scheme, user, _, unauthorized, ok), (bare, challenge, authed) in zip(cases, results):
        assert bare == unauthorized, url
        assert challenge.lower().startswith(scheme), url
        if user is not None:
            assert authed == ok, url


def test_rtsp_replies_match_the_templates(lab: Lab) -> None:
    devices = [d for d in lab.devices if d.profile.rtsp]
    assert devices
    replies = scanner_python(lab, """
        import socket
        out = []
        for ip, port in ARGS["targets"]:
            sock = socket.create_connection((ip, port), timeout=60)
            answers = []
            for cseq, method in ((2, "OPTIONS"), (3, "DESCRIBE")):
                sock.sendall(f"{method} rtsp://{ip}:{port}/ RTSP/1.0\\r\\nCSeq: {cseq}\\r\\n\\r\\n".encode())
                data = b""
                while b"\\r\\n\\r\\n" not in data:
                    data += sock.recv(65536)
                answers.append(data.decode("latin-1"))
            out.append(answers)
        print(json.dumps(out))
    """, {"targets": [[d.ip, d.profile.rtsp.get("port", 554)] for d in devices]})
    for device, (options, describe) in zip(devices, replies):
        variables = variables_of(lab, device)
        default = device.profile.rtsp.get("default", "RTSP/1.0 501 Not Implemented\r\nCSeq: {cseq}\r\n\r\n")
        assert options == fill(device.profile.rtsp.get("options", default), {**variables, "cseq": "2"})
        assert describe == fill(device.profile.rtsp.get("describe", default), {**variables, "cseq": "3"})


def test_sadp_unicast_and_multicast_answers_match_the_profiles(lab: Lab) -> None:
    plan = lab.plan
    assert plan is not None
    devices = [d for d in lab.devices if d.profile.sadp]
    assert devices
    probe_uuid = "E8ECFE09-90E4-44C0-842B-703F46B58C81"
    probe = f'<?xml version="1.0" encoding="utf-8"?><Probe><Uuid>{probe_uuid}</Uuid><Types>inquiry</Types></Probe>'
    result = scanner_python(lab, UDP_COLLECT + """
        unicast = {ip: collect(ARGS["probe"].encode(), (ip, 37020), unicast=True).get(ip) for ip in ARGS["ips"]}
        multicast = collect(ARGS["probe"].encode(), ("239.255.255.250", 37020), ARGS["on_a"])
        print(json.dumps([unicast, multicast]))
    """, {"scanner_ip": plan.scanner_ip, "probe": probe, "ips": [d.ip for d in devices],
          "on_a": [d.ip for d in devices if d.segment == "A"]})
    unicast, multicast = result
    for device in devices:
        wanted = fill(device.profile.sadp["reply"], {**variables_of(lab, device), "uuid": probe_uuid})
        assert bytes.fromhex(unicast[device.ip]).decode() == wanted, device.name
    assert set(multicast) == {d.ip for d in devices if d.segment == "A"}


def test_dhip_answers_are_framed_and_match_the_profiles(lab: Lab) -> None:
    plan = lab.plan
    assert plan is not None
    devices = [d for d in lab.devices if d.profile.dhip]
    assert devices
    body = b'{ "method" : "DHDiscover.search", "params" : { "mac" : "", "uni" : 1 } }\n'
    request = dhip_frame(body)
    result = scanner_python(lab, UDP_COLLECT + """
        request = bytes.fromhex(ARGS["request"])
        unicast = {ip: collect(request, (ip, 37810), unicast=True).get(ip) for ip in ARGS["ips"]}
        multicast = collect(request, ("239.255.255.251", 37810), ARGS["on_a"])
        broadcast = collect(request, (ARGS["broadcast"], 37810), ARGS["on_a"])
        print(json.dumps([unicast, multicast, broadcast]))
    """, {"scanner_ip": plan.scanner_ip, "request": request.hex(), "ips": [d.ip for d in devices],
          "broadcast": str(plan.net_a.broadcast_address), "on_a": [d.ip for d in devices if d.segment == "A"]})
    unicast, multicast, broadcast = result
    silent = [d.name for d in devices if unicast[d.ip] is None]
    assert not silent, f"no unicast DHIP answer from {silent}"
    for device in devices:
        answer = bytes.fromhex(unicast[device.ip])
        dhip = device.profile.dhip
        if "raw_reply_hex" in dhip:
            assert answer == bytes.fromhex(dhip["raw_reply_hex"])
            continue
        assert answer[4:8] == b"DHIP" and int.from_bytes(answer[16:20], "little") == len(answer) - 32
        reply = dhip["reply"]
        variables = variables_of(lab, device)
        wanted = json.loads(fill(reply, variables)) if isinstance(reply, str) else None
        got = json.loads(answer[32:])
        if wanted is not None:
            assert got == wanted, device.name
        assert json.dumps(got).count(device.ip) >= 1 or "{ip}" not in json.dumps(reply)
    on_a = {d.ip for d in devices if d.segment == "A"}
    assert set(multicast) == on_a, "multicast"
    assert set(broadcast) == on_a, "broadcast"


def test_ssdp_search_and_upnp_description(lab: Lab) -> None:
    plan = lab.plan
    assert plan is not None
    devices = {d.ip: d for d in lab.devices if d.profile.ssdp and d.segment == "A"}
    if not devices:
        pytest.fail("shipped profiles must include a segment-A device with SSDP")
    search = ("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\n"
              "ST: ssdp:all\r\n\r\n")
    result = scanner_python(lab, UDP_COLLECT + """
        import re, urllib.request
        replies = collect(ARGS["search"].encode(), ("239.255.255.250", 1900), ARGS["expect"])
        out = {}
        for ip, raw in replies.items():
            text = bytes.fromhex(raw).decode()
            location = re.search(r"^LOCATION: (\\S+)", text, re.M | re.I).group(1)
            out[ip] = [text, location, urllib.request.urlopen(location, timeout=60).read().decode()]
        print(json.dumps(out))
    """, {"scanner_ip": plan.scanner_ip, "search": search, "expect": sorted(devices)})
    assert set(result) == set(devices)
    for ip, (text, location, description) in result.items():
        device = devices[ip]
        variables = variables_of(lab, device)
        port = device.profile.ssdp.get("port") or 49152
        assert location == f"http://{ip}:{port}/description.xml"
        assert f"SERVER: {fill(device.profile.ssdp['server'], variables)}\r\n" in text
        assert description == fill(device.profile.ssdp["description"], {**variables, "port": str(port)})


def test_onvif_device_service_works_with_onvif_zeep_and_rejects_wrong_credentials(lab: Lab) -> None:
    devices = [d for d in lab.devices if d.profile.onvif]
    assert devices, "shipped profiles must include an ONVIF device"
    device = devices[0]
    onvif = device.profile.onvif
    port = onvif.get("port") or 80
    result = scanner_python(lab, """
        from onvif import ONVIFCamera
        ip, port, user, password = ARGS["target"]
        camera = ONVIFCamera(ip, port, user, password)
        info = camera.devicemgmt.GetDeviceInformation()
        scopes = [s.ScopeItem for s in camera.devicemgmt.GetScopes()]
        interfaces = camera.devicemgmt.GetNetworkInterfaces()
        try:
            ONVIFCamera(ip, port, user, password + "-wrong").devicemgmt.GetDeviceInformation()
            wrong = "accepted"
        except Exception as error:
            wrong = str(error)
        print(json.dumps({"manufacturer": info.Manufacturer, "model": info.Model, "serial": info.SerialNumber,
                          "scopes": scopes, "mac": interfaces[0].Info.HwAddress, "wrong": wrong}))
    """, {"target": [device.ip, port, onvif["username"], onvif["password"]]})
    assert result["manufacturer"] == onvif.get("manufacturer", "")
    assert result["model"] == onvif.get("model", "")
    assert result["serial"] == onvif.get("serial_number", "")
    assert result["scopes"] == [fill(s, variables_of(lab, device)) for s in onvif.get("scopes", [])]
    assert result["mac"] == device.mac
    assert "Sender not Authorized" in result["wrong"]


def test_mdns_services_are_announced_on_segment_a(lab: Lab) -> None:
    plan = lab.plan
    assert plan is not None
    wanted = sorted({((s["type"] if s["type"].endswith(".") else s["type"] + "."), d.ip)
                     for d in lab.devices if d.segment == "A" for s in d.profile.mdns})
    if not wanted:
        pytest.fail("shipped profiles must include a segment-A device with mDNS")
    found = scanner_python(lab, """
        import threading, time
        from zeroconf import IPVersion, ServiceBrowser, Zeroconf
        zc = Zeroconf(interfaces=[ARGS["scanner_ip"]], ip_version=IPVersion.V4Only)
        wanted = {tuple(pair) for pair in ARGS["wanted"]}
        seen, lock = set(), threading.Lock()
        class Listener:
            def add_service(self, zc, type_, name):
                info = zc.get_service_info(type_, name, timeout=60_000)
                if info:
                    with lock:
                        seen.update((type_, address) for address in info.parsed_addresses())
            update_service = remove_service = lambda *a: None
        browsers = [ServiceBrowser(zc, t, Listener()) for t in sorted({t for t, _ in wanted})]
        deadline = time.monotonic() + 120  # ends once all are seen; only stops a hang
        while time.monotonic() < deadline and not wanted <= seen:
            time.sleep(0.1)
        zc.close()
        print(json.dumps(sorted(seen)))
    """, {"scanner_ip": plan.scanner_ip, "wanted": wanted})
    missing = set(map(tuple, wanted)) - set(map(tuple, found))
    assert not missing
    behind_router = {d.ip for d in lab.devices if d.segment == "B"}
    assert not {ip for _, ip in found} & behind_router


def test_plain_tcp_ports_accept(lab: Lab) -> None:
    targets = [[d.ip, p] for d in lab.devices for p in d.profile.tcp_ports]
    assert targets
    result = scanner_python(lab, """
        import socket
        ok = []
        for ip, port in ARGS["targets"]:
            socket.create_connection((ip, port), timeout=60).close()
            ok.append([ip, port])
        print(json.dumps(ok))
    """, {"targets": targets})
    assert result == targets


# -- teardown: a second, throw-away lab under its own prefix --------------------------------------


@pytest.fixture
def one_profile_dir(tmp_path: Path) -> Path:
    shutil.copy(EXAMPLE, tmp_path / EXAMPLE.name)
    return tmp_path


def _owned(prefix: str) -> list[str]:
    names = Names(prefix)
    return [n for n in lab_namespaces() if names.owns(n)]


def _root_namespace_snapshot() -> list[str]:
    """Root namespace links, addresses and routes (link counters and flags left out)."""
    def run(*args: str) -> str:
        return subprocess.run(["ip", *args], capture_output=True, text=True, check=True).stdout
    return [run("-br", "link"), run("-br", "addr"), run("route", "show", "table", "all")]


@pytest.mark.usefixtures("needs_root")
def test_teardown_after_normal_exit_and_after_an_error(one_profile_dir: Path) -> None:
    before = _root_namespace_snapshot()
    with Lab(one_profile_dir, prefix=SMALL) as small:
        assert set(_owned(SMALL)) == {SMALL + "sw", SMALL + "router", SMALL + "scanner", SMALL + "d001"}
        assert small.state_file.exists()
        state_file = small.state_file
        during = _root_namespace_snapshot()
    assert _owned(SMALL) == [] and not state_file.exists()
    # Nothing the lab did touched the root namespace (other labs may run concurrently, so
    # compare only for lines mentioning this lab).
    for snapshot in (during, _root_namespace_snapshot()):
        for text in snapshot:
            assert "p-d001" not in text and "198.18." not in text and "brA" not in text
    assert before[2].count("198.18.") == 0
    with pytest.raises(RuntimeError, match="boom"):
        with Lab(one_profile_dir, prefix=SMALL):
            raise RuntimeError("boom")
    assert _owned(SMALL) == []


_CHILD = """
import sys
sys.path.insert(0, {root!r})
from camsweep.lab import Lab
with Lab({profiles!r}, prefix={prefix!r}):
    print("UP", flush=True)
    sys.stdin.readline()
"""


@pytest.mark.usefixtures("needs_root")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_teardown_on_sigterm_and_ctrl_c(one_profile_dir: Path, signum: int) -> None:
    # Ctrl-C as at a terminal: a test run started in the background (nohup, `cmd &` in a script)
    # ignores SIGINT, and the child would inherit that and never see the signal (tests/pty_run.py).
    child = subprocess.Popen([sys.executable, "-c", _CHILD.format(root=str(ROOT), profiles=str(one_profile_dir), prefix=CHILD)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "UP"
        assert CHILD + "scanner" in _owned(CHILD)
        child.send_signal(signum)
        child.wait(timeout=300)  # the teardown ends it; the bound only stops a hang
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        lab_down(prefix=CHILD)  # leaves nothing behind even if the test failed
    assert child.returncode != 0
    assert _owned(CHILD) == []


@pytest.mark.usefixtures("needs_root")
def test_down_clears_a_crashed_labs_leftovers(one_profile_dir: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", _CHILD.format(root=str(ROOT), profiles=str(one_profile_dir), prefix=CHILD)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "UP"
        child.kill()  # SIGKILL: no handler runs, namespaces and emulator stay behind
        child.wait(timeout=300)
        assert CHILD + "scanner" in _owned(CHILD)
    finally:
        removed = lab_down(prefix=CHILD)
    assert CHILD + "scanner" in removed
    assert _owned(CHILD) == []
    emulators = subprocess.run(["pgrep", "-f", f"camsweep.lab.emulator .*state-{CHILD[3:-1]}.json"], capture_output=True, text=True, check=False)
    assert emulators.stdout.strip() == ""


_HELLO_LISTENER = """
import socket, struct, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("0.0.0.0", 3702))
sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                struct.pack("4s4s", socket.inet_aton("239.255.255.250"), socket.inet_aton(sys.argv[1])))
print("LISTENING", flush=True)
sock.settimeout(300)  # the emulator says Hello once it has started: slow on a loaded machine
data, addr = sock.recvfrom(65535)
print(addr[0], data.hex(), flush=True)
"""


@pytest.mark.usefixtures("needs_root")
def test_wsd_hello_is_sent_when_the_lab_starts(one_profile_dir: Path) -> None:
    profile = one_profile_dir / EXAMPLE.name
    hello = ('<e:Envelope><e:Header><w:MessageID>{message_id}</w:MessageID></e:Header><e:Body><d:Hello>'
             '<w:Address>urn:uuid:{uuid}</w:Address><d:XAddrs>http://{ip}/onvif/device_service</d:XAddrs>'
             '</d:Hello></e:Body></e:Envelope>')
    profile.write_text(profile.read_text().replace("[sadp]", f"hello = '{hello}'\n\n[sadp]"))
    heard: list[str] = []

    class ListeningLab(Lab):
        """Starts a listener in the scanner namespace after the network is built, before the
        emulator (which says Hello once, at start)."""

        def _start_emulator(self) -> None:
            assert self.plan is not None
            self.check_isolated()
            listener = subprocess.Popen(
                ["ip", "netns", "exec", self.scanner_namespace, sys.executable, "-c", _HELLO_LISTENER,
                 self.plan.scanner_ip], stdout=subprocess.PIPE, text=True)
            assert listener.stdout is not None and listener.stdout.readline().strip() == "LISTENING"
            try:
                super()._start_emulator()
                heard.append(listener.stdout.readline().strip())
            finally:
                listener.kill()
                listener.wait()

    with ListeningLab(one_profile_dir, prefix=SMALL) as small:
        device = small.devices[0]
        source, payload = heard[0].split()
        text = bytes.fromhex(payload).decode()
        assert source == device.ip
        assert f"urn:uuid:{variables_of(small, device)['device_uuid']}" in text
        assert f"http://{device.ip}/onvif/device_service" in text and "urn:uuid:" in text.split("MessageID>")[1]
    assert _owned(SMALL) == []
