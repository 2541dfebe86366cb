"""The least any client can take against the emulator: the floor under "upload wall time".

    python bench/floor.py FILE --url URL --concurrency 8

Every request is written (plain `csv` rows, orjson, the HTTP head) before the clock starts;
then `--concurrency` keep-alive connections on raw asyncio streams send them, reading only
each answer's status and length. No retries, no journal, no results: not a tool, a yardstick
for how much of the time over `chunks x latency / concurrency` is the emulator's own (its
processing, its one event loop, the two cores it shares with us) rather than ours.
Prints one JSON line: {"wall": seconds, "chunks": requests sent}.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sandboxproc import TOKEN

PATH = b"/ims/v3/inventory"
CHUNK = 500


def requests(path: Path, host: str) -> list[bytes]:
    """One whole HTTP request per 500 rows of the stock CSV."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = [
            {"location_id": r["location_id"], "sku": r["sku"], "quantity": int(r["quantity"])}
            for r in csv.DictReader(f)
        ]
    head = b"PUT %s HTTP/1.1\r\nHost: %s\r\nx-access-token: %s\r\n" % (
        PATH,
        host.encode(),
        TOKEN.encode(),
    )
    out = []
    for start in range(0, len(rows), CHUNK):
        body = orjson.dumps(rows[start : start + CHUNK])
        out.append(
            head
            + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
            + body
        )
    return out


async def send_all(url: str, waiting: Iterator[bytes], concurrency: int) -> None:
    where = urlsplit(url)
    host, port = where.hostname or "127.0.0.1", where.port or 80

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        for request in waiting:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"the emulator answered {head[:40]!r}")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
        writer.close()

    await asyncio.gather(*(connection() for _ in range(concurrency)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file", type=Path)
    parser.add_argument("--url", required=True)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    prepared = requests(args.file, urlsplit(args.url).netloc)
    start = time.perf_counter()
    asyncio.run(send_all(args.url, iter(prepared), args.concurrency))
    wall = time.perf_counter() - start
    print(json.dumps({"wall": wall, "chunks": len(prepared)}))


if __name__ == "__main__":
    sys.exit(main())
