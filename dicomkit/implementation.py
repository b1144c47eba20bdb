"""Who we are on the wire and in files: the implementation identity (PS3.7 D.3.3.2, PS3.10 7.1).

Written into every File Meta Information group and every association request/accept.
"""

from __future__ import annotations

from typing import Final

from dicomkit import __version__

__all__ = ["IMPLEMENTATION_CLASS_UID", "IMPLEMENTATION_VERSION_NAME"]

#: A 2.25 (UUID-derived) UID, fixed for the product.
IMPLEMENTATION_CLASS_UID: Final = "2.25.248161530216804773292879967638956446330"
#: At most 16 characters (SH).
IMPLEMENTATION_VERSION_NAME: Final = f"DICOMKIT_{__version__}"[:16]
