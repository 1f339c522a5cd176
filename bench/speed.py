"""Speed benchmark: topictrends against a plain BERTopic script, on one machine.

    .venv/bin/python bench/speed.py --quick   # smoke run: small samples, a few minutes
    .venv/bin/python bench/speed.py           # the full run: hours on a 2-core CPU
    .venv/bin/python bench/speed.py --quality 1000   # embedding speed/quality per backend

Corpora: the arXiv sample (pipeline/corpora/arxiv-sample.parquet, 4,079 abstracts), the
State of the Union paragraphs (../shared/corpora/sotu_paragraphs.parquet, 22,927) and a
synthetic 100,000-document corpus cut from the SOTU paragraphs (runs of 2-4 consecutive
sentences of one address, each run once, dated like the address). The transformer embeds
about 13 abstracts/s on a 2-core CPU, so the 100k corpus is measured with the static
backend only, and the plain BERTopic script gets the same static embeddings there.

Cases per corpus, each in its own subprocess (peak memory = that process's ru_maxrss) and
its own cache directory:

    cold      empty cache (the static backend's distilled model, an install-time cost,
              is copied in; its distillation is timed once, as its own row)
    warm      a copy of the cold case's cache, nothing changed: the run is up to date
    knob      a copy of the cold case's cache, [cluster] selection_method = "eom"
    add1pct   a copy of the cold case's cache, 1% new documents (held out of the others)
    static    empty cache, [embed] backend = "static"
    cold-jit  the static case with NUMBA_CACHE_DIR pointing at an empty directory (once,
              on the first corpus): what a first run costs before the JIT cache is warm
    plain     SentenceTransformer.encode, then BERTopic(embedding_model=model).fit_transform,
              same model (for the 100k corpus: the same distilled static model)

The cold/warm/knob/static/plain cases see the corpus minus the held-out 1%; add1pct sees
all of it. Where a corpus has labels worth scoring against (the arXiv topic folders), each
case reports NMI between topics and labels (single-label papers, outliers included as one
cluster); for each corpus the 10-nearest-neighbour overlap between the static and the
transformer embeddings is reported too. Results are printed as markdown tables and written,
after every case, to a JSON file (default bench/results/speed-<quick|full>.json).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script (its own workers are) or with -m

from bench.speed_common import ARXIV, RESULT_MARK, SOTU, _sample, fmt, machine  # noqa: E402

SIZES = {
    "full": {"arxiv": None, "sotu": None, "synthetic": 100_000},
    "quick": {"arxiv": 200, "sotu": 200, "synthetic": 3_000},
}
CASE_TITLES = {
    "warmup": "numba JIT cache warm-up (per installation)",
    "distill": "distil the static model (once per cache root)",
    "cold": "cold build",
    "warm": "warm rebuild, nothing changed",
    "knob": "clustering knob changed",
    "add1pct": "+1% new documents, full rebuild (build)",
    "update1pct": "+1% new documents, incremental (update)",
    "static": "static backend, cold",
    "cold-jit": "static backend, cold, cold numba JIT",
    "plain": "plain BERTopic script",
}
KNOB = {"cluster": {"selection_method": "eom"}}


# ================================================================== corpora
def synthetic_corpus(sotu, n: int, seed: int = 0):  # noqa: ANN001, ANN201 - pandas
    """``n`` distinct texts: runs of 2-4 consecutive sentences of one SOTU address."""
    import numpy as np
    import pandas as pd

    speeches = []
    for speech_id, group in sotu.groupby("speech_id", sort=True):
        sentences = [
            s for text in group["text"] for s in re.split(r"(?<=[.!?])\s+", text) if len(s) > 20
        ]
        if len(sentences) >= 4:
            first = group.iloc[0]
            speeches.append(
                (speech_id, sentences, first["date"], first["label"], first["president"])
            )
    rng = np.random.default_rng(seed)
    weights = np.array([len(s[1]) for s in speeches], dtype=float)
    weights /= weights.sum()
    seen: set[str] = set()
    rows = []
    while len(rows) < n:
        for si in rng.choice(len(speeches), size=min(4 * (n - len(rows)), 1_000_000), p=weights):
            speech_id, sentences, date, label, president = speeches[si]
            length = int(rng.integers(2, 5))
            start = int(rng.integers(0, len(sentences) - length + 1))
            text = " ".join(sentences[start : start + length])
            if text in seen:  # ingest would drop a duplicate
                continue
            seen.add(text)
            rows.append(
                {
                    "id": f"syn-{len(rows):06d}",
                    "title": "",
                    "text": text,
                    "date": date,
                    "label": label,
                    "president": president,
                }
            )
            if len(rows) == n:
                break
    return pd.DataFrame(rows)


def prepare_corpora(work: Path, mode: str, only: list[str]) -> list[dict[str, Any]]:
    """Write <name>-base.parquet (99%) and <name>-full.parquet (100%) for each corpus."""
    import pandas as pd

    out = []
    sizes = SIZES[mode]
    sources = {"arxiv": ARXIV, "sotu": SOTU, "synthetic": SOTU}
    for name in only:
        src = sources[name]
        if not src.exists():
            print(f"skipping {name}: {src} not found", file=sys.stderr)
            continue
        df = pd.read_parquet(src)
        df = synthetic_corpus(df, sizes[name]) if name == "synthetic" else _sample(df, sizes[name])
        df = df.reset_index(drop=True)
        held = df.sample(n=max(1, round(len(df) * 0.01)), random_state=1).index
        base = df.drop(index=held)
        d = work / "corpora"
        d.mkdir(parents=True, exist_ok=True)
        base.to_parquet(d / f"{name}-base.parquet", index=False)
        df.to_parquet(d / f"{name}-full.parquet", index=False)
        labels = None
        if name == "arxiv":
            labels = {"col": "label", "where": "n_labels == 1"}
        out.append(
            {
                "name": name,
                "backend": "static" if name == "synthetic" else "sentence-transformers",
                "base": str(d / f"{name}-base.parquet"),
                "full": str(d / f"{name}-full.parquet"),
                "docs_base": len(base),
                "docs_full": len(df),
                "labels": labels,
            }
        )
    return out


# ================================================================== parent side
def worker_env(numba_cache: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "TQDM_DISABLE": "1",
            "TOKENIZERS_PARALLELISM": "false",
        }
    )
    if numba_cache is not None:
        env["NUMBA_CACHE_DIR"] = str(numba_cache)
    return env


def run_worker(spec: dict[str, Any], log: Path, numba_cache: Path | None = None) -> dict[str, Any]:
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with log.open("a") as err:
        err.write(f"\n===== {json.dumps(spec)}\n")
        err.flush()
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=worker_env(numba_cache),
            cwd=str(REPO),
            check=False,
        )
    process_s = round(time.perf_counter() - t0, 3)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU seconds (user + system) of the whole worker process, imports included: on a
    # machine shared with other work, wall time swings with the load and this does not.
    cpu_s = round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_MARK)]
    if proc.returncode != 0 or not lines:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        return {"error": f"exit {proc.returncode}", "log_tail": tail, "process_s": process_s}
    result = json.loads(lines[-1][len(RESULT_MARK) :])
    result["process_s"] = process_s
    result["cpu_s"] = cpu_s
    return result


def seed_static_model(seed_cache: Path, cache: Path) -> None:
    src = seed_cache / ".store" / "models"
    if src.exists():
        shutil.copytree(src, cache / ".store" / "models", dirs_exist_ok=True)


def knn_overlap(run_a: str, run_b: str, k: int = 10, queries: int = 2000) -> float:
    """Mean share of a document's k nearest neighbours that two embedding spaces agree on."""
    import numpy as np

    a = np.load(Path(run_a) / "embeddings.npy").astype(np.float32)
    b = np.load(Path(run_b) / "embeddings.npy").astype(np.float32)
    rng = np.random.default_rng(0)
    q = rng.choice(len(a), size=min(queries, len(a)), replace=False)
    overlap = []
    for start in range(0, len(q), 256):
        idx = q[start : start + 256]
        nn = []
        for x in (a, b):
            sim = x[idx] @ x.T
            sim[np.arange(len(idx)), idx] = -np.inf
            nn.append(np.argpartition(-sim, k, axis=1)[:, :k])
        overlap += [len(set(r1) & set(r2)) / k for r1, r2 in zip(nn[0], nn[1], strict=True)]
    return round(float(np.mean(overlap)), 4)


