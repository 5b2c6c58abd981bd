"""Garbage collection held for bursts: holds nest and overlap, the last release resumes it, a collector turned off
by the application stays off, and a bulk write lets it run again whether it succeeds or fails."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from sirena import gc_hold, testing
from sirena.domain import AlertDraft, Target
from sirena.errors import UnknownRegion


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    assert gc_hold.held() == 0
    yield
    while gc_hold.held():
        gc_hold.release()
    gc.enable()


def test_holds_nest_and_the_last_release_resumes_collection() -> None:
    gc_hold.hold()
    gc_hold.hold()
    assert not gc.isenabled()
    gc_hold.release()
    assert not gc.isenabled()  # the other hold is still in place
    gc_hold.release()
    assert gc.isenabled()
    gc_hold.release()  # one release too many changes nothing
    assert gc.isenabled()
    assert gc_hold.held() == 0


def test_a_collector_the_application_turned_off_stays_off() -> None:
    gc.disable()
    gc_hold.hold()
    gc_hold.release()
    assert not gc.isenabled()


async def test_a_bulk_write_holds_collection_and_lets_it_run_again(tmp_path: Path) -> None:
    async with testing.running(testing.settings_for(tmp_path)) as rt:
        seen: list[bool] = []
        clock = rt.service.clock

        def watching_clock() -> object:
            seen.append(gc.isenabled())  # read while the batch is being made
            return clock()

        rt.service.clock = watching_clock  # type: ignore[assignment]
        await rt.service.issue_many([AlertDraft(target=Target(regions=("31",)))] * 3)
        assert seen == [False]
        assert gc.isenabled()
        with pytest.raises(UnknownRegion):
            await rt.service.issue_many([AlertDraft(target=Target(regions=("nowhere",)))])
        assert gc.isenabled()
        assert gc_hold.held() == 0
