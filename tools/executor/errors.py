"""The executor's error type."""

from tiler_dialect.errors import TilerError


class ExecutionError(TilerError):
    """The program cannot run (bad inputs, a failing kernel, a DMA hazard, an access out of
    bounds); the message names the op."""
