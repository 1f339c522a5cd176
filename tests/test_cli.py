"""The CLI never prints a traceback: every bad invocation is one line and exit 2.

Most checks call ``pipeline.cli.main`` in-process (the same function the ``topictrends``
script runs) so that Hypothesis can try many argument lists quickly; one test runs a real
subprocess, because typer's usage errors are raised by the click that typer bundles and
only the real entry point shows whether they are caught.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pipeline import SCHEMA_VERSION
from pipeline.cli import main
from tests.conftest import planted_corpus
from tests.update_corpus import (
    LATE,
    PER_LABEL,
    monthly_corpus,
    write_csv,
)

BASE_TOML = '[embed]\nbackend = "hashing"\n[reduce]\nensemble = 1\n'


def invoke(argv: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run ``main(argv)`` in ``cwd``; return (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def error_line(err: str) -> str:
    """The one error line; fails when stderr holds anything else."""
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1, err  # no blank line left by the progress bars either
    assert lines[0].startswith("error: "), err
    return lines[0]


def snapshot(root: Path, skip: Path | None = None) -> dict[str, str]:
    """Every file and link under ``root`` (but not under ``skip``) with its content or target.

    Lock files are left out: a build takes ``.locks/<run>.lock`` before reading its input,
    and the empty lock file stays, by design, so the next build can lock the same inode.
    """
    found: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if skip is not None and (here == skip or skip in here.parents):
            dirnames[:] = []
            continue
        for name in filenames + [d for d in dirnames if (here / d).is_symlink()]:
            p = here / name
            rel = str(p.relative_to(root))
            if p.parent.name == ".locks" and name.endswith(".lock"):
                continue
            if p.is_symlink():
                found[rel] = "-> " + os.readlink(p)
            else:
                found[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return found


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sandbox: input files, config files, and a cache holding the run ``base``.

    The cache sits three levels down (``a/b/cache``) so that a run name that climbs out of
    it (``../../x``) would land inside the sandbox, where the snapshot sees it.
    """
    box = tmp_path_factory.mktemp("cli-template")
    good = planted_corpus(n_per_topic=6)
    good.to_csv(box / "good.csv", index=False)
    good.assign(added_step="x", topic="mine", meta_topic="also mine").to_csv(
        box / "reserved.csv", index=False
    )
    late = good.copy()
    late.loc[4, "date"] = "2300-01-01"
    late.to_csv(box / "late.csv", index=False)
    (box / "empty.csv").write_text("")
    (box / "adir").mkdir()
    (box / "base.toml").write_text(BASE_TOML)
    (box / "unknown.toml").write_text(BASE_TOML + "[cluster]\nmin_cluster_sise = 5\n")
    (box / "wrongtype.toml").write_text(BASE_TOML + '[cluster]\nmin_cluster_size = "five"\n')
    (box / "notable.toml").write_text(BASE_TOML + "time = 3\n")
    (box / "broken.toml").write_text("[embed\nbackend = 1\n")
    (box / "latin1.toml").write_bytes(b"# caf\xe9\n" + BASE_TOML.encode())
    (box / "a" / "b").mkdir(parents=True)
    code, out, err = invoke(
        [
            "build",
            "good.csv",
            "--name",
            "base",
            "--config",
            "base.toml",
            "--cache-dir",
            "a/b/cache",
        ],
        box,
    )
    assert code == 0, err
    return box


@contextlib.contextmanager
def sandbox(template: Path) -> Iterator[Path]:
    parent = Path(tempfile.mkdtemp(prefix="cli-"))
    box = parent / "box"
    shutil.copytree(template, box, symlinks=True)
    try:
        yield box
    finally:
        shutil.rmtree(parent, ignore_errors=True)


