"""The memory hierarchy's JSON form, as hierarchy files and `--hierarchy` hold it:

    {"levels": [{"name": "L1", "size": "64K", "neighbours": ["L2"]}, ...],
     "default": "L2", "compute": "L1",
     "links": [{"between": ["L1", "L2"], "bandwidth": 8, "latency": 20}],
     "compute_rates": {"macs_per_cycle": 4, ...}}

Every key is checked: an unknown one, a missing one or a value out of range is a
HierarchyError that names the file, the entry and what is allowed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tiler_dialect.cost import ComputeRates, LinkCost
from tiler_dialect.hierarchy import HierarchyError, MemoryHierarchy, MemoryLevel, parse_bytes
from tiler_dialect.naming import shown


def hierarchy_to_json(hierarchy: MemoryHierarchy) -> dict[str, Any]:
    """The JSON form (`MemoryHierarchy.toJSON`): levels, default, compute, and the
    link costs and compute rates where they are not the defaults."""
    data: dict[str, Any] = {
        "levels": [
            {"name": l.name, "size": l.size, "neighbours": list(l.neighbourNames)}
            for l in hierarchy.memoryLevels.values()
        ],
        "default": hierarchy.defaultName,
        "compute": hierarchy.computeName,
    }
    if hierarchy.linkCosts:
        data["links"] = [
            {"between": sorted(pair), "bandwidth": c.bandwidth, "latency": c.latency}
            for pair, c in sorted(hierarchy.linkCosts.items(), key=lambda kv: sorted(kv[0]))
        ]
    if hierarchy.computeRates != ComputeRates():
        data["compute_rates"] = {
            name: getattr(hierarchy.computeRates, name) for name in ComputeRates.field_names()
        }
    return data


def hierarchy_from_json(data: Any, source: str = "hierarchy") -> MemoryHierarchy:
    """Build from the JSON form; `source` names the file in error messages."""

    def fail(msg: str) -> HierarchyError:
        return HierarchyError(f"{source}: {msg}")

    if not isinstance(data, dict):
        raise fail("expected a JSON object with 'levels' and 'default'")
    unknown = set(data) - {"levels", "default", "compute", "links", "compute_rates"}
    if unknown:
        raise fail(f"unknown key(s) {shown(sorted(map(str, unknown)), 120)}; known: levels, default, compute, links, compute_rates")
    levels = data.get("levels")
    if not isinstance(levels, list) or not levels:
        raise fail("'levels' must be a non-empty list of levels")
    parsed = []
    for i, entry in enumerate(levels):
        if not isinstance(entry, dict):
            raise fail(f"level #{i} must be an object with 'name', 'size', 'neighbours'")
        unknown = set(entry) - {"name", "size", "neighbours"}
        if unknown:
            raise fail(f"level #{i}: unknown key(s) {shown(sorted(map(str, unknown)), 120)}; known: name, size, neighbours")
        for key in ("name", "size", "neighbours"):
            if key not in entry:
                raise fail(f"level #{i} has no {key!r}")
        size = entry["size"]
        if isinstance(size, str):
            try:
                size = parse_bytes(size)
            except ValueError as e:
                raise fail(f"level #{i}: {e}") from None
        try:
            parsed.append(MemoryLevel(entry["name"], entry["neighbours"], size))
        except HierarchyError as e:
            raise fail(str(e)) from None
    try:
        hierarchy = MemoryHierarchy(parsed)
        if "default" not in data:
            raise HierarchyError("no 'default' level: name the level graph tensors live in")
        hierarchy.setDefaultMemoryLevel(data["default"])
        if "compute" in data:
            hierarchy.setComputeMemoryLevel(data["compute"])
        hierarchy.validate()
        _read_costs(hierarchy, data)
    except HierarchyError as e:
        raise fail(str(e)) from None
    return hierarchy


def load_hierarchy(path: str | Path) -> MemoryHierarchy:
    """Read a hierarchy file: at most 1 MiB of UTF-8 JSON."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise HierarchyError(f"cannot read hierarchy file {path}: {e.strerror}") from None
    if len(data) > _MAX_FILE_BYTES:
        raise HierarchyError(f"{path}: {len(data)} bytes is too large for a hierarchy file")
    try:
        text = data.decode("utf-8-sig")  # RFC 8259: UTF-8; a BOM is tolerated
    except UnicodeDecodeError as e:
        raise HierarchyError(f"{path}: not UTF-8 text (byte {e.start}); a hierarchy file is UTF-8 JSON") from None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as e:
        raise HierarchyError(f"{path}: not valid JSON: {e}") from None
    except RecursionError:
        raise HierarchyError(f"{path}: JSON nested too deeply") from None
    except ValueError as e:  # e.g. an integer of more digits than Python converts
        raise HierarchyError(f"{path}: not valid JSON: {shown(str(e), 120)}") from None
    return hierarchy_from_json(parsed, str(path))


def _read_costs(hierarchy: MemoryHierarchy, data: dict[str, Any]) -> None:
    links = data.get("links", [])
    if not isinstance(links, list):
        raise HierarchyError("'links' must be a list of {between, bandwidth, latency} objects")
    for i, link in enumerate(links):
        if not isinstance(link, dict) or set(link) != {"between", "bandwidth", "latency"}:
            raise HierarchyError(f"link #{i} must have exactly 'between', 'bandwidth' and 'latency'")
        between = link["between"]
        if not (isinstance(between, list) and len(between) == 2 and all(isinstance(n, str) for n in between)):
            raise HierarchyError(f"link #{i}: 'between' must name two levels")
        try:
            cost = LinkCost(_positive_int(link["bandwidth"], f"link #{i} bandwidth"), _positive_int(link["latency"], f"link #{i} latency", zero=True))
        except ValueError as e:
            raise HierarchyError(f"link #{i}: {e}") from None
        hierarchy.setLinkCost(between[0], between[1], cost)
    rates = data.get("compute_rates", {})
    if not isinstance(rates, dict):
        raise HierarchyError("'compute_rates' must be an object")
    unknown = set(rates) - set(ComputeRates.field_names())
    if unknown:
        raise HierarchyError(
            f"unknown compute rate(s) {', '.join(sorted(map(repr, unknown)))}; known: "
            f"{', '.join(ComputeRates.field_names())}"
        )
    values = {k: _positive_int(v, k, zero=k == "tile_overhead") for k, v in rates.items()}
    hierarchy.computeRates = ComputeRates(**values)


MAX_RATE = 1 << 31
"""Bandwidths, latencies and compute rates stay below it, so cycle estimates (rates times
bytes or MACs) stay within 64-bit integers."""


def _positive_int(value: Any, what: str, zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not (0 if zero else 1) <= value <= MAX_RATE:
        raise HierarchyError(
            f"{what} must be a {'non-negative' if zero else 'positive'} integer up to {MAX_RATE}, got {shown(value)}"
        )
    return value


_MAX_FILE_BYTES = 1 << 20
