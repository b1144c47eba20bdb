"""The DIMSE server runs under Linux's SCHED_BATCH policy (``PACS_DICOM_BATCH_SCHEDULING``).

Why: a C-STORE passes through the event loop, a handler thread and an I/O thread, which
wake one another several times per instance while one of them holds the GIL. Under the
default policy a woken thread may preempt the one that woke it when both share a CPU (as a
pinned worker's threads always do): the waker is switched out still holding the GIL, the
woken thread finds the GIL taken and sleeps again, and the pair pays two context switches
for nothing. SCHED_BATCH threads never preempt on wake-up; a woken thread runs when the
CPU's current task blocks (the loop waiting in ``epoll``, a thread in ``fsync``) or its
time slice ends, and by then the GIL is usually free. It is the same fair scheduler
otherwise: no priority changes, no privileges needed, and an idle CPU still runs a woken
thread at once. Measured with ``benchmarks/store_throughput``'s images (four associations,
two pinned workers, two vCPUs, paired runs): 1.05x the images/s, won six rounds of six,
7% less CPU per image. One association on one unpinned worker came out even (1.02x, three
rounds of six: the benchmark's noise).

The cost is latency under load only: on a busy CPU a woken thread waits for the running
task's slice (a few milliseconds) instead of taking the CPU at once.
"""

from __future__ import annotations

import logging
import os

__all__ = ["use_batch_scheduling"]

logger = logging.getLogger(__name__)


def use_batch_scheduling() -> bool:
    """Put the calling thread, and the threads and processes it starts afterwards, under
    SCHED_BATCH; whether it did.

    Call before any thread starts: on Linux the policy is a thread's own, and a new thread
    or a forked process takes its creator's. Where the platform has no SCHED_BATCH, or
    refuses (a seccomp filter, say), the server runs under the default policy, with a
    warning in the log.
    """
    policy = getattr(os, "SCHED_BATCH", None)
    if policy is None or not hasattr(os, "sched_setscheduler"):
        return False
    try:
        os.sched_setscheduler(0, policy, os.sched_param(0))
    except OSError as exc:
        logger.warning("dicom server not on batch scheduling", extra={"pid": os.getpid(), "error": str(exc)})
        return False
    return True
