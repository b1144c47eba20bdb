"""Which CPU a DIMSE worker is pinned to, and when it is left alone."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from apps.dicom_net.services.cpu_pinning import worker_cpu


def test_workers_take_the_allowed_cpus_in_order() -> None:
    allowed = {3, 5, 7, 9}
    assert [worker_cpu(slot, 4, allowed) for slot in range(4)] == [3, 5, 7, 9]
    assert [worker_cpu(slot, 2, allowed) for slot in range(2)] == [3, 5]


def test_a_single_worker_is_not_pinned() -> None:
    assert worker_cpu(0, 1, {0, 1}) is None


def test_more_workers_than_cpus_are_not_pinned() -> None:
    assert [worker_cpu(slot, 3, {0, 1}) for slot in range(3)] == [None, None, None]


def test_a_slot_outside_the_workers_is_not_pinned() -> None:
    assert worker_cpu(2, 2, {0, 1, 2}) is None
    assert worker_cpu(-1, 2, {0, 1, 2}) is None


@given(st.sets(st.integers(0, 255), min_size=1, max_size=64), st.integers(2, 64))
def test_pinned_workers_never_share_a_cpu_and_stay_allowed(allowed: set[int], workers: int) -> None:
    chosen = [worker_cpu(slot, workers, allowed) for slot in range(workers)]
    if workers > len(allowed):
        assert chosen == [None] * workers
    else:
        assert None not in chosen
        assert len(set(chosen)) == workers
        assert set(chosen) <= allowed
