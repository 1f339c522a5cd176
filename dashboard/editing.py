"""Who may curate topics from the dashboard, and the server's write path. No Streamlit here.

Edits are written by ``pipeline.curation.edit.edit`` (the same path as ``topictrends
curate``). ``submit`` decides the editor itself on every call, from the secrets and the
signed-in identity it is handed, so hiding the controls is never the only guard:

- locally (no sign-in configured, not hosted): the OS user running the dashboard;
- with sign-in: the signed-in e-mail, which must be on the allow-list and on ``editors``
  (``access.may_edit``); a broken configuration refuses (fail closed);
- hosted without sign-in (``TOPICTRENDS_AUTH=off``): nobody, since nobody is known.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dashboard import access
from pipeline.curation.edit import Place, edit, locate
from pipeline.curation.log import CurationError, Entry, local_user


@dataclass(frozen=True)
class Editor:
    """The editor of this session (``who``), or why this session may not edit."""

    who: str | None
    why: str = ""


def place(root: Path, env: Mapping[str, str] | None = None) -> Place:
    """The curation directory of the dashboard's cache (hosted: only a configured mount)."""
    env = os.environ if env is None else env
    return locate(root, hosted=access.read_only(env), env=env)


def editor(
    secrets: Mapping[str, Any] | None, user: Mapping[str, Any], env: Mapping[str, str] | None = None
) -> Editor:
    """Who edits in this session, decided from the configuration and the identity."""
    env = os.environ if env is None else env
    try:
        settings = access.check(secrets, env)
    except access.ConfigError:
        return Editor(None, "the sign-in configuration is broken")
    if not settings.sign_in:
        if access.read_only(env):
            return Editor(None, "a hosted dashboard without sign-in knows no editors")
        return Editor(local_user())
    if not user.get("is_logged_in", False):
        return Editor(None, "sign in to edit")
    decision = access.may_edit(settings.policy, user.get("email"), user.get("email_verified"))
    if not decision.allowed:
        return Editor(None, decision.reason)
    return Editor(str(user.get("email")).strip().lower())


def submit(
    root: Path,
    secrets: Mapping[str, Any] | None,
    user: Mapping[str, Any],
    run: Any,
    action: str,
    topic: int | None = None,
    into: int | None = None,
    value: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Entry:
    """Write one edit of ``run`` (a RunData) for this session; CurationError when refused."""
    who = editor(secrets, user, env)
    if who.who is None:
        raise CurationError(f"not allowed to edit: {who.why}")
    return edit(
        place(root, env),
        run.name,
        run.manifest,
        run.build_topics,
        who.who,
        action,
        topic,
        into,
        value,
        run.lineage,
        run.topic_history,
    )
