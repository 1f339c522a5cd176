"""The ``topictrends`` command line: build runs, list them, show topics, serve the dashboard.

Progress bars and logs go to stderr; results (tables, the run directory) go to stdout, so
``topictrends build corpus.csv | tail -1`` is the run directory. A ``UserError`` prints one
line and exits 2 with no traceback.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from pipeline.cli_options import (
    BackendOpt,
    CacheDirOpt,
    ConfigOpt,
    DateColOpt,
    DateFormatOpt,
    ForceOpt,
    IdColOpt,
    InputArg,
    MinClusterSizeOpt,
    NameOpt,
    NNeighborsOpt,
    PeriodOpt,
    PreviewOpt,
    RefitOpt,
    SeedOpt,
    TextColOpt,
    TitleColOpt,
    UrlColOpt,
    VerboseOpt,
    err,
    out,
)
from pipeline.errors import UserError, one_line, os_error_line, own_sigint, usage_line
from pipeline.progress import RichReporter, drop_progress, quiet_libraries, setup_logging
from pipeline.store.names import check_run_name

app = typer.Typer(
    name="topictrends",
    help="See what a stream of documents is about and how that changes over time.\n\n"
    "Build a run from a corpus file (or a bundled corpus), then open the dashboard.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
log = logging.getLogger("topictrends")


def _store(cache_dir: Path | None):  # noqa: ANN202
    from pipeline.store.cache import Store, cache_root

    root = cache_root(cache_dir)
    if root.exists() and not root.is_dir():
        raise UserError(
            f"{root}: the cache root is not a directory. Pass a directory to --cache-dir."
        )
    return Store(root)


@app.command()
def build(
    input: InputArg = "hf-trending-papers",
    name: NameOpt = None,
    config: ConfigOpt = None,
    cache_dir: CacheDirOpt = None,
    text_col: TextColOpt = None,
    title_col: TitleColOpt = None,
    date_col: DateColOpt = None,
    id_col: IdColOpt = None,
    url_col: UrlColOpt = None,
    date_format: DateFormatOpt = None,
    backend: BackendOpt = None,
    min_cluster_size: MinClusterSizeOpt = None,
    n_neighbors: NNeighborsOpt = None,
    seed: SeedOpt = None,
    period: PeriodOpt = None,
    force: ForceOpt = False,
    refit: RefitOpt = False,
    preview: PreviewOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Build a run: ingest, embed, reduce, cluster, describe topics, topics over time, hierarchy.

    Every stage is cached under a key of its inputs and its config section, so an unchanged
    rebuild recomputes nothing and a changed clustering knob reuses embeddings and UMAP.
    With --refit the new topics are matched to the run's current ones and keep their ids.
    The last line of stdout is the run directory.
    """
    if name is not None:
        check_run_name(name, "--name")
    quiet_libraries()
    setup_logging(err, verbose)
    from pipeline.config import load_config
    from pipeline.flows import build as run_build
    from pipeline.stages.executor import make_executor

    cfg = load_config(config).with_overrides(
        {
            "ingest": {
                "text_col": text_col,
                "title_col": title_col,
                "date_col": date_col,
                "id_col": id_col,
                "url_col": url_col,
                "date_format": date_format,
            },
            "embed": {"backend": backend},
            "reduce": {"n_neighbors": n_neighbors, "seed": seed},
            "cluster": {"min_cluster_size": min_cluster_size},
            "time": {"period": period},
        }
    )
    reporter = RichReporter(err)
    with reporter.progress:
        try:
            store, executor = _store(cache_dir), make_executor(cfg.engine)
            if preview and refit:
                raise UserError("--preview already refits its preview: pass one of them.")
            if preview:
                result = _preview_build(input, cfg, store, name, force, reporter, executor)
            else:
                result = run_build(
                    input, cfg, store, name, force, reporter, refit=refit, executor=executor
                )
        except BaseException:
            drop_progress(reporter.progress)
            raise
    _print_build(result)
    print(result.run_dir)


def _print_build(result: Any) -> None:
    """The build summary on stdout (up to date, counts, titles, dates, stage times)."""
    m = result.manifest
    c = m["counts"]
    if result.up_to_date:
        err.print(
            f"[green]up to date[/]: input and config unchanged since {m['created_at']} (use --force to rebuild)"
        )
    timing = ", ".join(
        f"{k} {v['seconds']:.1f}s{' (cached)' if v.get('cached') else ''}"
        for k, v in result.timings.items()
        if v.get("seconds") is not None
    )
    out.print(f"run: {m['run']}")
    out.print(
        f"documents: {c['documents']} (dropped {m['corpus']['dropped_empty']} empty, {m['corpus']['dropped_duplicate']} duplicate)"
    )
    _print_titles(m)
    out.print(f"topics: {c['topics']}, outlier share {c['outlier_share']:.1%}")
    out.print(
        f"dates: {' .. '.join(m['date_span']) + ' by ' + str(m['period']) if m.get('date_span') else 'none (' + str(m.get('trends_absent_reason')) + ')'}"
    )
    out.print(f"time: {timing}")
    _print_update(m)


