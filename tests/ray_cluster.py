"""A real two-node Ray cluster on loopback for tests and ``bench/ray_scale.py``.

Each node is one ``ray start --block`` process in its own process group (head: the GCS,
the raylet and their helpers; worker: a raylet), started with free ports, one CPU, no
dashboard and a small object store under a private temp dir. ``stop`` ends exactly those
groups (never ``ray stop``, which would end every Ray on the machine).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.stages.embed_batch import EmbedBatch

RAY = str(Path(sys.executable).with_name("ray"))
OBJECT_STORE = 80 * 1024 * 1024


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _port_flags(ports: list[int]) -> list[str]:
    names = ("node-manager-port", "object-manager-port", "metrics-export-port",
             "runtime-env-agent-port", "dashboard-agent-grpc-port",
             "dashboard-agent-listen-port")  # fmt: skip
    lo = ports[len(names)]
    return [f"--{n}={p}" for n, p in zip(names, ports, strict=False)] + [
        f"--min-worker-port={lo}",
        f"--max-worker-port={lo + 60}",
    ]


@dataclass
class Cluster:
    """The nodes this test started: their ``ray start`` processes (group leaders)."""

    address: str
    temp_dir: Path
    env: dict[str, str]
    nodes: list[subprocess.Popen] = field(default_factory=list)

    def add_node(self, head: bool = False, cpus: int = 1) -> subprocess.Popen:
        ports = free_ports(7)
        flags = ["--head", f"--port={self.address.rpartition(':')[2]}",
                 f"--temp-dir={self.temp_dir}", "--include-dashboard=false",
                 f"--dashboard-port={free_ports(1)[0]}"] if head else [
                 f"--address={self.address}"]  # fmt: skip
        cmd = [RAY, "start", "--block", *flags, f"--num-cpus={cpus}", "--num-gpus=0",
               f"--object-store-memory={OBJECT_STORE}", "--disable-usage-stats",
               "--node-ip-address=127.0.0.1", *_port_flags(ports)]  # fmt: skip
        log = open(self.temp_dir.parent / f"node{len(self.nodes)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.nodes.append(proc)
        return proc

    def wait_for(self, n_nodes: int, timeout: float = 120.0) -> None:
        """Until ``n_nodes`` raylets have joined, asked by one throwaway driver that polls."""
        probe = (
            "import ray,sys,time; ray.init(address=sys.argv[1], logging_level='ERROR')\n"
            "while sum(n['Alive'] for n in ray.nodes()) < int(sys.argv[2]): time.sleep(0.5)"
        )
        try:
            subprocess.run(
                [sys.executable, "-c", probe, self.address, str(n_nodes)],
                env=self.env, capture_output=True, timeout=timeout, check=True,
            )  # fmt: skip
        except (subprocess.TimeoutExpired, subprocess.CalledProcessError) as exc:
            raise RuntimeError(
                f"{n_nodes} Ray nodes did not come up ({exc}): {self.logs()}"
            ) from exc

    def wait_for_head(self, timeout: float = 120.0) -> None:
        """Until the head's GCS port accepts connections (a worker can then join)."""
        host, _, port = self.address.rpartition(":")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.nodes[0].poll() is not None:
                raise RuntimeError(f"ray start --head exited: {self.logs()}")
            with contextlib.suppress(OSError), socket.create_connection((host, int(port)), 1):
                return
            time.sleep(0.3)
        raise RuntimeError(f"the Ray head did not come up: {self.logs()}")

    def kill_node(
        self, proc: subprocess.Popen, sig: int = signal.SIGKILL, wait: float = 20
    ) -> None:
        """End one node: its whole process group (the raylet and its workers)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait)

    def stop(self) -> None:
        for proc in reversed(self.nodes):
            # A head whose worker node was killed takes its full grace to exit on SIGTERM
            # (20 s of the suite); nothing of it is kept, so SIGKILL follows sooner.
            self.kill_node(proc, signal.SIGTERM, wait=3)
            if proc.poll() is None:
                self.kill_node(proc, signal.SIGKILL)
        # Processes the nodes started in groups of their own (Ray's own helpers).
        for pid in _pids_under(self.temp_dir):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.temp_dir.parent, ignore_errors=True)  # logs, sockets, spilled objects

    def logs(self) -> str:
        parts = []
        for f in sorted(self.temp_dir.parent.glob("node*.log")):
            parts.append(f.read_text(errors="replace")[-1500:])
        return "\n".join(parts)


def _pids_under(temp_dir: Path) -> list[int]:
    """Processes whose command line names this cluster's temp dir (started by our nodes)."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if str(temp_dir).encode() in (d / "cmdline").read_bytes():
                found.append(int(d.name))
    return found


def start(n_nodes: int = 2, env: dict[str, str] | None = None) -> Cluster:
    """A cluster of ``n_nodes`` one-CPU nodes on 127.0.0.1; ``stop()`` it when done."""
    base = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))  # short: unix socket paths
    temp_dir = base / "r"
    temp_dir.mkdir()
    full_env = {**os.environ, **(env or {}), "RAY_USAGE_STATS_ENABLED": "0"}
    full_env.pop("RAY_ADDRESS", None)
    cluster = Cluster(f"127.0.0.1:{free_ports(1)[0]}", temp_dir, full_env)
    try:
        cluster.add_node(head=True)
        cluster.wait_for_head()
        for _ in range(n_nodes - 1):
            cluster.add_node()
        cluster.wait_for(n_nodes)
    except BaseException:  # the error already carries the nodes' logs
        cluster.stop()
        raise
    return cluster


class SlowEmbedBatch(EmbedBatch):
    """The embed stage's batch, slowed down and leaving one marker file per batch named
    after the Ray node that ran it: lets a test see the work spread over the nodes and
    kill a node while the stage is still running."""

    marks: Path | None = None  # set on the class by the test, pickled with each instance

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.mark_dir = SlowEmbedBatch.marks

    def __call__(self, texts: list[str]):  # noqa: ANN204
        import ray

        node = ray.get_runtime_context().get_node_id() if ray.is_initialized() else "local"
        if self.mark_dir is not None:
            (self.mark_dir / f"{node}-{os.getpid()}-{time.monotonic_ns()}").touch()
        time.sleep(0.5)
        return super().__call__(texts)
