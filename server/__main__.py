"""`python -m apitwin`: the same as the `apitwin` command."""

import sys

from apitwin.cli import main

sys.exit(main())
