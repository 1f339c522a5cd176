"""Trend calls against other detectors, on planted trends in real dated corpora.

    python bench/trends.py                          # arXiv and SOTU, three strengths
    python bench/trends.py --corpora sotu --strengths moderate

**Corpora.** Real documents with their real volume per year: the arXiv sample
(2012-2025) and State of the Union paragraphs (1946-2025, at most 20 a year), binned by
year. Their years are permuted across documents first, so the base corpus holds no trend
of its own (real trends would count against every detector) while each year keeps its
real volume and the texts stay real.

**Planted topics.** Three topics are injected, each made of new documents written from the
sentences of one held-out arXiv category (three sentences of its abstracts drawn at
random per document, so every document is distinct and the topic keeps a real
vocabulary): a *rising* one (share b before the onset, then a straight ramp to r x b
over the last 6 years), a *fading* one (r x b before the onset, ramping down to b) and a
*bursting* one (share b, then r x b in the last 2 years only). The strength is the ratio r:
weak 1.5, moderate 2.5, strong 4. They are planted by **count**: each planted topic has
``PLANTED_DOCS`` (150) documents, spread over the years in proportion to its share profile
times the year's volume, so b is set per corpus (about 3% of arXiv, 8% of SOTU). Planting a
fixed share (3%) left SOTU's topics with under one document a year (BENCHMARKS.md).

**Detectors**, each on the same topics (a topictrends build through the public ``build``
API, its ``topics_over_time.parquet`` for the baselines):

* *topictrends*: the headline calls of ``trends.parquet`` and of the hierarchy's nodes
  (``hierarchy.parquet``; docs/trends.md, "Themes"): new, emerging and rising are rising
  calls, declining and fading are fading calls.
* *BERTrend* (Boutaleb et al. 2024), re-implemented from its definition: a topic's
  popularity grows by its document count in every period it has documents and decays as
  ``P * exp(-0.01 * d**2)`` after d periods without; over a 3-period window, popularity
  below the 10th percentile of all topics' popularities is noise, above the 75th a strong
  signal, between them a weak signal. A topic whose class rose over the window
  (noise -> weak -> strong) is a rising call, one whose class fell a fading call.
* *Kleinberg*: the two-state batched burst automaton (Kleinberg 2002; s = 2,
  gamma = 1), written here: a topic in the burst state in the last period is a rising
  (burst) call. It has no fading call.

The baselines call topics (they have no notion of a hierarchy); topictrends calls topics
and hierarchy nodes.

* *Oracle* (an upper bound, not a system): told which documents are planted and when each
  plant's change began, it tests the planted documents alone, one-sided, with an exact
  binomial test of their share in the window of the change (rising and fading: the years
  since the onset; bursting: the burst's years) against the share of all documents in that
  window, at Bonferroni level ``alpha / units`` (the units topictrends tested in the same
  build: topics and hierarchy nodes). It has perfect topics and the right window, so what it
  misses no detector can be expected to find: the planted counts do not carry the change.

**Scores.** A planted topic is *found* when one called unit (a topic, or for topictrends a
headline node) holds most (> 50%) of its documents and is called in its direction (rising
and bursting topics: a rising call). A call is *right* when it finds a planted topic or
when most of its unit's documents are planted documents of a kind called that way; any
other call is false. Recall: planted topics found / planted; precision: right calls / all
calls. Lag: each corpus is also built cut off 2 and 4 years after the onset; the lag is the
first cut-off (in years after the onset; bursts: after the burst began) at which the
planted topic is found. Null: the permuted base corpus without plants; its false-positive
rate is calls / topics. Results: stdout (markdown) and bench/results/trends.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
warnings.filterwarnings("ignore")

from bench.trend_baselines import bertrend_calls, kleinberg_calls  # noqa: E402
from pipeline.config import Config  # noqa: E402
from pipeline.flows import build  # noqa: E402
from pipeline.store.artifacts import open_run  # noqa: E402
from pipeline.store.cache import Store  # noqa: E402

SHARED = REPO.parent / "shared" / "corpora"
ARXIV = REPO / "pipeline" / "corpora" / "arxiv-sample.parquet"
STRENGTHS = {"weak": 1.5, "moderate": 2.5, "strong": 4.0}
BASE_SHARE = 0.03
RAMP = 6  # years from the onset to the end
BURST = 2  # years a burst lasts (the last ones)
CUTOFFS = (2, 4, 6)  # builds this many years after the onset (6: the whole corpus)
PLANTED_DOCS = 150  # documents of each planted topic, whatever the corpus
PLANTED = {"rising": "Keyword_Spotting", "fading": "Mamba", "bursting": "Federated_Learning"}
WANT = {"rising": "rising", "fading": "fading", "bursting": "rising"}
RISING = {"new", "emerging", "rising"}
FADING = {"declining", "fading"}


def base_corpus(name: str, seed: int) -> pd.DataFrame:
    """Real texts, real volume per year, years permuted across documents."""
    rng = np.random.default_rng(seed)
    if name == "arxiv":
        d = pd.read_parquet(ARXIV)
        d = d[~d["label"].isin(PLANTED.values()) & (d["n_labels"] == 1)]
        d = d.assign(year=d["date"].str[:4].astype(int)).query("2012 <= year <= 2025")
    else:
        d = pd.read_parquet(SHARED / "sotu_paragraphs.parquet").query("1946 <= year <= 2025")
        d = d.sample(frac=1, random_state=seed).groupby("year").head(20)
    d = d[["id", "text", "year"]].reset_index(drop=True)
    d["year"] = rng.permutation(d["year"].to_numpy())
    return d


def _sentences(label: str) -> list[str]:
    d = pd.read_parquet(ARXIV)
    d = d[(d["label"] == label) & (d["n_labels"] == 1)]
    return [s for t in d["text"] for s in re.split(r"(?<=\.)\s+", t) if len(s) > 40]


def shares(kind: str, years: list[int], r: float) -> dict[int, float]:
    """The planted topic's share of each year's volume."""
    onset = len(years) - RAMP
    out = {}
    for i, y in enumerate(years):
        step = max(0, i - onset + 1) / RAMP  # 0 before the onset, 1 in the last year
        if kind == "rising":
            out[y] = BASE_SHARE * (1 + (r - 1) * step)
        elif kind == "fading":
            out[y] = BASE_SHARE * r * (1 - (1 - 1 / r) * step)
        else:
            out[y] = BASE_SHARE * (r if i >= len(years) - BURST else 1)
    return out


def planted_counts(
    kind: str, volume: pd.Series, r: float, docs: int = PLANTED_DOCS
) -> dict[int, float]:
    """Expected documents of a planted topic per year: its share profile times the year's
    volume, scaled so that the topic has PLANTED_DOCS documents in all."""
    years = sorted(volume.index)
    raw = {y: s * volume.get(y, 0) for y, s in shares(kind, years, r).items()}
    total = sum(raw.values())
    return {y: docs * v / total for y, v in raw.items()}


def planted_corpus(
    base: pd.DataFrame, r: float, seed: int, docs: int = PLANTED_DOCS
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    volume = base["year"].value_counts().sort_index()
    rows = []
    for kind, label in PLANTED.items():
        pool = _sentences(label)
        for y, expected in planted_counts(kind, volume, r, docs).items():
            n = int(rng.poisson(expected))
            for j in range(n):
                text = " ".join(rng.choice(pool, 3, replace=False))
                rows.append({"id": f"plant-{kind}-{y}-{j}", "text": text, "year": y})
    return pd.concat([base, pd.DataFrame(rows)], ignore_index=True)


def run_build(
    docs: pd.DataFrame, root: Path, name: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One topictrends build: (documents' topics, trends, topic counts per year, hierarchy)."""
    path = root / f"{name}.csv"
    docs.assign(date=docs["year"].astype(str))[["id", "text", "date"]].to_csv(path, index=False)
    cfg = Config().with_overrides(
        {"embed": {"backend": "hashing"}, "reduce": {"ensemble": 2}, "time": {"period": "year"}}
    )
    run = open_run(build(str(path), cfg, Store(root / "cache"), name=name).run_dir)
    return (
        run.read_table("documents.parquet")[["doc_id", "topic"]],
        run.read_table("trends.parquet"),
        run.read_table("topics_over_time.parquet"),
        run.read_table("hierarchy.parquet"),
    )


