"""``manage.py dicom_find --from NAME|AET@HOST:PORT -k KEY[=VALUE] ...``: C-FIND, printed as a table.

Thin: the peer comes from ``remote_node_resolve`` (a remote node must allow "find" as
outgoing), the query from the shared key options, the search from ``services.scu``. When
no ``-k`` asks for a key to be returned, the level's default keys are, as in ``python -m
dicomkit find`` (``dicomkit.cli.find.DEFAULT_KEYS``).
"""

from __future__ import annotations

from argparse import ArgumentParser, RawDescriptionHelpFormatter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, DjangoHelpFormatter

from apps.dicom_net.management.commands._scu import add_peer_arguments, network_failure, query, resolve
from apps.dicom_net.models import DimseOperation
from apps.dicom_net.services.scu import scu_find
from dicomkit.cli.find import DEFAULT_KEYS_HELP, add_default_keys, table_lines
from dicomkit.errors import DicomError, DimseStatusError


class _HelpFormatter(DjangoHelpFormatter, RawDescriptionHelpFormatter):
    """Django's option order, and the default keys' help laid out as written."""


class Command(BaseCommand):
    help = "Query a Query/Retrieve SCP with C-FIND and print the matches as a table."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_peer_arguments(parser)
        parser.add_argument("--limit", type=int, help="cancel the search after this many matches")
        parser.epilog = DEFAULT_KEYS_HELP
        parser.formatter_class = _HelpFormatter

    def handle(self, *args: Any, **options: Any) -> None:
        peer = resolve(options, DimseOperation.FIND)
        identifier, order, model = query(options)
        columns = add_default_keys(identifier, order, model)
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
        for line in table_lines(columns, matches):
            self.stdout.write(line)
        self.stdout.write(f"{len(matches)} match{'' if len(matches) == 1 else 'es'}")
