"""The spool: small messages in memory, large ones in a file; every reader gets every byte."""

from __future__ import annotations

import threading
from pathlib import Path

from gateway.mail.spool import Spool


def _filled(tmp_path: Path, size: int) -> tuple[Spool, bytes]:
    data = bytes(range(256)) * (size // 256)
    spool = Spool(threshold=1024, directory=tmp_path)
    for start in range(0, len(data), 4096):
        spool.write(data[start : start + 4096])
    return spool, data


def test_a_large_message_goes_to_a_file_and_reads_back_whole(tmp_path: Path) -> None:
    spool, data = _filled(tmp_path, 1 << 20)
    assert spool.path() is not None
    assert spool.getvalue() == data
    spool.write(b"tail")
    assert spool.getvalue() == data + b"tail"  # reading left the writer at the end
    spool.close()


def test_two_readers_at_once_each_get_every_byte(tmp_path: Path) -> None:
    """The analysis digest (a thread) and sender authentication (the loop) read the same
    spool at the same time; a shared file position would hand each a part of the other's."""
    spool, data = _filled(tmp_path, 4 << 20)
    results: list[bytes] = []

    def read() -> None:
        for _ in range(20):
            results.append(b"".join(bytes(chunk) for chunk in spool.chunks(block=4096)))

    threads = [threading.Thread(target=read) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 60
    assert all(result == data for result in results)
    spool.close()
