"""One file through konnect-etl's stages, each timed; run as its own process by bench.py.

    python bench/measure.py FILE [--url URL --concurrency 8]

Prints one JSON line: per phase wall seconds, CPU seconds of this process (all threads) and
the process's peak RSS so far; plus the summary's row counts. The stages are the library
functions `etl.pipeline.process` calls, in the same order, with a real SQLite journal.
Without --url it is the no-network path: every request body is written once (and dropped)
in "request bodies"; with --url stock/price bodies are written inside "upload", as the tool
does, and the protection checks (`etl.guards`: out-of-order keys, stock guards, the price
book) run before it as in `konnect-etl run`, their recording after it in "reports".
A 50-row file goes through first, so one-off imports are reported apart as "start-up".
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from etl import guards, pipeline
from etl.allocator import release_freed_memory
from etl.bodies import Chunk, build_chunks
from etl.clientsettings import ClientSettings
from etl.config import Settings
from etl.feeds import get_feed
from etl.filehash import file_digest
from etl.job import Job, Prepared
from etl.journal import Journal
from etl.mapping import apply_mapping, choose_mapping
from etl.report import write_reports
from etl.session import all_mappings
from etl.validation import validate

T = TypeVar("T")


def peak_mb() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: Linux carries ru_maxrss
    over from the parent through fork and exec, so it would show bench.py's own peak."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Clock:
    """Collects (phase, wall s, cpu s, peak MB) rows."""

    def __init__(self) -> None:
        self.phases: list[dict[str, Any]] = []

    def run(self, name: str, fn: Callable[[], T]) -> T:
        wall, cpu = time.perf_counter(), time.process_time()
        value = fn()
        self.phases.append(
            {
                "phase": name,
                "wall": time.perf_counter() - wall,
                "cpu": time.process_time() - cpu,
                "peak_mb": peak_mb(),
            }
        )
        return value


def process(path: Path, job: Job, clock: Clock) -> dict[str, Any]:
    """`etl.pipeline.process` without the inbox moves, one clock reading per stage."""
    started = job.now()
    mapping, table = clock.run("read", lambda: choose_mapping(job.mappings, path))
    feed = get_feed(mapping.feed)
    mapped = clock.run("map", lambda: apply_mapping(mapping, table))
    valid = clock.run("validate", lambda: validate(feed, mapped, duplicates=mapping.duplicates))
    mapped.drop_frame()
    release_freed_memory()  # as `process` does after reading (etl.allocator)
    if job.client is None:  # the no-network path: every body written once, then dropped
        chunks = clock.run("request bodies", lambda: written(build_chunks(feed, valid)))
    else:  # stock/price bodies are written while uploading, a slice of rows at a time
        chunks = clock.run("plan chunks", lambda: build_chunks(feed, valid))
    prepared = Prepared(feed, mapping, table, mapped, valid, chunks)
    results = None
    if job.client is not None:
        digest, size = file_digest(path)
        held = clock.run("protection", lambda: guards.before_upload(prepared, path, job, digest))
        if held is not None:
            raise RuntimeError(f"the file was held: {held}")
        _, results = clock.run("upload", lambda: pipeline.upload(prepared, path, job, digest, size))
        release_freed_memory()  # as `process` does before the reports

    def reports() -> dict[str, Any]:
        out = pipeline.judge(prepared, results)
        if job.client is not None:  # what it set, for the next file's protection checks
            guards.after_upload(prepared, out, path, job, path.name, digest)
        summary = pipeline.build_summary(path, prepared, out, results, started, job, path.stem)
        kind = pipeline.report_kind(path)
        write_reports(path.parent, path.stem, kind, table, out, summary)
        return summary

    summary = clock.run("reports", reports)
    return {"rows": summary["rows"], "chunks": len(chunks), "outcome": summary["outcome"]}


def written(chunks: list[Chunk]) -> list[Chunk]:
    """Write every chunk's body, as the upload would (bodies are not kept)."""
    size = sum(len(chunk.body) for chunk in chunks)  # not an assert: `python -O` drops those
    if chunks and not size:
        raise RuntimeError("no request body was written")
    return chunks


def timed_journal(journal: Journal, spent: dict[str, float]) -> None:
    """Count the journal's commits and the seconds they take (each one waits for the disk)."""
    for name in ("mark_inflight", "record_chunks", "clear_inflight"):
        method = getattr(journal, name)

        def wrapper(*args: Any, _method: Callable[..., None] = method) -> None:
            start = time.perf_counter()
            _method(*args)
            spent["journal_commits"] += 1
            spent["journal_seconds"] += time.perf_counter() - start

        setattr(journal, name, wrapper)


def warm_up(job: Job, folder: Path) -> float:
    """A tiny file through every stage but the upload: imports and first-use costs."""
    start = time.perf_counter()
    tiny = folder / "warm-up.csv"
    tiny.write_text("location_id,sku,quantity\n" + "".join(f"L,S{i},1\n" for i in range(50)))
    process(tiny, Job(job.mappings), Clock())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file", type=Path)
    parser.add_argument("--url")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    mappings = all_mappings(Settings())
    temp = tempfile.TemporaryDirectory(prefix="bench-measure-")
    work = Path(temp.name)
    client = None
    if args.url:
        client = ClientSettings(args.url, token="sandbox-token", concurrency=args.concurrency)
    journal = Journal(work / "journal.sqlite3")
    spent = {"journal_commits": 0.0, "journal_seconds": 0.0}
    timed_journal(journal, spent)
    job = Job(mappings, client, journal if client else None)
    startup = warm_up(job, work)
    clock = Clock()
    result = process(args.file, job, clock)
    journal.close()
    temp.cleanup()
    print(json.dumps({"startup": startup, "phases": clock.phases, **result, **spent}))


if __name__ == "__main__":
    sys.exit(main())
