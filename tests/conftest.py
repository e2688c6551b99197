"""Shared test helpers: where ../shared is, and the conformance summary line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
    import sys

    tiled = sys.modules.get("test_tile_conformance")
    if tiled is not None and tiled.RESULTS:
        possible = {(case, i) for case, (_, ops) in tiled.RESULTS.items() for i in ops}
        in_case = {(case, i) for case, (ops, _) in tiled.RESULTS.items() for i in ops}
        alone = (possible - in_case) & tiled.SPLIT_ALONE
        terminalreporter.write_line(
            f"Tiled ONNX conformance: {len(tiled.RESULTS)} cases equal to untiled; of {len(possible)} ops "
            f"with a splittable dim, {len(in_case)} forced to >= 2 tiles in their case and "
            f"{len(alone)} more alone; {len(possible - in_case - alone)} never forced"
        )
    module = sys.modules.get("test_onnx_conformance")
    if module is None or not module.RESULTS:
        return
    results = module.RESULTS
    passed = sum(1 for r in results.values() if r == "pass")
    rejected = sum(1 for r in results.values() if r == "rejected")
    terminalreporter.write_line(
        f"ONNX node conformance: {passed} supported cases pass; {rejected} rejected with a "
        f"diagnostic (listed in tests/data/conformance_rejected.txt); "
        f"{len(module.CASES)} in scope of {len(module.ALL_CASES)} node cases"
    )


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
