"""The generated archive (once per module, committed, removed afterwards) and a find helper.

``find`` also runs every query through ``query_execute_encoded`` in both transfer syntaxes
of C-FIND and checks its bytes against the writer's encoding of each Dataset response, so
every query test holds the C-FIND encoder to the Dataset path.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_django import DjangoDbBlocker

from apps.archive.models import Patient
from apps.archive.query import (
    InformationModel,
    Query,
    query_execute,
    query_execute_encoded,
    query_from_identifier,
)
from dicomkit.data import uids
from dicomkit.data.dataset import Dataset
from dicomkit.data.tag import Tag
from dicomkit.data.value_codec import ElementValue
from dicomkit.errors import EncodeError
from dicomkit.part10.writer import encode_dataset
from tests.apps.archive.query.generated import Archive, archive_generate, archive_insert


@pytest.fixture(scope="module")
def archive(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[Archive]:
    records = archive_generate()
    with django_db_blocker.unblock():
        archive_insert(records)
    yield records
    with django_db_blocker.unblock():
        Patient.objects.all().delete()


def identifier(level: str | None, **keys: ElementValue) -> Dataset:
    """A C-FIND identifier: keywords with values ('' is universal; a list of Datasets is SQ)."""
    dataset = Dataset()
    if level is not None:
        dataset.set("QueryRetrieveLevel", level, "CS")
    for keyword, value in keys.items():
        dataset.set(keyword, value)
    return dataset


def find(
    level: str,
    *,
    model: InformationModel = InformationModel.STUDY_ROOT,
    relational: bool = False,
    combined: bool = False,
    case_insensitive: bool | None = None,
    **keys: ElementValue,
) -> list[Dataset]:
    query = query_from_identifier(
        identifier=identifier(level, **keys),
        model=model,
        relational=relational,
        combined_datetime=combined,
        pn_case_insensitive=case_insensitive,
    )
    responses = list(query_execute(query=query, page_size=7))
    assert_encoded_as_written(query, responses, page_size=7)
    return responses


def assert_encoded_as_written(
    query: Query, responses: list[Dataset], *, page_size: int = 7, retrieve_ae_title: str | None = None
) -> None:
    """``query_execute_encoded`` gives the bytes the writer makes of ``responses`` (or its error)."""
    for syntax in (uids.ExplicitVRLittleEndian, uids.ImplicitVRLittleEndian):
        try:
            expected: list[bytes] | type[EncodeError] = [encode_dataset(r, syntax) for r in responses]
        except EncodeError:
            expected = EncodeError
        encoded = query_execute_encoded(
            query=query, transfer_syntax=syntax, page_size=page_size, retrieve_ae_title=retrieve_ae_title
        )
        if expected is EncodeError:
            with pytest.raises(EncodeError):
                list(encoded)
        else:
            assert list(encoded) == expected


def values(responses: list[Dataset], tag: int | str) -> set[str]:
    from dicomkit.data.dataset import resolve_key

    key: Tag = resolve_key(tag)
    return {r.get_str(key, "") for r in responses}
