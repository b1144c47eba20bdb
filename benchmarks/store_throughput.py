"""C-STORE throughput: DCMTK ``storescu`` sends 1,000 CT images of 512 KiB to three SCPs.

The SCPs (``benchmarks/_store_servers.py``), each started fresh for every timed run:

* ours: ``manage.py run_dicom_server`` storing into the archive (files under a fresh
  ``PACS_STORAGE_ROOT``, fsync-ed; the index in a fresh PostgreSQL database copied from a
  migrated template, reached through PostgreSQL's Unix socket as on a single-host install;
  PostgreSQL and Redis from ``scripts/services.py``, PostgreSQL restarted with fsync and
  synchronous commit back on), ``DJANGO_DEBUG=0``, log level
  WARNING, ``PACS_DB_CONN_MAX_AGE=60`` as ``docker/compose.yaml`` deploys it. A second
  row, ``ours, CONN_MAX_AGE=0``, runs the embedded default (a new database connection per
  C-STORE). ``--workers 1`` for one association, ``--workers 2`` (the cores) for four.
* Orthanc with its default SQLite index and storage settings (it fsyncs each file), and
  DCMTK ``storescp --fork -od DIR +xa`` (files only, no fsync; a child process per
  association, so that four associations are served at once, as the issue's reference
  figures of storescp imply: without ``--fork`` it serves one association at a time and
  the other senders wait).

Each announces its default maximum PDU length, and storescu sends P-DATA-TF PDUs that long:
128 KiB to ours, 16 KiB to Orthanc and storescp. A third row of ours, ``ours, 16 KiB
PDUs``, announces 16 KiB as the peers do. Every process gets ``TCP_NODELAY=1``.

The images (generated once, cached in ``benchmarks/results/.cache``): CT Image Storage,
512x512 16-bit native pixels, Explicit VR Little Endian, distinct SOP Instance UIDs; four
patients with one study each, five series of 50 images per study. The four parallel
senders each send one study (250 images); the single sender sends all four folders.

A timed run: start the server; send 8 warm-up images (4 storescu x 2); read the server's
CPU time; start the storescu process(es) (``-R``: only the CT context, Explicit VR LE and
the other uncompressed syntaxes proposed) and time from their start to the last one's
exit; read the CPU time again and the peak RSS (VmHWM) of every server process; check that
the server holds all 1,008 instances (our index row count, Orthanc's /statistics,
storescp's files); stop the server. The servers take turns within each round, so that load
from elsewhere on the machine weighs on them alike; ``--repeat N`` runs N rounds, every
second one in reverse order (the machine's speed drifted within rounds: the later runs of
a round tended to come out faster). Every run's files are kept until the end (about 5.5 GB
a round, under ``$TMPDIR``): deleting them between runs made the next server's file
creation slow on ext4 without a journal. Every run ends with ``sync``, so that no server's
writeback (storescp does not fsync) weighs on the next one.

Reading the figures on a virtual machine: storescp on four associations took 0.3 to 2.0 s
of CPU for the same 1,000 images here, Orthanc 2.4 to 4.2 s, while ours stayed at 1.6 to
2.1 s. ``perf`` shows two causes, both in the kernel, and both weigh on the peers more
than on us:

* Page-cache writes. Orthanc and storescp write through the page cache, ours around it
  (``O_DIRECT``). Where the guest hands free memory back to its host (virtio balloon free
  page reporting, as on this project's machines), copying into a fresh cache page costs
  several times more when the host has to back its memory again than when it was freed
  moments ago (``copy_folio_from_iter_atomic``: up to 60% of storescp's samples).
* Inode allocation. ext4 without a journal (this machine's root file system) skips the
  inodes freed in the last minute (six, while the freeing is not written back) when it
  allocates one, checking each in turn (``recently_deleted``): after thousands of
  deletions in the same block group, each new file costs up to a millisecond, 10 to 30% of
  storescp's samples. Ours pays it on a thread of its own (``storage.reserve``), off the
  C-STORE's path, but pays it. So the runs' files and databases stay until the end, the
  benchmark first runs ``sync`` and waits ``STORE_THROUGHPUT_SETTLE_S`` (65) seconds, and
  it ends with ``sync`` after its clean-up. Run it a minute after other large deletions
  (a test suite's) at the earliest.

In the peers' fast runs (and on a machine without either effect, presumably always) the
ratios to them are lower than the medians show.

CPU is utime + stime from /proc of the server's process tree (forked workers included;
PostgreSQL's, which Orthanc's in-process SQLite has no counterpart of, reported apart).
MB/s counts the bytes of the files sent (10^6 bytes per MB). The load average of the
machine (other work shares it) is recorded before and after.

Goals (the issue): at least 1.5x Orthanc's images/s on one and on four associations, at
least 100 MB/s sustained, at least half of storescp's images/s.

Run: ``python -m benchmarks store_throughput --repeat 3``. Profile our server under the
same load with py-spy: ``python -m benchmarks._store_profile [--associations 4]``.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks import Comparison, Report, Timing
from benchmarks import _store_servers as servers
from dicomkit.data import uids
from dicomkit.data.dataset import Dataset
from dicomkit.data.uid import generate_uid
from dicomkit.data.value_codec import ElementValue
from dicomkit.part10.writer import write_file
from tests.interop import peers

CACHE = Path(__file__).resolve().parent / "results" / ".cache" / "store_throughput-v1"
STUDIES, SERIES_PER_STUDY, IMAGES_PER_SERIES = 4, 5, 50
IMAGES = STUDIES * SERIES_PER_STUDY * IMAGES_PER_SERIES
WARMUP_PER_SENDER = 2
ROWS = COLUMNS = 512
GOAL_VS_ORTHANC, GOAL_MB_S, GOAL_VS_STORESCP = 1.5, 100.0, 0.5
SETTLE_S = 65  # ext4 (no journal) skips inodes freed in the last 60 s when it allocates
OURS, OURS_16K, OURS_NO_REUSE = "ours", "ours, 16 KiB PDUs", "ours, CONN_MAX_AGE=0"
# Our server's settings beyond the benchmark's own: database connections kept for 60 s, as
# docker/compose.yaml deploys it. For comparison: our server announcing the peers' 16 KiB
# maximum PDU length instead of its default 128 KiB; and the embedded default of
# connections (0: a new one for every C-STORE, since each commit ends with Django's
# connection hygiene).
OUR_SETTINGS = {
    OURS: {"PACS_DB_CONN_MAX_AGE": "60"},
    OURS_16K: {"PACS_DB_CONN_MAX_AGE": "60", "PACS_DICOM_MAX_PDU_LENGTH": "16384"},
    OURS_NO_REUSE: {"PACS_DB_CONN_MAX_AGE": "0"},
}
SERVER_NAMES = (OURS, OURS_16K, OURS_NO_REUSE, "Orthanc", "DCMTK storescp")


# -------------------------------------------------------------------------- images


def _pixels(rng: random.Random) -> bytes:
    """512x512 16-bit little-endian values below 4096 (Bits Stored 12)."""
    data = bytearray(rng.randbytes(ROWS * COLUMNS * 2))
    data[1::2] = data[1::2].translate(bytes(b & 0x0F for b in range(256)))
    return bytes(data)


def _write_image(
    path: Path, patient: int, study_uid: str, series_uid: str, series: int, number: int, pixels: bytes
) -> None:
    values: dict[str, ElementValue] = {
        "SpecificCharacterSet": "ISO_IR 100",
        "SOPClassUID": uids.CTImageStorage,
        "SOPInstanceUID": generate_uid(),
        "StudyDate": "20240102",
        "StudyTime": "101500",
        "AccessionNumber": f"ACC{patient:04d}",
        "Modality": "CT",
        "ReferringPhysicianName": "House^Gregory",
        "StudyDescription": "CT Chest",
        "SeriesDescription": f"Axial {series}",
        "PatientName": f"Bench^Patient{patient}",
        "PatientID": f"BENCH{patient:04d}",
        "PatientBirthDate": "19700101",
        "PatientSex": "O",
        "StudyInstanceUID": study_uid,
        "SeriesInstanceUID": series_uid,
        "StudyID": str(patient),
        "SeriesNumber": str(series),
        "InstanceNumber": str(number),
        "ImagePositionPatient": [0.0, 0.0, float(number)],
        "ImageOrientationPatient": [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        "PixelSpacing": [0.7, 0.7],
        "SliceThickness": 1.0,
        "SamplesPerPixel": 1,
        "PhotometricInterpretation": "MONOCHROME2",
        "Rows": ROWS,
        "Columns": COLUMNS,
        "BitsAllocated": 16,
        "BitsStored": 12,
        "HighBit": 11,
        "PixelRepresentation": 0,
        "RescaleIntercept": -1024.0,
        "RescaleSlope": 1.0,
        # Each image's pixels differ (the first bytes hold its number).
        "PixelData": number.to_bytes(4, "little") + pixels[4:],
    }
    dataset = Dataset()
    for keyword, value in values.items():
        dataset.set(keyword, value, "OW" if keyword == "PixelData" else None)
    write_file(path, dataset, transfer_syntax_uid=uids.ExplicitVRLittleEndian)


def images() -> tuple[list[Path], Path]:
    """The four study folders (250 images each) and the warm-up folder; built once."""
    studies = [CACHE / f"study{index}" for index in range(STUDIES)]
    warmup = CACHE / "warmup"
    if not (CACHE / "complete").exists():
        servers.remove(CACHE)
        rng = random.Random(20240102)
        pixels = _pixels(rng)
        for patient, folder in enumerate(studies, start=1):
            folder.mkdir(parents=True)
            study_uid = generate_uid()
            for series in range(1, SERIES_PER_STUDY + 1):
                series_uid = generate_uid()
                for number in range(1, IMAGES_PER_SERIES + 1):
                    path = folder / f"s{series}_{number:03d}.dcm"
                    _write_image(path, patient, study_uid, series_uid, series, number, pixels)
        for sender in range(4):
            folder = warmup / f"sender{sender}"
            folder.mkdir(parents=True)
            for number in range(1, WARMUP_PER_SENDER + 1):
                path = folder / f"{number}.dcm"
                _write_image(path, 99, generate_uid(), generate_uid(), 1, number, pixels)
        (CACHE / "complete").write_text("1")
    return studies, warmup


# ------------------------------------------------------------------------- sending


def send(running: servers.Running, folder_groups: list[list[Path]]) -> float:
    """One storescu per group of folders, all at once; seconds from first start to last exit."""
    with contextlib.ExitStack() as stack:
        logs = [stack.enter_context(tempfile.TemporaryFile()) for _ in folder_groups]
        processes = []
        start = time.perf_counter()
        for folders, log in zip(folder_groups, logs, strict=True):
            args = ["storescu", "-aet", "BENCH", "-aec", running.ae_title, "-R", "+sd"]
            args += ["127.0.0.1", str(running.port), *(str(folder) for folder in folders)]
            processes.append(subprocess.Popen(args, env=peers.dcmtk_env(), stdout=log, stderr=log))
        codes = [process.wait() for process in processes]
        elapsed = time.perf_counter() - start
        for code, log in zip(codes, logs, strict=True):
            if code:
                log.seek(0)
                output = log.read().decode(errors="replace")
                raise RuntimeError(f"storescu to {running.name} exited with {code}: {output[-2000:]}")
    return elapsed


@dataclass
class Run:
    """One timed send of the 1,000 images to one server."""

    server: str
    associations: int
    seconds: float = 0.0
    cpu_s: float = 0.0
    system_s: float = 0.0  # the kernel's share of cpu_s
    helper_cpu_s: float | None = None
    peak_rss_kib: dict[int, int] = field(default_factory=dict)
    received: int = 0
    load_average: float = 0.0  # the machine's 1-minute load average when the run started
    error: str | None = None


Starter = Callable[[Path], AbstractContextManager[servers.Running]]


def timed_run(
    name: str, associations: int, start: Starter, studies: list[Path], warmup: Path, base: Path
) -> Run:
    """One timed run in a new folder under ``base``; a server that failed before the timed
    send gets one more try (other work on the machine can take a port, or a signal, from a
    starting server).

    The run's files stay until the caller removes ``base`` after the last run: on ext4
    without a journal, creating a file scans the inodes freed in the last minute
    (``recently_deleted``, see the module docstring), so deleting one server's 1,000 files
    just before the next server starts would charge that server for the scan on every
    file it creates.

    Each run ends with ``sync``: storescp does not fsync, and writing back its 500 MB in
    the seconds after its run slowed the fsyncs of whichever server came next.
    """
    run = _timed_run_once(name, associations, start, studies, warmup, base)
    if run.error is not None and not run.seconds:
        print(f"retrying after: {_describe(run)}", file=sys.stderr, flush=True)
        run = _timed_run_once(name, associations, start, studies, warmup, base)
    os.sync()
    return run


def _timed_run_once(
    name: str, associations: int, start: Starter, studies: list[Path], warmup: Path, base: Path
) -> Run:
    run = Run(name, associations, load_average=os.getloadavg()[0])
    groups = [studies] if associations == 1 else [[folder] for folder in studies]
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=base))
    try:
        with start(workdir) as running:
            send(running, [[folder] for folder in sorted(warmup.iterdir())])
            cpu = servers.cpu_seconds(running.pids())
            system = servers.system_seconds(running.pids())
            helper = servers.cpu_seconds(running.helper_pids())
            run.seconds = send(running, groups)
            pids = running.pids()
            run.cpu_s = sum(servers.cpu_seconds(pids).values()) - sum(cpu.values())
            run.system_s = sum(servers.system_seconds(pids).values()) - sum(system.values())
            if helper:
                after = servers.cpu_seconds(running.helper_pids())
                run.helper_cpu_s = sum(after.values()) - sum(helper.values())
            run.peak_rss_kib = {pid: servers.status_kib(pid, "VmHWM") for pid in pids}
            run.received = running.count()
        expected = IMAGES + 4 * WARMUP_PER_SENDER
        if run.received != expected:
            run.error = f"holds {run.received} instances, expected {expected}"
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        run.error = str(exc)
    return run


# -------------------------------------------------------------------------- report


@dataclass
class Figures:
    """The runs of one server in one mode, summarised."""

    runs: list[Run]
    total_bytes: int

    @property
    def ok(self) -> list[Run]:
        return [run for run in self.runs if run.error is None]

    @property
    def timing(self) -> Timing:
        return Timing(tuple(run.seconds for run in self.ok))

    @property
    def rate(self) -> float:
        return IMAGES / self.timing.median

    @property
    def mb_s(self) -> float:
        return self.total_bytes / self.timing.median / 1e6

    def cpu_ms(self) -> float:
        return statistics.median(run.cpu_s for run in self.ok) / IMAGES * 1e3

    def kernel_share(self) -> float:
        """The kernel's part of the server's CPU time (network, file system, disk, waits)."""
        total = sum(run.cpu_s for run in self.ok)
        return sum(run.system_s for run in self.ok) / total if total else 0.0

    def helper_cpu_ms(self) -> float | None:
        values = [run.helper_cpu_s for run in self.ok if run.helper_cpu_s is not None]
        return statistics.median(values) / IMAGES * 1e3 if values else None

    def peak_rss_mib(self) -> float:
        return max(sum(run.peak_rss_kib.values()) for run in self.ok) / 1024


class StoreReport(Report):
    """A Report whose table shows images/s, MB/s, CPU and memory per server."""

    figures: dict[tuple[str, int], Figures]

    def markdown(self) -> str:
        lines = [f"# {self.title}", "", f"Peer: {self.peer}. Goal: {self.goal}.", ""]
        lines += [
            "| server | associations | images/s | MB/s | wall s (median, p95) | server CPU ms/image "
            "| kernel share | + PostgreSQL ms/image | peak RSS MiB | vs Orthanc | vs storescp |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for associations in (1, 4):
            peers = {name: self.figures.get((name, associations)) for name in SERVER_NAMES}
            for name, figures in peers.items():
                if figures is None or not figures.ok:
                    failed = figures.runs[0].error if figures and figures.runs else "not run"
                    failed = " ".join(str(failed).split())[:200].replace("|", "/")
                    lines.append(f"| {name} | {associations} | failed: {failed} | | | | | | | | |")
                    continue
                helper = figures.helper_cpu_ms()
                ratios = []
                for peer in ("Orthanc", "DCMTK storescp"):
                    other = peers.get(peer)
                    ratios.append(f"{figures.rate / other.rate:.2f}x" if other and other.ok else "-")
                lines.append(
                    f"| {name} | {associations} | {figures.rate:.0f} | {figures.mb_s:.0f} "
                    f"| {figures.timing.median:.2f}, {figures.timing.p95:.2f} | {figures.cpu_ms():.2f} "
                    f"| {figures.kernel_share():.0%} | {f'{helper:.2f}' if helper is not None else '-'} "
                    f"| {figures.peak_rss_mib():.0f} "
                    f"| {ratios[0]} | {ratios[1]} |"
                )
        if self.parameters:
            shown = {k: v for k, v in self.parameters.items() if k != "runs"}
            lines += ["", "Parameters: " + ", ".join(f"{k}={v}" for k, v in shown.items())]
        lines += ["", *[f"- {note}" for note in self.notes]]
        return "\n".join(lines) + "\n"


def _goal_notes(figures: dict[tuple[str, int], Figures]) -> list[str]:
    notes = []
    for associations in (1, 4):
        ours = figures.get((OURS, associations))
        orthanc = figures.get(("Orthanc", associations))
        storescp = figures.get(("DCMTK storescp", associations))
        if ours is None or not ours.ok:
            notes.append(f"{associations} association(s): our server did not complete a run; goals unmet")
            continue
        met = "met" if ours.mb_s >= GOAL_MB_S else "MISSED"
        checks = [f"{ours.mb_s:.0f} MB/s (goal {GOAL_MB_S:.0f}: {met})"]
        if orthanc and orthanc.ok:
            ratio = ours.rate / orthanc.rate
            met = "met" if ratio >= GOAL_VS_ORTHANC else "MISSED"
            checks.append(f"{ratio:.2f}x Orthanc (goal {GOAL_VS_ORTHANC}x: {met})")
        if storescp and storescp.ok:
            ratio = ours.rate / storescp.rate
            met = "met" if ratio >= GOAL_VS_STORESCP else "MISSED"
            checks.append(f"{ratio:.2f}x storescp (goal {GOAL_VS_STORESCP}x: {met})")
        notes.append(f"{associations} association(s): ours " + "; ".join(checks))
    return notes


def _settle() -> None:
    """Let the file system forget earlier deletions before the first run (see the module
    docstring): write back what they dirtied, then wait out ext4's one-minute window."""
    seconds = float(os.environ.get("STORE_THROUGHPUT_SETTLE_S", SETTLE_S))
    os.sync()
    if seconds > 0:
        print(f"settling for {seconds:.0f} s (STORE_THROUGHPUT_SETTLE_S)", file=sys.stderr, flush=True)
        time.sleep(seconds)


