"""config.malloc: after keep_large_blocks, a multi-MB bytes object made and freed again and again is taken
from the process's heap, not page-faulted in from the kernel each time (what the web workers' overview
documents cost without it: docs/benchmarks.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# In a fresh interpreter: copies of a 4.6 MB body (the 12,000-school overview's size), made and freed; prints
# keep_large_blocks()'s answer (or "-") and the minor page faults of the last ten copies.
PROBE = """
import os, resource, sys
sys.path.insert(0, {root!r})
kept = "-"
{setup}
body = os.urandom(4_600_000)
for _ in range(3):
    copy = b"[" + body + b"]"
    del copy
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    copy = b"[" + body + b"]"
    del copy
print(kept, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


TUNED = "from config.malloc import keep_large_blocks\nkept = keep_large_blocks()"
# What a web worker does first: load the WSGI application (with the test settings).
WSGI = "os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings.test'\nimport config.wsgi"


def faults(setup: str) -> tuple[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(root=str(ROOT), setup=setup)], capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0], int(out[1])


def test_large_blocks_are_kept_in_the_heap_once_tuned():
    kept, tuned = faults(TUNED)
    default = faults("")[1]
    assert kept == "True"  # glibc (Debian): mallopt took both thresholds
    # 4.6 MB is ~1,100 pages: each copy faulted them in again by default, none once tuned
    assert default > 10 * 1000
    assert tuned < 100


def test_a_web_worker_is_tuned_by_loading_the_wsgi_application():
    assert faults(WSGI)[1] < 100
