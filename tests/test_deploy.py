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
    # the one writable place (memory-mapped documents, DuckDB's temp files) is a disk volume
    assert "scratch:/scratch" in dash["volumes"] and "scratch" in doc["volumes"]
    assert dash["environment"]["TOPICTRENDS_SCRATCH"] == "/scratch"
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


SSO = """
[auth]
redirect_uri = "https://dashboards.example.com/topictrends/oauth2callback"
cookie_secret = "0123456789abcdefghijklmnopqrstuvwxyz"
client_id = "topictrends"
client_secret = "not-the-placeholder"
server_metadata_url = "https://login.example.com/.well-known/openid-configuration"

[topictrends]
allowed_domains = ["team.example.com"]
"""
BROKEN_SECRETS = {  # id: (secrets file, extra environment, what the one line says)
    "malformed-toml": ('[auth\nclient_id = "x"\n', {}, "not valid TOML: "),
    "malformed-toml-auth-off": ("[topictrends\n", {"TOPICTRENDS_AUTH": "off"}, "line 1, column"),
    "empty-auth": (
        '[auth]\n[topictrends]\nallowed_domains = ["team.example.com"]\n',
        {},
        "[auth] is empty",
    ),
    "empty-auth-auth-off": ("[auth]\n", {"TOPICTRENDS_AUTH": "off"}, "[auth] is empty"),
    "no-client-secret": (
        SSO.replace('client_secret = "not-the-placeholder"', ""),
        {},
        "missing client_secret",
    ),
    "bad-allow-list-entry": (
        SSO.replace('"team.example.com"', '"team.example.com", "*"'),
        {},
        "'*' is not an e-mail domain",
    ),
    "bad-env-entry": (
        SSO,
        {"TOPICTRENDS_ALLOWED_EMAILS": "alice"},
        "'alice' is not an e-mail address",
    ),
    "example-unfilled": ((REPO / "deploy" / "secrets.example.toml").read_text(), {}, "CHANGE-ME"),
}


def fake_server(tmp_path: Path) -> tuple[Path, Path]:
    """A stand-in for ``topictrends`` that records the arguments it was started with."""
    started = tmp_path / "started"
    fake = tmp_path / "fake-topictrends"
    fake.write_text(f'#!/bin/sh\necho "$@" > {started}\n')
    fake.chmod(0o755)
    return fake, started


@pytest.mark.parametrize(
    ("text", "env", "says"), BROKEN_SECRETS.values(), ids=BROKEN_SECRETS.keys()
)
def test_entrypoint_refuses_a_broken_sign_in_configuration(tmp_path, text, env, says):
    """The entrypoint runs the app's own check (python -m dashboard.access check) and
    refuses to start, in one line naming the file; TOPICTRENDS_AUTH=off does not open a
    dashboard whose secrets are broken."""
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(text)
    fake, started = fake_server(tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir()
    run = entrypoint(
        "serve",
        TOPICTRENDS_CACHE=str(cache),
        TOPICTRENDS_SECRETS=str(secrets),
        TOPICTRENDS_BIN=str(fake),
        **env,
    )
    assert run.returncode == 2 and not started.exists()
    lines = [ln for ln in run.stderr.splitlines() if "writable" not in ln]
    assert len(lines) == 1, run.stderr
    where = "TOPICTRENDS_ALLOWED_EMAILS" if "TOPICTRENDS_ALLOWED_EMAILS" in env else secrets
    assert lines[0].startswith(f"entrypoint: sign-in configuration broken: {where}: ")
    assert says in lines[0]
    assert "0123456789abcdef" not in run.stderr and "not-the-placeholder" not in run.stderr


def test_entrypoint_starts_with_a_valid_configuration(tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(SSO)
    fake, started = fake_server(tmp_path)
    env = {"TOPICTRENDS_CACHE": str(tmp_path), "TOPICTRENDS_BIN": str(fake)}
    on = entrypoint("serve", TOPICTRENDS_SECRETS=str(secrets), **env)
    assert on.returncode == 0, on.stderr
    assert "single sign-on on" in on.stderr
    assert f"--secrets {secrets}" in started.read_text()
    started.unlink()
    absent = tmp_path / "absent.toml"  # another login in front: no secrets file at all
    off = entrypoint("serve", TOPICTRENDS_SECRETS=str(absent), TOPICTRENDS_AUTH="off", **env)
    assert off.returncode == 0, off.stderr
    assert "warning: single sign-on off (TOPICTRENDS_AUTH=off" in off.stderr
    assert "--secrets" not in started.read_text()
    typo = entrypoint("serve", TOPICTRENDS_SECRETS=str(absent), TOPICTRENDS_AUTH="of", **env)
    assert typo.returncode == 2 and "TOPICTRENDS_AUTH='of'" in typo.stderr
    example = (REPO / "deploy" / "secrets.example.toml").read_text()  # complete once filled in
    secrets.write_text(example.replace('"CHANGE-ME"', '"' + "s" * 40 + '"'))
    filled = entrypoint("serve", TOPICTRENDS_SECRETS=str(secrets), **env)
    assert filled.returncode == 0 and "single sign-on on" in filled.stderr, filled.stderr


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
    curated = entrypoint(
        "curate", "planted", "rename", "0", "Curated", TOPICTRENDS_CACHE=str(cache)
    )
    assert curated.returncode == 0, curated.stderr
    log = entrypoint("curate", "planted", "log", TOPICTRENDS_CACHE=str(cache))
    assert log.returncode == 0 and "'Curated'" in log.stdout
    assert entrypoint("curate", TOPICTRENDS_CACHE=str(cache)).returncode == 2
