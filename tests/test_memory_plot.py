"""The memory-map HTML view, rendered by a real browser: headless Chromium loads the page
without network, runs Plotly, and the rendered DOM must show one panel per level with
every block drawn; names from the model are escaped."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from conftest import ROOT
from tiling_helpers import tile

from tiler_dialect import MemoryHierarchy
from tiler_passes.tiler import Tiler
from tiler_tools.onnx_frontend import import_onnx

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
HOSTILE = '<img src=x onerror="alert(1)">'


def browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip(f"no headless Chromium found ({', '.join(BROWSERS)}); .ci/run installs Debian's chromium")


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    hierarchy = MemoryHierarchy.fromSizes(l1=768)
    module = import_onnx(ROOT / "examples" / "small" / "conv_relu.onnxtxt", hierarchy)
    tile(module)
    tiler = Tiler(hierarchy)
    mmap = tiler.computeMemoryMap(module)
    mmap.levels["L2"][0].block = mmap.levels["L2"][0].block.__class__(
        HOSTILE, *[getattr(mmap.levels["L2"][0].block, f) for f in ("lower", "upper", "size", "alignment")]
    )
    tiler.annotateMemoryLevel(module, mmap)
    path = tmp_path_factory.mktemp("plot") / "map.html"
    html = tiler.plotMemoryAlloc(mmap, str(path))
    return path, html, mmap


def test_page_is_self_contained_and_escapes_names(page):
    path, html, _ = page
    assert path.read_text() == html
    assert not re.search(r"<script[^>]+src=[\"']https?:", html), "the page must not load scripts from the network"
    assert HOSTILE not in html and "onerror=\"alert" not in html
    assert "&lt;img src=x" in html


def test_same_input_gives_the_same_page():
    """Deterministic output: two runs of the whole flow write byte-identical pages (plotly
    would otherwise name the plot's div with a random id)."""
    pages = []
    for _ in range(2):
        hierarchy = MemoryHierarchy.fromSizes(l1=768)
        module = import_onnx(ROOT / "examples" / "small" / "conv_relu.onnxtxt", hierarchy)
        tile(module)
        tiler = Tiler(hierarchy)
        pages.append(tiler.plotMemoryAlloc(tiler.allocate(module)))
    assert pages[0] == pages[1] and 'id="memory-map"' in pages[0]


def test_browser_renders_one_panel_per_level(page, tmp_path):
    path, _, mmap = page
    chrome = browser()
    done = subprocess.run(
        [
            chrome, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # no network: the page must not need it
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=15000", "--dump-dom", path.as_uri(),
        ],
        capture_output=True, text=True, timeout=180,
    )
    dom = done.stdout
    assert done.returncode == 0 and "main-svg" in dom, done.stderr[-2000:]
    # one subplot per level, titled with its arena and capacity
    subplots = re.findall(r'class="subplot (x\d*y\d*)"', dom)
    assert len(set(subplots)) == len(mmap.levels) == 2
    titles = re.findall(r'data-unformatted="(L\d): arena ([\d,]+) of ([\d,]+) bytes"', dom)
    assert [t[0] for t in titles] == ["L2", "L1"]
    assert titles[1][2] == "768"
    # every block is drawn: one scatter trace per block, plus capacity and arena lines
    traces = len(re.findall(r'class="trace scatter', dom))
    assert traces == sum(len(b) for b in mmap.levels.values()) + 2 * len(mmap.levels)
