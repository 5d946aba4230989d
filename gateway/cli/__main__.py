"""`python -m gateway.cli`: the same command line as `tth-gateway`."""

import sys

from gateway.cli.main import main

sys.exit(main())
