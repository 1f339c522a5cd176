"""Who may see the hosted dashboard, and whether it may write. No Streamlit here.

Single sign-on is Streamlit's own OIDC login (``st.login``), switched on by an ``[auth]``
section in the secrets file (docs/deploy.md). Signing in only proves who someone is; the
allow-list decides whether they see anything. It is read from the ``[topictrends]``
section of the same secrets file and from environment variables, and the two are merged::

    [topictrends]
    allowed_emails = ["alice@example.com"]      # TOPICTRENDS_ALLOWED_EMAILS="a@x,b@y"
    allowed_domains = ["team.example.com"]      # TOPICTRENDS_ALLOWED_DOMAINS="team.example.com"
    contact = "data-team@example.com"           # TOPICTRENDS_ACCESS_CONTACT
    editors = ["alice@example.com", "team.example.com"]  # TOPICTRENDS_EDITORS: who may curate

The whole sign-in configuration is checked by ``check`` before anything is served, by the
app on every page load (``gate.py``) and by the container's entrypoint before it starts
the server (``python -m dashboard.access check SECRETS``): one set of rules, and a broken
setting refuses service instead of switching sign-in off (fail closed). An empty
allow-list, an entry that is neither an e-mail address nor a domain, an incomplete
``[auth]``, and a hosted dashboard without ``[auth]`` are all broken settings.

``TOPICTRENDS_READ_ONLY=1`` (set by deploy/entrypoint.sh) is hosted mode: the dashboard
never writes under the cache root, which the container mounts read-only anyway, and it
requires single sign-on unless ``TOPICTRENDS_AUTH=off`` says another login guards it.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ENV_READ_ONLY = "TOPICTRENDS_READ_ONLY"
ENV_AUTH = "TOPICTRENDS_AUTH"
ENV_EMAILS = "TOPICTRENDS_ALLOWED_EMAILS"
ENV_DOMAINS = "TOPICTRENDS_ALLOWED_DOMAINS"
ENV_CONTACT = "TOPICTRENDS_ACCESS_CONTACT"
ENV_EDITORS = "TOPICTRENDS_EDITORS"
SECTION = "topictrends"
SECTION_KEYS = ("allowed_emails", "allowed_domains", "contact", "editors")
_TRUE = {"1", "true", "yes", "on"}
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
_LOCAL_PART = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}")


class ConfigError(ValueError):
    """A broken sign-in configuration, in one line that says what is wrong and the fix.

    ``in_file`` is true when the problem is in the secrets file's content, so the caller
    names the file in front of the message; problems with the environment, or a message
    that already names its file, leave it false.
    """

    def __init__(self, message: str, in_file: bool = True) -> None:
        super().__init__(message)
        self.in_file = in_file

    def located(self, where: str) -> str:
        return f"{where}: {self}" if self.in_file else str(self)


def read_only(env: Mapping[str, str] | None = None) -> bool:
    """Hosted mode: nothing under the cache root is created, changed or removed."""
    env = os.environ if env is None else env
    return env.get(ENV_READ_ONLY, "").strip().lower() in _TRUE


def _items(value: Any, where: str, in_file: bool) -> list[str]:
    """The entries of a list from TOML (a list of strings, or one string) or an env var
    (comma/whitespace separated), lower-cased. Anything else is a ConfigError: a value
    that cannot be read must not silently shorten (or, worse, empty) the allow-list."""
    if value is None:
        return []
    if isinstance(value, str):
        return value.replace(",", " ").lower().split()
    if not isinstance(value, list):
        raise ConfigError(f'{where} must be a list of strings, like ["a@example.com"]', in_file)
    out = []
    for v in value:
        if not isinstance(v, str):
            raise ConfigError(f"{where}: {v!r} is not a string; quote it", in_file)
        out.append(v.strip().lower())
    return out


def _email(entry: str, where: str, in_file: bool) -> str:
    local, at, domain = entry.rpartition("@")
    if at and _LOCAL_PART.fullmatch(local) and _DOMAIN.fullmatch(domain):
        return entry
    hint = "; a whole domain goes in allowed_domains" if not at and _DOMAIN.fullmatch(entry) else ""
    raise ConfigError(f"{where}: {entry!r} is not an e-mail address{hint}", in_file)


def _domain(entry: str, where: str, in_file: bool) -> str:
    domain = entry.removeprefix("@")
    if _DOMAIN.fullmatch(domain):
        return domain
    hint = (
        "; a single address goes in allowed_emails"
        if "@" in domain
        else " (write it in full, like team.example.com: no wildcards, no scheme, no path)"
    )
    raise ConfigError(f"{where}: {entry!r} is not an e-mail domain{hint}", in_file)


def _editor(entry: str, where: str, in_file: bool) -> str:
    """An editors entry: an e-mail address (with '@' inside) or a whole domain."""
    if "@" in entry.removeprefix("@"):
        return _email(entry, where, in_file)
    return _domain(entry, where, in_file)


@dataclass(frozen=True)
class Policy:
    """The allow-list: exact e-mail addresses and whole e-mail domains (lower-cased)."""

    emails: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()
    contact: str | None = None
    # Who may curate topics (docs/curation.md): e-mail addresses and whole domains, by
    # the same rules; an editor must also be on the allow-list to see anything at all.
    editors: frozenset[str] = frozenset()

    @classmethod
    def load(
        cls, secrets: Mapping[str, Any] | None, env: Mapping[str, str] | None = None
    ) -> Policy:
        """The allow-list from the secrets' ``[topictrends]`` and the environment.

        Raises ConfigError on an entry that is not an e-mail address (or a domain), and on
        an unknown key in ``[topictrends]`` (a misspelt ``allowed_domain`` would otherwise
        leave out everyone it was meant to admit, without a word).
        """
        env = os.environ if env is None else env
        section = (secrets or {}).get(SECTION) or {}
        if not isinstance(section, Mapping):
            raise ConfigError(f"[{SECTION}] must be a table ([{SECTION}] on a line of its own)")
        if unknown := sorted(set(section) - set(SECTION_KEYS)):
            raise ConfigError(
                f"[{SECTION}] has no setting {unknown[0]!r}; the settings are "
                + ", ".join(SECTION_KEYS)
            )
        emails = [
            _email(e, f"[{SECTION}] allowed_emails", True)
            for e in _items(section.get("allowed_emails"), f"[{SECTION}] allowed_emails", True)
        ] + [_email(e, ENV_EMAILS, False) for e in _items(env.get(ENV_EMAILS), ENV_EMAILS, False)]
        domains = [
            _domain(d, f"[{SECTION}] allowed_domains", True)
            for d in _items(section.get("allowed_domains"), f"[{SECTION}] allowed_domains", True)
        ] + [
            _domain(d, ENV_DOMAINS, False) for d in _items(env.get(ENV_DOMAINS), ENV_DOMAINS, False)
        ]
        contact = env.get(ENV_CONTACT) or section.get("contact")
        editors = [
            _editor(e, f"[{SECTION}] editors", True)
            for e in _items(section.get("editors"), f"[{SECTION}] editors", True)
        ] + [
            _editor(e, ENV_EDITORS, False) for e in _items(env.get(ENV_EDITORS), ENV_EDITORS, False)
        ]
        return cls(
            emails=frozenset(emails),
            domains=frozenset(domains),
            contact=str(contact).strip() if contact else None,
            editors=frozenset(editors),
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


def admit(settings: Settings, user: Mapping[str, Any]) -> Decision:
    """Whether a visitor may see data under ``settings``: anyone when sign-in is off, else a
    signed-in user the allow-list admits (``decide``). ``user`` is Streamlit's user info
    (``is_logged_in``, ``email``, ``email_verified``): ``st.user`` on a page, the login
    cookie on the export route, so pages and downloads follow one rule."""
    if not settings.sign_in:
        return Decision(True, "single sign-on is off")
    if not user.get("is_logged_in", False):
        return Decision(False, "not signed in")
    return decide(settings.policy, user.get("email"), user.get("email_verified"))


def may_edit(policy: Policy, email: object, email_verified: object = None) -> Decision:
    """Whether a signed-in user may curate: admitted by the allow-list AND on ``editors``
    (by address or exact domain). Called by the server on every write, not only when the
    edit controls are drawn. An empty editors list admits nobody."""
    seen = decide(policy, email, email_verified)
    if not seen.allowed:
        return seen
    addr = str(email).strip().lower()
    if addr in policy.editors or addr.rsplit("@", 1)[1] in policy.editors:
        return Decision(True, "on the editors list")
    return Decision(False, "only the dashboard's editors may curate topics")


def inside(root: Path, path: Path) -> bool:
    """Whether ``path`` (a run's entry under ``root/runs``) resolves to somewhere under ``root``.

    A run is published as a relative symlink into ``root/.store``; an entry pointing
    anywhere else (``runs/x -> /etc``) is not a run of this cache and is never listed.
    """
    try:
        return path.resolve(strict=True).is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # dangling or looping link
        return False


# --- The sign-in configuration: one set of rules for the app and the entrypoint ----------

AUTH_KEYS = ("redirect_uri", "cookie_secret")  # in [auth] itself
PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")  # the default provider
PLACEHOLDER = "CHANGE-ME"  # deploy/secrets.example.toml's value for each secret
MIN_COOKIE_SECRET = 32  # characters; it signs every login cookie
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
_EXAMPLE = "deploy/secrets.example.toml shows every key"


@dataclass(frozen=True)
class Settings:
    """A valid sign-in configuration: whether sign-in is on, and the allow-list."""

    sign_in: bool
    policy: Policy

    def summary(self) -> str:
        if self.sign_in:
            return (
                f"single sign-on on; allow-list: {len(self.policy.emails)} address(es), "
                f"{len(self.policy.domains)} domain(s)"
            )
        return "single sign-on off"


def auth_off(env: Mapping[str, str]) -> bool:
    """``TOPICTRENDS_AUTH=off``: another login guards the dashboard. Any other value is an
    error rather than "on" or "off" guessed from it (``of``, ``0``, ``disabled``...)."""
    value = env.get(ENV_AUTH, "").strip()
    if not value or value.lower() == "off":
        return bool(value)
    raise ConfigError(
        f"{ENV_AUTH}={value!r}: the only value is off (another login guards the dashboard); "
        "unset it to require single sign-on",
        in_file=False,
    )


def _url(where: str, value: str, callback: bool = False) -> None:
    """An https URL (http only on this machine's loopback, for tests and local use);
    a callback ends in /oauth2callback, where Streamlit receives the login."""
    try:
        url = urlsplit(value.replace("{port}", "8501"))  # Streamlit fills in {port}
        host, _ = url.hostname, url.port
    except ValueError:
        host = None
    if not host or url.scheme not in ("http", "https"):
        raise ConfigError(f"{where} = {value!r} is not an https:// URL")
    if url.scheme == "http" and host not in _LOOPBACK:
        raise ConfigError(
            f"{where} = {value!r} is plain http: use https (logins and cookies would travel "
            "unencrypted)"
        )
    if callback and not url.path.endswith("/oauth2callback"):
        raise ConfigError(
            f"{where} = {value!r} must be the dashboard's public URL ending in /oauth2callback"
        )


def check_auth(auth: object) -> None:
    """Everything ``st.login()`` (the default provider) needs, present and plausible."""
    if not isinstance(auth, Mapping):
        raise ConfigError("auth must be a table: [auth] on a line of its own, then its keys")
    if not auth:
        raise ConfigError(
            f"[auth] is empty: single sign-on needs {', '.join(AUTH_KEYS + PROVIDER_KEYS)} ({_EXAMPLE})"
        )
    provider = auth.get("default", auth)  # Streamlit reads [auth.default], else [auth] itself
    name = "[auth.default]" if provider is not auth else "[auth]"
    if not isinstance(provider, Mapping):
        raise ConfigError("auth.default must be a table, or leave it out")
    keys = [("[auth]", auth, k) for k in AUTH_KEYS] + [(name, provider, k) for k in PROVIDER_KEYS]
    if missing := [f"{k}" for _, table, k in keys if k not in table]:
        raise ConfigError(f"[auth] is missing {', '.join(missing)} ({_EXAMPLE})")
    for where, table, key in keys:
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where} {key} must be a non-empty string")
        if "secret" in key and value.strip() == PLACEHOLDER:
            raise ConfigError(f"{where} {key} is still the example's {PLACEHOLDER}; fill it in")
    secret = auth["cookie_secret"].strip()
    if len(secret) < MIN_COOKIE_SECRET:
        raise ConfigError(
            f"[auth] cookie_secret has {len(secret)} characters; it signs every login, so use "
            f"at least {MIN_COOKIE_SECRET} random ones: "
            'python -c "import secrets; print(secrets.token_urlsafe(48))"'
        )
    _url("[auth] redirect_uri", auth["redirect_uri"].strip(), callback=True)
    _url(f"{name} server_metadata_url", provider["server_metadata_url"].strip())


def check(secrets: Mapping[str, Any] | None, env: Mapping[str, str] | None = None) -> Settings:
    """The sign-in configuration, or a ConfigError saying why nothing may be served.

    Fail closed: ``[auth]`` present (even empty) means sign-in is meant to be on, so it
    must be complete, and ``TOPICTRENDS_AUTH=off`` does not override it. Without
    ``[auth]`` the dashboard is open only when nothing asks for sign-in: hosted mode
    (``TOPICTRENDS_READ_ONLY=1``) and an allow-list both do, unless ``TOPICTRENDS_AUTH=off``.
    """
    env = os.environ if env is None else env
    secrets = secrets or {}
    off = auth_off(env)
    policy = Policy.load(secrets, env)
    if "auth" in secrets:
        check_auth(secrets["auth"])
        if policy.empty:
            raise ConfigError(
                f"[{SECTION}] allow-list is empty, so nobody could be admitted: set "
                f"allowed_emails or allowed_domains (or {ENV_EMAILS} / {ENV_DOMAINS})"
            )
        return Settings(sign_in=True, policy=policy)
    if off:
        return Settings(sign_in=False, policy=policy)
    fix = f"add [auth] (docs/deploy.md), or set {ENV_AUTH}=off when another login guards it"
    if read_only(env):
        raise ConfigError(
            f"no [auth] section, and a hosted dashboard ({ENV_READ_ONLY}=1) requires single "
            f"sign-on, or anyone who reaches the port would see every run: {fix}"
        )
    if not policy.empty:
        raise ConfigError(
            f"an allow-list is set but no [auth] section, so nobody would be asked to sign in: {fix}"
        )
    return Settings(sign_in=False, policy=policy)


def read_secrets(path: Path) -> dict[str, Any]:
    """The secrets file as a dict: empty when there is none; a ConfigError when it cannot
    be read or is not TOML (with the line and column tomllib reports)."""
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"cannot be read ({exc.strerror}); mount it as a file") from None


def main(argv: list[str] | None = None) -> int:
    """``python -m dashboard.access check SECRETS``: the entrypoint's check.

    Prints one line (what is configured, or what is broken) and exits 0, or 2 when the
    dashboard must not start. SECRETS may be absent (no secrets file).
    """
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "check":
        print("usage: python -m dashboard.access check SECRETS.toml", file=sys.stderr)
        return 2
    path = Path(args[1])
    where = str(path) if path.exists() else f"{path} (no such file)"
    try:
        settings = check(read_secrets(path))
    except ConfigError as exc:
        print(f"sign-in configuration broken: {exc.located(where)}", file=sys.stderr)
        return 2
    if not settings.sign_in and auth_off(os.environ):
        print(f"warning: single sign-on off ({ENV_AUTH}=off; {where})", file=sys.stderr)
    else:
        print(f"{settings.summary()} ({where})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
