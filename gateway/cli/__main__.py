"""`python -m gateway.cli`: the same command line as `tth-gateway`."""

import sys

from gateway.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
