"""tth-gateway: the mail policy gateway of Thừa Thiên Huế's state agencies."""

import os
import sys
import warnings

# pyHanko imports cryptography's DSA key type, which cryptography marks deprecated; the
# gateway never uses DSA. Without this every command and every process starts with it.
warnings.filterwarnings("ignore", message="DSA is deprecated", category=UserWarning)


def _check_metrics_folder() -> None:
    """prometheus-client reads PROMETHEUS_MULTIPROC_DIR when it is imported, and fails on
    its first metric when the folder is not there: say so, as a configuration error."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder and not os.path.isdir(folder):
        print(f"tth-gateway: PROMETHEUS_MULTIPROC_DIR={folder} is not a folder; create it or "
              "unset the variable", file=sys.stderr)
        sys.exit(2)


_check_metrics_folder()
