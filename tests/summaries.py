"""What the conformance tests found, gathered while they run and printed at the end of
the session by conftest's terminal summary."""

from __future__ import annotations

ONNX_CONFORMANCE: dict[str, str] = {}
"""Case -> "pass" | "rejected" (tests/test_onnx_conformance.py)."""

TILED_CONFORMANCE: dict[str, tuple[set[int], set[int]]] = {}
"""Case -> (indices of ops forced to split in the case, of ops that could split)
(tests/test_tile_conformance.py)."""

SPLIT_ALONE: set[tuple[str, int]] = set()
"""(case, op index) tiled into at least two tiles on its own."""


def lines() -> list[str]:
    """The summary lines for what ran (none for a suite that did not run)."""
    out = []
    if TILED_CONFORMANCE:
        possible = {(case, i) for case, (_, ops) in TILED_CONFORMANCE.items() for i in ops}
        in_case = {(case, i) for case, (ops, _) in TILED_CONFORMANCE.items() for i in ops}
        alone = (possible - in_case) & SPLIT_ALONE
        out.append(
            f"Tiled ONNX conformance: {len(TILED_CONFORMANCE)} cases equal to untiled; of {len(possible)} ops "
            f"with a splittable dim, {len(in_case)} forced to >= 2 tiles in their case and "
            f"{len(alone)} more alone; {len(possible - in_case - alone)} never forced"
        )
    if ONNX_CONFORMANCE:
        from conformance_cases import ALL_CASES, CASES  # loaded already: the cases ran

        passed = sum(1 for r in ONNX_CONFORMANCE.values() if r == "pass")
        rejected = sum(1 for r in ONNX_CONFORMANCE.values() if r == "rejected")
        out.append(
            f"ONNX node conformance: {passed} supported cases pass; {rejected} rejected with a "
            f"diagnostic (listed in tests/data/conformance_rejected.txt); "
            f"{len(CASES)} in scope of {len(ALL_CASES)} node cases"
        )
    return out
