"""The container, without a container engine: Dockerfile, compose file, production settings,
and the entrypoint's refusals. The entrypoint serving pages is in dashboard/test_hosted.py.

There is no Docker engine on the test machines, so the Dockerfile and docker-compose.yml
are checked for the properties the deployment relies on, and everything the container runs
(deploy/entrypoint.sh, deploy/streamlit/config.toml) is run here directly.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"
COMPOSE = REPO / "docker-compose.yml"
ENTRYPOINT = REPO / "deploy" / "entrypoint.sh"
CONFIG = REPO / "deploy" / "streamlit" / "config.toml"
LOCK = REPO / "deploy" / "requirements.lock"


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per Dockerfile instruction, continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_runs_unprivileged_with_cpu_torch_and_a_healthcheck():
    ins = instructions(DOCKERFILE)
    users = [a for i, a in ins if i == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    workdirs = [a for i, a in ins if i == "WORKDIR"]
    assert workdirs and workdirs[-1] not in ("/", "")
    runs = " ".join(a for i, a in ins if i == "RUN")
    assert re.search(r"--index-url https://download\.pytorch\.org/whl/cpu torch==2\.13\.0", runs)
    assert "pip install -r deploy/requirements.lock" in runs
    health = [a for i, a in ins if i == "HEALTHCHECK"]
    assert len(health) == 1 and "/_stcore/health" in health[0]
    volumes = [a for i, a in ins if i == "VOLUME"]
    assert volumes and '"/cache"' in volumes[0]
    env = " ".join(a for i, a in ins if i == "ENV")
    assert "TOPICTRENDS_CACHE=/cache" in env and "HF_HUB_OFFLINE=1" in env
    entry = [a for i, a in ins if i == "ENTRYPOINT"]
    assert entry == ['["/app/deploy/entrypoint.sh"]']
    assert workdirs[-1] == "/app"  # the entrypoint's path above lives in the WORKDIR
    # the image is built from these files: every COPY source exists
    for args in (a for i, a in ins if i == "COPY"):
        for src in shlex.split(args)[:-1]:
            assert (REPO / src).exists(), src


def test_lock_pins_every_runtime_dependency_but_torch():
    lines = [ln for ln in LOCK.read_text().splitlines() if ln and not ln.startswith("#")]
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9._-]*==[^=\s]+", ln) for ln in lines), lines
    names = {ln.split("==")[0] for ln in lines}
    assert "torch" not in names and not any(n.startswith("nvidia-") for n in names)
    assert {"streamlit", "authlib", "bertopic", "pandas", "pyarrow", "safetensors"} <= names
    # test-only packages stay out of the image
    assert not names & {"pytest", "playwright", "hypothesis", "ruff", "oidc-provider-mock"}


def test_compose_builder_writes_and_dashboard_mounts_the_cache_read_only():
    doc = yaml.safe_load(COMPOSE.read_text())
    services = doc["services"]
    assert set(services) == {"builder", "dashboard"}
    dash, builder = services["dashboard"], services["builder"]
    assert dash["command"] == ["serve"]
    assert "cache:/cache:ro" in dash["volumes"]
    assert dash.get("read_only") is True
    assert "cache:/cache" in builder["volumes"]
    assert any(v.endswith(":ro") and v.startswith("./input") for v in builder["volumes"])
    assert "cache" in doc["volumes"]
    assert any(s["target"] == "/run/secrets/topictrends.toml" for s in dash["secrets"])


def entrypoint(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TOPICTRENDS_", "STREAMLIT_"))}
    base["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base.get('PATH', '')}"
    return subprocess.run(
        [str(ENTRYPOINT), *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_entrypoint_refuses_to_serve_unprotected_or_without_a_cache(tmp_path):
    missing = entrypoint("serve", TOPICTRENDS_CACHE=str(tmp_path / "nope"))
    assert missing.returncode == 2 and "no cache here" in missing.stderr
    open_door = entrypoint(
        "serve",
        TOPICTRENDS_CACHE=str(tmp_path),
        TOPICTRENDS_SECRETS=str(tmp_path / "absent.toml"),
    )
    assert open_door.returncode == 2 and "no [auth] section" in open_door.stderr
    no_auth = tmp_path / "secrets.toml"
    no_auth.write_text('[topictrends]\nallowed_domains = ["x.example"]\n')
    still_open = entrypoint(
        "serve", TOPICTRENDS_CACHE=str(tmp_path), TOPICTRENDS_SECRETS=str(no_auth)
    )
    assert still_open.returncode == 2 and "no [auth] section" in still_open.stderr
    bad_port = entrypoint("serve", TOPICTRENDS_CACHE=str(tmp_path), PORT="80;x")
    assert bad_port.returncode == 2 and "not a port number" in bad_port.stderr
    unknown = entrypoint("shell")
    assert unknown.returncode == 2 and "unknown command" in unknown.stderr
    assert entrypoint("build").returncode == 2


@pytest.mark.slow  # a real build in a fresh process: ~20-70 s on 2 shared cores
def test_entrypoint_builds_into_the_cache_and_lists_runs(tmp_path, planted_csv):
    cache = tmp_path / "cache"
    cfg = tmp_path / "fast.toml"
    cfg.write_text('[embed]\nbackend = "hashing"\n[reduce]\nensemble = 1\n')
    built = entrypoint(
        "build", str(planted_csv), "--name", "planted", "--config", str(cfg),
        TOPICTRENDS_CACHE=str(cache),
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert (cache / "runs" / "planted" / "manifest.json").exists()
    listed = entrypoint("runs", TOPICTRENDS_CACHE=str(cache))
    assert listed.returncode == 0 and "planted" in listed.stdout
