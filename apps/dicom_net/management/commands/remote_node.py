"""``manage.py remote_node add|list|remove|echo``: remote nodes for scripted set-up.

::

    manage.py remote_node add STORESCP 10.0.0.9 104 --in echo,find --out echo,store,move \\
        --description "reading room" [--tls tls --tls-ca ca.pem] [--disabled]
    manage.py remote_node add STORESCP 10.0.0.9 11112 --update   # only the options given change
    manage.py remote_node list
    manage.py remote_node echo STORESCP          # C-ECHO; exit status 1 when it fails
    manage.py remote_node remove STORESCP

Thin: the services of ``services.remote_nodes`` do the work and the checks.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.dicom_net.errors import RemoteNodeError
from apps.dicom_net.models import TlsMode
from apps.dicom_net.services.remote_nodes import (
    remote_node_create,
    remote_node_delete,
    remote_node_echo,
    remote_node_get,
    remote_node_list,
    remote_node_resolve,
    remote_node_update,
)


class Command(BaseCommand):
    help = "Add, list, remove or C-ECHO the remote DICOM nodes."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="add a remote node (or change it with --update)")
        add.add_argument("ae_title", metavar="AE_TITLE")
        add.add_argument("host", metavar="HOST")
        add.add_argument("port", metavar="PORT", type=int)
        add.add_argument("--in", dest="incoming", help="operations it may ask of us (default: all)")
        add.add_argument("--out", dest="outgoing", help="operations we may do to it (default: all)")
        # No defaults here: with --update, an option not given leaves the field as it is.
        add.add_argument("--tls", choices=TlsMode.values, help="default: none")
        add.add_argument("--tls-ca", help="PEM CA bundle to verify the node")
        add.add_argument("--tls-cert", help="our PEM certificate (mutual TLS)")
        add.add_argument("--tls-key", help="the key of --tls-cert")
        add.add_argument("--description")
        enabled = add.add_mutually_exclusive_group()
        enabled.add_argument(
            "--disabled",
            dest="enabled",
            action="store_false",
            default=None,
            help="add it (or set it) disabled",
        )
        enabled.add_argument(
            "--enabled", dest="enabled", action="store_true", default=None, help="with --update: enable it"
        )
        add.add_argument(
            "--update", action="store_true", help="change the node if it exists (only the options given)"
        )
        actions.add_parser("list", help="list the remote nodes")
        remove = actions.add_parser("remove", help="remove a remote node")
        remove.add_argument("ae_title", metavar="AE_TITLE")
        echo = actions.add_parser("echo", help="C-ECHO a remote node (or AET@HOST:PORT)")
        echo.add_argument("ae_title", metavar="AE_TITLE")
        echo.add_argument("--timeout", type=float, default=10.0)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "add":
                self._add(options)
            elif action == "list":
                self._list()
            elif action == "remove":
                if not remote_node_delete(ae_title=options["ae_title"]):
                    raise CommandError(f"no remote node {options['ae_title']!r}")
                self.stdout.write(f"removed {options['ae_title']}")
            else:
                self._echo(options)
        except RemoteNodeError as error:
            raise CommandError(str(error)) from error

    def _add(self, options: dict[str, Any]) -> None:
        fields: dict[str, Any] = {
            "host": options["host"],
            "port": options["port"],
            "tls": options["tls"],
            "tls_ca_file": options["tls_ca"],
            "tls_cert_file": options["tls_cert"],
            "tls_key_file": options["tls_key"],
            "incoming_operations": options["incoming"],
            "outgoing_operations": options["outgoing"],
            "description": options["description"],
            "enabled": options["enabled"],
        }
        given = {k: v for k, v in fields.items() if v is not None}
        if options["update"] and remote_node_get(ae_title=options["ae_title"]) is not None:
            node = remote_node_update(ae_title=options["ae_title"], changes=given)
            self.stdout.write(f"updated {node}")
            return
        node = remote_node_create(ae_title=options["ae_title"], **given)
        self.stdout.write(f"added {node}")

    def _list(self) -> None:
        rows = [("AE title", "address", "TLS", "in", "out", "enabled", "description")]
        for node in remote_node_list():
            rows.append(
                (
                    node.ae_title,
                    f"{node.host}:{node.port}",
                    node.tls,
                    ",".join(node.incoming_operations or []) or "-",
                    ",".join(node.outgoing_operations or []) or "-",
                    "yes" if node.enabled else "no",
                    node.description,
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())

    def _echo(self, options: dict[str, Any]) -> None:
        spec = options["ae_title"]
        node = remote_node_get(ae_title=spec)
        target = node if node is not None else remote_node_resolve(spec)
        result = remote_node_echo(node=target, timeout=options["timeout"])
        if not result.ok:
            raise CommandError(f"C-ECHO failed: {result.message}")
        self.stdout.write(f"C-ECHO ok: {result.message}")