def plan(corpus: dict[str, Any], first: bool) -> list[dict[str, Any]]:
    """The cases for one corpus, in order: (case, worker spec, cache seeding)."""
    backend = corpus["backend"]
    labels = corpus["labels"]
    build = {"kind": "build", "input": corpus["base"], "labels": labels}
    own = {"embed": {"backend": backend}}
    cases = [
        {"case": "cold", "spec": {**build, "overrides": own}, "from": None},
        {"case": "warm", "spec": {**build, "overrides": own}, "from": "cold"},
        {"case": "knob", "spec": {**build, "overrides": {**own, **KNOB}}, "from": "cold"},
        {
            "case": "add1pct",
            "spec": {**build, "input": corpus["full"], "overrides": own},
            "from": "cold",
        },
        {
            "case": "update1pct",
            "spec": {"kind": "update", "input": corpus["full"], "labels": labels},
            "from": "cold",
        },
    ]
    if backend != "static":
        cases.append(
            {
                "case": "static",
                "spec": {**build, "overrides": {"embed": {"backend": "static"}}},
                "from": None,
            }
        )
    if first:
        cases.append(
            {
                "case": "cold-jit",
                "spec": {**build, "overrides": {"embed": {"backend": "static"}}},
                "from": None,
                "cold_jit": True,
            }
        )
    plain = {
        "kind": "plain",
        "input": corpus["base"],
        "labels": labels,
        "embedder": "static" if backend == "static" else "transformer",
    }
    cases.append({"case": "plain", "spec": plain, "from": None})
    return cases


