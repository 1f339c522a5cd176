"""Scaling benchmark: cold builds of a synthetic corpus from 10k to 1M documents, static backend.

    python bench/scale.py                        # 10k 30k 100k 300k 1M, then plain + SOTU
    python bench/scale.py --sizes 10000 30000    # some sizes only
    python bench/scale.py --cases plain sotu     # the baseline and SOTU only
    python bench/scale.py --table                # the markdown table of what is stored
    python bench/scale.py --redo 100000 sotu     # measure cases again (or --redo all)
    python bench/scale.py --sizes 1000000 --cases sizes update   # 1M cold, then update +1%

The corpus (``synthetic_corpus`` in bench/scale_corpus.py) is public-domain text with a planted time structure: the
State of the Union paragraphs (../shared/corpora/sotu_paragraphs.parquet; the benchmark may
read ../shared, the product never does), grouped by president (43 groups, each with its own
era's vocabulary). A document is a run of 1-3 consecutive sentences of one paragraph of a
group joined with 1-2 sentences of another paragraph of the same group, so there are
millions of distinct texts. Its date falls in one of 48 months; each group's share of a
month follows a planted profile (flat, rising, fading or a burst), so trends have
something to find. Everything is drawn from one seeded generator: the same size gives the
same corpus anywhere.

Every case runs in its own process (``--worker``) with a fresh cache directory, into which
only the static backend's distilled model is copied (an install-time cost, distilled once
under the work directory). Reported per case: wall time of the build, CPU time (user +
system of the worker process, every thread), peak RSS of the worker's process tree
(sampled every 0.2 s from /proc, and the kernel's ru_maxrss), documents per second, and
per stage the wall seconds, CPU seconds and peak RSS while that stage ran (a reporter
hooked into the build). The reduce stage's own progress messages (word profiles,
nearest neighbours, UMAP fits, placement) are kept with their times, for profiling.

The ``update`` case adds 1% new documents (``update_corpus``: another seed's documents, all
dated in the month after the corpus ends, as a monthly refresh would bring) to the largest
size's run with ``topictrends update`` and reports it beside that size's cold build. It
needs that run, so the largest size's cache is kept when ``update`` is among the cases
(``synthetic-<n>`` is then run again if its cache is gone).

Each size's result is written to ``bench/results/scale/<case>.json`` as soon as it ends,
and a case already there is skipped, so the benchmark resumes where it stopped and is cheap
to re-run for a missing size. The machine this ran on is recorded with every result; on a
machine shared with other work, wall times swing and CPU times much less.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script (its own workers are) or with -m

from bench.scale_corpus import SOTU, WORK, corpus_path, update_corpus  # noqa: E402

RESULTS = REPO / "bench" / "results" / "scale"
MARK = "SCALE-RESULT "
SIZES = (10_000, 30_000, 100_000, 300_000, 1_000_000)
PLAIN_SIZE = 100_000
STATIC = {"embed": {"backend": "static"}}


# ================================================================== worker side
class StageMeter:
    """A reporter that records each stage's wall and CPU seconds and the peak RSS while it
    ran, and the time of every progress message (the reduce stage says what it is doing)."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.stages: dict[str, dict[str, float]] = {}
        self.messages: list[tuple[float, str]] = []
        self.current: str | None = None
        self.peak = 0

    def stage(self, name: str, total: int | None = None) -> Any:  # noqa: ANN401
        import contextlib

        @contextlib.contextmanager
        def cm() -> Any:  # noqa: ANN401
            w, c = time.perf_counter(), time.process_time()
            self.current, self.peak = name, rss_bytes(os.getpid())
            try:
                yield lambda _n=1: None
            finally:
                self.stages[name] = {
                    "wall_s": round(time.perf_counter() - w, 2),
                    "cpu_s": round(time.process_time() - c, 2),
                    "peak_mib": round(self.peak / 2**20),
                }
                self.current = None

        return cm()

    def info(self, message: str) -> None:
        self.messages.append((round(time.perf_counter() - self.t0, 2), message))

    def sample(self) -> None:
        if self.current is not None:
            self.peak = max(self.peak, rss_bytes(os.getpid()))


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and every process below it (from /proc)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(c) for c in f.read().split()]
        except (OSError, ValueError):
            continue
    return total


def metered(flow: Any) -> dict[str, Any]:  # noqa: ANN401 - a flow taking a reporter
    """Run ``flow(reporter)`` with a StageMeter sampling RSS every 0.2 s; what both the
    build and the update cases report: wall time, counts, per-stage figures."""
    meter = StageMeter()
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(0.2):
            meter.sample()

    threading.Thread(target=poll, daemon=True).start()
    t0 = time.perf_counter()
    result = flow(meter)
    wall = time.perf_counter() - t0
    stop.set()
    m = result.manifest
    return {
        "wall_s": round(wall, 2),
        "docs": int(m["counts"]["documents"]),
        "topics": int(m["counts"]["topics"]),
        "stages": meter.stages,
        "messages": meter.messages,
        "run_dir": str(result.run_dir.resolve()),
        "manifest": m,
    }


