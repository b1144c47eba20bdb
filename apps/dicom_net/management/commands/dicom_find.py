"""``manage.py dicom_find --from NAME|AET@HOST:PORT -k KEY[=VALUE] ...``: C-FIND, printed as a table.

Thin: the peer comes from ``remote_node_resolve`` (a remote node must allow "find" as
outgoing), the query from the shared key options, the search from ``services.scu``.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.dicom_net.management.commands._scu import add_peer_arguments, network_failure, query, resolve
from apps.dicom_net.models import DimseOperation
from apps.dicom_net.services.scu import scu_find
from dicomkit.cli.find import table_lines
from dicomkit.data import tags
from dicomkit.errors import DicomError, DimseStatusError

_HIDDEN = frozenset({tags.QueryRetrieveLevel, tags.SpecificCharacterSet})


class Command(BaseCommand):
    help = "Query a Query/Retrieve SCP with C-FIND and print the matches as a table."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_peer_arguments(parser)
        parser.add_argument("--limit", type=int, help="cancel the search after this many matches")

    def handle(self, *args: Any, **options: Any) -> None:
        peer = resolve(options, DimseOperation.FIND)
        identifier, order, model = query(options)
        try:
            matches = scu_find(
                peer=peer,
                identifier=identifier,
                model=model,
                limit=options["limit"],
                calling_ae_title=options["aet"],
                timeout=options["timeout"],
            )
        except DimseStatusError as error:
            raise CommandError(f"{peer} refused the query: 0x{error.status:04X} {error.comment}") from error
        except (DicomError, OSError) as error:
            raise network_failure(peer, error) from error
        for line in table_lines([tag for tag in order if tag not in _HIDDEN], matches):
            self.stdout.write(line)
        self.stdout.write(f"{len(matches)} match{'' if len(matches) == 1 else 'es'}")