COLUMNS = ("embed", "reduce", "cluster", "represent", "fit")


def markdown(results: list[dict[str, Any]], extras: list[dict[str, Any]]) -> str:
    """Results as markdown: one row per case, stage seconds in columns (represent includes
    hierarchy; ``fit`` is the plain script's BERTopic.fit_transform: reduce + cluster +
    represent in one; ``other`` is everything else: ingest, over time, trends, publish,
    model loading in the plain script)."""
    head = (
        "| corpus | case | backend | docs | wall s | docs/s | process s | CPU s | peak MiB | embed s | "
        "reduce s | cluster s | represent s | BERTopic fit s | other s | topics | outliers | NMI |"
    )
    ncols = head.count("|") - 1
    lines = [head, "|" + "---|" * ncols]
    for r in results:
        title = CASE_TITLES.get(r["case"], r["case"]) + (
            " (up to date)" if r.get("up_to_date") else ""
        )
        if "error" in r:
            cells = [r["corpus"], title, r.get("backend", ""), "", f"failed: {r['error']}"]
            lines.append("| " + " | ".join(cells + [""] * (ncols - len(cells))) + " |")
            continue
        st = dict(r.get("stages") or {})
        st["represent"] = (
            (st.pop("represent", None) or 0) + (st.pop("hierarchy", None) or 0)
            if "represent" in st
            else None
        )
        other = sum(v or 0 for k, v in st.items() if k not in COLUMNS)
        docs, wall = r.get("docs"), r.get("wall_s")
        cells = [
            r["corpus"], title, r.get("backend", ""), fmt(docs), fmt(wall), fmt(docs / wall if docs and wall else None),
            fmt(r.get("process_s")), fmt(r.get("cpu_s")), fmt(r.get("peak_mib"), 0), *(fmt(st.get(c)) for c in COLUMNS),
            fmt(other) if other else "", fmt(r.get("topics")), fmt(r.get("outlier_share"), 3), fmt(r.get("nmi"), 3),
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    if extras:
        lines += ["", "| corpus | static vs transformer: 10-NN overlap |", "|---|---|"]
        lines += [f"| {e['corpus']} | {fmt(e['knn10_overlap'], 3)} |" for e in extras]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="small samples (200 / 200 / 3,000 documents): a smoke run of every case",
    )
    ap.add_argument(
        "--corpora",
        default="arxiv,sotu,synthetic",
        help="comma-separated subset of arxiv,sotu,synthetic",
    )
    ap.add_argument(
        "--out", type=Path, help="JSON results file (default bench/results/speed-<quick|full>.json)"
    )
    ap.add_argument(
        "--work",
        type=Path,
        help="working directory for corpora and caches (default: a temporary one)",
    )
    ap.add_argument(
        "--cases",
        help="comma-separated subset of the cases to run (e.g. cold,warm,knob,plain); default all",
    )
    ap.add_argument("--keep", action="store_true", help="keep the working directory")
    ap.add_argument(
        "--quality",
        type=int,
        metavar="N",
        help="instead: embedding speed and quality of every backend on N arXiv abstracts",
    )
    ap.add_argument(
        "--table",
        type=Path,
        metavar="JSON",
        help="instead: print the markdown table of an earlier results file",
    )
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.worker:
        from bench.speed_workers import worker_main

        worker_main(args.worker)
        return 0
    if args.table:
        report = json.loads(args.table.read_text())
        print(markdown(report["results"], report.get("knn_agreement", [])))
        return 0
    if args.quality:
        from bench.speed_quality import quality

        work = args.work or Path(tempfile.mkdtemp(prefix="topictrends-quality-"))
        out = args.out or REPO / "bench" / "results" / "quality.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        quality(args.quality, work, out)
        if args.work is None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        return 0
    return run_cases(args)


