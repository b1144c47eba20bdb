"""Storage keys: layouts, and no key built from received values can leave the storage root."""

from __future__ import annotations

import datetime
import os
from functools import partial
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.archive.errors import InvalidKeyError
from apps.archive.storage import LocalFileBackend, alternate_key, check_key, instance_key
from pacs_project.settings.components.storage import KeyLayout


def test_uid_layout() -> None:
    key = instance_key(
        layout=KeyLayout.UIDS,
        study_instance_uid="1.2",
        series_instance_uid="1.2.3",
        sop_instance_uid="1.2.3.4",
    )
    assert key == "1.2/1.2.3/1.2.3.4.dcm"


def test_date_layout_uses_the_study_date_else_the_day_received() -> None:
    key = partial(
        instance_key,
        layout=KeyLayout.DATE,
        study_instance_uid="1.2",
        series_instance_uid="1.2.3",
        sop_instance_uid="1.2.3.4",
    )
    dated = key(study_date=datetime.date(2024, 3, 9))
    undated = key(received=datetime.date(2025, 12, 31))
    assert dated == "2024/03/09/1.2/1.2.3/1.2.3.4.dcm"
    assert undated == "2025/12/31/1.2/1.2.3/1.2.3.4.dcm"


@pytest.mark.parametrize(
    "bad", ["..", "../x", "1.2/../..", "", "/abs", "a\\b", ".staging/x", "a//b", "a/./b", "x\x00"]
)
def test_unsafe_keys_are_refused(bad: str) -> None:
    with pytest.raises(InvalidKeyError):
        check_key(bad)


def test_alternate_key_is_a_new_sibling() -> None:
    key = "1.2/1.2.3/1.2.3.4.dcm"
    other = alternate_key(key)
    assert other != key and other.startswith("1.2/1.2.3/1.2.3.4-") and other.endswith(".dcm")


@given(st.text(max_size=80), st.text(max_size=80), st.text(max_size=80))
def test_any_uids_give_a_key_inside_the_root_or_an_error(study: str, series: str, sop: str) -> None:
    root = Path("/srv/storage")
    try:
        key = instance_key(
            layout=KeyLayout.UIDS, study_instance_uid=study, series_instance_uid=series, sop_instance_uid=sop
        )
    except InvalidKeyError:
        return
    resolved = os.path.normpath(root / key)
    assert resolved.startswith(str(root) + os.sep)
    assert key.count("/") == 2


def test_backend_refuses_a_key_resolving_outside_through_a_symlink(tmp_path: Path) -> None:
    root = tmp_path / "storage"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "1.2").symlink_to(outside)
    backend = LocalFileBackend(root)
    with pytest.raises(InvalidKeyError):
        backend.path_for("1.2/1.2.3.dcm")


def test_backend_refuses_a_symlinked_series_folder_leading_outside(tmp_path: Path) -> None:
    root = tmp_path / "storage"
    outside = tmp_path / "outside"
    (root / "1.2").mkdir(parents=True)
    outside.mkdir()
    (root / "1.2" / "1.2.3").symlink_to(outside)
    backend = LocalFileBackend(root)
    with pytest.raises(InvalidKeyError):
        backend.path_for("1.2/1.2.3/1.2.3.4.dcm")


def test_backend_accepts_a_symlinked_folder_that_stays_inside(tmp_path: Path) -> None:
    root = tmp_path / "storage"
    (root / "moved").mkdir(parents=True)
    (root / "1.2").symlink_to(root / "moved")
    backend = LocalFileBackend(root)
    assert backend.path_for("1.2/1.2.3.dcm") == root / "1.2" / "1.2.3.dcm"


def test_backend_takes_keys_of_folders_not_made_yet(tmp_path: Path) -> None:
    backend = LocalFileBackend(tmp_path)
    assert backend.path_for("1.2/1.2.3/1.2.3.4.dcm") == tmp_path / "1.2" / "1.2.3" / "1.2.3.4.dcm"


def test_backend_gives_the_path_of_a_key_below_a_file_not_a_folder(tmp_path: Path) -> None:
    """A file where a folder should be is not a link: the path comes back, its use fails."""
    (tmp_path / "1.2").write_bytes(b"not a folder")
    backend = LocalFileBackend(tmp_path)
    assert backend.path_for("1.2/1.2.3/1.2.3.4.dcm") == tmp_path / "1.2" / "1.2.3" / "1.2.3.4.dcm"
