"""`python -m domrand.cli ...` is the `domrand` command."""

import sys

from domrand.cli import main

if __name__ == "__main__":
    sys.exit(main())