class Report:
    """The results file, written again after every case (a crash keeps what was measured)."""

    def __init__(self, out: Path, mode: str) -> None:
        self.out = out
        self.data: dict[str, Any] = {
            "mode": mode, "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "machine": machine(), "results": [], "knn_agreement": [],
        }  # fmt: skip

    def save(self) -> None:
        tmp = self.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2))
        os.replace(tmp, self.out)

    def record(
        self, corpus: str, case: str, backend: str, result: dict[str, Any]
    ) -> dict[str, Any]:
        row = {"corpus": corpus, "case": case, "backend": backend, **result}
        self.data["results"].append(row)
        self.save()
        status = result.get("error") or f"{result.get('wall_s')} s"
        print(f"  {corpus:9s} {case:9s} {backend:21s} {status}", file=sys.stderr)
        return row


def run_cases(args: argparse.Namespace) -> int:
    """Every planned case of every corpus, then the markdown table; 1 if any case failed."""
    mode = "quick" if args.quick else "full"
    out = args.out or REPO / "bench" / "results" / f"speed-{mode}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    work = args.work or Path(tempfile.mkdtemp(prefix="topictrends-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "bench.log"
    print(f"work dir {work}; worker logs in {log}", file=sys.stderr)
    report = Report(out, mode)
    corpora = prepare_corpora(work, mode, [c.strip() for c in args.corpora.split(",") if c.strip()])
    report.record("-", "warmup", "-", run_worker({"kind": "warmup"}, log))
    seed = work / "static-seed"
    report.record(
        "-", "distill", "static", run_worker({"kind": "distill", "cache": str(seed)}, log)
    )
    wanted = {c.strip() for c in args.cases.split(",")} if args.cases else None
    for i, corpus in enumerate(corpora):
        done = run_corpus(corpus, i == 0, wanted, work, seed, log, report)
        a, b = done.get("cold"), done.get("static")
        if a and b and "run_dir" in a and "run_dir" in b:
            report.data["knn_agreement"].append(
                {"corpus": corpus["name"], "knn10_overlap": knn_overlap(a["run_dir"], b["run_dir"])}
            )
            report.save()
        if not args.keep:
            for d in (work / "caches").glob(f"{corpus['name']}-*"):
                shutil.rmtree(d, ignore_errors=True)
    report.data["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    report.data["loadavg_at_end"] = os.getloadavg()
    report.save()
    print(markdown(report.data["results"], report.data["knn_agreement"]))
    print(f"\nresults: {out}", file=sys.stderr)
    if not args.keep and args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if any("error" in r for r in report.data["results"]) else 0


def run_corpus(
    corpus: dict[str, Any],
    first: bool,
    wanted: set[str] | None,
    work: Path,
    seed: Path,
    log: Path,
    report: Report,
) -> dict[str, dict[str, Any]]:
    """One corpus's cases in plan order; a case built on a failed one is skipped."""
    done: dict[str, dict[str, Any]] = {}
    for case in plan(corpus, first=first):
        if wanted is not None and case["case"] not in wanted:
            continue
        spec = dict(case["spec"])
        backend = (spec.get("overrides") or {}).get("embed", {}).get("backend") or (
            "static" if spec.get("embedder") == "static" else "sentence-transformers"
        )
        if spec["kind"] == "update":  # the update keeps the run's own embedding backend
            backend = corpus["backend"]
        cache = work / "caches" / f"{corpus['name']}-{case['case']}"
        if case["from"]:
            parent = done.get(case["from"])
            if not parent or "error" in parent:
                skipped = {"error": f"skipped: {case['from']} failed"}
                report.record(corpus["name"], case["case"], backend, skipped)
                continue
            shutil.copytree(parent["cache"], cache, symlinks=True)
        else:
            cache.mkdir(parents=True, exist_ok=True)
        if backend == "static":
            seed_static_model(seed, cache)
            spec["static_dir"] = str(next((cache / ".store" / "models").glob("static-*"), ""))
        spec["cache"] = str(cache)
        numba = None
        if case.get("cold_jit"):
            numba = work / "numba-empty"
            shutil.rmtree(numba, ignore_errors=True)
            numba.mkdir()
        result = run_worker(spec, log, numba_cache=numba)
        done[case["case"]] = {**result, "cache": str(cache)}
        report.record(corpus["name"], case["case"], backend, result)
    return done


if __name__ == "__main__":
    sys.exit(main())
