"""BERTopic is imported without torch when the build does not need it (issue 5, speed)."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json, sys, tempfile
    from pathlib import Path
    import numpy as np
    from pipeline.stages.represent import import_bertopic, save_model
    import_bertopic()
    loaded_after_import = sorted(
        m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules
    )
    from bertopic import BERTopic
    from bertopic.cluster import BaseCluster
    from bertopic.dimensionality import BaseDimensionalityReduction
    docs = [f"apple banana {i}" for i in range(20)] + [f"rocket orbit {i}" for i in range(20)]
    y = np.array([0] * 20 + [1] * 20)
    emb = np.random.default_rng(0).normal(size=(40, 8)).astype(np.float32)
    model = BERTopic(umap_model=BaseDimensionalityReduction(), hdbscan_model=BaseCluster())
    model.fit_transform(docs, embeddings=emb, y=y)
    out = Path(tempfile.mkdtemp())
    save_model(model, out)
    import torch  # still importable afterwards
    print(json.dumps({
        "loaded": loaded_after_import,
        "saved": sorted(p.name for p in out.iterdir()),
        "topic0": [w for w, _ in model.get_topic(0)][:2],
        "torch_ok": torch.tensor([1.0]).item() == 1.0,
    }))
    """
)


def test_bertopic_imports_without_the_torch_stack_and_still_saves() -> None:
    import json

    res = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=300
    )
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["loaded"] == []
    assert "topic_embeddings.safetensors" in out["saved"]
    assert "ctfidf.safetensors" in out["saved"]
    assert set(out["topic0"]) <= {"apple", "banana", "rocket", "orbit"}
    assert out["torch_ok"]


def test_bertopic_import_keeps_torch_when_already_loaded() -> None:
    code = (
        "import sys, torch; from pipeline.stages.represent import import_bertopic; import_bertopic();"
        "import bertopic._save_utils as s; print(s._has_torch)"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert res.stdout.strip().splitlines()[-1] == "True"
