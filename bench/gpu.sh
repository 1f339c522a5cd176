#!/usr/bin/env bash
# Embedding throughput of all-MiniLM-L6-v2 on CUDA against the CPU ([embed] device).
#
#   bench/gpu.sh [N_DOCS]        (default 4000: the arXiv abstracts from ../shared)
#
# Needs a CUDA build of torch and a GPU torch can see; prints one markdown row per device
# (documents per second, after a warm-up batch so that loading the model is not counted)
# and the smallest cosine between the two devices' vectors of the same text.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
N="${1:-4000}" PYTHONPATH="$PWD" "$PY" - <<'PY'
import os, sys, time
import numpy as np, pandas as pd, torch
from pathlib import Path
from pipeline.config import EmbedConfig
from pipeline.stages.embed import TransformerEmbedder, available_cpus

if not torch.cuda.is_available():
    sys.exit("bench/gpu.sh: torch sees no GPU here (torch.cuda.is_available() is False)")
n = int(os.environ["N"])
corpus = Path("..") / "shared" / "corpora" / "arxiv_topic_labelled.parquet"
texts = pd.read_parquet(corpus)["text"].tolist()
texts = [texts[i % len(texts)] for i in range(n)]
out = {}
print(f"{n} arXiv abstracts, all-MiniLM-L6-v2 fp32, max_seq_length 256, "
      f"{torch.cuda.get_device_name(0)}, {available_cpus()} CPUs\n")
print("| device | batch | seconds | docs/s |\n|---|---|---|---|")
for device, batch in (("cuda", 256), ("cpu", 32)):
    emb = TransformerEmbedder(EmbedConfig(device=device, batch_size=batch))
    emb.encode(texts[:batch])  # load the model and warm up
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    out[device] = emb.encode(texts)
    dt = time.perf_counter() - t0
    print(f"| {device} | {batch} | {dt:.1f} | {n / dt:,.0f} |")
cos = (out["cuda"] * out["cpu"]).sum(axis=1)
print(f"\nsmallest cosine CUDA vs CPU: {cos.min():.6f}")
PY
