"""The executor that proves every stage right: it runs the IR with numpy kernels."""

from tiler_tools.executor.errors import ExecutionError
from tiler_tools.executor.interpreter import execute, signature

__all__ = ["ExecutionError", "execute", "signature"]
