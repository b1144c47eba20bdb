"""Pinning each DIMSE worker process to one CPU (``PACS_DICOM_PIN_WORKERS``).

Why: a worker is an event loop plus the handler and I/O threads it hands each C-STORE to,
and they pass the GIL and wake one another several times per instance. When the scheduler
lets those threads float, most wake-ups cross CPUs: on a virtual machine each such wake-up
is an inter-processor interrupt the hypervisor has to deliver, and the thread's cache goes
cold. Pinned, a worker's threads wake one another on one CPU, and the other workers, the
database and the senders take the others. Measured with ``benchmarks/store_throughput``'s
images (four associations, two workers, two vCPUs): 1.20x the images/s, 10% less CPU per
image.

Only with two or more workers and no more workers than CPUs this process may run on. A
single worker is left alone: which CPU suits it depends on the machine (on the two-vCPU
benchmark machine, pinned to the CPU taking the disk's interrupts it gained 10%, pinned to
the other it lost 19%), and two workers use every CPU of that machine anyway. A count above
the CPUs is left alone too: two workers on one CPU beside an idle one could not be moved.
"""

from __future__ import annotations

import logging
import os

__all__ = ["pin_worker", "worker_cpu"]

logger = logging.getLogger(__name__)


def worker_cpu(slot: int, workers: int, allowed: set[int]) -> int | None:
    """The CPU for worker ``slot`` of ``workers``, among the ``allowed`` ones; None: do not pin."""
    if workers < 2 or workers > len(allowed) or not 0 <= slot < workers:
        return None
    return sorted(allowed)[slot]


def pin_worker(slot: int, workers: int) -> None:
    """Pin the calling process (and the threads it starts later) to its worker's CPU, where
    there is one to pin to (see the module docstring) and the platform has CPU affinity.

    Call before any thread starts: a thread takes its creator's affinity. The log says
    which CPU the worker got.
    """
    if not hasattr(os, "sched_setaffinity"):
        return
    cpu = worker_cpu(slot, workers, os.sched_getaffinity(0))
    if cpu is None:
        return
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError as exc:  # a CPU taken away meanwhile (cpuset change): run unpinned
        failure = {"worker": slot, "cpu": cpu, "pid": os.getpid(), "error": str(exc)}
        logger.warning("dicom worker not pinned", extra=failure)
        return
    logger.info("dicom worker pinned", extra={"worker": slot, "cpu": cpu, "pid": os.getpid()})
