"""Paper boilerplate in keywords ([represent] boilerplate), on the TUNING halves only.

    python bench/boilerplate.py --cache-dir /tmp/stop/cache --fits-dir /tmp/stop/fits \
        --corpora trending arxiv sotu --seeds 1 11 21 --out /tmp/stop/final.json

For each corpus's tuning half and seed: one topictrends clustering on the static
embeddings (kept in ``--fits-dir``, reused), then the topics' keywords with boilerplate
"papers" (the fixed list), "none" and "auto" (the default), optionally "auto" at other
lifts (``--lifts``). Prints NPMI and diversity (``bench/quality.py``'s) and the listed
words "auto" keeps; writes every variant's keywords and labels and each listed word's
document count and highest lift to ``--out``, for reading.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench.quality as q  # noqa: E402
from pipeline.config import Config, IngestConfig, stable_hash  # noqa: E402
from pipeline.flows.run import Run  # noqa: E402
from pipeline.progress import SilentReporter  # noqa: E402
from pipeline.stages import phrases  # noqa: E402
from pipeline.stages.embed import encode  # noqa: E402
from pipeline.stages.ingest import ingest, resolve_input  # noqa: E402
from pipeline.stages.represent import fit_representation  # noqa: E402
from pipeline.store.cache import Store  # noqa: E402


def lifts(texts: list[str], labels: np.ndarray) -> dict[str, dict]:
    """Each listed word's document count, highest lift over the topics and count there."""
    voc, held, size = phrases.concentration(texts, labels, phrases.PAPER_STOP_WORDS)
    lift, held = phrases.lift(held, size)[:-1], held[:-1]  # the topics, not the outliers
    out = {}
    for i, w in enumerate(voc):
        t = int(lift[:, i].argmax()) if len(lift) else 0
        best = float(lift[t, i]) if len(lift) else 0.0
        out[w] = {
            "df": int(held[:, i].sum()),
            "max_lift": round(best, 2),
            "held_there": int(held[t, i]),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", nargs="+", choices=list(q.CORPORA), default=list(q.CORPORA))
    ap.add_argument("--seeds", nargs="+", type=int, default=[1])
    ap.add_argument("--lifts", nargs="*", type=float, default=[])
    ap.add_argument("--cache-dir", required=True)
    ap.add_argument("--fits-dir", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    cfg = Config().with_overrides({"embed": {"backend": "static"}})
    store, default_lift, out = Store(Path(a.cache_dir)), phrases.BOILERPLATE_LIFT, {}
    for name in a.corpora:
        path, run_name = resolve_input(q.CORPORA[name])
        corpus = ingest(path, run_name, IngestConfig())
        keep = q.split_mask(corpus.docs, "tune")
        ids = corpus.docs[keep]["doc_id"].tolist()
        texts = [t for t, k in zip(corpus.texts, keep, strict=True) if k]
        ctx = Run(store, cfg, SilentReporter()).context({})
        emb = encode(ctx, texts)
        matrix, vocab = q.reference_matrix(texts)
        for seed in a.seeds:
            labels, _ = q.ours(texts, emb, ids, seed, ctx, cfg, {}, a.fits_dir)
            what = [
                cfg.reduce.model_copy(update={"seed": seed}).key(),
                cfg.cluster.key(),
                cfg.embed.key(),
                ids,
            ]
            xy = np.load(Path(a.fits_dir) / f"labels-{stable_hash(what)}.npz")["xy"]
            variants = {"papers": ("papers", default_lift), "none": ("none", default_lift)}
            variants |= {"auto": ("auto", default_lift)} | {
                f"auto-l{x:g}": ("auto", x) for x in a.lifts
            }
            res = {}
            for vname, (mode, lift) in variants.items():
                phrases.BOILERPLATE_LIFT = lift
                t0 = time.perf_counter()
                rep = fit_representation(
                    texts, emb, labels, xy, ids, functools.partial(encode, ctx),
                    cfg.represent.model_copy(update={"boilerplate": mode}), seed=seed,
                )  # fmt: skip
                kws = [list(k) for k in rep.topics["keywords"]]
                kept = None
                if mode == "auto":
                    kept = sorted(
                        phrases.PAPER_STOP_WORDS - phrases.boilerplate_words(texts, labels)
                    )
                res[vname] = {
                    "npmi": q.npmi(kws, matrix, vocab), "diversity": q.diversity(kws), "kept_words": kept,
                    "sizes": rep.topics["size"].tolist(), "labels": rep.topics["label"].tolist(), "keywords": kws,
                }  # fmt: skip
                print(
                    f"[{name} s{seed}] {vname}: npmi {res[vname]['npmi']:.4f} div {res[vname]['diversity']:.3f} "
                    f"topics {len(kws)} kept {kept} ({time.perf_counter() - t0:.0f}s)",
                    flush=True,
                )
            phrases.BOILERPLATE_LIFT = default_lift
            out[f"{name}/{seed}"] = {
                "variants": res,
                "lifts": lifts(texts, labels),
                "documents": len(texts),
            }
            Path(a.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
