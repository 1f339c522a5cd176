"""Mail a digest: multipart/alternative (plain text, HTML with inline PNG charts).

Charts travel as ``multipart/related`` parts referenced by ``cid:`` (mail clients strip
SVG and many block ``data:`` images). The connection is upgraded with STARTTLS whenever the
server offers it; credentials come from the environment (``TOPICTRENDS_SMTP_USER``,
``TOPICTRENDS_SMTP_PASSWORD``) and are never sent over a connection without TLS. Without
STARTTLS, mail goes out only to a server on this machine's loopback (a local relay).
"""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from pipeline.digest.render import charts, to_html, to_text
from pipeline.errors import UserError

ENV_USER = "TOPICTRENDS_SMTP_USER"
ENV_PASSWORD = "TOPICTRENDS_SMTP_PASSWORD"
ENV_FROM = "TOPICTRENDS_SMTP_FROM"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def parse_server(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"--smtp {value!r}: write HOST:PORT, like smtp.example.com:587")
    return host.strip("[]"), int(port)


def message(d: dict[str, Any], sender: str, to: Sequence[str]) -> EmailMessage:
    """The digest as an e-mail: text part, HTML part, the HTML's charts inline."""
    msg = EmailMessage()
    msg["Subject"] = f"Topic digest: {d['run']}"
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg.set_content(to_text(d))
    pngs = charts(d)
    cids = {name: make_msgid(domain="topictrends.local") for name in pngs}
    msg.add_alternative(to_html(d, image=lambda name: "cid:" + cids[name][1:-1]), subtype="html")
    html_part = msg.get_payload()[1]
    for name, png in pngs.items():
        html_part.add_related(png, "image", "png", cid=cids[name], filename=f"{name}.png")
    return msg


def send(
    d: dict[str, Any],
    server: str,
    to: Sequence[str],
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> EmailMessage:
    """Send the digest to ``to`` through ``server`` (HOST:PORT); returns the message sent."""
    env = os.environ if env is None else env
    host, port = parse_server(server)
    if not to:
        raise UserError("--smtp needs at least one --to ADDRESS")
    bad = [a for a in to if "@" not in a or any(c in a for c in " ,;<>\r\n")]
    if bad:
        raise UserError(f"--to {bad[0]!r} is not an e-mail address")
    user, password = env.get(ENV_USER), env.get(ENV_PASSWORD)
    sender = env.get(ENV_FROM) or user or "topictrends@localhost"
    msg = message(d, sender, to)
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            elif user or host not in LOCAL_HOSTS:
                raise UserError(
                    f"--smtp {server}: the server does not offer STARTTLS, so the digest "
                    f"{'and credentials ' if user else ''}would travel unencrypted. Use a server "
                    "with STARTTLS, or a relay on this machine's loopback."
                )
            if user:
                smtp.login(user, password or "")
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise UserError(
            f"--smtp {server}: cannot send the digest ({exc}). Check the server and port."
        ) from None
    return msg
