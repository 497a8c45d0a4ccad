"""Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``).

What the HTML report tests and ``bench/html_report.py`` need from a real browser, and the command
line alone cannot give: a page at a chosen viewport width, measured from inside (scroll widths,
element boxes), printed to PDF on a chosen paper size (A4, Letter), screenshots, and the time a page
takes to load. The pipe keeps it local: no port is opened, and pages are file:// URLs only.

    with Browser() as browser:
        browser.open(path, width=1280)
        browser.evaluate("document.documentElement.scrollWidth")
        browser.print_pdf(out, "A4")
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Self

PAPER = {"A4": (8.27, 11.69), "Letter": (8.5, 11.0)}
"""Paper sizes in inches (DevTools' unit)."""


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class BrowserError(RuntimeError):
    pass


class Browser:
    """One headless Chromium with one page; every call waits at most ``timeout`` seconds."""

    def __init__(self, timeout: float = 120.0) -> None:
        binary = find_chromium()
        if binary is None:
            raise BrowserError("chromium is not installed (.ci/run installs it)")
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="camsweep-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # The browser reads commands on fd 3 and writes replies on fd 4: the child moves its ends
        # there (copies numbered above 4 first, so that one dup2 cannot overwrite the other's source).
        src_r, src_w = os.dup(to_browser_r), os.dup(from_browser_w)

        def fds() -> None:
            os.dup2(src_r, 3)
            os.dup2(src_w, 4)

        self.process = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", "--disable-extensions", "--disable-default-apps", "--hide-scrollbars",
             f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            # preexec_fn only moves two descriptors (dup2) between fork and exec.
            pass_fds=(3, 4), preexec_fn=fds, close_fds=True,  # noqa: PLW1509
        )
        for fd in (to_browser_r, from_browser_w, src_r, src_w):
            os.close(fd)
        self._buffer = b""
        self._next = 0
        self._events: list[dict[str, Any]] = []
        target = self._wait_target()
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True, session=False)["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")

    # ------------------------------------------------------------------ protocol

    def _send(self, message: dict[str, Any]) -> None:
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise BrowserError("chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError("chromium closed the pipe")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(line)
        return message

    def call(self, method: str, session: bool = True, **params: Any) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        self._send(message)
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            if "method" in reply:
                self._events.append(reply)

    def wait_event(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            for index, event in enumerate(self._events):
                if event["method"] == method:
                    del self._events[index]
                    return event
            self._events.append(self._receive(deadline))

    def _wait_target(self) -> str:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            targets = self.call("Target.getTargets", session=False)["targetInfos"]
            pages = [t["targetId"] for t in targets if t["type"] == "page"]
            if pages:
                return str(pages[0])
            time.sleep(0.1)
        raise BrowserError("chromium opened no page")

    # ------------------------------------------------------------------ what tests use

    def open(self, path: str | Path, width: int = 1280, height: int = 900, fragment: str = "") -> float:
        """Load ``path`` at a viewport of ``width`` x ``height`` CSS pixels; returns the seconds
        from the navigation to the page's load event (parsing, layout and its script included)."""
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        # From a blank page each time: a URL that differs from the current one only in its fragment
        # would otherwise keep the same document, without a load event.
        self._events.clear()
        self.call("Page.navigate", url="about:blank")
        self.wait_event("Page.loadEventFired")
        url = Path(path).resolve().as_uri() + (f"#{fragment}" if fragment else "")
        began = time.monotonic()
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")
        return time.monotonic() - began

    def evaluate(self, expression: str) -> Any:
        reply = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in reply:
            raise BrowserError(f"{expression}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def print_pdf(self, target: str | Path, paper: str) -> Path:
        """Print the page as a person would from the browser's print dialog on ``paper``."""
        width, height = PAPER[paper]
        data = self.call("Page.printToPDF", paperWidth=width, paperHeight=height, printBackground=True)["data"]
        Path(target).write_bytes(base64.b64decode(data))
        return Path(target)

    def screenshot(self, target: str | Path, full_page: bool = False) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
            size = self.call("Page.getLayoutMetrics")["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        Path(target).write_bytes(base64.b64decode(self.call("Page.captureScreenshot", **params)["data"]))
        return Path(target)

    def close(self) -> None:
        try:
            self._send({"id": self._next + 1, "method": "Browser.close", "params": {}})
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        finally:
            for fd in (self._to_browser, self._from_browser):
                try:
                    os.close(fd)
                except OSError:
                    pass
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
