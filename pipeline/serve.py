"""How ``topictrends serve`` starts the dashboard: the Streamlit command line and its flags."""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.errors import UserError


def streamlit_flags(config_file: Path) -> list[str]:
    """A Streamlit ``config.toml`` as ``streamlit run`` flags (``--server.headless true``).

    Flags win over every config.toml Streamlit finds on its own (home directory, working
    directory, next to the app), so the settings in ``config_file`` are the ones in force
    wherever the server is started from. Unknown options are refused rather than ignored,
    and so are sensitive ones (``server.cookieSecret``), which Streamlit takes only from a
    file or the environment (``STREAMLIT_SERVER_COOKIE_SECRET``).
    """
    import tomllib

    from streamlit import config as st_config

    try:
        doc = tomllib.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"{config_file}: not a readable TOML file ({exc})") from None
    known = st_config._config_options_template  # the options ``streamlit run`` takes as flags
    flags: list[str] = []
    for section, options in doc.items():
        if not isinstance(options, dict):
            raise UserError(f"{config_file}: {section!r} must be a [section] of options")
        for name, value in options.items():
            key = f"{section}.{name}"
            option = known.get(key)
            if option is None:
                raise UserError(f"{config_file}: {key} is not a Streamlit option; remove it")
            if option.sensitive:
                raise UserError(
                    f"{config_file}: {key} is sensitive; set it in the environment "
                    f"({option.env_var}) instead"
                )
            for v in value if isinstance(value, list) else [value]:
                flags += [f"--{key}", str(v).lower() if isinstance(v, bool) else str(v)]
    return flags


def serve_args(
    cache_dir: Path | None,
    port: int,
    host: str,
    streamlit_config: Path | None = None,
    secrets: Path | None = None,
) -> list[str]:
    """The ``streamlit run`` command line of ``topictrends serve`` (and ``demo``)."""
    from importlib import resources

    from pipeline.store.cache import cache_root

    app_path = Path(str(resources.files("dashboard") / "server.py"))
    os.environ["TOPICTRENDS_CACHE"] = str(cache_root(cache_dir))
    extra = streamlit_flags(streamlit_config) if streamlit_config else []
    if secrets is not None:
        if not secrets.is_file():
            raise UserError(f"{secrets}: no such secrets file (pass an existing secrets.toml)")
        extra += ["--secrets.files", str(secrets.resolve())]
    return [
        "streamlit",
        "run",
        str(app_path),
        "--server.port",
        str(port),
        "--server.address",
        host,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        *extra,
    ]
