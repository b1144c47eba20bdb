"""Argument types shared by the network subcommands (``echo``, ``store``, ...).

Each is an ``argparse`` ``type=`` callable: it returns the parsed value or raises
``argparse.ArgumentTypeError`` with a one-line reason, which argparse reports as a usage
error (exit status 2). AE titles follow PS3.5 §6.2 (AE VR) as ``AEConfig`` checks them;
PDU lengths PS3.8 §D.1 (we ask for at least 4096 and refuse 0, "no maximum").
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

__all__ = ["ae_title", "pdu_length", "positive"]

_N = TypeVar("_N", int, float)

MIN_PDU_LENGTH = 4096
MAX_PDU_LENGTH = 0xFFFFFFFF


def positive(kind: Callable[[str], _N]) -> Callable[[str], _N]:
    """A ``type=`` that parses with ``kind`` (int or float) and accepts only values above 0."""

    def parse(text: str) -> _N:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
        return value

    return parse


def pdu_length(text: str) -> int:
    """A Maximum Length to announce: 4096..4294967295."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not MIN_PDU_LENGTH <= value <= MAX_PDU_LENGTH:
        raise argparse.ArgumentTypeError(f"must be between {MIN_PDU_LENGTH} and {MAX_PDU_LENGTH}")
    return value


def ae_title(text: str) -> str:
    """An AE title as our AE or a called peer may have it (1-16 characters, no backslash)."""
    from dicomkit.net.config import AEConfig  # the CLI starts without loading the net stack

    try:
        AEConfig(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text
