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
