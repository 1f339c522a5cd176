"""Where a build's progress goes: the CLI's bars, nothing (tests), and the dashboard's file.

Every flow (build, update, refit) reports through a ``Reporter``; ``tracked`` wraps a
flow so that ``<root>/.progress/<run>.json`` follows it and is cleared or marked failed at
the end, whichever way the flow ends.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pipeline.errors import BuildLockedError
from pipeline.store.cache import now_iso
from pipeline.store.heartbeat import ProgressFile

T = TypeVar("T")


class Reporter(Protocol):
    """Where progress goes; the CLI draws rich progress bars, tests pass a silent one."""

    def stage(
        self, name: str, total: int | None = None
    ) -> contextlib.AbstractContextManager[Callable[[int], None]]: ...

    def info(self, message: str) -> None: ...


class SilentReporter:
    @contextlib.contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        yield lambda n: None

    def info(self, message: str) -> None:
        pass


class StatusFileReporter:
    """Mirror a build's progress into ``<root>/.progress/<run>.json`` for the dashboard.

    Written atomically at most twice a second; removed when the build ends, or left with
    ``state: failed`` and the error when it fails, so a background build (``topictrends
    demo``) shows its progress in the dashboard.
    """

    def __init__(self, inner: Reporter, path: Path, run: str) -> None:
        self.inner = inner
        self.path = path
        self.state: dict[str, Any] = {
            "run": run,
            "state": "running",
            "stage": None,
            "done": 0,
            "total": None,
            "started_at": now_iso(),
            "pid": os.getpid(),
            "stages_done": [],
        }
        self._last = 0.0
        self._file = ProgressFile(path, self.state)  # adds host + heartbeat_at (heartbeat.py)

    def _write(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < 0.5:
            return
        self._last = now
        self._file.write()  # best effort; the build itself must not fail on it

    @contextlib.contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        self.state.update(stage=name, done=0, total=total)
        self._write(force=True)
        self._file.start_heartbeat()  # keeps heartbeat_at fresh through one long step

        def tick(n: int) -> None:
            self.state["done"] += n
            self._write()

        with self.inner.stage(name, total) as inner_tick:

            def both(n: int) -> None:
                inner_tick(n)
                tick(n)

            yield both
        self.state["stages_done"].append(name)

    def info(self, message: str) -> None:
        self.inner.info(message)

    def finish(self, error: BaseException | None) -> None:
        self._file.stop()
        if isinstance(error, BuildLockedError):
            return  # the file belongs to the build holding the lock
        if error is None or not self.state["stages_done"]:
            # Success, or bad input caught by ingest: nothing worth leaving behind.
            with contextlib.suppress(OSError):
                self.path.unlink()
            return
        self.state.update(state="failed", error=str(error) or type(error).__name__)
        self._write(force=True)


class RichReporter:
    """A progress bar per stage on stderr."""

    def __init__(self, console: Any) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )

    @contextlib.contextmanager
    def stage(self, name: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        task = self.progress.add_task(name, total=total if total is not None else 1)
        yield lambda n: self.progress.advance(task, n)
        self.progress.update(task, completed=total if total is not None else 1)

    def info(self, message: str) -> None:
        logging.getLogger("topictrends").info(message)


def setup_logging(console: Any, verbose: bool) -> None:
    """Logs through rich on ``console`` (stderr); the chatty libraries only on errors."""
    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False)],
    )
    for noisy in (
        "BERTopic",
        "sentence_transformers",
        "transformers",
        "numba",
        "urllib3",
        "httpx",
        "huggingface_hub",
    ):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def quiet_libraries() -> None:
    """Offline, no tokenizer threads warnings, no progress bars of the libraries."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import warnings

    warnings.filterwarnings("ignore")


def drop_progress(progress: Any) -> None:  # noqa: ANN401 - rich.progress.Progress
    """Clear the bars of a failed command so its error line stands alone.

    rich's ``Progress.stop`` prints an empty line when stderr is not a terminal; stopping
    the live display here and disabling the rest keeps that out of logs too.
    """
    progress.live.transient = True
    progress.live.stop()
    progress.disable = True


def tracked(
    store_root: Path, name: str, reporter: Reporter | None, flow: Callable[[Reporter], T]
) -> T:
    """Run ``flow`` with a reporter that also writes the run's progress file for the dashboard."""
    status = StatusFileReporter(
        reporter or SilentReporter(), store_root / ".progress" / f"{name}.json", name
    )
    try:
        result = flow(status)
    except BaseException as exc:
        status.finish(exc)
        raise
    status.finish(None)
    return result
