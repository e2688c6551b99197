"""The memory hierarchy: named levels, their capacities, and which levels a DMA connects.

`MemoryLevel` and `MemoryHierarchy` keep the names and meaning of the reference Tiler's
API (Deeploy's MemoryLevelExtension): a level has a `name`, the `neighbourNames` a DMA
can reach from it and a `size` in bytes; the hierarchy has a default ("home") level
where graph tensors live, set with `setDefaultMemoryLevel`. On top of the reference we
validate eagerly, with errors that say what to fix, and we name the compute level (the
scratchpad the cores read, "L1" unless told otherwise).

Neighbour links are undirected: a DMA that connects two levels moves data both ways, so
listing a link on either side is enough.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tiler_dialect.cost import FAR_LINK, NEAR_LINK, ComputeRates, LinkCost
from tiler_dialect.errors import TilerError
from tiler_dialect.naming import shown


class HierarchyError(TilerError, ValueError):
    """An invalid memory level or hierarchy: the message says what is wrong."""


KiB = 1024
MiB = 1024 * 1024

#: The documented default: L3 8 MiB - L2 1 MiB - L1 64 KiB, graph tensors live in L2.
DEFAULT_SIZES: Mapping[str, int] = {"L3": 8 * MiB, "L2": 1 * MiB, "L1": 64 * KiB}
DEFAULT_HOME = "L2"
DEFAULT_COMPUTE = "L1"


MAX_LEVELS = 64
MAX_LEVEL_SIZE = 1 << 40
"""1 TiB: larger than any memory a tiled chip has, small enough that every product of
sizes and tile counts the solver forms stays within 64-bit integers."""

_LEVEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def _check_name(name: object, what: str) -> str:
    """Level names are C identifiers (at most 64 characters): they name arenas, linker
    sections and symbols in generated code, and print unquoted-safe in the IR."""
    if not isinstance(name, str) or not _LEVEL_NAME.fullmatch(name):
        raise HierarchyError(
            f"{what} must be an identifier of letters, digits and '_' (at most 64, not starting "
            f"with a digit), got {shown(name)}"
        )
    return name


def check_level_size(size: object, what: str) -> int:
    """A level size: an integer number of bytes from 1 to MAX_LEVEL_SIZE."""
    if isinstance(size, bool) or not isinstance(size, int):
        raise HierarchyError(f"{what} must be an integer number of bytes, got {shown(size)}")
    if not 1 <= size <= MAX_LEVEL_SIZE:
        raise HierarchyError(f"{what} must be from 1 to {MAX_LEVEL_SIZE} bytes (1 TiB), got {shown(size)}")
    return size


class MemoryLevel:
    """One memory level: `name`, the `neighbourNames` a DMA connects it to, `size` in bytes."""

    def __init__(self, name: str, neighbourNames: Sequence[str], size: int):
        self.name = _check_name(name, "memory level name")
        if isinstance(neighbourNames, str) or not isinstance(neighbourNames, Iterable):
            raise HierarchyError(
                f"neighbours of memory level {name!r} must be a list of level names, "
                f"got {shown(neighbourNames)}"
            )
        self.neighbourNames = [
            _check_name(n, f"neighbour of memory level {name!r}") for n in neighbourNames
        ]
        self.size = check_level_size(size, f"size of memory level {name!r}")
        if name in self.neighbourNames:
            raise HierarchyError(f"memory level {name!r} cannot be its own neighbour")
        if len(set(self.neighbourNames)) != len(self.neighbourNames):
            raise HierarchyError(f"memory level {name!r} lists a neighbour twice")

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, MemoryLevel)
            and self.name == other.name
            and self.size == other.size
            and set(self.neighbourNames) == set(other.neighbourNames)
        )

    def __hash__(self) -> int:
        return hash((self.name, self.size, frozenset(self.neighbourNames)))

    def __repr__(self) -> str:
        return f"MemoryLevel({self.name!r}, {self.neighbourNames!r}, {self.size})"


class MemoryHierarchy:
    """A connected graph of memory levels with a default (home) and a compute level.

    `memoryLevels` maps names to levels in the order given. The default level must be
    set (`setDefaultMemoryLevel`) before the hierarchy is used; the compute level is
    "L1" when such a level exists, else it must be set with `setComputeMemoryLevel`.
    """

    def __init__(self, node_list: Sequence[MemoryLevel]):
        self.memoryLevels: dict[str, MemoryLevel] = {}
        self._defaultMemoryLevel: MemoryLevel | None = None
        self._computeMemoryLevel: MemoryLevel | None = None
        self.linkCosts: dict[frozenset[str], LinkCost] = {}
        """Cost-model overrides per link (frozenset of the two level names)."""
        self.computeRates = ComputeRates()
        if not node_list:
            raise HierarchyError("a memory hierarchy needs at least one level")
        if len(node_list) > MAX_LEVELS:
            raise HierarchyError(f"a memory hierarchy has at most {MAX_LEVELS} levels, got {len(node_list)}")
        for node in node_list:
            if not isinstance(node, MemoryLevel):
                raise HierarchyError(f"expected a MemoryLevel, got {node!r}")
            if node.name in self.memoryLevels:
                raise HierarchyError(f"memory level {node.name!r} is defined twice")
            self.memoryLevels[node.name] = node
        self._check()
        if DEFAULT_COMPUTE in self.memoryLevels:
            self._computeMemoryLevel = self.memoryLevels[DEFAULT_COMPUTE]

    # -- validation ------------------------------------------------------------------

    def _check(self) -> None:
        for node in self.memoryLevels.values():
            unknown = [n for n in node.neighbourNames if n not in self.memoryLevels]
            if unknown:
                raise HierarchyError(
                    f"memory level {node.name!r} names unknown neighbour(s) "
                    f"{', '.join(map(repr, unknown))}; known levels: "
                    f"{', '.join(map(repr, self.memoryLevels))}"
                )
        first = next(iter(self.memoryLevels))
        reached = set(self._reachable(first))
        unreachable = [n for n in self.memoryLevels if n not in reached]
        if unreachable:
            raise HierarchyError(
                f"memory level(s) {', '.join(map(repr, unreachable))} cannot be reached "
                f"from {first!r}: every level must be connected to the others by "
                "neighbour links"
            )

    def _adjacency(self, name: str) -> list[str]:
        """Neighbours of `name` in both directions, in definition order."""
        out = list(self.memoryLevels[name].neighbourNames)
        for other in self.memoryLevels.values():
            if name in other.neighbourNames and other.name not in out:
                out.append(other.name)
        return out

    def _reachable(self, start: str) -> Iterable[str]:
        seen = {start}
        queue = deque([start])
        while queue:
            cur = queue.popleft()
            yield cur
            for n in self._adjacency(cur):
                if n not in seen:
                    seen.add(n)
                    queue.append(n)

    def _level(self, name: str, role: str) -> MemoryLevel:
        if not isinstance(name, str) or name not in self.memoryLevels:
            raise HierarchyError(
                f"{role} {shown(name)} is not a level of the hierarchy; levels: "
                f"{', '.join(map(repr, self.memoryLevels))}"
            )
        return self.memoryLevels[name]

    # -- the reference API ---------------------------------------------------------

    def setDefaultMemoryLevel(self, name: str) -> None:
        """Set the level graph tensors live in (the "home" level)."""
        self._defaultMemoryLevel = self._level(name, "default memory level")

    def getDefaultMemoryLevel(self) -> MemoryLevel:
        if self._defaultMemoryLevel is None:
            raise HierarchyError("the hierarchy has no default memory level set")
        return self._defaultMemoryLevel

    def setComputeMemoryLevel(self, name: str) -> None:
        """Set the level compute reads from (the scratchpad next to the cores)."""
        self._computeMemoryLevel = self._level(name, "compute memory level")

    def getComputeMemoryLevel(self) -> MemoryLevel:
        if self._computeMemoryLevel is None:
            raise HierarchyError(
                "the hierarchy has no compute memory level: name one, or call a level 'L1'"
            )
        return self._computeMemoryLevel

    def bfs(self, start: str, target: str) -> list[str]:
        """The shortest chain of levels from `start` to `target`, both included."""
        self._level(start, "memory level")
        self._level(target, "memory level")
        parent: dict[str, str | None] = {start: None}
        queue = deque([start])
        while queue:
            cur = queue.popleft()
            if cur == target:
                path = [cur]
                while (p := parent[path[-1]]) is not None:
                    path.append(p)
                return path[::-1]
            for n in self._adjacency(cur):
                if n not in parent:
                    parent[n] = cur
                    queue.append(n)
        return []  # unreachable only if the graph is disconnected, which _check rejects

    # -- our additions ---------------------------------------------------------------

    @property
    def defaultName(self) -> str:
        return self.getDefaultMemoryLevel().name

    @property
    def computeName(self) -> str:
        return self.getComputeMemoryLevel().name

    def validate(self) -> MemoryHierarchy:
        """Check the hierarchy is complete (default and compute levels known)."""
        self.getDefaultMemoryLevel()
        self.getComputeMemoryLevel()
        return self

    def homePath(self) -> list[str]:
        """Levels a tile crosses from the home level down to the compute level."""
        return self.bfs(self.defaultName, self.computeName)

    def setLinkCost(self, a: str, b: str, cost: LinkCost) -> None:
        """Override the cost model of the link between neighbours `a` and `b`."""
        self._level(a, "memory level")
        self._level(b, "memory level")
        if self.bfs(a, b) != [a, b]:
            raise HierarchyError(f"levels {a!r} and {b!r} are not neighbours: there is no link to cost")
        self.linkCosts[frozenset((a, b))] = cost

    def linkCost(self, a: str, b: str) -> LinkCost:
        """The link's cost: its override, else the default for links touching the compute
        level or for the others (see tiler_dialect.cost)."""
        cost = self.linkCosts.get(frozenset((a, b)))
        if cost is not None:
            return cost
        compute = self._computeMemoryLevel.name if self._computeMemoryLevel else None
        return NEAR_LINK if compute in (a, b) else FAR_LINK

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, MemoryHierarchy)
            and list(self.memoryLevels) == list(other.memoryLevels)
            and all(self.memoryLevels[k] == other.memoryLevels[k] for k in self.memoryLevels)
            and self._defaultMemoryLevel == other._defaultMemoryLevel
            and self._computeMemoryLevel == other._computeMemoryLevel
            and self.linkCosts == other.linkCosts
            and self.computeRates == other.computeRates
        )

    def __repr__(self) -> str:
        default = self._defaultMemoryLevel.name if self._defaultMemoryLevel else None
        return f"MemoryHierarchy({list(self.memoryLevels.values())!r}, default={default!r})"

    # -- construction helpers ------------------------------------------------------

    @classmethod
    def chain(
        cls, sizes: Mapping[str, int], default: str, compute: str | None = None
    ) -> MemoryHierarchy:
        """A linear chain of levels in the order given, e.g. L3 - L2 - L1."""
        names = list(sizes)
        levels = [
            MemoryLevel(
                name,
                [n for n in (names[i - 1] if i else None, names[i + 1] if i + 1 < len(names) else None) if n],
                sizes[name],
            )
            for i, name in enumerate(names)
        ]
        hierarchy = cls(levels)
        hierarchy.setDefaultMemoryLevel(default)
        hierarchy.setComputeMemoryLevel(compute or names[-1])
        return hierarchy

    @classmethod
    def default(cls) -> MemoryHierarchy:
        """L3 8 MiB - L2 1 MiB - L1 64 KiB, home L2, compute L1."""
        return cls.chain(DEFAULT_SIZES, DEFAULT_HOME, DEFAULT_COMPUTE)

    @classmethod
    def fromSizes(
        cls,
        l1: int | None = None,
        l2: int | None = None,
        l3: int | None = None,
        default: str | None = None,
    ) -> MemoryHierarchy:
        """The L3 - L2 - L1 chain; sizes not given keep their documented defaults."""
        given = {"L3": l3, "L2": l2, "L1": l1}
        sizes = {name: DEFAULT_SIZES[name] if v is None else v for name, v in given.items()}
        return cls.chain(sizes, default or DEFAULT_HOME, DEFAULT_COMPUTE)

    # -- JSON (tiler_dialect/hierarchy_json.py) ------------------------------------------

    def toJSON(self) -> dict[str, Any]:
        from tiler_dialect.hierarchy_json import hierarchy_to_json

        return hierarchy_to_json(self)

    @classmethod
    def fromJSON(cls, data: Any, source: str = "hierarchy") -> MemoryHierarchy:
        """Build from the JSON form; `source` names the file in error messages."""
        from tiler_dialect.hierarchy_json import hierarchy_from_json

        return hierarchy_from_json(data, source)

    @classmethod
    def load(cls, path: str | Path) -> MemoryHierarchy:
        """Read a JSON hierarchy file (HierarchyError says what is wrong with it)."""
        from tiler_dialect.hierarchy_json import load_hierarchy

        return load_hierarchy(path)


_BYTES_RE = re.compile(r"\s*([0-9]+)\s*(|B|K|KB|KiB|M|MB|MiB|G|GB|GiB)\s*", re.IGNORECASE | re.ASCII)
_UNITS = {
    "": 1, "b": 1, "k": KiB, "kb": KiB, "kib": KiB, "m": MiB, "mb": MiB, "mib": MiB,
    "g": 1024 * MiB, "gb": 1024 * MiB, "gib": 1024 * MiB,
}


def parse_bytes(text: str) -> int:
    """'65536', '64K', '64KiB', '1M', '1G' -> bytes (K, M, G are binary: powers of 1024).
    At most MAX_LEVEL_SIZE."""
    m = _BYTES_RE.fullmatch(text) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"not a byte count: {shown(text)} (use e.g. 65536, 64K or 1MiB)")
    digits = m.group(1).lstrip("0") or "0"
    if len(digits) > 15:  # beyond any level size; also keeps int() far from its digit limit
        raise ValueError(f"{shown(text)} bytes is more than the {MAX_LEVEL_SIZE} (1 TiB) a level may have")
    value = int(digits) * _UNITS[m.group(2).lower()]
    if value > MAX_LEVEL_SIZE:
        raise ValueError(f"{shown(text)} is more than the {MAX_LEVEL_SIZE} bytes (1 TiB) a level may have")
    return value