def main(repeat: int) -> Report:
    studies, warmup = images()
    _settle()
    files = sorted(path for folder in studies for path in folder.iterdir())
    total_bytes = sum(path.stat().st_size for path in files)
    runs: list[Run] = []
    load_before = os.getloadavg()
    base = Path(tempfile.mkdtemp(prefix="store-throughput-"))
    try:
        # every run's files stay until the end (see timed_run): about 1.1x the images each
        needed = int(repeat * 2 * (len(OUR_SETTINGS) + 2) * total_bytes * 1.1)
        free = shutil.disk_usage(base).free
        if free < needed:
            raise RuntimeError(f"{base} has {free / 1e9:.1f} GB free, the runs need {needed / 1e9:.1f} GB")
        with servers.database(base) as db:
            starters: dict[tuple[str, int], Starter] = {}
            for associations, workers in ((1, 1), (4, 2)):
                for name, settings in OUR_SETTINGS.items():
                    starters[(name, associations)] = _ours_starter(db, workers, settings)
                starters[("Orthanc", associations)] = servers.orthanc
                starters[("DCMTK storescp", associations)] = servers.storescp
            for round_index in range(repeat):
                order = list(starters.items())
                if round_index % 2:  # a drift of the machine within a round must not favour a place
                    order.reverse()
                for (name, associations), start in order:
                    run = timed_run(name, associations, start, studies, warmup, base)
                    print(_describe(run), file=sys.stderr, flush=True)
                    runs.append(run)
    finally:
        servers.remove(base)
        os.sync()  # the deletions' inode blocks written back: the next run waits one minute, not six
    figures = {
        key: Figures([run for run in runs if (run.server, run.associations) == key], total_bytes)
        for key in {(run.server, run.associations) for run in runs}
    }
    report = StoreReport(
        title="C-STORE throughput: storescu sends 1,000 CT images of 512 KiB",
        peer="Orthanc 1.10 (default SQLite index) and DCMTK storescp 3.6 (files only), same run",
        goal=(
            f"at least {GOAL_VS_ORTHANC}x Orthanc's images/s on one and on four associations, "
            f"at least {GOAL_MB_S:.0f} MB/s, at least {GOAL_VS_STORESCP}x storescp's images/s"
        ),
        parameters={
            "images": IMAGES,
            "bytes": total_bytes,
            "rounds": repeat,
            "our_workers": {"1 association": 1, "4 associations": 2},
            "max_pdu": {OURS: 131072, OURS_16K: 16384, "Orthanc": 16384, "DCMTK storescp": 16384},
            "our_settings": OUR_SETTINGS,
            "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
            "runs": [asdict(run) for run in runs],
        },
    )
    report.figures = figures
    for peer in ("Orthanc", "DCMTK storescp"):
        for associations in (1, 4):
            ours, other = figures.get((OURS, associations)), figures.get((peer, associations))
            if ours and ours.ok and other and other.ok:
                operation = f"{IMAGES} C-STOREs, {associations} assoc."
                report.rows.append(Comparison(peer, operation, total_bytes, ours.timing, other.timing))
    report.notes += _goal_notes(figures)
    report.notes += [
        "our files and Orthanc's are fsync-ed before the answer, storescp's are not; PostgreSQL "
        "runs with synchronous_commit on, and the index fast path (an instance joining a study "
        "the index holds) commits without waiting for the WAL flush (PACS_INDEX_ASYNC_COMMIT, the default), "
        "its file's roll-forward journal kept until the flush",
        "ours runs run_dicom_server --workers 1 for one association and --workers 2 for four "
        "(the least loaded worker accepts the next association: two each)",
        "server CPU ms/image: the server's process tree (utime+stime) over the timed run / 1,000, "
        "and the kernel's share of it (stime: network, file system and disk writes, waits); "
        "'+ PostgreSQL' is the database cluster's CPU in the same interval (ours only)",
        "peak RSS: sum of VmHWM over the server's processes (supervisor and workers for ours; "
        "storescp's children per association have exited by then, so its figure is the parent's)",
        "storescp runs with --fork: a child process per association, four at once on four associations",
        *[f"failed run: {_describe(run)}" for run in runs if run.error],
    ]
    loads = [run.load_average for run in runs]
    report.notes.append(
        f"the machine's 1-minute load average at the start of the runs: {min(loads):.1f} to "
        f"{max(loads):.1f} on {os.cpu_count()} CPUs (other work shares them; the servers take "
        "turns, so it weighs on all of them, the latency-bound single association most)"
    )
    return report


def _ours_starter(
    db: servers.Database, workers: int, settings: dict[str, str], root: Path = servers.REPO_ROOT
) -> Starter:
    def start(workdir: Path) -> AbstractContextManager[servers.Running]:
        return servers.ours(workdir, db, workers=workers, settings=settings, root=root)

    return start


def _describe(run: Run) -> str:
    if run.error:
        return f"{run.server} x{run.associations}: FAILED {run.error}"
    rss = sum(run.peak_rss_kib.values()) / 1024
    helper = f" (+PostgreSQL {run.helper_cpu_s:.1f} s)" if run.helper_cpu_s is not None else ""
    return (
        f"{run.server} x{run.associations}: {run.seconds:.2f} s, {IMAGES / run.seconds:.0f} images/s, "
        f"CPU {run.cpu_s:.1f} s ({run.system_s:.1f} s kernel){helper}, peak RSS {rss:.0f} MiB, "
        f"load average {run.load_average:.1f}"
    )
