"""``import_dicom``: pydicom's whole test corpus through the ingest service, twice."""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.archive.models import Instance, StorageLocation
from apps.archive.services.importing import files_import
from apps.archive.services.integrity import storage_verify
from tests.apps.archive.conftest import staging_files, stored_files
from tests.builders import write_ct
from tests.corpus import CORPUS_DIRS, corpus_files

pytestmark = pytest.mark.django_db(transaction=True)


def test_whole_corpus_imports_without_crashing_and_again_stores_nothing(storage_root: Path) -> None:
    files = corpus_files()
    first = files_import(paths=[str(d) for d in CORPUS_DIRS], workers=2)

    assert first.total == len(files)
    assert first.counts["stored"] > 100
    # Not DICOM (README, JSON, ICC profile...) or truncated: rejected with a reason, never a crash.
    assert first.counts["rejected"] > 0
    assert {item.reason for item in first.rejected} <= {
        "malformed",
        "missing_attribute",
        "invalid_uid",
        "uid_conflict",
    }
    rejected_names = {item.path.name for item in first.rejected}
    assert {"README.txt", "rtplan_truncated.dcm", "MR_truncated.dcm", "crayons.icc"} <= rejected_names
    assert Instance.objects.count() == first.counts["stored"]
    assert len(stored_files(storage_root)) == first.counts["stored"]
    assert staging_files(storage_root) == []

    second = files_import(paths=[str(d) for d in CORPUS_DIRS], workers=2)

    assert second.counts["stored"] == 0
    assert second.counts["duplicate"] == first.counts["stored"] + first.counts["duplicate"]
    assert second.counts["rejected"] == first.counts["rejected"]
    assert Instance.objects.count() == StorageLocation.objects.count() == first.counts["stored"]
    assert storage_verify(grace_seconds=0).ok


def test_command_prints_a_summary_and_exits_non_zero_on_rejections(
    storage_root: Path, tmp_path: Path
) -> None:
    source = tmp_path / "in"
    for index in range(3):
        write_ct(source / "series" / f"{index}.dcm")
    (source / "notes.txt").write_text("not an image")
    shutil.copy(source / "series" / "0.dcm", source / "copy-of-0.dcm")
    out = StringIO()

    with pytest.raises(CommandError) as failed:
        call_command("import_dicom", str(source), "--workers", "2", "--no-progress", stdout=out)

    assert failed.value.returncode == 1
    text = out.getvalue()
    lines = {line.split()[0]: line.split()[1] for line in text.splitlines() if line.startswith("  ")}
    assert lines == {"stored": "3", "replaced": "0", "duplicate": "1", "rejected": "1", "total": "5"}
    assert f"rejected {source / 'notes.txt'}: malformed:" in text


def test_command_exits_zero_when_nothing_was_rejected(storage_root: Path, tmp_path: Path) -> None:
    write_ct(tmp_path / "one.dcm")
    out = StringIO()
    call_command("import_dicom", str(tmp_path / "one.dcm"), "--workers", "1", "--no-progress", stdout=out)
    assert "stored" in out.getvalue()
    assert Instance.objects.count() == 1


def test_a_path_that_does_not_exist_is_an_error_not_an_empty_import(
    storage_root: Path, tmp_path: Path
) -> None:
    write_ct(tmp_path / "one.dcm")
    (tmp_path / "dangling.dcm").symlink_to(tmp_path / "gone.dcm")
    typo = tmp_path / "no-such-folder"

    with pytest.raises(CommandError, match="no-such-folder") as failed:
        call_command(
            "import_dicom", str(tmp_path / "one.dcm"), str(typo), str(tmp_path / "dangling.dcm"),
            "--no-progress", stdout=StringIO(),
        )  # fmt: skip

    assert failed.value.returncode == 1
    assert "dangling.dcm" in str(failed.value)
    assert Instance.objects.count() == 0  # nothing imported from a command line with a typo


@pytest.mark.parametrize("source_ae", ["WAY TOO LONG AE TITLE", "BACK\\SLASH", " "])
def test_a_source_ae_that_is_no_ae_title_is_refused_not_cut_to_16_characters(
    storage_root: Path, tmp_path: Path, source_ae: str
) -> None:
    write_ct(tmp_path / "one.dcm")
    with pytest.raises(CommandError, match="--source-ae"):
        call_command("import_dicom", str(tmp_path / "one.dcm"), "--source-ae", source_ae, "--no-progress")
    assert not StorageLocation.objects.exists()
