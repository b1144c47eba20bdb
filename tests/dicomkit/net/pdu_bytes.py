"""Annotated-bytes fixtures for the seven Upper Layer PDUs, written by hand from PS3.8.

Each fixture is the wire form with one comment per field (PS3.8 Tables 9-11 .. 9-26,
PS3.7 Annex D) and the object it decodes to. ``annotated()`` reads hex pairs and
'quoted ASCII', ignoring everything after '#'.
"""

from __future__ import annotations

import re

from dicomkit.net.pdu import (
    PDU,
    AbortPDU,
    AbortReason,
    AbortSource,
    AssociateAC,
    AssociateRJ,
    AssociateRQ,
    AsynchronousOperationsWindow,
    ContextResult,
    PDataTF,
    PresentationContextAC,
    PresentationContextRQ,
    PresentationDataValue,
    RejectResult,
    RejectSource,
    ReleaseRP,
    ReleaseRQ,
    RoleSelection,
    SOPClassCommonExtendedNegotiation,
    SOPClassExtendedNegotiation,
    UserIdentityAC,
    UserIdentityRQ,
    UserInformation,
    UserRejectReason,
)

_TOKEN = re.compile(r"'([^']*)'|([0-9A-Fa-f]+)")


def annotated(text: str) -> bytes:
    """Bytes from annotated text: hex digits (any grouping), 'ASCII' literals, # comments."""
    out = bytearray()
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        for match in _TOKEN.finditer(line):
            if match.group(1) is not None:
                out += match.group(1).encode("ascii")
            else:
                out += bytes.fromhex(match.group(2))
    return bytes(out)


VERIFICATION = "1.2.840.10008.1.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"

# ---------------------------------------------------------------- A-ASSOCIATE-RQ (Table 9-11)
ASSOCIATE_RQ_BYTES = annotated(
    """
    01                      # PDU-type: A-ASSOCIATE-RQ
    00                      # reserved
    000000FA                # PDU-length: 250
    0001                    # protocol-version: bit 0
    0000                    # reserved
    'ANY-SCP         '      # called-AE-title, 16 bytes space padded
    'ECHOSCU         '      # calling-AE-title
    0000000000000000 0000000000000000 0000000000000000 0000000000000000  # reserved (32)
    # -- Application Context Item (Table 9-12)
    10 00 0015              # item-type 10H, reserved, item-length 21
    '1.2.840.10008.3.1.1.1' # DICOM application context name
    # -- Presentation Context Item (Table 9-13)
    20 00 0045              # item-type 20H, reserved, item-length 69
    01 00 00 00             # presentation-context-ID 1, reserved x3
    30 00 0011              # abstract syntax sub-item, length 17
    '1.2.840.10008.1.1'     # Verification SOP Class
    40 00 0011              # transfer syntax sub-item, length 17
    '1.2.840.10008.1.2'     # Implicit VR Little Endian
    40 00 0013              # transfer syntax sub-item, length 19
    '1.2.840.10008.1.2.1'   # Explicit VR Little Endian
    # -- User Information Item (Table 9-16)
    50 00 0050              # item-type 50H, reserved, item-length 80
    51 00 0004 00004000     # maximum length received: 16384 (PS3.8 D.1)
    52 00 0007 '1.2.3.4'    # implementation class UID (PS3.7 D.3.3.2)
    53 00 0004 0005 0003    # async operations window: invoked 5, performed 3
    54 00 0015 0011         # role selection, item-length 21, UID-length 17
    '1.2.840.10008.1.1' 01 00   # SOP class, SCU-role 1, SCP-role 0
    55 00 0008 'DICOMKIT'   # implementation version name
    58 00 000C              # user identity (RQ), item-length 12
    02 01                   # type 2 username+passcode, positive response requested
    0004 'user' 0002 'pw'   # primary field, secondary field
    """
)
ASSOCIATE_RQ = AssociateRQ(
    called_ae_title="ANY-SCP",
    calling_ae_title="ECHOSCU",
    presentation_contexts=(PresentationContextRQ(1, VERIFICATION, (IMPLICIT_LE, EXPLICIT_LE)),),
    user_information=UserInformation(
        maximum_length=16384,
        implementation_class_uid="1.2.3.4",
        implementation_version_name="DICOMKIT",
        asynchronous_operations_window=AsynchronousOperationsWindow(5, 3),
        role_selections=(RoleSelection(VERIFICATION, scu_role=True, scp_role=False),),
        user_identity=UserIdentityRQ(2, b"user", b"pw", positive_response_requested=True),
    ),
)

