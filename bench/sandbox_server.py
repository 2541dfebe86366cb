"""The emulator in a process of its own, for the benchmark: prints its URL, serves until killed.

    python bench/sandbox_server.py --latency-ms 50 --max-concurrency 8 [--rate-limit 20]

Same settings as `konnect-etl sandbox --port 0 --catalogue open`, in a thread of this
process (`etl.sandbox.serve_in_thread`), which the bench then measures as its own process.
"""

from __future__ import annotations

import argparse
import threading

from etl.sandbox import SandboxSettings, serve_in_thread


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--max-concurrency", type=int)
    parser.add_argument("--rate-limit", type=float)
    args = parser.parse_args()
    settings = SandboxSettings(
        port=0,
        catalogue="open",
        latency_ms=args.latency_ms,
        max_concurrency=args.max_concurrency,
        rate_limit=args.rate_limit,
    )
    with serve_in_thread(settings) as running:
        print(f"Konnect sandbox on {running.url}", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
