"""Archives of every kind the gateway opens, under the same limits as ZIP.

ZIP (`archives.py`), 7z (py7zr), RAR (rarfile with a free RAR tool), tar and
single compressed streams (gzip, bzip2, xz; the standard library). A
compressed tar (`.tar.gz`, `.tgz`, `.tar.bz2`, `.tar.xz`) is a compressed
stream whose one member is a tar, so it opens in two levels, each counted
against the depth limit. The libraries are imported only when an archive of
their kind arrives, so mail without archives pays nothing for them.
"""

from __future__ import annotations

from gateway.analysis import filetypes
from gateway.analysis.archives import Opened, open_zip
from gateway.analysis.settings import AnalysisLimits

__all__ = ["ARCHIVES", "open_archive"]

ARCHIVES = frozenset({filetypes.ZIP, *filetypes.ARCHIVES})


def open_archive(
    data: bytes, detected: str, filename: str | None, budget: int, limits: AnalysisLimits
) -> Opened:
    """The members of an archive of type `detected`, spending at most `budget` bytes."""
    if detected == filetypes.ZIP:
        return open_zip(data, budget, limits)
    if detected == filetypes.TAR:
        from gateway.analysis.unpack.tar import open_tar

        return open_tar(data, budget, limits)
    if detected == filetypes.SEVEN_ZIP:
        from gateway.analysis.unpack.sevenzip import open_7z

        return open_7z(data, budget, limits)
    if detected in filetypes.RAR:
        from gateway.analysis.unpack.rar import open_rar

        return open_rar(data, budget, limits)
    from gateway.analysis.unpack.streams import open_compressed

    return open_compressed(data, detected, filename, budget, limits)