def _print_titles(m: dict[str, Any]) -> None:
    """The line on titles a build or update modelled differently from its text, if any."""
    from pipeline.stages.titles import recorded

    if (choice := recorded(m)) is not None and (line := choice.line()):
        out.print(line, markup=False, soft_wrap=True)


def _preview_build(input: str, cfg: Any, store: Any, *args: Any) -> Any:
    """``build --preview`` (``args``: name, force, reporter, executor): say when the preview
    can be viewed, or why there is none."""
    from pipeline.flows.preview import build_with_preview

    def ready(first: Any) -> None:
        m = first.manifest
        err.print(
            f"preview ready: run {m['run']}, {m['counts']['topics']} topics from static "
            "embeddings; view it with topictrends serve while the refined build runs",
            markup=False,
            soft_wrap=True,
        )

    done = build_with_preview(input, cfg, store, *args, on_preview=ready)
    if done.skipped:
        err.print(f"no preview: {done.skipped}; building normally", markup=False, soft_wrap=True)
    return done.result


def _print_update(m: dict[str, Any]) -> None:
    """One line on how this build relates to the one before (update and refit only)."""
    u = m.get("update") or {}
    if u.get("kind") in ("update", "refit"):
        new = ", ".join(str(t) for t in u.get("new_topics", [])) or "none"
        out.print(
            f"{u['kind']} step {u['step']}: {u['new_documents']} new documents, "
            f"{u['ids_kept']}/{u['ids_previous']} topic ids kept, new topics: {new}"
        )


