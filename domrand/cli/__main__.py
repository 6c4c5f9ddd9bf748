"""`python -m domrand.cli ...` is the `domrand` command."""

import sys

from domrand.cli import main

sys.exit(main())
