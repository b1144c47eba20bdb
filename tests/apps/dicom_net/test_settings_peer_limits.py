"""The per-peer association cap and the minimum receive rate, from environment to AEConfig."""

from __future__ import annotations

import dataclasses

import pytest
from pytest_django import Settings

from apps.dicom_net.checks import check_dicom_network
from apps.dicom_net.services.server_config import ae_config_from_settings
from pacs_project.settings.components.dicom import DicomNetworkSettings, DicomTimeouts, dicom_network


def test_unset_the_per_peer_cap_is_half_of_max_associations_and_the_rate_16_kib() -> None:
    config = dicom_network({})
    assert config.max_associations_per_peer is None
    assert config.timeouts.min_receive_rate == 16384
    ae = ae_config_from_settings(config)
    assert ae.max_associations_per_peer == 5  # of the default 10: 4 parallel from one host pass
    assert ae.timeouts.min_receive_rate == 16384.0
    assert (
        ae_config_from_settings(dicom_network({"PACS_DICOM_MAX_ASSOCIATIONS": "1"})).max_associations_per_peer
        == 1
    )


def test_the_environment_sets_the_per_peer_cap_and_the_rate_and_zero_disables_the_rate() -> None:
    config = dicom_network(
        {
            "PACS_DICOM_MAX_ASSOCIATIONS": "40",
            "PACS_DICOM_MAX_ASSOCIATIONS_PER_PEER": "8",
            "PACS_DICOM_MIN_RECEIVE_RATE": "0",
        }
    )
    assert config.max_associations_per_peer == 8
    assert config.timeouts.min_receive_rate is None
    ae = ae_config_from_settings(config)
    assert (ae.max_associations, ae.max_associations_per_peer, ae.timeouts.min_receive_rate) == (40, 8, None)


@pytest.mark.parametrize(
    ("changes", "check_id"),
    [
        ({"max_associations_per_peer": 0}, "dicom_net.E005"),
        ({"timeouts": DicomTimeouts(min_receive_rate=-1)}, "dicom_net.E006"),
    ],
    ids=["per-peer-zero", "negative-rate"],
)
def test_a_per_peer_cap_below_one_or_a_negative_rate_is_reported(
    settings: Settings, changes: dict[str, object], check_id: str
) -> None:
    settings.PACS_DICOM = dataclasses.replace(DicomNetworkSettings(), **changes)  # type: ignore[arg-type]
    assert [message.id for message in check_dicom_network(None)] == [check_id]
