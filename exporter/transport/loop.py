"""The event loop the probes run on: uvloop where it is installed, else asyncio's own.

uvloop's loop (libuv) spends less CPU per wake-up than asyncio's selector loop; every
streamed chunk costs one wake-up, so at hundreds of concurrent streams it shortens the
queue a chunk waits in before its timestamp is taken (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


def loop_factory() -> tuple[str, Callable[[], asyncio.AbstractEventLoop]]:
    """The name and the constructor of the fastest loop available here."""
    try:
        import uvloop  # noqa: PLC0415 - optional: installed where it builds
    except ImportError:
        return "asyncio", asyncio.new_event_loop
    return "uvloop", uvloop.new_event_loop


def install() -> str:
    """Make ``asyncio.run`` use that loop; returns its name for the start-up log."""
    name, factory = loop_factory()

    class Policy(asyncio.DefaultEventLoopPolicy):
        def new_event_loop(self) -> asyncio.AbstractEventLoop:
            return factory()

    asyncio.set_event_loop_policy(Policy())
    return name
