"""Django apps of the PACS (archive, dicom_net, worklist, security, dicomweb, api, ...).

Each is installed by adding ``"apps.<name>"`` to ``PACS_APPS`` in
``pacs_project/settings/components/apps.py``.
"""