def worker_build(spec: dict[str, Any]) -> dict[str, Any]:
    from pipeline.config import Config
    from pipeline.flows import build
    from pipeline.store.cache import Store

    cfg = Config().with_overrides(spec.get("overrides", {}))
    store = Store(Path(spec["cache"]))
    out = metered(lambda rep: build(spec["input"], cfg, store, name="scale", reporter=rep))
    m = out.pop("manifest")
    out["outlier_share"] = m["counts"]["outlier_share"]
    out["fit_sample"] = (m.get("scale") or {}).get("fit_sample")
    return out


def worker_update(spec: dict[str, Any]) -> dict[str, Any]:
    """``topictrends update`` of the kept run with the 1% of new documents."""
    from pipeline.flows import update
    from pipeline.store.cache import Store

    store = Store(Path(spec["cache"]))
    out = metered(lambda rep: update("scale", spec["input"], store, reporter=rep))
    m = out.pop("manifest")
    out["new_docs"] = int((m.get("update") or {}).get("new_documents", 0) or 0)
    return out


def worker_plain(spec: dict[str, Any]) -> dict[str, Any]:
    """The plain BERTopic script on the same static embeddings (bench/speed.py's baseline)."""
    from bench.speed import worker_plain as plain

    return plain({**spec, "embedder": "static", "labels": None})


def worker_main(spec: dict[str, Any]) -> None:
    result = {"build": worker_build, "plain": worker_plain, "update": worker_update}[spec["kind"]](
        spec
    )
    sys.stdout.write("\n" + MARK + json.dumps(result) + "\n")
    sys.stdout.flush()


# ================================================================== parent side
def machine() -> dict[str, Any]:
    import platform

    return {
        "cpus": os.cpu_count(),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip(),
    }


def static_model_seed() -> Path:
    """A cache root holding the distilled static model, distilled once (timed apart)."""
    seed = WORK / "seed-cache"
    if not (seed / ".store" / "models").exists():
        from pipeline.config import EmbedConfig
        from pipeline.stages.embed import get_embedder

        get_embedder(EmbedConfig(backend="static"), cache_root=seed).model()
    return seed


