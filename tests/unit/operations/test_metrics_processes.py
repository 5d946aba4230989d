"""In multiprocess mode each process keeps its metrics in files named by its id. The id is
kept rather than asked of the system on every update: a process forked after the metrics
were imported must still count in files of its own, not in its parent's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

FORKING_PROCESS = """
import os, sys
from gateway.record import metrics
metrics.CONNECTIONS.inc()
child = os.fork()
if child == 0:
    metrics.CONNECTIONS.inc(2)
    os._exit(0)
os.waitpid(child, 0)
metrics.CONNECTIONS.inc(4)
print(os.getpid(), child)
"""


def _counter_files(folder: Path) -> dict[int, float]:
    """Each process's tth_connections_total, read the way the collector reads it."""
    from prometheus_client.mmap_dict import MmapedDict

    values = {}
    for path in folder.glob("counter_*.db"):
        pid = int(path.stem.removeprefix("counter_"))
        for _key, value, _timestamp, _position in MmapedDict.read_all_values_from_file(
                str(path)):
            values[pid] = values.get(pid, 0.0) + value
    return values


def test_a_forked_process_counts_in_files_of_its_own(tmp_path: Path) -> None:
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", FORKING_PROCESS], env=environment,
                          capture_output=True, text=True, timeout=60, cwd=ROOT, check=True)
    parent, child = (int(word) for word in done.stdout.split())
    assert _counter_files(tmp_path) == {parent: 5.0, child: 2.0}


def test_without_a_metrics_folder_the_values_stay_in_the_process() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from prometheus_client import values\n"
         "from gateway.record import metrics\n"
         "print(values.ValueClass is values.MutexValue)"],
        env={k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=True)
    assert done.stdout.strip() == "True"
