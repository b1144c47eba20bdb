"""dicomkit: the DICOM standard implemented from scratch, free of Django.

Layers (imports point downward only)::

    cli      command line (python -m dicomkit ...)
    net      PS3.8 upper layer, PS3.7 DIMSE, asyncio transport, services
    codecs   pixel data <-> numpy, codec registry, transcoding (PS3.5 8, Annex A)
    part10   PS3.10 files and PS3.5 transfer syntaxes
    data     PS3.5/PS3.6 data model: tags, VRs, elements, datasets, dictionary
    errors   the single error hierarchy
    streams  the binary stream Protocols that readers accept

Nothing here imports django, celery or the ``apps`` package.
"""

__version__ = "0.1.0"
