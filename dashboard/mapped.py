"""A run's per-document columns as memory-mapped Arrow files in the dashboard's scratch
directory. No Streamlit here.

Why: as a pandas frame, a million documents' columns without their text (ids, titles,
links, dates, topics, labels, metadata) are about half a gigabyte of the server's
anonymous memory, and a server keeps up to four runs. Written once as an uncompressed
Arrow IPC file and read back through a memory map, the same columns live in the kernel's
page cache instead: file-backed pages, shared by every server process that maps the same
file, dropped under memory pressure and read again from disk when touched. The frame the
pages get has the dtypes of the old one (numbers and dates as numpy arrays, text as
pandas' Arrow-backed ``str``), but each column is a view of the map: no copy is made.

The files live in the dashboard's scratch directory (``$TOPICTRENDS_SCRATCH``, else a
directory of this user under the system's temp directory), the same place as DuckDB's
temp files (``doc_query``), never in the cache, which a hosted dashboard reads only. A
file is named by a digest of everything it was made from (``key``), written atomically
and reused by later opens; only the ``FILES_KEPT`` most recently used are kept. Where the
scratch directory cannot be used, the frame stays in memory as before, and the server's
log says so in one line.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

ENV_SCRATCH = "TOPICTRENDS_SCRATCH"
MAPPED_FORMAT = "1"  # part of every key: bump it when what is written changes
MAPPED_SUFFIX = ".arrow"
FILES_KEPT = 16  # mapped files kept in the scratch directory, most recently used first
STALE_PART_S = 3600  # a half-written file this old was left by a crashed server
_KIND = b"topictrends.kind"  # field metadata: how a column goes back to pandas
_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default ``str`` dtype
LOG = logging.getLogger("topictrends.dashboard")


def scratch_dir(env: Mapping[str, str] | None = None) -> Path:
    """The dashboard's scratch directory: ``$TOPICTRENDS_SCRATCH``, else
    ``<system temp>/topictrends-dashboard-<uid>`` (one per user: never another's files)."""
    env = os.environ if env is None else env
    raw = env.get(ENV_SCRATCH, "").strip()
    if raw:
        return Path(raw)
    uid = getattr(os, "getuid", lambda: 0)()
    return Path(tempfile.gettempdir()) / f"topictrends-dashboard-{uid}"


def private_dir(path: Path) -> Path:
    """``path``, created for this user only (0700); OSError unless it is this user's and
    nobody else may write in it (a file planted there would be served as a run's data)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = path.stat()
    if st.st_uid != getattr(os, "getuid", lambda: st.st_uid)() or st.st_mode & 0o022:
        raise PermissionError(f"{path}: not a private directory of this user")
    if not os.access(path, os.W_OK | os.X_OK):
        raise PermissionError(f"{path}: not writable")
    return path


def key_of(*parts: bytes | str) -> str:
    """A file name stem for what ``parts`` describe (with ``MAPPED_FORMAT``)."""
    h = hashlib.blake2b(MAPPED_FORMAT.encode(), digest_size=20)
    for p in parts:
        b = p.encode() if isinstance(p, str) else p
        h.update(len(b).to_bytes(8, "little") + b)
    return h.hexdigest()


def frame(directory: Path, key: str, build: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """The frame stored as ``key`` in ``directory``, read through a memory map; ``build``
    makes it (once) when no file holds it yet. When the directory cannot be used (not
    writable, not private, full), the built frame is returned as it is, kept in memory."""
    path = directory / f"{key}{MAPPED_SUFFIX}"
    built = None
    try:
        private_dir(directory)
        found = _existing(path)
        if found is not None:
            return found
        built = build()
        _write(path, to_arrow(built))
        built = None  # the frame built is freed before the map is read, and its Arrow
        pa.default_memory_pool().release_unused()  # memory handed back to the system
        _prune(directory, keep=path)
        return to_frame(_read(path))
    except (OSError, pa.ArrowException) as exc:
        LOG.warning(
            "documents kept in memory, not memory-mapped (%s); set %s to a writable directory",
            str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
            ENV_SCRATCH,
        )
        return build() if built is None else built


def _existing(path: Path) -> pd.DataFrame | None:
    """The frame in ``path`` when a file is there and reads (else it is written again)."""
    try:
        os.utime(path)  # recently used: kept by _prune
        return to_frame(_read(path))
    except (OSError, pa.ArrowException):  # absent, pruned meanwhile, or damaged
        return None


# ---------------------------------------------------------------- pandas <-> Arrow
def _kind(s: pd.Series) -> str:
    """How a column is stored: 'str', 'bool', a numpy dtype (numbers, naive dates), or
    'other' (anything else: converted back by pyarrow, a copy in memory)."""
    dtype = s.dtype
    if dtype == _STR:
        return "str"
    if isinstance(dtype, np.dtype):
        if dtype == np.bool_:
            return "bool"
        if dtype.kind in "iuf" or dtype.kind == "M":
            return dtype.str
    return "other"


def to_arrow(df: pd.DataFrame) -> pa.Table:
    """``df`` as a table whose columns ``to_frame`` can view without copying: text as
    large_string, booleans as bytes, dates as their integer ticks (NaT included), every
    column one chunk; the pandas dtype goes in each field's metadata."""
    arrays, fields = [], []
    for name in df.columns:
        s = df[name]
        kind = _kind(s)
        if kind == "str":
            arr = pa.chunked_array(s.array.__arrow_array__()).cast(pa.large_string())
            arr = arr.combine_chunks()
        elif kind == "bool":
            arr = pa.array(s.to_numpy().view(np.uint8))
        elif kind != "other":
            values = s.to_numpy()
            arr = pa.array(values.view(np.int64) if values.dtype.kind == "M" else values)
        else:
            arr = pa.array(s, from_pandas=True)
            kind = f"other:{s.dtype}"
        arrays.append(arr)
        fields.append(pa.field(str(name), arr.type, metadata={_KIND: kind.encode()}))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def to_frame(table: pa.Table) -> pd.DataFrame:
    """The frame ``to_arrow`` stored, each column a view of ``table``'s buffers."""
    cols: dict[str, pd.Series] = {}
    for field, col in zip(table.schema, table.columns, strict=True):
        arr = col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()
        kind = (field.metadata or {}).get(_KIND, b"other:object").decode()
        if kind == "str":
            values = pd.arrays.ArrowStringArray(pa.chunked_array([arr]), dtype=_STR)
        elif kind == "bool":
            values = arr.to_numpy(zero_copy_only=True).view(np.bool_)
        elif kind.startswith("other:"):
            values = arr.to_pandas().astype(kind.removeprefix("other:"))
        else:
            dtype = np.dtype(kind)
            raw = arr.to_numpy(zero_copy_only=True)
            values = raw.view(dtype) if dtype.kind == "M" else raw
        cols[field.name] = pd.Series(values, copy=False)
    return pd.DataFrame(cols, copy=False)


# ---------------------------------------------------------------- files
def _write(path: Path, table: pa.Table) -> None:
    """Write ``table`` to ``path`` atomically (a half-written file is never read)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".part")
    os.close(fd)
    try:
        with pa.OSFile(tmp, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table, max_chunksize=max(1, table.num_rows))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read(path: Path) -> pa.Table:
    """The table in ``path``, its buffers pointing into a read-only memory map."""
    return pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all()


def _prune(directory: Path, keep: Path) -> None:
    """Remove all but the ``FILES_KEPT`` most recently used files (a server still mapping
    one keeps its pages until it lets go) and half-written files left by a crash."""
    now = time.time()
    parts = [(p, _mtime(p)) for p in directory.glob(".*.part")]
    files = sorted((_mtime(p), p) for p in directory.glob(f"*{MAPPED_SUFFIX}"))
    old = [p for p, t in parts if now - t > STALE_PART_S]
    for path in old + [p for _, p in files[:-FILES_KEPT] if p != keep]:
        with contextlib.suppress(OSError):  # another server's, or gone: pruned next time
            path.unlink(missing_ok=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed meanwhile by another server's prune
        return 0.0
