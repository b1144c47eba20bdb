"""``python -m dicomkit``: the command line (subcommands live in ``dicomkit.cli``)."""

import sys

from dicomkit.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
