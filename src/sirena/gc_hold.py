"""Automatic garbage collection held off while a burst of short-lived objects is made and dropped.

A fan-out to thousands of clients and a bulk write of a thousand alerts each allocate tens of thousands of
objects that reference counting frees at once. Left to itself, the collector would run dozens of young
collections and now and then one of the whole heap in the middle of such a burst (with 10,000 clients connected,
tens of milliseconds). Holding it for the burst moves that work to the end, when most of those objects are gone.

Holds nest and may overlap (a bulk write whose events start a fan-out): collection resumes when the last one is
released. A hold lasts as long as its burst: the hub's until the fan-out's last slice is written, a bulk write's
until it is committed (a wait for the write lock included). If collection was already off when the first hold
was taken (turned off by the application), the holds leave it off.
"""

from __future__ import annotations

import gc

_holds = 0
_disabled = False
"""Whether the holds turned collection off (and so must turn it back on)."""


def hold() -> None:
    """Hold automatic collection until the matching :func:`release`."""
    global _holds, _disabled
    if _holds == 0 and gc.isenabled():
        gc.disable()
        _disabled = True
    _holds += 1


def release() -> None:
    """Release one :func:`hold`; the last release lets collection run again."""
    global _holds, _disabled
    if _holds == 0:
        return
    _holds -= 1
    if _holds == 0 and _disabled:
        _disabled = False
        gc.enable()


def held() -> int:
    """How many holds are in place."""
    return _holds
