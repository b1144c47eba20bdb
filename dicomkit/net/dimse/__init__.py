"""DIMSE: the DICOM Message Service Element (PS3.7), pure and sans-IO.

``commands`` holds every DIMSE-C and DIMSE-N message and the command set codec,
``status`` the status codes and their categories, ``fragment`` and ``assemble`` carry
messages in and out of P-DATA-TF PDUs, data sets streaming through sinks. Sits above
``dicomkit.net.pdu``; the asyncio transport (``dicomkit.net.aio``) drives it.

::

    message --encode_command--> command bytes --fragment_message--> PDataTF ... --> peer
    peer --> PDV ... --MessageAssembler.feed--> Message(context_id, command, dataset sink)
"""

from dicomkit.net.dimse.assemble import DataSink, FileSink, MemorySink, Message, MessageAssembler, SinkFactory
from dicomkit.net.dimse.commands import (
    MAX_COMMAND_LENGTH,
    MESSAGE_TYPES,
    VERIFICATION_SOP_CLASS,
    CCancelRQ,
    CEchoRQ,
    CEchoRSP,
    CFindRQ,
    CFindRSP,
    CGetRQ,
    CGetRSP,
    CMoveRQ,
    CMoveRSP,
    CommandField,
    CStoreRQ,
    CStoreRSP,
    DimseMessage,
    DimseRequest,
    DimseResponse,
    NActionRQ,
    NActionRSP,
    NCreateRQ,
    NCreateRSP,
    NDeleteRQ,
    NDeleteRSP,
    NEventReportRQ,
    NEventReportRSP,
    NGetRQ,
    NGetRSP,
    NSetRQ,
    NSetRSP,
    Priority,
    decode_command,
    encode_command,
    failure_response,
    response_type,
)
from dicomkit.net.dimse.fragment import fragment_message, fragment_size, fragment_stream
from dicomkit.net.dimse.status import StatusCategory, is_final, status_category, status_name

__all__ = [
    "MAX_COMMAND_LENGTH",
    "MESSAGE_TYPES",
    "VERIFICATION_SOP_CLASS",
    "CCancelRQ",
    "CEchoRQ",
    "CEchoRSP",
    "CFindRQ",
    "CFindRSP",
    "CGetRQ",
    "CGetRSP",
    "CMoveRQ",
    "CMoveRSP",
    "CStoreRQ",
    "CStoreRSP",
    "CommandField",
    "DataSink",
    "DimseMessage",
    "DimseRequest",
    "DimseResponse",
    "FileSink",
    "MemorySink",
    "Message",
    "MessageAssembler",
    "NActionRQ",
    "NActionRSP",
    "NCreateRQ",
    "NCreateRSP",
    "NDeleteRQ",
    "NDeleteRSP",
    "NEventReportRQ",
    "NEventReportRSP",
    "NGetRQ",
    "NGetRSP",
    "NSetRQ",
    "NSetRSP",
    "Priority",
    "SinkFactory",
    "StatusCategory",
    "decode_command",
    "encode_command",
    "failure_response",
    "fragment_message",
    "fragment_size",
    "fragment_stream",
    "is_final",
    "response_type",
    "status_category",
    "status_name",
]
