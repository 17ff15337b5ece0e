"""Local stack for Boxoffice: Firebase emulators and Redis as child processes that never outlive us."""

from .procs import DevstackError, free_port
from .redis_server import RedisServer
from .stack import Stack

__all__ = ["DevstackError", "RedisServer", "Stack", "free_port"]
