"""Who may see the hosted dashboard, and whether it may write. No Streamlit here.

Single sign-on is Streamlit's own OIDC login (``st.login``), switched on by an ``[auth]``
section in the secrets file (docs/deploy.md). Signing in only proves who someone is; the
allow-list decides whether they see anything. It is read from the ``[topictrends]``
section of the same secrets file and from environment variables, and the two are merged::

    [topictrends]
    allowed_emails = ["alice@example.com"]      # TOPICTRENDS_ALLOWED_EMAILS="a@x,b@y"
    allowed_domains = ["team.example.com"]      # TOPICTRENDS_ALLOWED_DOMAINS="team.example.com"
    contact = "data-team@example.com"           # TOPICTRENDS_ACCESS_CONTACT

An empty allow-list refuses everyone (fail closed): a forgotten setting must not open the
dashboard to every account the identity provider knows.

``TOPICTRENDS_READ_ONLY=1`` (set by deploy/entrypoint.sh) is hosted mode: the dashboard
never writes under the cache root, which the container mounts read-only anyway.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_READ_ONLY = "TOPICTRENDS_READ_ONLY"
ENV_EMAILS = "TOPICTRENDS_ALLOWED_EMAILS"
ENV_DOMAINS = "TOPICTRENDS_ALLOWED_DOMAINS"
ENV_CONTACT = "TOPICTRENDS_ACCESS_CONTACT"
SECTION = "topictrends"
_TRUE = {"1", "true", "yes", "on"}


def read_only(env: Mapping[str, str] | None = None) -> bool:
    """Hosted mode: nothing under the cache root is created, changed or removed."""
    env = os.environ if env is None else env
    return env.get(ENV_READ_ONLY, "").strip().lower() in _TRUE


def _items(value: Any) -> list[str]:
    """A list from TOML (list or string) or an env var (comma/whitespace separated)."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, Iterable):
        return []
    return [str(v).strip().lower() for v in value if str(v).strip()]


@dataclass(frozen=True)
class Policy:
    """The allow-list: exact e-mail addresses and whole e-mail domains (lower-cased)."""

    emails: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()
    contact: str | None = None

    @classmethod
    def load(
        cls, secrets: Mapping[str, Any] | None, env: Mapping[str, str] | None = None
    ) -> Policy:
        env = os.environ if env is None else env
        section = (secrets or {}).get(SECTION) or {}
        emails = _items(section.get("allowed_emails")) + _items(env.get(ENV_EMAILS))
        domains = _items(section.get("allowed_domains")) + _items(env.get(ENV_DOMAINS))
        contact = env.get(ENV_CONTACT) or section.get("contact")
        return cls(
            emails=frozenset(emails),
            domains=frozenset(d.lstrip("@") for d in domains),
            contact=str(contact).strip() if contact else None,
        )

    @property
    def empty(self) -> bool:
        return not self.emails and not self.domains


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


def decide(policy: Policy, email: object, email_verified: object = None) -> Decision:
    """Whether a signed-in user may see the dashboard, and why not.

    The e-mail must be on the list or in a listed domain (the exact domain: a listed
    ``example.com`` does not admit ``evil-example.com`` nor ``x.example.com``). An identity
    provider that says the address is unverified (``email_verified`` false) is refused,
    since anyone could have typed it.
    """
    if policy.empty:
        return Decision(False, "the dashboard's allow-list is empty, so nobody is admitted")
    if not isinstance(email, str) or "@" not in email.strip():
        return Decision(False, "your sign-in did not include an e-mail address")
    if email_verified is False or (
        isinstance(email_verified, str) and email_verified.lower() == "false"
    ):
        return Decision(False, "your identity provider says this e-mail address is unverified")
    addr = email.strip().lower()
    domain = addr.rsplit("@", 1)[1]
    if addr in policy.emails or domain in policy.domains:
        return Decision(True, "on the allow-list")
    return Decision(False, "this address is not on the dashboard's allow-list")


def inside(root: Path, path: Path) -> bool:
    """Whether ``path`` (a run's entry under ``root/runs``) resolves to somewhere under ``root``.

    A run is published as a relative symlink into ``root/.store``; an entry pointing
    anywhere else (``runs/x -> /etc``) is not a run of this cache and is never listed.
    """
    try:
        return path.resolve(strict=True).is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # dangling or looping link
        return False
