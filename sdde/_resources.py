"""What the machine can hold: a memory budget checked before heavy work starts."""

from __future__ import annotations

import os

#: Share of the available memory one computation may plan to use.
MEMORY_SHARE = 0.5


def available_memory() -> int:
    """Bytes of memory available to a new allocation (``MemAvailable``; else physical)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30  # unknown: assume a small machine


def memory_budget() -> int:
    """Bytes one computation may plan to use: :data:`MEMORY_SHARE` of what is available."""
    return int(MEMORY_SHARE * available_memory())


def gib(n_bytes: float) -> str:
    """``n_bytes`` as a short human-readable size, e.g. ``'3.2 GiB'``."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n_bytes >= size:
            return f"{n_bytes / size:.3g} {unit}"
    return f"{int(n_bytes)} B"