def run_worker(spec: dict[str, Any], log: Path) -> dict[str, Any]:
    """One case in a fresh process; wall, CPU (rusage) and the process tree's peak RSS."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1", "PYTHONPATH": str(REPO)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with log.open("a") as err:
        err.write(f"\n===== {json.dumps(spec)}\n")
        err.flush()
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=env,
            cwd=str(REPO),
        )
        peak = 0
        while proc.poll() is None:
            peak = max(peak, rss_bytes(proc.pid))
            time.sleep(0.2)
        out = proc.stdout.read() if proc.stdout else ""
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [ln for ln in out.splitlines() if ln.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        return {"error": f"exit {proc.returncode}", "log_tail": tail}
    result = json.loads(lines[-1][len(MARK) :])
    result["process_s"] = round(time.perf_counter() - t0, 2)
    result["cpu_s"] = round(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, 1)
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far, perhaps an earlier case's
    kernel_peak = after.ru_maxrss * 1024 if after.ru_maxrss > before.ru_maxrss else 0
    result["peak_mib"] = round(max(peak, kernel_peak) / 2**20)
    result["docs_per_s"] = round(result["docs"] / result["wall_s"], 1)
    return result


def case_spec(case: str, seed: Path) -> tuple[dict[str, Any], Path]:
    """The worker spec of ``case`` ("synthetic-<n>", "plain-<n>" or "sotu") and its cache."""
    cache = WORK / "caches" / case
    if case == "sotu":
        spec = {"kind": "build", "input": str(SOTU), "overrides": STATIC}
    elif case.startswith("plain-"):
        models = next((seed / ".store" / "models").glob("static-*"))
        n = int(case.split("-")[1])
        spec = {"kind": "plain", "input": str(corpus_path(n)), "static_dir": str(models)}
    elif case.startswith("update-"):
        n = int(case.split("-")[1])
        cache = WORK / "caches" / f"synthetic-{n}"
        spec = {"kind": "update", "input": str(update_corpus(n))}
    else:
        n = int(case.split("-")[1])
        spec = {"kind": "build", "input": str(corpus_path(n)), "overrides": STATIC}
    return {**spec, "cache": str(cache)}, cache


def measure(
    case: str, seed: Path, redo: bool, keep: bool = False, keep_cache: bool = False
) -> dict[str, Any] | None:
    """Run ``case`` unless stored; ``keep`` leaves its cache for the update case, and
    ``keep_cache`` leaves the update's too, with the run back at its cold build."""
    out = RESULTS / f"{case}.json"
    stored = json.loads(out.read_text()) if out.exists() else None
    spec, cache = case_spec(case, seed)
    if keep and not (cache / ".store").exists():
        redo = True  # the update case needs this run's cache
    if stored is not None and "error" not in stored and not redo:  # a failed case runs again
        print(f"{case}: stored, skipped ({out.relative_to(REPO)})", file=sys.stderr)
        return stored
    if spec["kind"] != "update":
        shutil.rmtree(cache, ignore_errors=True)
        shutil.copytree(seed / ".store" / "models", cache / ".store" / "models")
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    env = machine()
    print(f"{case}: running (load average {env['load_avg']})", file=sys.stderr)
    link = cache / "runs" / "scale"
    cold = os.readlink(link) if spec["kind"] == "update" and link.is_symlink() else None
    result = run_worker(spec, WORK / "scale.log")
    if cold is not None and keep_cache:  # back to the cold build: the update can run again
        updated = link.resolve()
        tmp = link.with_name(".scale-restore")
        os.symlink(cold, tmp)
        os.replace(tmp, link)
        shutil.rmtree(updated, ignore_errors=True)
    if not keep and not keep_cache:
        shutil.rmtree(cache, ignore_errors=True)  # a 1M-document cache is gigabytes
    record = {"case": case, "started": started, "machine": env, **result}
    record["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    RESULTS.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"{case}: {result.get('wall_s', result.get('error'))} s", file=sys.stderr)
    return record


STAGE_COLUMNS = (
    "ingest",
    "embed",
    "reduce",
    "cluster",
    "represent",
    "hierarchy",
    "over_time",
    "trends",
    "publish",
)


def table(records: list[dict[str, Any]]) -> str:
    head = (
        "| case | docs | fit sample | wall s | docs/s | CPU s | peak RSS MiB | "
        + " | ".join(f"{c} s (CPU)" for c in STAGE_COLUMNS)
        + " | topics | load avg |"
    )
    lines = [head, "|" + "---|" * (len(STAGE_COLUMNS) + 9)]
    for r in records:
        if "error" in r:
            lines.append(f"| {r['case']} | error: {r['error']} |")
            continue
        st = r.get("stages", {})
        cells = []
        for c in STAGE_COLUMNS:
            s = st.get(c) or ({"wall_s": r["stages"][c], "cpu_s": None} if c in st else None)
            if isinstance(s, dict):
                cpu = f" ({s['cpu_s']:.0f})" if s.get("cpu_s") is not None else ""
                cells.append(f"{s['wall_s']:.1f}{cpu}")
            elif isinstance(s, float | int):
                cells.append(f"{s:.1f}")
            else:
                cells.append("")
        load = r.get("machine", {}).get("load_avg", [None])[0]
        lines.append(
            f"| {r['case']} | {r['docs']:,} | {r.get('fit_sample') or ''} | {r['wall_s']:.1f} | "
            f"{r['docs_per_s']:,.0f} | {r['cpu_s']:.0f} | {r['peak_mib']:,} | "
            + " | ".join(cells)
            + f" | {r.get('topics', '')} | {load} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    ap.add_argument("--cases", nargs="*", default=["sizes", "plain", "sotu"])
    ap.add_argument("--redo", nargs="*", default=[], help="cases to measure again (or 'all')")
    ap.add_argument("--table", action="store_true", help="print the stored results only")
    ap.add_argument(
        "--keep-cache",
        action="store_true",
        help="keep the largest size's cache after the update case (which is undone), so the "
        "update can be measured again with --redo update-<n>",
    )
    args = ap.parse_args()
    if args.worker:
        worker_main(json.loads(args.worker))
        return
    cases = []
    if "sizes" in args.cases:
        cases += [f"synthetic-{n}" for n in args.sizes]
    if "plain" in args.cases:
        cases.append(f"plain-{PLAIN_SIZE}")
    if "sotu" in args.cases:
        cases.append("sotu")
    if "update" in args.cases:
        cases.append(f"update-{max(args.sizes)}")
    if args.table:
        records = [
            json.loads(p.read_text()) for c in cases if (p := RESULTS / f"{c}.json").exists()
        ]
        print(table(records))
        return
    WORK.mkdir(parents=True, exist_ok=True)
    seed = static_model_seed()
    records = []
    kept = f"synthetic-{max(args.sizes)}" if "update" in args.cases else None
    if kept in cases:  # the update case follows its cold build directly
        cases.remove(kept)
        cases.insert(cases.index(f"update-{max(args.sizes)}"), kept)
    for case in cases:
        redo = "all" in args.redo or case in args.redo or case.split("-")[-1] in args.redo
        if case.startswith("update-"):
            redo = redo or kept in args.redo
        keep_cache = args.keep_cache and case.startswith("update-")
        if (r := measure(case, seed, redo, keep=case == kept, keep_cache=keep_cache)) is not None:
            records.append(r)
    print(table(records))


if __name__ == "__main__":
    main()
