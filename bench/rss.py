"""Resident memory of this process: now, and its peak."""

from __future__ import annotations

import resource
from pathlib import Path

import psutil


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def peak_rss_mb() -> float:
    """The most this process has held resident (MiB).

    Linux's VmHWM, the high-water mark of this program's own memory. Not ``ru_maxrss``: Linux
    carries that over from the forked copy of the parent across ``exec``, so a child started by
    a 350 MB parent reports at least 350 MB whatever it uses itself.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    # Elsewhere ru_maxrss is the best there is (KiB on Linux and the BSDs, bytes on macOS).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
