"""Opening a page in Debian's headless Chromium: its console, its DOM after the scripts ran,
and a screenshot. The network is cut (every host name fails to resolve, the proxy is a closed
port), so a page that tried to fetch anything would log an error."""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib import image

from testkit.realservers import free_port, require

CHROMIUM = "chromium"


@dataclass(frozen=True)
class Page:
    console: list[str]  # every console message, errors and uncaught exceptions included
    dom: str
    screenshot: Path

    def count(self, css_class: str) -> int:
        """Elements whose class attribute holds ``css_class``."""
        pattern = rf'class="(?:[^"]* )?{re.escape(css_class)}(?: [^"]*)?"'
        return len(re.findall(pattern, self.dom))


def open_page(page: Path, screenshot: Path, width: int = 1280, height: int = 1600) -> Page:
    with tempfile.TemporaryDirectory(prefix="llmscope-chromium-") as profile:
        result = subprocess.run(
            [
                require(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--enable-logging=stderr",
                "--v=0",
                "--host-resolver-rules=MAP * ~NOTFOUND",
                f"--proxy-server=127.0.0.1:{free_port()}",
                f"--window-size={width},{height}",
                f"--screenshot={screenshot}",
                "--dump-dom",
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return Page(console, result.stdout, screenshot)


def pixel_spread(png: Path) -> float:
    """Standard deviation of the pixel values (0..1): 0 for a blank image."""
    return float(np.asarray(image.imread(png), dtype=np.float64)[..., :3].std())


def drawn_charts(page: Page) -> dict[str, int]:
    """Per chart div (class ``chart``), the shapes plotly.js drew inside its traces: paths
    with a non-empty outline (``d="M..."``) after the first trace group. 0: an empty SVG."""
    starts = [
        (m.start(), m.group(1))
        for m in re.finditer(r'<div id="([^"]+)" class="chart[ "]', page.dom)
    ]
    out = {}
    for (start, chart), (end, _) in zip(starts, [*starts[1:], (len(page.dom), "")], strict=True):
        segment = page.dom[start:end]
        traces = segment.find('class="trace ')
        out[chart] = 0 if traces < 0 else len(re.findall(r'\bd="M', segment[traces:]))
    return out


def title_tops(page: Page) -> list[float]:
    """The top of every chart title anchored by its top edge (plotly.js writes dy=0.7em
    for those: y is then the top), in pixels from the top of its chart."""
    found = re.findall(r'<text class="gtitle"[^>]*? y="([0-9.]+)" [^>]*?dy="0.7em"', page.dom)
    return [float(y) for y in found]
