"""Services of the ``dicom_net`` app (writes and process control), one module per sub-domain.

- ``association_log``: writing association log rows, and the off-loop writer the server's
  observer hook feeds.
- ``server_config``: building dicomkit's frozen ``AEConfig`` and the server options from
  settings and command-line overrides, once.
- ``server``: running the DIMSE server in this process until SIGTERM/SIGINT.
- ``workers``: running N server processes on one port and supervising them.
"""
