"""Debian's headless Chromium driven over the Chrome DevTools Protocol (a websocket),
for the status page's accessibility checks: load a URL at a window width, run
axe-core in the page, take a screenshot.

No browser is downloaded: the system's `chromium` is started with a debugging port
of its own choosing (port 0; it writes the port to DevToolsActivePort).
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from tests.waiting import wait_until

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 level A and AA, the level the Swedish public sector must meet.
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Page:
    """One tab; `send` waits for the answer to its own command id."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._events: list[dict[str, Any]] = []

    def send(self, method: str, timeout: float = 60, **params: Any) -> dict[str, Any]:
        n = next(self._ids)
        self._ws.send(json.dumps({"id": n, "method": method, "params": params}))
        while True:
            msg = json.loads(self._ws.recv(timeout=timeout))
            if msg.get("id") == n:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                result: dict[str, Any] = msg.get("result", {})
                return result
            self._events.append(msg)

    def wait_event(self, method: str, timeout: float = 60) -> dict[str, Any]:
        for i, e in enumerate(self._events):
            if e.get("method") == method:
                return self._events.pop(i)
        while True:
            msg = json.loads(self._ws.recv(timeout=timeout))
            if msg.get("method") == method:
                return dict(msg)
            self._events.append(msg)

    def open(self, url: str, width: int, height: int = 900) -> None:
        """Load the URL in a window `width` CSS pixels wide (a phone below 500)."""
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=width < 500,
        )
        self.send("Page.enable")
        self._events.clear()
        self.send("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression: str, timeout: float = 120) -> Any:
        got = self.send(
            "Runtime.evaluate",
            timeout=timeout,
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in got:
            raise RuntimeError(f"page script failed: {got['exceptionDetails']}")
        return got["result"].get("value")

    def axe_violations(self) -> list[dict[str, Any]]:
        """axe-core's WCAG 2.1 A/AA violations of the loaded page."""
        self.evaluate(AXE.read_text(encoding="utf-8"))
        options = {"runOnly": {"type": "tag", "values": WCAG_21_AA}, "resultTypes": ["violations"]}
        run = f"axe.run(document, {json.dumps(options)}).then(r => JSON.stringify(r.violations))"
        found: list[dict[str, Any]] = json.loads(self.evaluate(run))
        return found

    def screenshot(self, path: Path) -> None:
        """The whole page, as tall as its content."""
        height = int(self.evaluate("document.documentElement.scrollHeight"))
        width = int(self.evaluate("document.documentElement.clientWidth"))
        shot = self.send(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        )
        path.write_bytes(base64.b64decode(shot["data"]))


@contextmanager
def browser(profile: Path, binary: str) -> Iterator[Page]:
    """A headless Chromium with one tab; stopped (and waited for) on the way out."""
    cmd = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--remote-debugging-port=0",
        "about:blank",
    ]
    # A port file left by an earlier run in the same profile would name a dead port.
    (profile / "DevToolsActivePort").unlink(missing_ok=True)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        port = _port(profile / "DevToolsActivePort", proc)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as r:
            targets = json.loads(r.read())
        tab = next(t for t in targets if t["type"] == "page")
        with connect(tab["webSocketDebuggerUrl"], max_size=None, open_timeout=30) as ws:
            yield Page(ws)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(20)
        if proc.stderr is not None:
            proc.stderr.close()


def _port(active: Path, proc: subprocess.Popen[bytes]) -> int:
    # Chromium writes the file once it listens: evidence, not a guess at its start-up time.
    def port() -> int | None:
        lines = active.read_text().splitlines() if active.exists() else []
        return int(lines[0]) if lines and lines[0].isdigit() else None

    def exited() -> str | None:
        if proc.poll() is None:
            return None
        err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
        return f"chromium exited {proc.returncode}: {err}"

    return wait_until(port, "chromium's debugging port", 60, interval=0.05, give_up=exited)