NAMES = st.one_of(
    st.sampled_from(
        ["base", "other", "base.v2", "_x", "", ".", "..", "../evil", "../../../evil", "a/b",
         "/tmp/evil", ".hidden", "-dash", "x" * 101, "a b", "tab\there", "nl\nx", "é"]
    ),
    st.text(alphabet="ab./-_ \\é", min_size=0, max_size=6),
)  # fmt: skip
INPUTS = st.sampled_from(
    ["good.csv", "good.csv", "good.csv", "reserved.csv", "late.csv", "empty.csv", "adir", "missing.csv", "good.csv/x",
     "a/b/cache", "base.toml"]
)  # fmt: skip
CONFIGS = st.sampled_from(
    ["base.toml", "base.toml", "base.toml", "base.toml", "unknown.toml", "wrongtype.toml", "notable.toml", "broken.toml",
     "latin1.toml", "adir", "missing.toml", "good.csv"]
)  # fmt: skip
CACHES = st.sampled_from(
    ["a/b/cache", "a/b/cache", "good.csv", "good.csv/sub", "adir/../a/b/cache"]
)
FLAGS = st.lists(
    st.one_of(
        st.tuples(
            st.just("--min-cluster-size"), st.sampled_from(["-1", "0", "3", "5", "x", "1e9"])
        ),
        st.tuples(st.just("--period"), st.sampled_from(["auto", "year", "fortnight", ""])),
        st.tuples(st.just("--date-col"), st.sampled_from(["none", "date", "nosuch"])),
        st.tuples(st.just("--seed"), st.sampled_from(["42", "-1", "4294967296", "abc"])),
        st.tuples(st.just("--n-neighbors"), st.sampled_from(["1", "10", "-4"])),
        st.tuples(st.sampled_from(["--nope", "extra-arg", "--force"])),
    ),
    max_size=2,
)


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(["build", "build", "update", "topics", "runs"]))
    cache = ["--cache-dir", draw(CACHES)]
    if command == "runs":
        return ["runs", *cache]
    if command == "topics":
        limit = draw(st.sampled_from([[], ["--limit", "2"], ["--limit", "-1"], ["--limit", "x"]]))
        return ["topics", draw(NAMES), *limit, *cache]
    if command == "update":
        return ["update", draw(NAMES), draw(INPUTS), "--config", draw(CONFIGS), *cache]
    argv = ["build", draw(INPUTS), "--config", draw(CONFIGS), *cache]
    if draw(st.booleans()):
        argv += ["--name", draw(NAMES)]
    for flag in draw(FLAGS):
        argv += list(flag)
    return argv


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(argv=command_lines())
def test_any_command_line_is_done_or_one_line(template: Path, argv: list[str]) -> None:
    """Exit 0 or 2; on 2 one line and the cache as it was; never a write outside the root."""
    with sandbox(template) as box:
        cache = box / "a" / "b" / "cache"
        before_cache, before_rest = snapshot(cache), snapshot(box, skip=cache)
        code, out, err = invoke(argv, box)
        event(f"{argv[0]}: exit {code}")
        assert "Traceback" not in err + out, (argv, err)
        assert code in (0, 2), (argv, code, err)
        if code == 2:
            error_line(err)
            assert snapshot(cache) == before_cache, (argv, err)
        assert snapshot(box, skip=cache) == before_rest, (argv, err)


def test_unexpected_argument_in_a_real_process(template: Path) -> None:
    """typer's bundled click raises its own UsageError; the entry point must still catch it."""
    with sandbox(template) as box:
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        proc = subprocess.run(
            [sys.executable, "-m", "pipeline.cli", "build", "good.csv", "extra"],
            cwd=box,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        line = error_line(proc.stderr)
        assert proc.returncode == 2
        assert "unexpected extra argument" in line and "(extra)" in line
        assert "topictrends build --help" in line
        assert proc.stdout == ""
        assert not (box / "cache").exists()


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["build", "good.csv", "--name", "../evil"], ["--name '../evil'", "a run name is", "letters"]),
        (["build", "good.csv", "--name", ".hidden"], ["--name '.hidden'", "starting with"]),
        (["update", "a/b", "good.csv"], ["RUN 'a/b'", "a run name is"]),
        (["topics", ".."], ["RUN '..'", "a run name is"]),
        (["build", "good.csv", "--config", "adir"], ["adir: is a directory", "--config"]),
        (["build", "good.csv", "--config", "latin1.toml"], ["latin1.toml: line 1", "UTF-8"]),
        (["build", "good.csv", "--config", "unknown.toml"], ["cluster.min_cluster_sise", "docs/config.md"]),
        (["build", "good.csv", "--config", "wrongtype.toml"], ["cluster.min_cluster_size", "integer"]),
        (["build", "late.csv", "--config", "base.toml"], ["late.csv", "row 5", "2300-01-01", "--date-col none"]),
        (["build", "good.csv", "--cache-dir", "good.csv"], ["good.csv: the cache root is not a directory"]),
        (["build", "good.csv", "--config", "base.toml", "--cache-dir", "good.csv/sub"],
         ["cannot write the cache", "Not a directory", "A file is in the way", "--cache-dir"]),
        (["build", "good.csv", "--config", "base.toml", "--seed", "-1"], ["reduce.seed", "greater than or equal to 0"]),
        (["topics", "base", "--limit", "-1"], ["'--limit'", "topictrends topics --help"]),
        (["build", "good.csv", "--nope"], ["No such option: --nope", "topictrends build --help"]),
        (["serve", "--port", "0"], ["'--port'", "topictrends serve --help"]),
        (["nonsense"], ["No such command 'nonsense'", "topictrends --help"]),
    ],
)  # fmt: skip
def test_bad_invocations_name_the_fix(template: Path, argv: list[str], needles: list[str]) -> None:
    with sandbox(template) as box:
        before = snapshot(box)
        if "--cache-dir" not in argv:
            argv = [*argv, "--cache-dir", "a/b/cache"]
        code, out, err = invoke(argv, box)
        line = error_line(err)
        assert code == 2
        for needle in needles:
            assert needle in line, (needle, line)
        assert "free some space" not in line.lower()
        assert snapshot(box) == before


