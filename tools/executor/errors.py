"""The executor's error type."""


class ExecutionError(Exception):
    """The program cannot run (bad inputs, a failing kernel, a DMA hazard, an access out of
    bounds); the message names the op."""