@app.command()
def update(
    run: Annotated[
        str, typer.Argument(help="Run name (see `topictrends runs`).", show_default=False)
    ],
    input: Annotated[
        str,
        typer.Argument(
            help="Corpus file with the new documents (may also hold the old ones: they are skipped by id and by content).",
            show_default=False,
        ),
    ],
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="TOML file whose \\[update] table replaces the run's and whose \\[engine] table says where the new documents are embedded (docs/config.md); every other table is the run's own.",
        ),
    ] = None,
    cache_dir: CacheDirOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Add new documents to a run without refitting: topic ids and labels stay.

    New documents are embedded (only they), join the nearest existing topic when similar
    enough, and those that fit none may form new topics; trend scores are recomputed and
    lineage.parquet records the step. Nothing new: nothing is written. The last line of
    stdout is the run directory.
    """
    check_run_name(run, "RUN")
    quiet_libraries()
    setup_logging(err, verbose)
    from pipeline.flows import update as run_update
    from pipeline.stages.executor import InProcessExecutor, make_executor

    update_cfg, executor = None, InProcessExecutor()
    if config is not None:
        from pipeline.config import load_config

        loaded = load_config(config)
        update_cfg, executor = loaded.update, make_executor(loaded.engine)
    store = _store(cache_dir)
    reporter = RichReporter(err)
    with reporter.progress:
        try:
            result = run_update(
                run, input, store, update_cfg=update_cfg, reporter=reporter, executor=executor
            )
        except BaseException:
            drop_progress(reporter.progress)
            raise
    m = result.manifest
    if result.up_to_date:
        err.print(f"[green]up to date[/]: no new documents in {input} for run '{run}'")
    else:
        c = m["counts"]
        out.print(f"run: {m['run']}")
        out.print(f"documents: {c['documents']}, topics: {c['topics']}")
        _print_titles(m)
        _print_update(m)
    print(result.run_dir)


@app.command()
def runs(cache_dir: CacheDirOpt = None) -> None:
    """List the cached runs: name, documents, topics, date span, built at."""
    from pipeline.errors import CacheError
    from pipeline.store.artifacts import open_run, summary_row

    store = _store(cache_dir)
    paths = store.list_runs()
    if not paths:
        err.print(
            f"no runs under {store.root}. Build one with: topictrends build hf-trending-papers"
        )
        return
    table = Table("run", "documents", "topics", "outliers", "date span", "built at", box=None)
    for p in paths:
        try:
            row = summary_row(open_run(p))
            share = row["outlier_share"]
            cells = [row["run"], row["documents"], row["topics"]]
            cells += [f"{share:.1%}" if isinstance(share, int | float) else "-"]
            table.add_row(*(Text(str(c)) for c in [*cells, row["date_span"], row["built_at"]]))
        except (CacheError, AttributeError, TypeError) as exc:
            # AttributeError/TypeError: a manifest whose fields have the wrong types.
            why = str(exc) if isinstance(exc, CacheError) else "manifest.json is damaged"
            table.add_row(p.name, "-", "-", "-", "-", Text(f"broken: {why}", style="red"))
    out.print(table)


@app.command()
def serve(
    cache_dir: CacheDirOpt = None,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8501,
    host: Annotated[str, typer.Option(help="Address to bind (0.0.0.0 to expose).")] = "localhost",
    streamlit_config: Annotated[
        Path | None,
        typer.Option(
            help="A Streamlit config.toml whose options override every other "
            "(deploy/streamlit/config.toml holds the production settings)."
        ),
    ] = None,
    secrets: Annotated[
        Path | None,
        typer.Option(
            help="The secrets.toml to read: \\[auth] turns on single sign-on, "
            "\\[topictrends] holds the allow-list (docs/deploy.md)."
        ),
    ] = None,
) -> None:
    """Serve the dashboard over the runs in the cache (streamlit run dashboard/streamlit_app.py)."""
    from pipeline.serve import serve_args

    args = serve_args(cache_dir, port, host, streamlit_config, secrets)
    err.print(f"serving {os.environ['TOPICTRENDS_CACHE']} on http://{host}:{port}")
    from streamlit.web import cli as stcli

    sys.argv = args
    sys.exit(stcli.main())


@app.command()
def demo(
    cache_dir: CacheDirOpt = None,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8501,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "localhost",
) -> None:
    """Build the bundled corpora whose runs are missing, then serve.

    The trending-papers run is built first; the larger arXiv sample builds in a background
    process while the dashboard is already up (its progress shows in the dashboard).
    """
    import subprocess

    from pipeline.store.cache import cache_root

    root = cache_root(cache_dir)
    store = _store(cache_dir)
    if not store.run_path("hf-trending-papers").exists():
        err.print("building the bundled hf-trending-papers corpus (first time only)...")
        rc = subprocess.call(
            [
                sys.executable,
                "-m",
                "pipeline.cli",
                "build",
                "hf-trending-papers",
                "--cache-dir",
                str(root),
            ]
        )
        if rc:
            raise typer.Exit(rc)
    if not store.run_path("arxiv-sample").exists():
        log_path = root / "arxiv-sample.build.log"
        err.print(f"building arxiv-sample in the background (log: {log_path})")
        with log_path.open("w") as fh:
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "pipeline.cli",
                    "build",
                    "arxiv-sample",
                    "--cache-dir",
                    str(root),
                ],
                stdout=fh,
                stderr=fh,
                start_new_session=True,
            )
    serve(cache_dir=cache_dir, port=port, host=host)


@app.command(hidden=True)
def warmup() -> None:
    """Compile and cache the numba code UMAP and HDBSCAN use (run once at install)."""
    quiet_libraries()
    from pipeline.stages.jit import cache_dir

    seconds = compile_numba()
    err.print(f"numba cache warm in {cache_dir()} ({seconds:.1f}s)")


def compile_numba() -> float:
    """Compile (and cache) the numba code paths the pipeline uses, on random data."""
    import time

    from pipeline.stages.jit import enable_numba_cache

    enable_numba_cache()
    import numpy as np

    from pipeline.config import ClusterConfig, ReduceConfig
    from pipeline.stages.cluster import cluster
    from pipeline.stages.reduce import reduce

    t0 = time.perf_counter()
    x = np.random.default_rng(0).standard_normal((120, 32)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    space, _ = reduce(x, ReduceConfig(ensemble=1))
    cluster(space, x, ClusterConfig())
    return time.perf_counter() - t0


def _fail(message: str, code: int) -> None:
    err.print(f"error: {one_line(message)}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI. Exit status: 0 done, 2 bad input or invocation (one line), 130 interrupted.

    The command is invoked directly rather than through ``app()``: typer's own main turns
    Ctrl-C into a bare ``Exit(130)`` and, outside standalone mode, *returns* exit codes, so
    ``python -m pipeline.cli`` exited 0 after an interrupt and never said why. Here every
    exception arrives as itself. Anything not handled below is a bug and keeps its traceback.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    command = typer.main.get_command(app)
    try:
        with own_sigint(), command.make_context("topictrends", args) as ctx:
            command.invoke(ctx)
    except UserError as exc:
        _fail(str(exc), exc.exit_code)
    except typer.Exit as exc:  # --help, or a command's own exit status
        sys.exit(exc.exit_code)
    except (KeyboardInterrupt, typer.Abort, EOFError) as exc:
        said = str(exc) if isinstance(exc, KeyboardInterrupt) else ""  # build --preview's refine
        line = said or "interrupted: the previous run is intact"
        err.print(line, markup=False, highlight=False, soft_wrap=True)
        sys.exit(130)
    except typer.TyperException as exc:  # typer's click: usage errors
        if not exc.format_message():  # no arguments at all: the help was just printed
            sys.exit(2)
        _fail(usage_line(exc), 2)
    except BrokenPipeError:
        # The reader of stdout went away (`topictrends runs | head -1`): nothing left to
        # say. Status 1, as rich's own console gives for the same (Console.on_broken_pipe).
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except OSError as exc:  # a file the user named, or the cache root, cannot be used
        where = exc.filename if exc.filename is not None else "topictrends"
        _fail(os_error_line(exc, where, "cannot use this path", "pass another path"), 2)


from pipeline import cli_team  # noqa: E402 - the team commands join the one app

cli_team.register(app)

if __name__ == "__main__":
    main()
