"""Device text never reaches the terminal or the log with raw control characters."""

from __future__ import annotations

import io
import logging

from camsweep.reports.text import SafeLogFormatter, clean, escape_controls
from camsweep.reports.explain import render_text as render
from camsweep.shortform import observations_from_documents
from camsweep.verdicts import identify_result

HOSTILE_MODEL = "DS-2CD2\x1b]0;pwned\x07\x1b[2J"


def test_clean_removes_line_breaks_bidi_marks_and_lone_surrogates() -> None:
    text = clean("a\tb\u2028c\u2029d\u200fe\u061cf\udcffg\x9bh\ri", 200)
    assert text == "a b c d?e?f?g?h?i"
    text.encode("utf-8")  # a lone surrogate would make printing raise UnicodeEncodeError


def test_explain_cleans_the_verdict_line() -> None:
    doc = {"ip": "198.18.0.5", "onvif_device_info": {"Manufacturer": "HIKVISION", "Model": HOSTILE_MODEL}}
    [item] = identify_result(observations_from_documents([doc], "test")).devices
    assert item.verdict.model == HOSTILE_MODEL  # kept as evidence; only the rendering is made safe
    out = render(item)
    assert "\x1b" not in out and "\x07" not in out
    assert "model DS-2CD2?]0;pwned??[2J" in out


def test_escape_controls_makes_them_visible() -> None:
    assert escape_controls("x\ny\x1b[2Jz\u202e") == "x\\ny\\x1b[2Jz\\u202e"


def test_log_lines_cannot_be_forged_or_drive_the_terminal() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(SafeLogFormatter("camsweep: %(levelname)s: %(message)s"))
    logger = logging.getLogger("camsweep.test-terminal-safety")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("redirect to %s", "evil\ncamsweep: ERROR: forged\x1b[2J")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.warning("with a traceback", exc_info=True)
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "camsweep: WARNING: redirect to evil\\ncamsweep: ERROR: forged\\x1b[2J"
    assert lines[1] == "camsweep: WARNING: with a traceback"
    assert lines[2].startswith("Traceback")  # tracebacks keep their lines
