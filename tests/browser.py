"""Headless Chromium driven over the DevTools protocol on a pipe, for the catalog's accessibility test.

``--remote-debugging-pipe`` makes Chromium read protocol messages from file descriptor 3 and
write its answers to descriptor 4, each a JSON object ended by a NUL byte: no port, no
websocket library, nothing another test on the machine could connect to. The pages' own
Content-Security-Policy allows no script; ``Page.setBypassCSP`` lets the test inject axe-core
without changing the pages.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

#: the axe-core that scripts/bootstrap --tests installs with npm (git-ignored)
AXE_DIR = Path(__file__).resolve().parents[1] / ".cache" / "npm" / "node_modules" / "axe-core"
AXE = AXE_DIR / "axe.min.js"
#: where the axe-core that scripts/bootstrap --tests installs comes from, for the skip reason
AXE_HINT = ("needs axe-core from npm: scripts/bootstrap --tests installs it into .cache/npm "
            "(npm install --prefix .cache/npm axe-core); npm was unreachable or not run")


def _onto_3_and_4(read: int, write: int) -> None:
    # read < write (made in that order), so moving read onto 3 never overwrites write
    os.dup2(read, 3)
    os.dup2(write, 4)
    for fd in (3, 4):  # dup2 onto itself keeps close-on-exec
        os.set_inheritable(fd, True)


class Browser:
    """One Chromium process, one tab; ``call`` sends a command and waits for its answer."""

    def __init__(self, chromium: str, profile: Path) -> None:
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # the child sees our read end of "to child" as fd 3 and the write end of "from child" as fd 4
        self._proc = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", "--hide-scrollbars", f"--user-data-dir={profile}",
             "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            # descriptors Python opens are not inherited (PEP 446): only the two dup2 makes reach Chromium,
            # and close_fds would close them again (it runs after preexec_fn)
            close_fds=False, preexec_fn=lambda: _onto_3_and_4(to_child_r, from_child_w))
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._next = 0
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        attached = self.call("Target.attachToTarget", targetId=page["targetId"], flatten=True)
        self._session = attached["sessionId"]
        self.call("Page.enable", session=True)
        self.call("Page.setBypassCSP", session=True, enabled=True)

    def call(self, method: str, *, session: bool = False, **params: Any) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = self._session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._read()
            if answer.get("id") == self._next:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                result: dict[str, Any] = answer["result"]
                return result

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        message: dict[str, Any] = json.loads(raw)
        return message

    def open(self, page: Path, width: int, height: int = 900) -> None:
        """Load ``page`` at a ``width`` px wide viewport (a phone's when narrow: touch, scale 2)."""
        mobile = width < 600
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=width, height=height,
                  deviceScaleFactor=2 if mobile else 1, mobile=mobile)
        self.call("Page.navigate", session=True, url=page.resolve().as_uri())
        self.evaluate("new Promise(r => document.readyState === 'complete' ? r(0) "
                      ": addEventListener('load', () => r(0)))")

    def evaluate(self, expression: str) -> Any:
        answer = self.call("Runtime.evaluate", session=True, expression=expression, awaitPromise=True,
                           returnByValue=True)
        if "exceptionDetails" in answer:
            raise RuntimeError(f"{expression[:60]}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def axe(self, source: str) -> list[dict[str, Any]]:
        """axe-core's violations on the open page (WCAG 2.x A and AA rules and best practices)."""
        if not self.evaluate("typeof axe !== 'undefined'"):
            self.evaluate(source)
        result = self.evaluate("axe.run(document, {resultTypes: ['violations']})"
                               ".then(r => JSON.stringify(r.violations))")
        violations: list[dict[str, Any]] = json.loads(result)
        return violations

    def screenshot(self, path: Path, *, whole: bool = True) -> None:
        """The whole page (as wide as the viewport), or only what the viewport shows."""
        shot = self.call("Page.captureScreenshot", session=True, format="png", captureBeyondViewport=whole)
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except RuntimeError:
            pass  # it closed the pipe while answering
        finally:
            os.close(self._to_child)
            os.close(self._from_child)
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
