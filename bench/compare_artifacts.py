"""Record the artifacts of a fixed set of builds, updates and refits, and compare two records.

Why: a refactor of the pipeline must not change what it computes, nor the stage keys that
keep users' caches valid. ``record`` runs the scenarios below (hashing embedder, two small
corpora) under a fixed cache path and writes one JSON per published build: the sha256 of
every data file and the manifest with its volatile fields (timestamps, timings, library
versions, build stamps) removed. ``compare`` diffs two such records.

    python bench/compare_artifacts.py record OUT_DIR [--cache /tmp/cmp-cache]
    python bench/compare_artifacts.py compare BEFORE_DIR AFTER_DIR

``topic_history.parquet`` names each build by its stamp and time, so it is hashed with
those two columns blanked out; every other file is hashed as written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

# Where the bundled corpora sit depends on the checkout, so that path is made relative.
VOLATILE = {"created_at", "timings", "total_seconds", "libraries"}
HISTORY_VOLATILE = ("build", "created_at")


def _flows() -> tuple[Any, Any, Any]:
    """build, update and Store, wherever this checkout keeps them (before/after issue 15)."""
    try:
        from pipeline.flows import build, update
        from pipeline.store.cache import Store
    except ImportError:
        from pipeline.cache import Store  # type: ignore[no-redef]
        from pipeline.runner import build, update  # type: ignore[no-redef]
    return build, update, Store


def _normal_manifest(m: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in m.items() if k not in VOLATILE}
    upd = dict(out.get("update") or {})
    if upd.get("previous_build"):
        upd["previous_build"] = "<stamp>"
    out["update"] = upd
    corpus = dict(out.get("corpus") or {})
    if str(corpus.get("path", "")).startswith(str(REPO)):
        corpus["path"] = "<checkout>" + corpus["path"][len(str(REPO)) :]  # bundled corpus
    out["corpus"] = corpus
    arts = dict(out.get("artifacts") or {})
    if "topic_history.parquet" in arts:
        arts["topic_history.parquet"] = {"rows": arts["topic_history.parquet"].get("rows")}
    out["artifacts"] = arts
    return out


def _file_digest(path: Path) -> str:
    if path.name == "topic_history.parquet":
        df = pd.read_parquet(path)
        for col in HISTORY_VOLATILE:
            df[col] = "<volatile>"
        return hashlib.sha256(df.to_csv(index=False).encode()).hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(run_dir: Path) -> dict[str, Any]:
    """Digests of a published build's files plus its normalised manifest."""
    real = run_dir.resolve()
    files = {
        str(p.relative_to(real)): _file_digest(p)
        for p in sorted(real.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }
    manifest = json.loads((real / "manifest.json").read_text())
    return {"files": files, "manifest": _normal_manifest(manifest)}


def _arxiv_months(tmp: Path) -> list[Path]:
    """The update tests' monthly arXiv feed: months 1-3, then 4-5, then 6-9, as CSV files."""
    try:
        from tests.update_corpus import monthly_corpus
    except ImportError:  # a checkout from before issue 15
        from tests.test_update import monthly_corpus

    docs = monthly_corpus()
    out = []
    for tag, months in (("m1-3", (1, 2, 3)), ("m1-5", (1, 2, 3, 4, 5)), ("all", range(1, 10))):
        path = tmp / f"arxiv-{tag}.csv"
        docs[docs["month"].isin(list(months))].drop(columns=["month"]).to_csv(path, index=False)
        out.append(path)
    return out


def run_scenarios(cache: Path, out: Path) -> None:
    try:
        from tests.update_corpus import hashing_config
    except ImportError:  # a checkout from before issue 15
        from tests.test_update import hashing_config

    build, update, Store = _flows()
    if cache.exists():
        shutil.rmtree(cache)
    cache.mkdir(parents=True)
    store = Store(cache / "cache")
    out.mkdir(parents=True, exist_ok=True)

    def keep(tag: str, result: Any) -> None:
        snap = snapshot(result.run_dir)
        snap["up_to_date"] = bool(result.up_to_date)
        (out / f"{tag}.json").write_text(json.dumps(snap, indent=1, sort_keys=True, default=str))

    cfg = hashing_config()
    keep("trending-build", build("hf-trending-papers", cfg, store))
    keep("trending-rebuild", build("hf-trending-papers", cfg, store))
    knob = cfg.with_overrides({"cluster": {"min_cluster_size": 8}})
    keep("trending-knob", build("hf-trending-papers", knob, store))
    # Every stage served from the stage cache, then only the hierarchy recomputed (which
    # needs the represent stage's model again although its result is cached).
    keep("trending-forced", build("hf-trending-papers", knob, store, force=True))
    average = knob.with_overrides({"hierarchy": {"linkage": "average"}})
    keep("trending-hierarchy-knob", build("hf-trending-papers", average, store))
    keep("trending-refit", build("hf-trending-papers", cfg, store, refit=True))
    first, more, full = _arxiv_months(cache)
    keep("arxiv-build", build(str(first), cfg, store, name="arxiv"))
    keep("arxiv-update1", update("arxiv", str(more), store))
    keep("arxiv-update2", update("arxiv", str(full), store))
    keep("arxiv-update-noop", update("arxiv", str(full), store))
    keep("arxiv-refit", build(str(full), cfg, store, name="arxiv", refit=True))
    keep("arxiv-update-after-refit", update("arxiv", str(full), store))


def compare(before: Path, after: Path) -> int:
    bad = 0
    tags = sorted({p.stem for p in before.glob("*.json")} | {p.stem for p in after.glob("*.json")})
    for tag in tags:
        a, b = before / f"{tag}.json", after / f"{tag}.json"
        if not (a.exists() and b.exists()):
            print(f"{tag}: only in {'before' if a.exists() else 'after'}")
            bad += 1
            continue
        x, y = json.loads(a.read_text()), json.loads(b.read_text())
        diffs = [
            f"file {f}"
            for f in sorted(set(x["files"]) | set(y["files"]))
            if x["files"].get(f) != y["files"].get(f)
        ]
        diffs += [
            f"manifest[{k}]"
            for k in sorted(set(x["manifest"]) | set(y["manifest"]))
            if x["manifest"].get(k) != y["manifest"].get(k)
        ]
        if x.get("up_to_date") != y.get("up_to_date"):
            diffs.append("up_to_date")
        print(
            f"{tag}: {'identical' if not diffs else 'DIFFERENT ' + ', '.join(diffs)}"
            f" ({len(x['files'])} files)"
        )
        bad += bool(diffs)
    print("all identical" if not bad else f"{bad} scenario(s) differ")
    return 1 if bad else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("out", type=Path)
    rec.add_argument("--cache", type=Path, default=Path("/tmp/compare-artifacts-cache"))
    cmp_ = sub.add_parser("compare")
    cmp_.add_argument("before", type=Path)
    cmp_.add_argument("after", type=Path)
    args = ap.parse_args()
    if args.cmd == "record":
        run_scenarios(args.cache, args.out)
        return 0
    return compare(args.before, args.after)


if __name__ == "__main__":
    raise SystemExit(main())