Unit = tuple[int, ...]  # the topics a called unit covers (one for a topic)


def topictrends_calls(trends: pd.DataFrame, hierarchy: pd.DataFrame) -> dict[Unit, str]:
    """The headline calls: topics and hierarchy nodes (docs/trends.md, Themes)."""
    out: dict[Unit, str] = {}
    rows = [((int(t),), c, h) for t, c, h in trends[["topic", "category", "headline"]].values]
    if "headline" in hierarchy.columns:
        rows += [
            (tuple(int(x) for x in ts), c, h)
            for ts, c, h in hierarchy[["topics", "category", "headline"]].values
        ]
    for unit, c, head in rows:
        if head and c in RISING | FADING:
            out[unit] = "rising" if c in RISING else "fading"
    return out


def _topic_calls(calls: dict[int, str]) -> dict[Unit, str]:
    return {(t,): c for t, c in calls.items()}


DETECTORS = ("topictrends", "BERTrend", "Kleinberg", "oracle")
ALPHA = 0.05  # topictrends' default [trends] alpha, used by the oracle too


def oracle_hit(x: int, n: int, f: float, kind: str, units: int) -> bool:
    """The oracle's test: ``x`` of a plant's ``n`` documents fall in the window of its change,
    which holds the share ``f`` of all documents; one-sided exact binomial at alpha/units."""
    from scipy.stats import binomtest

    if n == 0:
        return False
    side = "less" if WANT[kind] == "fading" else "greater"
    return binomtest(x, n, f, alternative=side).pvalue < ALPHA / max(1, units)


