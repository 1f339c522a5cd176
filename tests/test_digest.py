"""`topictrends digest`: content over the curated view, escaping in every format, watchlists,
the change section since the previous digest, and mail through a real SMTP server."""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from pipeline.curation.edit import Place, edit
from pipeline.curation.log import read_log
from pipeline.curation.view import curated_run
from pipeline.digest import render
from pipeline.digest.chart import bar_png
from pipeline.digest.content import build_digest
from pipeline.digest.send import send
from pipeline.errors import UserError
from pipeline.flows import update
from pipeline.store.artifacts import open_run
from pipeline.store.cache import Store
from tests.conftest import cli
from tests.update_corpus import LATE, monthly_corpus, write_csv

EVIL = "<script>alert(1)</script> [x](javascript:alert(1)) **b** & 'q'"


@pytest.fixture(scope="module")
def updated(base_run: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The steady run plus one update that brings the late (VLA) papers: a new topic."""
    cache = tmp_path_factory.mktemp("digest") / "cache"
    shutil.copytree(base_run[0], cache, symlinks=True)
    corpus = monthly_corpus()
    update(
        "base",
        str(write_csv(corpus[corpus["label"] == LATE], cache.parent / "late.csv")),
        Store(cache),
    )
    return cache


@pytest.fixture
def cache(updated: Path, tmp_path: Path) -> Path:
    shutil.copytree(updated, tmp_path / "cache", symlinks=True)
    return tmp_path / "cache"


def digest_of(cache: Path, **kw: object) -> dict:
    handle = open_run(cache / "runs" / "base")
    return build_digest(curated_run(handle, read_log(cache / "curation", "base")), **kw)


def new_topic(d: dict) -> dict:
    return next(i for items in d["sections"].values() for i in items if i["category"] == "new")


def test_labels_and_notes_are_escaped_in_every_format(cache: Path) -> None:
    d0 = digest_of(cache)
    topic = new_topic(d0)["topic"]
    handle = open_run(cache / "runs" / "base")
    for action, value in (("rename", EVIL), ("note", EVIL)):
        edit(Place(cache / "curation", True), "base", handle.manifest,
             handle.read_table("topics.parquet"), "ann", action, topic, value=value)  # fmt: skip
    d = digest_of(cache)
    item = new_topic(d)
    assert item["label"] == EVIL and item["note"] == EVIL and len(item["documents"]) == 3
    md = render.to_markdown(d)
    assert "<script>" not in md and "](javascript" not in md and "**b**" not in md
    assert r"\<script\>alert\(1\)\</script\>" in md
    page = render.to_html(d)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert json.loads(render.to_json(d))["sections"]["new"][0]["label"] == EVIL
    channel = ET.fromstring(render.to_rss(d).encode())[0]
    items = channel.findall("item")
    assert any(it.findtext("title").endswith(EVIL) for it in items)
    assert all("<script>" not in (it.findtext("description") or "") for it in items)


def test_png_charts_are_valid_and_sized() -> None:
    import zlib

    from pipeline.digest.chart import BACKGROUND, BAR, RECENT

    png = bar_png([0.0, 0.1, 0.3, 0.2], recent=1, width=40, height=10)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png[12:16] == b"IHDR"
    w, h = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (w, h) == (39, 10) and png.endswith(b"IEND\xaeB`\x82")
    idat = png.index(b"IDAT")
    raw = zlib.decompress(png[idat + 4 : idat + 4 + int.from_bytes(png[idat - 4 : idat], "big")])
    rows = [raw[y * (1 + 3 * w) + 1 : (y + 1) * (1 + 3 * w)] for y in range(h)]
    px = lambda x, y: tuple(rows[y][3 * x : 3 * x + 3])  # noqa: E731
    assert px(0, 9) == BACKGROUND  # a zero share draws nothing
    assert px(20, 1) == BACKGROUND and px(20, 2) == BAR  # the largest share: full height
    assert px(30, 0) == BACKGROUND and px(30, 9) == RECENT  # the recent period, accented


def test_watchlist_first_and_fail_on_match(cache: Path, tmp_path: Path, capsys) -> None:
    c = ("--cache-dir", str(cache))
    keyword = new_topic(digest_of(cache))["label"].split(" · ")[0]
    cfg = tmp_path / "watch.toml"
    cfg.write_text(f'[alerts]\nwatch = ["{keyword}", "topic:0"]\n')
    code, out, err = cli(capsys, "digest", "base", "--config", str(cfg), "--fail-on-match", *c)
    assert code == 3 and "watched topic(s) moved" in err
    assert out.index("## Watchlist matches") < out.index("## New topics")
    cfg.write_text('[alerts]\nwatch = ["no such words anywhere"]\n')
    assert cli(capsys, "digest", "base", "--config", str(cfg), "--fail-on-match", *c)[0] == 0
    cfg.write_text('[alerts]\nwatch = ["topic:x"]\n')
    code, _, err = cli(capsys, "digest", "base", "--config", str(cfg), *c)
    assert code == 2 and "topic:ID" in err
    for argv, needle in [
        (("--last", "2", "--since", "2024-01-01"), "give one of them"),
        (("--format", "pdf"), "--format 'pdf'"),
        (("--since", "2024-13-01"), "YYYY-MM-DD"),
        (("--since", "2031-01-01"), "no complete month"),
    ]:
        code, _, err = cli(capsys, "digest", "base", *argv, *c)
        assert code == 2 and needle in err, err


def test_changes_since_the_previous_digest(cache: Path, tmp_path: Path, capsys) -> None:
    c = ("--cache-dir", str(cache))
    out_file = tmp_path / "d.json"
    assert cli(capsys, "digest", "base", "--format", "json", "--out", str(out_file), *c)[0] == 0
    first = json.loads(out_file.read_text())
    assert first["step"] == 1 and [t["topic"] for t in first["changes"]["new"]]
    assert cli(capsys, "digest", "base", "--format", "json", "--out", str(out_file), *c)[0] == 0
    assert json.loads(out_file.read_text())["changes"]["new"] == []  # nothing since then
    code, out, _ = cli(capsys, "digest", "base", "--last", "2", *c)
    assert code == 0 and "(2 months, against" in out


# ---------------------------------------------------------------- mail (aiosmtpd)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        self.messages.append(envelope.original_content)
        return "250 OK"


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_mail_with_starttls_and_credentials(cache: Path, tmp_path: Path, monkeypatch) -> None:
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    cert, key = self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):  # noqa: ANN001, ANN202
        logins.append((auth_data.login, auth_data.password, session.ssl is not None))
        return AuthResult(success=True)

    inbox = Inbox()
    ctl = Controller(
        inbox, hostname="127.0.0.1", port=free_port(), tls_context=tls, require_starttls=True,
        authenticator=authenticator, auth_require_tls=True,
    )  # fmt: skip
    ctl.start()
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test's own certificate
        env = {"TOPICTRENDS_SMTP_USER": "bot", "TOPICTRENDS_SMTP_PASSWORD": "pw"}
        d = digest_of(cache)
        send(d, f"127.0.0.1:{ctl.port}", ["team@example.com"], env=env)
    finally:
        ctl.stop()
    assert logins == [(b"bot", b"pw", True)]
    (raw,) = inbox.messages
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["To"] == "team@example.com" and msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",))
    assert "NEW TOPICS" in text and new_topic(d)["label"] in text
    related = [p for p in msg.walk() if p.get_content_type() == "multipart/related"]
    images = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert len(related) == 1 and images
    assert all(p.get_content().startswith(b"\x89PNG") for p in images)
    body = html.get_content()
    assert all(f"cid:{p['Content-ID'][1:-1]}" in body for p in images)


def test_no_credentials_over_a_plain_connection(cache: Path) -> None:
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=free_port())
    ctl.start()
    try:
        with pytest.raises(UserError, match="unencrypted"):
            send(digest_of(cache), f"127.0.0.1:{ctl.port}", ["a@example.com"],
                 env={"TOPICTRENDS_SMTP_USER": "bot", "TOPICTRENDS_SMTP_PASSWORD": "pw"})  # fmt: skip
        send(digest_of(cache), f"127.0.0.1:{ctl.port}", ["a@example.com"], env={})  # loopback relay
    finally:
        ctl.stop()
    assert len(inbox.messages) == 1
