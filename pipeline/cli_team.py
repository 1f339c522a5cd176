"""The team commands of the CLI: ``curate`` (audited topic edits) and ``digest``.

Registered on the one ``topictrends`` app by ``register``; kept apart so ``cli.py`` stays
small. Both read a run through the curation overlay (``pipeline.curation.view``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from pipeline.cli_options import CacheDirOpt, err, out
from pipeline.errors import UserError
from pipeline.store.names import check_run_name

CURATE_USAGE = (
    "ACTION is one of: rename TOPIC LABEL, merge TOPIC INTO, hide TOPIC, unhide TOPIC, "
    "note TOPIC TEXT, undo, log"
)
ARITY = {"rename": 2, "merge": 2, "hide": 1, "unhide": 1, "note": 2, "undo": 0, "log": 0}

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="TOML file whose \\[curation] (and \\[alerts]) tables apply (docs/config.md).",
    ),
]


def open_named_run(cache_dir: Path | None, run: str):  # noqa: ANN201 - (Store, RunHandle)
    """The store and the run's current build, or one line naming the runs there are."""
    from pipeline.store.artifacts import open_run
    from pipeline.store.cache import Store, cache_root

    check_run_name(run, "RUN")
    store = Store(cache_root(cache_dir))
    path = store.run_path(run)
    if not path.exists():
        names = ", ".join(p.name for p in store.list_runs()) or "none"
        raise UserError(f"{path}: no run named '{run}'. Runs: {names}.")
    return store, open_run(path)


def curation_place(root: Path, config: Path | None):  # noqa: ANN201 - Place
    from pipeline.config import load_config
    from pipeline.curation.edit import locate

    return locate(root, load_config(config).curation.dir if config else None)


def _topic(value: str, what: str = "TOPIC") -> int:
    try:
        return int(value)
    except ValueError:
        raise UserError(
            f"{what} {value!r} is not a topic number (see `topictrends topics RUN`)"
        ) from None


