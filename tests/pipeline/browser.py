"""Open a page of ``dvc plots show`` / ``dvc plots diff`` in headless Chromium, offline.

Debian's ``chromium`` (``/usr/bin/chromium``; ``.ci/run`` installs it), driven by
Playwright without its own browser download. Every request but ``file://`` is aborted, so
a page that needs the network shows it here as missing charts and console errors.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Headless Chromium as this project runs it in CI: no sandbox as
# root, no GPU, and none of Chromium's own background connections.
FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# Per top-level <div> of the page: its id (DVC names it after the plot), the rendered
# Vega views (SVG; the templates ask vega-embed for the SVG renderer), canvases, legend
# labels, and loaded images.
INSPECT = """() => [...document.querySelectorAll('body > div')].map(div => ({
    id: div.id,
    svgs: div.querySelectorAll('svg.marks').length,
    canvases: div.querySelectorAll('canvas').length,
    legend: [...div.querySelectorAll('.role-legend-label text')].map(t => t.textContent),
    images: [...div.querySelectorAll('img')].map(img => img.naturalWidth),
}))"""


@dataclass
class Rendered:
    """What the browser saw: per-div facts (see ``INSPECT``), errors, blocked requests."""

    divs: dict[str, dict[str, Any]]
    errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


def require_chromium() -> None:
    """Skip the calling test, saying why, when Debian's Chromium is not installed."""
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip(
            "Chromium is not installed (/usr/bin/chromium); .ci/run installs it with "
            "`apt-get install -y chromium`, which needs root and Debian's package mirror"
        )


def render(page_file: Path, charts: int, screenshot: Path | None = None) -> Rendered:
    """Load ``page_file`` offline and wait until ``charts`` Vega views have rendered.

    Args:
        page_file: the HTML page, opened as a ``file://`` URL.
        charts: how many SVG views to wait for (up to 60 s; then inspect what is there).
        screenshot: where to save a PNG of the top left 1060×1240 pixels (the three
            charts of the default study), if given.
    """
    from playwright.sync_api import Error, sync_playwright

    executable = CHROMIUM if CHROMIUM.exists() else Path(shutil.which("chromium") or "")
    errors: list[str] = []
    blocked: list[str] = []

    def route(request_route: Any) -> None:
        if request_route.request.url.startswith("file://"):
            request_route.continue_()
        else:
            blocked.append(request_route.request.url)
            request_route.abort()

    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(executable),
            headless=True,
            args=list(FLAGS),
            viewport={"width": 1300, "height": 900},
        )
        try:
            context.route("**/*", route)
            page = context.new_page()
            page.on(
                "console", lambda message: message.type == "error" and errors.append(message.text)
            )
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(page_file.resolve().as_uri(), wait_until="load")
            try:
                page.wait_for_function(
                    f"document.querySelectorAll('svg.marks').length >= {charts}", timeout=60_000
                )
            except Error as error:
                errors.append(f"fewer than {charts} charts rendered: {error}")
            divs = {div["id"]: div for div in page.evaluate(INSPECT)}
            if screenshot is not None:
                page.screenshot(
                    path=str(screenshot),
                    full_page=True,
                    clip={"x": 0, "y": 0, "width": 1060, "height": 1240},
                )
        finally:
            context.close()
    return Rendered(divs, errors, blocked)
