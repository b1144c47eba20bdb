"""The DIMSE side of the product: the DICOM server, AE configuration, association log.

``manage.py run_dicom_server`` serves DIMSE with dicomkit's asyncio server; ``handlers``
binds dicomkit's service Protocols to the archive and worklist apps; every association
leaves a row in :class:`~apps.dicom_net.models.AssociationLog`.
"""