def change_start(kind: str, onset: int) -> int:
    """The first year of a plant's change: the onset, or for a burst its first year."""
    return onset if kind != "bursting" else onset + RAMP - BURST


def oracle_found(docs: pd.DataFrame, onset: int, units: int) -> list[str]:
    """The planted kinds the oracle finds in ``docs`` (id, year; module docstring)."""
    last = int(docs["year"].max())
    found = []
    for kind in PLANTED:
        first = change_start(kind, onset)
        if last < first:
            continue  # the change has not begun in this cut
        mine = docs["id"].str.startswith(f"plant-{kind}-").to_numpy()
        inside = (docs["year"] >= first).to_numpy()
        if oracle_hit(
            int((mine & inside).sum()), int(mine.sum()), float(inside.mean()), kind, units
        ):
            found.append(kind)
    return found


def oracle_power(
    base: pd.DataFrame, r: float, planted_docs: int, units: int, draws: int = 300, seed: int = 0
) -> dict[str, float]:
    """How often the oracle finds each plant in the whole corpus over ``draws`` redraws of
    the planted counts (Poisson per year, as ``planted_corpus`` draws them): the power of
    the best test on these counts, less noisy than the one corpus the detectors see."""
    rng = np.random.default_rng(seed)
    volume = base["year"].value_counts().sort_index()
    years = np.array(sorted(volume.index))
    onset = years[len(years) - RAMP]
    expected = {
        k: np.array([planted_counts(k, volume, r, planted_docs)[y] for y in years]) for k in PLANTED
    }
    hits = dict.fromkeys(PLANTED, 0)
    for _ in range(draws):
        drawn = {k: rng.poisson(e) for k, e in expected.items()}
        total = volume.to_numpy() + sum(drawn.values())
        for kind, x in drawn.items():
            inside = years >= change_start(kind, onset)
            f = float(total[inside].sum() / total.sum())
            hits[kind] += oracle_hit(int(x[inside].sum()), int(x.sum()), f, kind, units)
    return {k: hits[k] / draws for k in PLANTED}


