"""A dashboard server's memory per open run: resident, anonymous and file-backed.

    PYTHONPATH=. .venv/bin/python bench/run_memory.py --cache-dir /tmp/big --run big1m --run big1m-b

Opens each run as the server does (``RunData``: verified, shared by every session) and
touches what the pages touch (the documents' columns, the topic table, a page of the
Documents table through DuckDB, a topic filter, the map's coordinates and hover texts),
then reads this process's ``/proc/self/status`` after each run: VmRSS (resident),
RssAnon (the heap: what a run costs the server for as long as it is open), RssFile
(pages of memory-mapped files: the kernel's page cache, shared with other processes and
dropped under pressure) and RssShmem (tmpfs-backed maps: a scratch directory on tmpfs
lands here), and, from ``/proc/self/smaps``, the size mapped and resident of each kind
of mapped file (``.arrow``: the documents' columns; ``.npy``: the embeddings). ``PYTHONPATH`` picks the dashboard measured, so the same script measures a
checkout before and after a change.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

import numpy as np

FIELDS = ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM")


def status_mib(pid: str = "self") -> dict[str, float]:
    """The memory lines of ``/proc/<pid>/status``, in MiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in FIELDS:
            out[name] = round(int(value.split()[0]) / 1024, 1)
    return out


def mapped_mib(pid: str = "self") -> dict[str, float]:
    """Memory-mapped files by kind (``.arrow``: the documents' columns; ``.npy``: the
    embeddings; ``.parquet``): mapped size and resident part, in MiB, from smaps."""
    out: dict[str, float] = {}
    kind = None
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if head and "-" in head[0] and ":" not in head[0]:  # a mapping's first line
            name = head[5] if len(head) > 5 else ""
            kind = next((k for k in (".arrow", ".npy", ".parquet") if name.endswith(k)), None)
        elif kind and head and head[0] in ("Size:", "Rss:"):
            key = f"{kind[1:]}_{'mapped' if head[0] == 'Size:' else 'resident'}"
            out[key] = round(out.get(key, 0.0) + int(head[1]) / 1024, 1)
    return out


def touch(run) -> dict[str, float]:  # noqa: ANN001 - a dashboard.run_data.RunData
    """What the pages read of a run; returns seconds per step."""
    times = {}
    t0 = time.perf_counter()
    docs = run.docs
    _ = run.topics, run.query
    times["open"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    run.query.page(None, "title", False, 0, 50)
    topic = int(run.topics["topic"].iloc[0])
    rows = np.flatnonzero(docs["topic"].isin([topic]).to_numpy(dtype=bool))
    run.query.page(rows, "date", True, 0, 50)
    _ = docs["x"].to_numpy(), docs["y"].to_numpy()
    times["pages"] = time.perf_counter() - t0
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache-dir", type=Path, required=True)
    ap.add_argument("--run", action="append", required=True, help="a run name (repeat)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    # bench/dashboard.py would shadow the package: the one measured comes from PYTHONPATH
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    from dashboard.run_data import RunData

    report: list[dict] = [{"stage": "start", **status_mib()}]
    runs = []
    for name in args.run:
        run = RunData.open(args.cache_dir / "runs" / name)
        times = touch(run)
        runs.append(run)  # kept open, as the server's cache keeps it
        gc.collect()
        report.append({"stage": f"+ {name}", **status_mib(), **mapped_mib(), **times})
        print(json.dumps(report[-1]))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
