"""Shared test helpers: where ../shared is, running a tool in-process, the `slow` marker
and the conformance summary lines."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The helper modules' asserts are checks too: pytest rewrites them as it does the tests'
# (detailed messages, and they still run under `python -O`).
pytest.register_assert_rewrite("conformance_cases", "deeploy_graphs", "quantized_graphs", "summaries", "tiling_helpers", "tests.fuzz")

import summaries  # noqa: E402 - after the rewrite hook

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("TILER_SHARED", ROOT.parent / "shared")).resolve()


FLOAT_MODELS = ["mlperf-tiny/kws_dscnn_float32.onnx", "mlperf-tiny/resnet8_float32.onnx"] + sorted(
    str(p.relative_to(SHARED / "models")) for p in (SHARED / "models" / "deeploy").glob("**/network.onnx")
)
"""The shared float models (paths under ../shared/models) the model tests run."""


def shared_path(*parts: str) -> Path:
    """A path under ../shared, skipping the test with a reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not found: the shared models folder (../shared or $TILER_SHARED) is absent")
    return path


@pytest.fixture(autouse=True)
def _native_minimalloc(monkeypatch):
    """Tests use the native MiniMalloc even where a user's environment points the Tiler at
    an external binary; tests/test_external_minimalloc.py sets the variable itself."""
    monkeypatch.delenv("MINIMALLOC_INSTALL_DIR", raising=False)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    for line in summaries.lines():
        terminalreporter.write_line(line)


def run_tool(main, args: list[str]) -> tuple[int, str, str]:
    """Run a console entry point (tiler_opt.main, tiler_run.main) in-process:
    (exit code, stdout, stderr)."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
    return code, out.getvalue(), err.getvalue()
