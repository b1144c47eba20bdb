"""SCU helpers above the asyncio client (PS3.4 service classes, requestor side).

``storage`` sends files with C-STORE (PS3.4 Annex B); ``instances`` finds, identifies
and converts the files it sends. C-ECHO is ``Association.echo`` in ``dicomkit.net.aio``.
"""

from dicomkit.net.scu.storage import StoreResult, store_files, store_files_sync

__all__ = ["StoreResult", "store_files", "store_files_sync"]
