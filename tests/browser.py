"""Headless Chromium for tests that look at pages: a screenshot of a file or URL."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--mute-audio"]


def screenshot(url: str, png: Path, width: int = 1280, height: int = 2000,
               budget_ms: int = 5000, extra: list[str] | None = None) -> Path:
    """Load ``url`` (``file://…`` or ``http://…``) in headless Chromium, let its scripts
    run for ``budget_ms`` of virtual time, and save a ``width`` × ``height`` PNG."""
    if CHROMIUM is None:
        raise RuntimeError("Chromium is not installed (make test installs Debian's chromium)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([CHROMIUM, *FLAGS, *(extra or []), f"--user-data-dir={profile}",
                        f"--window-size={width},{height}", f"--screenshot={png}",
                        f"--virtual-time-budget={budget_ms}", url],
                       check=True, capture_output=True, timeout=120)
    return png
