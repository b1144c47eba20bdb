"""SCHED_BATCH for the DIMSE server: this thread, and what it starts afterwards."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading

import pytest

from apps.dicom_net.services.batch_scheduling import use_batch_scheduling

pytestmark = pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="SCHED_BATCH is Linux's")


def _policies_after_switching(results: multiprocessing.SimpleQueue[tuple[bool, int, int, int]]) -> None:
    """In a forked child: the policies of a thread started before, of this thread, and of a
    thread started after :func:`use_batch_scheduling`."""
    before_started, release = threading.Event(), threading.Event()
    seen: dict[str, int] = {}

    def early() -> None:
        before_started.set()
        release.wait()
        seen["before"] = os.sched_getscheduler(0)

    def late() -> None:
        seen["after"] = os.sched_getscheduler(0)

    first = threading.Thread(target=early)
    first.start()
    before_started.wait()
    switched = use_batch_scheduling()
    second = threading.Thread(target=late)
    second.start()
    second.join()
    release.set()
    first.join()
    results.put((switched, os.sched_getscheduler(0), seen["after"], seen["before"]))


def test_the_caller_and_the_threads_it_starts_later_switch_to_batch() -> None:
    context = multiprocessing.get_context("fork")
    results: multiprocessing.SimpleQueue[tuple[bool, int, int, int]] = context.SimpleQueue()
    child = context.Process(target=_policies_after_switching, args=(results,))
    child.start()
    child.join(timeout=30)
    assert child.exitcode == 0
    switched, caller, after, before = results.get()
    assert switched is True
    assert (caller, after) == (os.SCHED_BATCH, os.SCHED_BATCH)
    assert before == os.SCHED_OTHER  # the policy is per thread: call before any starts


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_refusal_leaves_the_default_policy_and_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(pid: int, policy: int, param: os.sched_param) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_setscheduler", refuse)
    records = _Records()
    logger = logging.getLogger("apps.dicom_net.services.batch_scheduling")
    logger.addHandler(records)
    try:
        assert use_batch_scheduling() is False
    finally:
        logger.removeHandler(records)
    assert os.sched_getscheduler(0) == os.SCHED_OTHER
    assert [(r.levelname, r.getMessage()) for r in records.records] == [
        ("WARNING", "dicom server not on batch scheduling")
    ]
    assert "not permitted" in records.records[0].__dict__["error"]