def calls_of(
    trends: pd.DataFrame, counts: pd.DataFrame, hierarchy: pd.DataFrame
) -> dict[str, dict[Unit, str]]:
    return {
        "topictrends": topictrends_calls(trends, hierarchy),
        "BERTrend": _topic_calls(bertrend_calls(counts)),
        "Kleinberg": _topic_calls(kleinberg_calls(counts)),
    }


def planted_topics(docs: pd.DataFrame) -> dict[str, dict[int, int]]:
    """Each planted kind's documents per topic (outliers left out)."""
    out = {}
    for kind in PLANTED:
        mine = docs[docs["doc_id"].str.startswith(f"plant-{kind}-")]
        out[kind] = {int(t): int(n) for t, n in mine["topic"].value_counts().items() if t >= 0}
        out[kind][-1] = int((mine["topic"] < 0).sum())
    return out


def score(
    calls: dict[Unit, str], planted: dict[str, dict[int, int]], sizes: dict[int, int]
) -> dict:
    """Right and false calls, and planted topics found, at one build (module docstring)."""
    found: set[str] = set()
    tp = 0
    for unit, call in calls.items():
        size = sum(sizes.get(t, 0) for t in unit)
        right = False
        for kind, per_topic in planted.items():
            held = sum(per_topic.get(t, 0) for t in unit)
            if WANT[kind] != call:
                continue
            if held > 0.5 * sum(per_topic.values()):
                found.add(kind)
                right = True
        same_way = sum(
            per_topic.get(t, 0)
            for kind, per_topic in planted.items()
            if WANT[kind] == call
            for t in unit
        )
        right = right or same_way > 0.5 * size
        tp += right
    return {"tp": tp, "fp": len(calls) - tp, "found": sorted(found)}


def evaluate(
    corpus: str, strength: str, seed: int, root: Path, planted_docs: int = PLANTED_DOCS
) -> dict:
    base = base_corpus(corpus, seed)
    full = planted_corpus(base, STRENGTHS[strength], seed, planted_docs)
    years = sorted(full["year"].unique())
    onset = years[len(years) - RAMP]
    out: dict = {
        "corpus": corpus,
        "strength": strength,
        "planted_docs": planted_docs,
        "documents": len(full),
        "by_cutoff": {},
    }
    for k in CUTOFFS:
        cut = full[full["year"] < onset + k] if k < RAMP else full
        docs, trends, counts, hier = run_build(cut, root, f"{corpus}-{strength}-{k}")
        planted = planted_topics(docs)
        sizes = {int(t): int(n) for t, n in docs["topic"].value_counts().items()}
        tested = hier["category"].notna().sum() if "category" in hier.columns else 0
        units = int(trends["topic"].nunique()) + int(tested)
        found = oracle_found(cut, onset, units)
        out["by_cutoff"][k] = {
            "planted": planted,
            "topics": int(trends["topic"].nunique()),
            "units": units,
            **{d: score(c, planted, sizes) for d, c in calls_of(trends, counts, hier).items()},
            "oracle": {"tp": len(found), "fp": 0, "found": found},
        }
    units = out["by_cutoff"][RAMP]["units"]
    out["oracle_power"] = oracle_power(base, STRENGTHS[strength], planted_docs, units, seed=seed)
    return out


def null_rate(corpus: str, seed: int, root: Path) -> dict[str, float]:
    _, trends, counts, hier = run_build(base_corpus(corpus, seed), root, f"{corpus}-null")
    n = max(1, trends["topic"].nunique())
    rates = {d: len(c) / n for d, c in calls_of(trends, counts, hier).items()}
    return rates | {"oracle": 0.0, "topics": n}  # the oracle tests planted documents only


