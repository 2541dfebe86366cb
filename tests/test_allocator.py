"""`etl.allocator`: the memory of a big file goes back to the system once it is filed.

Real processes, their resident size read from /proc: glibc's malloc keeps the freed middle
of its heap unless it is asked to hand it back.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux")
    or not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"),
    reason="glibc's malloc only (elsewhere release_freed_memory does nothing)",
)

RSS = """
from pathlib import Path

def rss():
    status = Path("/proc/self/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) // 1024
"""

# 100 MB of 256 KiB blocks from the heap (a 16 MB block freed first raises glibc's mmap
# threshold, as a big column does), all freed but the last: what the process still holds.
HEAP = (
    RSS
    + """
import sys
from etl.allocator import release_freed_memory
before = rss()
big = b"x" * (16 * 2**20)
del big
blocks = [b"x" * (256 * 1024) for _ in range(400)]
last = blocks[-1]
del blocks
held = rss() - before
release_freed_memory()
print(held, rss() - before)
"""
)

# A 300,000-row stock file claimed and filed as `run` and `watch` do (no upload: the same
# reading, mapping, validation and reports), after a small one took the imports' memory.
FILE = (
    RSS
    + """
import gc, sys
from pathlib import Path
from etl.claimed import process_claimed
from etl.config import Settings
from etl.inbox import Inbox
from etl.job import Job
from etl.session import all_mappings

inbox = Inbox(Path(sys.argv[1]))
inbox.prepare()
job = Job(all_mappings(Settings()), None, None)
for name, rows in (("small.csv", 100), ("big.csv", 300_000)):
    lines = "".join(f"DEL-WH-{n % 40:02d},SKU-{n:07d},{n % 97}\\n" for n in range(rows))
    (inbox.processing / name).write_text("location_id,sku,quantity\\n" + lines)
    before = rss() if name == "big.csv" else 0
    result = process_claimed(inbox, inbox.processing / name, job)
    assert result.outcome == "validated", result.summary
del result, lines
gc.collect()
print(rss() - before)
"""
)


def numbers(script: str, *args: str) -> list[int]:
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                          text=True, timeout=240)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [int(word) for word in done.stdout.split()]


def test_release_freed_memory_hands_the_heaps_free_pages_back() -> None:
    held, after = numbers(HEAP)
    assert held >= 80  # what glibc keeps by itself
    assert after <= 20


def test_a_big_file_once_filed_leaves_the_process_near_its_size_before(tmp_path: Path) -> None:
    assert numbers(FILE, str(tmp_path))[0] <= 40
