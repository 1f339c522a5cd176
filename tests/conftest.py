"""Shared fixtures: planted-topic corpora and a fast, model-free config."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import Config, EmbedConfig

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "corpora"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

PLANTED_VOCAB: dict[str, list[str]] = {
    "astronomy": [
        "galaxy",
        "telescope",
        "stellar",
        "orbit",
        "planet",
        "cosmic",
        "nebula",
        "supernova",
        "redshift",
        "quasar",
        "exoplanet",
        "spectrograph",
        "pulsar",
        "asteroid",
        "comet",
        "luminosity",
    ],
    "cooking": [
        "recipe",
        "flour",
        "butter",
        "oven",
        "simmer",
        "garlic",
        "saucepan",
        "dough",
        "roast",
        "spice",
        "pastry",
        "knead",
        "broth",
        "vinegar",
        "caramel",
        "skillet",
    ],
    "finance": [
        "equity",
        "bond",
        "dividend",
        "portfolio",
        "inflation",
        "liquidity",
        "hedge",
        "volatility",
        "yield",
        "merger",
        "brokerage",
        "currency",
        "treasury",
        "credit",
        "auditor",
        "ledger",
    ],
    "genetics": [
        "genome",
        "allele",
        "chromosome",
        "mutation",
        "sequencing",
        "protein",
        "enzyme",
        "phenotype",
        "transcription",
        "rna",
        "dna",
        "mitosis",
        "heredity",
        "genotype",
        "codon",
        "ribosome",
    ],
    "football": [
        "striker",
        "goalkeeper",
        "penalty",
        "midfielder",
        "league",
        "stadium",
        "referee",
        "tackle",
        "offside",
        "dribble",
        "corner",
        "championship",
        "coach",
        "transfer",
        "scorer",
        "kickoff",
    ],
}
COMMON = [
    "the",
    "study",
    "of",
    "this",
    "field",
    "shows",
    "many",
    "new",
    "results",
    "about",
    "how",
    "people",
    "think",
    "and",
    "what",
    "they",
    "report",
    "in",
    "general",
]


def planted_corpus(n_per_topic: int = 40, seed: int = 0, dated: bool = True) -> pd.DataFrame:
    """Documents from 5 topics with disjoint vocabularies, plus shared filler words."""
    rng = random.Random(seed)
    rows = []
    for t, (topic, vocab) in enumerate(PLANTED_VOCAB.items()):
        for i in range(n_per_topic):
            words = rng.choices(vocab, k=25) + rng.choices(COMMON, k=8)
            rng.shuffle(words)
            rows.append(
                {
                    "id": f"{topic}-{i}",
                    "title": " ".join(rng.choices(vocab, k=4)).capitalize(),
                    "abstract": " ".join(words) + ".",
                    "date": f"2023-{(i % 12) + 1:02d}-{(t + i) % 27 + 1:02d}",
                    "planted": topic,
                    "venue": rng.choice(["A", "B", "C"]),
                }
            )
    df = pd.DataFrame(rows)
    if not dated:
        df = df.drop(columns=["date"])
    return df.sample(frac=1, random_state=seed).reset_index(drop=True)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``topictrends ARGV`` in process: exit status, stdout, stderr."""
    from pipeline.cli import main

    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    got = capsys.readouterr()
    return code, got.out, got.err


@pytest.fixture
def fast_config() -> Config:
    """Model-free embeddings and a 2-run ensemble: exercises every code path in seconds."""
    return Config().with_overrides({"embed": {"backend": "hashing"}, "reduce": {"ensemble": 2}})


@pytest.fixture
def planted_csv(tmp_path: Path) -> Path:
    path = tmp_path / "planted.csv"
    planted_corpus().to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def trending_real_build(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """The trending papers built once per session with the real all-MiniLM-L6-v2.

    Embedding the 265 abstracts is most of a real-model build (~15 s on 2 cores); the
    product-path test checks this build and the int8 test compares against the fp32 vectors
    it left in the embedding cache, instead of each running the transformer again.
    Returns (store, build result).
    """
    from pipeline.flows import build
    from pipeline.store.cache import Store

    store = Store(tmp_path_factory.mktemp("real-trending") / "cache")
    return store, build("hf-trending-papers", Config(), store)


from tests.update_corpus import base_run  # noqa: E402, F401 - the fixture, for every module


def fake_distill(calls: list[Path]):  # noqa: ANN202
    """Stand-in for distill_static: random vectors over the bundled tokenizer, same files."""

    def distill(cfg: EmbedConfig, target: Path) -> Path:
        import numpy as np
        from model2vec import StaticModel
        from tokenizers import Tokenizer

        from pipeline.stages import embed
        from pipeline.store.cache import atomic_dir

        calls.append(target)
        tok = Tokenizer.from_file(str(embed.model_path() / "tokenizer.json"))
        vectors = np.random.default_rng(0).standard_normal((tok.get_vocab_size(), cfg.static_dims))
        model = StaticModel(vectors=vectors.astype(np.float32), tokenizer=tok, normalize=True)
        with atomic_dir(target) as tmp:
            model.save_pretrained(tmp)
        return target

    return distill


@pytest.fixture
def fake_static(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The static backend with ``fake_distill``'s model: the targets it was distilled to."""
    from pipeline.stages import embed
    from pipeline.stages.embed import StaticEmbedder

    calls: list[Path] = []
    monkeypatch.setattr(embed, "distill_static", fake_distill(calls))
    monkeypatch.setattr(StaticEmbedder, "_models", {})
    return calls