def curate(
    run: Annotated[
        str, typer.Argument(help="Run name (see `topictrends runs`).", show_default=False)
    ],
    action: Annotated[str, typer.Argument(help=CURATE_USAGE, show_default=False)],
    args: Annotated[
        list[str] | None,
        typer.Argument(help="The action's topic ids and text.", show_default=False),
    ] = None,
    cache_dir: CacheDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Edit a run's topics as a team: rename, merge, hide, note, undo; or show the log.

    Edits go into an append-only log (who, when, what, the value before) and are applied
    whenever the run is read (dashboard, `topics`, digests); the run itself is never
    rewritten, and edits follow topics through `update` and `build --refit`
    (docs/curation.md).
    """
    from pipeline.curation.edit import edit
    from pipeline.curation.log import local_user, read_log

    args = list(args or [])
    if action not in ARITY:
        raise UserError(f"unknown action {action!r}. {CURATE_USAGE}.")
    if len(args) != ARITY[action]:
        raise UserError(
            f"{action} takes {ARITY[action]} argument(s), got {len(args)}. {CURATE_USAGE}."
        )
    store, handle = open_named_run(cache_dir, run)
    place = curation_place(store.root, config)
    if action == "log":
        print_log(read_log(place.directory, run), handle)
        return
    topics = handle.read_table("topics.parquet")
    from pipeline.store.contract import HISTORY_FILE, LINEAGE_FILE

    lineage = handle.read_table(LINEAGE_FILE) if handle.has(LINEAGE_FILE) else None
    history = handle.read_table(HISTORY_FILE) if handle.has(HISTORY_FILE) else None
    topic = _topic(args[0]) if args else None
    into = _topic(args[1], "INTO") if action == "merge" else None
    value = args[1] if action in ("rename", "note") else None
    entry = edit(
        place,
        run,
        handle.manifest,
        topics,
        local_user(),
        action,
        topic,
        into,
        value,
        lineage,
        history,
    )
    out.print(Text(describe(entry)))


def describe(e) -> str:  # noqa: ANN001 - Entry
    """One line for an entry, as `curate` prints it and `curate log` lists it."""
    if e.action == "rename":
        return f"topic {e.topic}: renamed {e.before!r} -> {e.value!r}"
    if e.action == "merge":
        return f"topic {e.topic} merged into topic {e.into}"
    if e.action in ("hide", "unhide"):
        return f"topic {e.topic}: {'hidden' if e.action == 'hide' else 'shown again'}"
    if e.action == "note":
        return f"topic {e.topic}: note {e.value!r}"
    return f"undid the {e.before} of topic {e.topic}"


def print_log(entries: list, handle) -> None:  # noqa: ANN001 - RunHandle
    """The log, oldest first, with each entry's status on the current build."""
    from pipeline.curation.view import curated_run

    if not entries:
        err.print(f"no curation edits for run '{handle.name}'")
        return
    view = curated_run(handle, entries)
    undone = {e.target for e in entries if e.action == "undo"}
    orphans = {e.id for e in view.overlay.state.orphans}
    table = Table("id", "when", "who", "step", "edit", "status", box=None)
    for e in entries:
        status = (
            "undone"
            if e.id in undone
            else "topic gone"
            if e.id in orphans
            else ""
            if e.action == "undo"
            else "in effect"
        )
        table.add_row(*(Text(str(c)) for c in (e.id, e.at, e.who, e.step, describe(e), status)))
    out.print(table)
    for t, why in sorted(view.overlay.state.review.items()):
        err.print(Text(f"review topic {t}: {why} since it was edited"))


def topics(
    run: Annotated[
        str, typer.Argument(help="Run name (see `topictrends runs`).", show_default=False)
    ],
    cache_dir: CacheDirOpt = None,
    limit: Annotated[int, typer.Option(min=0, help="Show at most this many topics (0 = all).")] = 0,
    config: ConfigOpt = None,
) -> None:
    """Print the topic table of a run as curated (docs/curation.md): id, label, size, share, keywords."""
    from pipeline.curation.log import read_log
    from pipeline.curation.view import curated_run

    store, handle = open_named_run(cache_dir, run)
    df = curated_run(handle, read_log(curation_place(store.root, config).directory, run)).topics
    table = Table("topic", "label", "size", "share", "keywords", box=None)
    for r in df.head(limit or len(df)).itertuples():
        mark = " *" if r.curated else ""  # a curated label (or merge): `curate RUN log`
        table.add_row(
            str(r.topic),
            Text(r.label + mark),
            str(r.size),
            f"{r.share:.1%}",
            ", ".join(list(r.keywords)[:8]),
        )
    out.print(table)


MATCH_EXIT = 3  # --fail-on-match: a watched topic moved (0 otherwise)


def digest(
    run: Annotated[
        str, typer.Argument(help="Run name (see `topictrends runs`).", show_default=False)
    ],
    since: Annotated[
        str | None,
        typer.Option(
            help="Recent window: the complete periods from the one holding this date (YYYY-MM-DD)."
        ),
    ] = None,
    last: Annotated[
        int | None, typer.Option(min=1, help="Recent window: the last N complete periods.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="md, html, json or rss.")] = "md",
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write here instead of stdout.", show_default=False)
    ] = None,
    smtp: Annotated[
        str | None,
        typer.Option(
            help="Mail the digest through HOST:PORT (STARTTLS; $TOPICTRENDS_SMTP_USER/_PASSWORD)."
        ),
    ] = None,
    to: Annotated[list[str] | None, typer.Option(help="Recipient (repeat for more).")] = None,
    fail_on_match: Annotated[
        bool,
        typer.Option(
            "--fail-on-match", help=f"Exit {MATCH_EXIT} when a watched topic moved (for cron)."
        ),
    ] = False,
    cache_dir: CacheDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """What is new, emerging, rising and fading in a run, and what changed since the last digest.

    Curated labels, merges and hides apply; \\[alerts] watch (in --config) puts watched
    topics first (docs/digests.md).
    """
    import datetime as dt

    from pipeline.config import load_config
    from pipeline.curation.log import read_log
    from pipeline.curation.view import curated_run
    from pipeline.digest import render, state
    from pipeline.digest.content import build_digest

    if fmt not in render.FORMATS:
        raise UserError(f"--format {fmt!r}: use one of {', '.join(render.FORMATS)}")
    if since is not None and last is not None:
        raise UserError("--since and --last both set the window; give one of them")
    try:
        since_date = dt.date.fromisoformat(since) if since else None
    except ValueError:
        raise UserError(f"--since {since!r}: write a date as YYYY-MM-DD") from None
    store, handle = open_named_run(cache_dir, run)
    place = curation_place(store.root, config)
    watch = load_config(config).alerts.watch if config else ()
    view = curated_run(handle, read_log(place.directory, run))
    previous = state.previous_step(place, run)
    d = build_digest(view, watch, since_date, last, since_step=previous)
    text = render.FORMATS[fmt](d)
    if out_file is not None:
        state.write_atomic(out_file, text)
        err.print(f"digest written to {out_file}")
    elif smtp is None:
        print(text, end="")
    if smtp is not None:
        from pipeline.digest.send import send

        send(d, smtp, list(to or []))
        err.print(f"digest sent to {', '.join(to or [])}")
    state.record(place, run, d)
    if fail_on_match and d["matches"]:
        err.print(f"{len(d['matches'])} watched topic(s) moved")
        raise typer.Exit(MATCH_EXIT)


def register(app: typer.Typer) -> None:
    app.command()(topics)
    app.command()(curate)
    app.command()(digest)