def summary(results: list[dict], nulls: dict[str, dict]) -> list[dict]:
    rows = []
    for strength in dict.fromkeys(r["strength"] for r in results):
        for det in DETECTORS:
            tp = fp = planted = found = 0
            lags = []
            for r in (x for x in results if x["strength"] == strength):
                cut = {int(k): v for k, v in r["by_cutoff"].items()}  # str keys after JSON
                if det not in cut[RAMP]:
                    continue  # a results file from before the oracle
                final = cut[RAMP][det]
                tp, fp = tp + final["tp"], fp + final["fp"]
                planted += len(PLANTED)
                found += len(final["found"])
                for kind in final["found"]:
                    start = RAMP - BURST if kind == "bursting" else 0  # the burst's first year
                    seen = [k for k in CUTOFFS if k > start and kind in cut[k][det]["found"]]
                    lags.append(min(seen) - start)
            p = tp / (tp + fp) if tp + fp else 0.0
            rec = found / planted if planted else 0.0  # two right calls on one plant find one
            f1 = 2 * p * rec / (p + rec) if p + rec else 0.0
            rows.append(
                {
                    "strength": strength,
                    "detector": det,
                    "precision": round(p, 3),
                    "recall": round(rec, 3),
                    "f1": round(f1, 3),
                    "lag": round(float(np.mean(lags)), 2) if lags else None,
                    "null_fp": {c: round(v.get(det, 0.0), 3) for c, v in nulls.items()},
                }
            )
    return rows


def print_power(results: list[dict]) -> None:
    """The oracle's power per plant, and the recall it implies (its expected share found)."""
    print(
        "| corpus | strength | planted docs | rising | fading | bursting | expected oracle recall |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results:
        power = r.get("oracle_power")
        if power:
            cells = " | ".join(f"{power[k]:.2f}" for k in PLANTED)
            mean = float(np.mean(list(power.values())))
            docs = r.get("planted_docs", PLANTED_DOCS)
            print(f"| {r['corpus']} | {r['strength']} | {docs} | {cells} | {mean:.2f} |")
    print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", nargs="+", default=["arxiv", "sotu"])
    ap.add_argument("--strengths", nargs="+", default=list(STRENGTHS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--planted-docs",
        type=int,
        default=PLANTED_DOCS,
        help="documents of each planted topic (default %(default)s)",
    )
    ap.add_argument("--rescore", type=Path, nargs="+", help="score results files again, together")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "trends.json")
    args = ap.parse_args()
    t0 = time.perf_counter()
    if args.rescore:
        results, nulls = [], {}
        for path in args.rescore:
            saved = json.loads(path.read_text())
            results += saved["runs"]
            nulls |= saved["nulls"]
    else:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            nulls = {c: null_rate(c, args.seed, root) for c in args.corpora}
            results = [
                evaluate(c, s, args.seed, root, args.planted_docs)
                for s in args.strengths
                for c in args.corpora
            ]
    print_power(results)
    rows = summary(results, nulls)
    print("| strength | detector | precision | recall | F1 | lag (years) | null FP rate |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        null = ", ".join(f"{c} {v:.1%}" for c, v in r["null_fp"].items())
        print(
            f"| {r['strength']} | {r['detector']} | {r['precision']:.2f} | {r['recall']:.2f} "
            f"| {r['f1']:.2f} | {r['lag'] if r['lag'] is not None else '-'} | {null} |"
        )
    out = args.out
    out.parent.mkdir(exist_ok=True)
    payload = {
        "summary": rows,
        "runs": results,
        "nulls": nulls,
        "seconds": time.perf_counter() - t0,
    }
    out.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"\n{time.perf_counter() - t0:.0f} s; details in {out}")


if __name__ == "__main__":
    main()
