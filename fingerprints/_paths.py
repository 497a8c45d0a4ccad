"""Which request paths camsweep may send to a device: read-only pages only, never the dangerous ones.

This is maker knowledge (fingerprints.md section 13, "what a probe must never send"), so it lives
with the fingerprint data: the loader checks every ``confirm_paths``/``login_path`` of a rule
with :func:`path_problem`, and the one HTTP client (``scanner/probes/_http_client.py``) refuses to
send any request whose path :func:`forbidden` names, wherever the path came from.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit

NEVER_REQUEST = re.compile(r"/SDK/webLanguage|[?&]auth=|/current_config|RPC2_Login|/RPC2\b", re.IGNORECASE)
"""Never requested, whatever a page links to: the PUT body of ``/SDK/webLanguage`` is the
CVE-2021-36260 injection vector, ``?auth=`` the CVE-2017-7921 bypass, ``/current_config`` the
CVE-2017-7925/8229 paths, ``RPC2_Login``/``RPC2`` a login step (CVE-2021-33044 tricks)."""

PATH_LIMIT = 512
"""Characters a rule's page path may have (real identity pages are well under 100)."""


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
    return any(NEVER_REQUEST.search(form) for form in forms)


def path_problem(path: str) -> str | None:
    """Why ``path`` may not be named as a read-only page in the data, or None if it may.

    A page is fetched with one body-less GET, so it must be an absolute path on the device (no
    scheme, host or fragment), plain printable text, not a :func:`forbidden` path, and not a
    CGI call whose ``action`` changes something: Dahua's CGIs read with ``action=get...`` and
    write with other actions (``setConfig``, ``reboot``) through GET as well.
    """
    if not path.startswith("/") or path.startswith("//"):
        return "must be an absolute path on the device (start with one '/')"
    if len(path) > PATH_LIMIT:
        return f"longer than {PATH_LIMIT} characters"
    if re.search(r"[\x00-\x20\x7f#\\]", path):
        return "must not contain whitespace, control characters, '#' or '\\'"
    if forbidden(path):
        return "is on the never-request list (fingerprints.md section 13)"
    for name, value in parse_qsl(urlsplit(path).query, keep_blank_values=True):
        if name.lower() == "action" and not value.lower().startswith("get"):
            return f"action={value} is not a read (only action=get... is)"
    return None