def test_reserved_column_names_build(template: Path) -> None:
    """added_step, topic and meta_topic in the corpus: once a failure after every stage."""
    with sandbox(template) as box:
        argv = ["build", "reserved.csv", "--config", "base.toml", "--cache-dir", "a/b/cache"]
        code, out, err = invoke(argv, box)
        assert code == 0, err
        import pandas as pd

        docs = pd.read_parquet(Path(out.splitlines()[-1]) / "documents.parquet")
        assert (docs["meta_added_step"] == "x").all() and docs["added_step"].notna().all()
        assert (docs["meta_topic"] == "also mine").all()
        assert (docs["meta_meta_topic"] == "mine").all()


def test_ctrl_c_leaves_the_previous_run(template: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.stages.ingest

    def interrupted(path: Path) -> None:
        raise KeyboardInterrupt

    with sandbox(template) as box:
        cache = box / "a" / "b" / "cache"
        before = snapshot(cache)
        monkeypatch.setattr(pipeline.stages.ingest, "read_table", interrupted)
        argv = ["build", "good.csv", "--name", "base", "--config", "base.toml", "--force"]
        code, out, err = invoke([*argv, "--cache-dir", str(cache)], box)
        assert code == 130
        assert "Traceback" not in err and "interrupted: the previous run is intact" in err
        assert snapshot(cache) == before
        monkeypatch.undo()
        code, out, err = invoke(["topics", "base", "--cache-dir", str(cache)], box)
        assert code == 0 and "topic" in out, err


def test_real_ctrl_c_mid_build(template: Path) -> None:
    """SIGINT to a real process once a stage has started: 130, one message, nothing published.

    ``--seed 7`` misses the template's stage caches, so UMAP and every later stage still
    lie ahead when the signal arrives. The child starts with SIGINT at its default, as
    from a terminal: an ignored SIGINT is inherited across exec and Python then keeps
    ignoring it. A suite started in the background (``make test &``, ``nohup``, a CI
    runner) has SIGINT ignored from the start, as a non-interactive shell sets it for
    background jobs, so without this the build ran on and exited 0.
    """
    import signal
    import time

    with sandbox(template) as box:
        cache = box / "a" / "b" / "cache"
        before = snapshot(cache / "runs")
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        argv = ["build", "good.csv", "--name", "fresh", "--config", "base.toml", "--seed", "7"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", *argv, "--cache-dir", str(cache)],
            cwd=box,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        progress = cache / ".progress" / "fresh.json"
        for _ in range(1200):  # the progress file appears when the first stage starts
            if progress.exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, err
        assert "Traceback" not in err
        assert [ln for ln in err.splitlines() if ln.strip() and "━" not in ln] == [
            "interrupted: the previous run is intact"
        ]
        assert snapshot(cache / "runs") == before and out == ""


CTRL_C_IN_EXEC = """
import os, signal, sys
import pipeline.cli, pipeline.stages.ingest

def interrupted(path):
    exec("os.kill(os.getpid(), signal.SIGINT)\\nfor _ in range(10**8): pass", globals())

pipeline.stages.ingest.read_table = interrupted
pipeline.cli.main(sys.argv[1:])
"""


def test_ctrl_c_inside_exec_still_exits_130(template: Path) -> None:
    """Ctrl-C landing in ``exec``'d code (a namedtuple made mid-import): 130, not -2.

    CPython kills itself with SIGINT at exit after a bare KeyboardInterrupt escaped an
    ``exec`` of a string, caught or not; CI saw it once the signal hit the represent
    stage's imports. Here the signal always lands inside such code.
    """
    import signal

    with sandbox(template) as box:
        cache = box / "a" / "b" / "cache"
        before = snapshot(cache / "runs")
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        (box / "ctrl_c_in_exec.py").write_text(CTRL_C_IN_EXEC)  # -m, as the CLI runs:
        # with -c or a script path Python exits on SystemExit before it looks at the mark
        argv = ["build", "good.csv", "--name", "fresh", "--config", "base.toml"]
        proc = subprocess.run(
            [sys.executable, "-m", "ctrl_c_in_exec", *argv, "--cache-dir", str(cache)],
            cwd=box,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        assert proc.returncode == 130, proc.stderr
        assert proc.stderr.strip() == "interrupted: the previous run is intact"
        assert snapshot(cache / "runs") == before


def test_runs_lists_damaged_runs_as_broken(tmp_path: Path) -> None:
    """A manifest with fields of the wrong type, under a path rich would read as markup."""
    cache = tmp_path / "cache[/x]"
    damaged = f'{{"schema_version": {SCHEMA_VERSION}, "counts": 5}}'  # current, but damaged
    for name, manifest in [("q", "{}"), ("r", damaged)]:
        (cache / "runs" / name).mkdir(parents=True)
        (cache / "runs" / name / "manifest.json").write_text(manifest)
    code, out, err = invoke(["runs", "--cache-dir", str(cache)], tmp_path)
    assert code == 0 and "Traceback" not in err, err
    rows = {ln.split()[0]: ln for ln in out.splitlines()[1:] if ln.strip() and ln[1] != " "}
    assert "broken: manifest.json is damaged" in rows["r"]
    assert "broken:" in rows["q"]


@pytest.mark.parametrize(
    ("code", "needle"),
    [
        (errno.ENOSPC, "disk is full"),
        (errno.EDQUOT, "disk is full"),
        (errno.EACCES, "permission"),
        (errno.EPERM, "permission"),
        (errno.EROFS, "read-only"),
        (errno.ENOTDIR, "A file is in the way"),
        (errno.ENAMETOOLONG, "too long"),
        (errno.EIO, "I/O error"),
        (errno.EBUSY, "Pass another --cache-dir"),
    ],
)
def test_cache_write_errors_give_the_fix_for_their_errno(code: int, needle: str) -> None:
    from pipeline.store.cache import _disk_error

    msg = str(_disk_error(OSError(code, os.strerror(code)), Path("/srv/cache/runs")))
    assert msg.startswith("/srv/cache/runs: cannot write the cache (")
    assert needle in msg and "--cache-dir" in msg and "previous results are intact" in msg
    assert ("free some space" in msg) == (code in (errno.ENOSPC, errno.EDQUOT))
    assert "\n" not in msg


def test_an_errno_only_in_the_message_is_still_read() -> None:
    """pyarrow raises OSError('... [Errno 28] No space left on device') with errno None."""
    from pipeline.store.cache import _disk_error

    exc = OSError("Failed to write /c/x.parquet. Detail: [Errno 28] No space left on device")
    assert exc.errno is None
    assert "disk is full" in str(_disk_error(exc, Path("/c")))
    assert "disk is full" not in str(_disk_error(OSError("Unknown error"), Path("/c")))


def test_update_from_the_command_line(
    base_run: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.cli import main

    shutil.copytree(base_run[0], tmp_path / "cache", symlinks=True)
    corpus = monthly_corpus()
    batch = write_csv(corpus[corpus["label"] == LATE], tmp_path / "late.csv")
    main(["update", "base", str(batch), "--cache-dir", str(tmp_path / "cache")])
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == str(tmp_path / "cache" / "runs" / "base")
    assert any(line.startswith(f"update step 1: {PER_LABEL} new documents, 6/6") for line in out)
    main(["update", "base", str(batch), "--cache-dir", str(tmp_path / "cache")])
    assert "up to date" in capsys.readouterr().err
