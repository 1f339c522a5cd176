"""What every ``topictrends`` command shares: the two consoles and the ``--cache-dir`` option.

One place, so ``cli.py`` and ``cli_team.py`` print to the same streams and describe the
cache root in the same words.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

out = Console(soft_wrap=True)  # results: stdout
err = Console(stderr=True)  # progress and logs: stderr

CacheDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        help="Cache root. Default: $TOPICTRENDS_CACHE, else ./cache.",
        show_default=False,
    ),
]


# `topictrends build`'s argument and options, one alias each so its signature stays readable.

InputArg = Annotated[
    str,
    typer.Argument(
        help="Corpus file (.txt trending page, .csv, .tsv, .jsonl, .json, .parquet) or a bundled corpus name: hf-trending-papers, arxiv-sample.",
        show_default=False,
    ),
]

NameOpt = Annotated[
    str | None,
    typer.Option(
        help="Run name: 1-100 letters, digits, '.', '_' or '-', not starting with '.' or '-'. "
        "Default: made from the file name, or the bundled corpus name."
    ),
]

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="TOML config file with \\[ingest], \\[embed], \\[reduce], \\[cluster], \\[represent], \\[time], \\[trends], \\[hierarchy], \\[update], \\[scale], \\[curation], \\[alerts], \\[llm], \\[engine] tables (docs/config.md). Flags override it.",
    ),
]

TextColOpt = Annotated[
    str | None,
    typer.Option(help="Column with the document body. Default: abstract/text/body/content..."),
]

TitleColOpt = Annotated[
    str | None, typer.Option(help="Column with the title ('none' for no title).")
]

DateColOpt = Annotated[
    str | None,
    typer.Option(
        help="Column with the date ('none' to ignore dates). Default: date/published/created/year."
    ),
]

IdColOpt = Annotated[
    str | None,
    typer.Option(help="Column with a stable document id. Default: id/doc_id; else content hashes."),
]

UrlColOpt = Annotated[
    str | None, typer.Option(help="Column with a link. Default: url/link/source_url.")
]

DateFormatOpt = Annotated[
    str | None,
    typer.Option(help="strftime format for dates auto-detection cannot read, e.g. '%d/%m/%Y'."),
]

BackendOpt = Annotated[
    str | None,
    typer.Option(
        help="Embedding backend: sentence-transformers (default, all-MiniLM-L6-v2 offline), static (model2vec distilled from it locally, far faster) or hashing (fast, no model)."
    ),
]

MinClusterSizeOpt = Annotated[
    int | None,
    typer.Option(help="HDBSCAN minimum topic size. Default: adapted to corpus size."),
]

NNeighborsOpt = Annotated[
    int | None, typer.Option(help="UMAP neighbours. Default: adapted to corpus size.")
]

SeedOpt = Annotated[int | None, typer.Option(help="Random seed for UMAP (default 42).")]

PeriodOpt = Annotated[
    str | None,
    typer.Option(help="Topics-over-time bin: auto, week, month, quarter, year, decade."),
]

ForceOpt = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Rebuild the run even if input and config are unchanged (stage caches are still used).",
    ),
]

RefitOpt = Annotated[
    bool,
    typer.Option(
        "--refit",
        help="Refit from scratch, then keep the previous build's topic ids wherever a topic is the same, and write lineage.parquet (docs/updates.md).",
    ),
]

PreviewOpt = Annotated[
    bool,
    typer.Option(
        "--preview",
        help="Before the run's first build: build and publish a preview with the static backend (view it with topictrends serve), then refine it with the configured backend as a refit (docs/scale.md).",
    ),
]

VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Log each step.")]