# ---------------------------------------------------------------- A-ASSOCIATE-AC (Table 9-17)
ASSOCIATE_AC_BYTES = annotated(
    """
    02 00 000000C9          # PDU-type A-ASSOCIATE-AC, reserved, PDU-length 201
    0001 0000               # protocol-version, reserved
    'ANY-SCP         '      # reserved: called AE title echoed from the RQ
    'ECHOSCU         '      # reserved: calling AE title echoed
    0000000000000000 0000000000000000 0000000000000000 0000000000000000  # reserved (32)
    10 00 0015 '1.2.840.10008.3.1.1.1'   # application context item
    21 00 0019              # presentation context item (AC, Table 9-18), length 25
    01 00 00 00             # context-ID 1, reserved, result 0 acceptance, reserved
    40 00 0011 '1.2.840.10008.1.2'       # transfer syntax sub-item
    21 00 0008              # second context, length 8
    03 00 03 00             # context-ID 3, result 3 abstract-syntax-not-supported
    40 00 0000              # transfer syntax sub-item, empty: not significant
    50 00 003F              # user information, length 63
    51 00 0004 00008000     # maximum length received: 32768
    52 00 0007 '1.2.3.5'    # implementation class UID
    54 00 0015 0011 '1.2.840.10008.1.1' 01 00   # role selection reply: SCU accepted
    55 00 0005 'OTHER'      # implementation version name
    59 00 0006 0004 'tokn'  # user identity (AC): server response
    """
)
ASSOCIATE_AC = AssociateAC(
    called_ae_title="ANY-SCP",
    calling_ae_title="ECHOSCU",
    presentation_contexts=(
        PresentationContextAC(1, ContextResult.ACCEPTANCE, IMPLICIT_LE),
        PresentationContextAC(3, ContextResult.ABSTRACT_SYNTAX_NOT_SUPPORTED, ""),
    ),
    user_information=UserInformation(
        maximum_length=32768,
        implementation_class_uid="1.2.3.5",
        implementation_version_name="OTHER",
        role_selections=(RoleSelection(VERIFICATION, scu_role=True, scp_role=False),),
        user_identity=UserIdentityAC(b"tokn"),
    ),
)

# ---------------------------------------------------------------- A-ASSOCIATE-RJ (Table 9-21)
ASSOCIATE_RJ_BYTES = annotated(
    """
    03 00 00000004          # PDU-type A-ASSOCIATE-RJ, reserved, PDU-length 4
    00                      # reserved
    01                      # result: rejected-permanent
    01                      # source: DICOM UL service-user
    07                      # reason: called-AE-title-not-recognized
    """
)
ASSOCIATE_RJ = AssociateRJ(
    RejectResult.REJECTED_PERMANENT,
    RejectSource.SERVICE_USER,
    UserRejectReason.CALLED_AE_TITLE_NOT_RECOGNIZED,
)

# ---------------------------------------------------------------- P-DATA-TF (Tables 9-22, 9-23)
P_DATA_TF_BYTES = annotated(
    """
    04 00 00000014          # PDU-type P-DATA-TF, reserved, PDU-length 20
    00000006                # PDV item-length 6
    01                      # presentation-context-ID 1
    03                      # message control header: command, last fragment
    0000 0000               # 4 bytes of command fragment
    00000006                # second PDV item-length 6
    01                      # presentation-context-ID 1
    00                      # message control header: data set, not last
    'ABCD'                  # data set fragment
    """
)
P_DATA_TF = PDataTF(
    (
        PresentationDataValue(1, 0x03, b"\x00\x00\x00\x00"),
        PresentationDataValue(1, 0x00, b"ABCD"),
    )
)

# ---------------------------------------------------------------- A-RELEASE-RQ/RP (9-24, 9-25)
RELEASE_RQ_BYTES = annotated("05 00 00000004 00000000  # A-RELEASE-RQ, length 4, reserved")
RELEASE_RP_BYTES = annotated("06 00 00000004 00000000  # A-RELEASE-RP, length 4, reserved")

# ---------------------------------------------------------------- A-ABORT (Table 9-26)
ABORT_BYTES = annotated(
    """
    07 00 00000004          # PDU-type A-ABORT, reserved, PDU-length 4
    00 00                   # reserved, reserved
    02                      # source: DICOM UL service-provider
    06                      # reason: invalid-PDU-parameter value
    """
)
ABORT = AbortPDU(AbortSource.SERVICE_PROVIDER, AbortReason.INVALID_PDU_PARAMETER_VALUE)

# ---------------------------------------------------------------- extended negotiation items
SOP_CLASS_EXTENDED_BYTES = annotated(
    """
    56 00 000A              # SOP class extended negotiation (PS3.7 D.3.3.5), length 10
    0005 '1.2.3'            # SOP-class-uid-length, SOP class UID
    01 00 01                # service-class-application-information
    """
)
SOP_CLASS_EXTENDED = SOPClassExtendedNegotiation("1.2.3", b"\x01\x00\x01")

SOP_CLASS_COMMON_EXTENDED_BYTES = annotated(
    """
    57 00 001E              # SOP class common extended negotiation, version 0, length 30
    0005 '1.2.3'            # SOP-class-uid-length, SOP class UID
    0005 '1.2.4'            # service-class-uid-length, service class UID
    000E                    # related-general-sop-class-identification-length 14
    0005 '1.2.5'            # related general SOP class UID
    0005 '1.2.6'            # related general SOP class UID
    """
)
SOP_CLASS_COMMON_EXTENDED = SOPClassCommonExtendedNegotiation("1.2.3", "1.2.4", ("1.2.5", "1.2.6"))

ALL_PDUS: list[tuple[str, bytes, PDU]] = [
    ("A-ASSOCIATE-RQ", ASSOCIATE_RQ_BYTES, ASSOCIATE_RQ),
    ("A-ASSOCIATE-AC", ASSOCIATE_AC_BYTES, ASSOCIATE_AC),
    ("A-ASSOCIATE-RJ", ASSOCIATE_RJ_BYTES, ASSOCIATE_RJ),
    ("P-DATA-TF", P_DATA_TF_BYTES, P_DATA_TF),
    ("A-RELEASE-RQ", RELEASE_RQ_BYTES, ReleaseRQ()),
    ("A-RELEASE-RP", RELEASE_RP_BYTES, ReleaseRP()),
    ("A-ABORT", ABORT_BYTES, ABORT),
]
