"""A digest (``content.build_digest``) as Markdown, HTML, JSON, RSS or plain text.

Labels, notes and document titles are text written by others (a corpus, an editor), so
each format escapes them its own way: Markdown backslash-escapes every punctuation mark
that could start markup, HTML goes through ``html.escape`` (links only for http(s) URLs),
JSON is JSON, and RSS is built by feedgen (which escapes XML) from the escaped HTML.
Charts are PNG bar charts (``chart.bar_png``): inline ``cid:`` images in an e-mail,
``data:`` URIs in an HTML file, block-character sparklines in text formats.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable
from typing import Any

from pipeline.digest.chart import bar_png, sparkline

THEME_TITLES = {"rising": "Rising themes", "fading": "Fading themes"}
TITLES = {
    "new": "New topics",
    "emerging": "Emerging",
    "rising": "Rising",
    "fading": "Fading",
}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&\"'$:@=])")


def md(text: object) -> str:
    """Text as Markdown shows it literally: markup characters escaped, one line."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _url(url: str) -> str:
    return re.sub(r"[\s()<>\"'\\]", lambda m: f"%{ord(m.group()):02X}", url)


def growth_text(i: dict[str, Any]) -> str:
    if i["growth"] is None:
        return "growth n/a"
    ratio = 2.718281828 ** i["growth"]
    lo, hi = i["growth_ci_low"], i["growth_ci_high"]
    ci = f" (95% CI {lo:+.2f} .. {hi:+.2f})" if lo is not None and hi is not None else ""
    return f"growth {i['growth']:+.2f} = share x{ratio:.2f}{ci}"


def window_text(d: dict[str, Any]) -> str:
    w, p = d.get("recent_window"), d.get("previous_window")
    if not w:
        return f"No trend window: {d.get('note') or 'the run has no dated trend scores'}."
    prev = f", against {p['start']} .. {p['end']}" if p else ""
    return f"Recent window {w['start']} .. {w['end']} ({w['periods']} {d.get('period')}s{prev})."


def sections(d: dict[str, Any]) -> list[tuple[str, list[dict]]]:
    """(title, items) in the order every format shows them: matches, themes, topics."""
    out = [("Watchlist matches", d["matches"])] if d["matches"] else []
    out += [(THEME_TITLES[k], v) for k, v in (d.get("themes") or {}).items() if v]
    return out + [(TITLES[k], v) for k, v in d["sections"].items() if v]


def key(i: dict[str, Any]) -> str:
    """An item's id among the digest's charts and feed items: a theme's or a topic's."""
    return f"theme-{i['node']}" if "node" in i else f"topic-{i['topic']}"


def head(i: dict[str, Any]) -> str:
    """An item's heading as plain text (each format escapes it): "Theme: label" or
    "ID: label"."""
    return f"Theme: {i['label']}" if "node" in i else f"{i['topic']}: {i['label']}"


def theme_topics(i: dict[str, Any]) -> str:
    """A theme's topics with their own calls, as plain text; empty for a topic."""
    if "node" not in i:
        return ""
    return "topics: " + "; ".join(
        f"{t['topic']}: {t['label']} ({t['category']})" for t in i["topics"]
    )


def intro(d: dict[str, Any]) -> list[str]:
    """The window line, and the themes note when there is one (plain text)."""
    return [window_text(d), *([d["themes_note"]] if d.get("themes_note") else [])]


def change_lines(d: dict[str, Any]) -> list[tuple[str, str]]:
    c = d["changes"]
    rows = []
    for rel, what in (("new", "new"), ("gone", "gone"), ("split", "split"), ("merged", "merged")):
        for t in c[rel]:
            rows.append((what, f"{t['topic']}: {t['label']}"))
    return rows


def _md_head(i: dict[str, Any]) -> str:
    return f"Theme: {md(i['label'])}" if "node" in i else f"{i['topic']}: {md(i['label'])}"


def to_markdown(d: dict[str, Any]) -> str:
    lines = [f"# Topic digest: {md(d['run'])}", "", *intro(d), ""]
    for title, items in sections(d):
        lines += [f"## {title}", ""]
        for i in items:
            lines.append(
                f"- **{_md_head(i)}** ({i['category']}), {growth_text(i)}, "
                f"{i['recent_count']} recent documents `{sparkline([s['share'] for s in i['series']])}`"
            )
            if theme_topics(i):
                lines.append(f"  - {md(theme_topics(i))}")
            if i["note"]:
                lines.append(f"  - note: {md(i['note'])}")
            for doc in i["documents"]:
                title_md = md(doc["title"])
                link = f"[{title_md}](<{_url(doc['url'])}>)" if doc["url"] else title_md
                lines.append(f"  - {link}" + (f" ({doc['date']})" if doc["date"] else ""))
        lines.append("")
    lines += [f"## Changes since update step {d['changes']['since_step']}", ""]
    changes = change_lines(d)
    lines += [f"- {what}: {md(text)}" for what, text in changes] or ["- none"]
    lines += ["", f"_Generated {d['generated_at']} by topictrends digest._", ""]
    return "\n".join(lines)


def to_text(d: dict[str, Any]) -> str:
    """The plain-text part of an e-mail."""
    lines = [f"Topic digest: {d['run']}", *intro(d), ""]
    for title, items in sections(d):
        lines += [title.upper()]
        for i in items:
            spark = sparkline([s["share"] for s in i["series"]])
            lines.append(f"* {head(i)} ({i['category']}) {growth_text(i)} {spark}")
            lines += [f"    {theme_topics(i)}"] if theme_topics(i) else []
            lines += [f"    - {doc['title']} {doc['url'] or ''}".rstrip() for doc in i["documents"]]
        lines.append("")
    lines += [f"Changes since update step {d['changes']['since_step']}:"]
    lines += [f"  {what}: {text}" for what, text in change_lines(d)] or ["  none"]
    return "\n".join(lines) + "\n"


def charts(d: dict[str, Any]) -> dict[str, bytes]:
    """One PNG per topic or theme shown: content id (``key``) -> PNG bytes."""
    out = {}
    for _, items in sections(d):
        for i in items:
            out[key(i)] = bar_png([s["share"] for s in i["series"]], recent=1)
    return out


def to_html(d: dict[str, Any], image: Callable[[str], str] | None = None) -> str:
    """The digest as one HTML page; ``image(content_id)`` gives each chart's src (default:
    a data: URI, so the file stands alone)."""
    pngs = charts(d)
    src = image or (lambda cid: "data:image/png;base64," + base64.b64encode(pngs[cid]).decode())
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Topic digest: {e(d['run'])}</title></head>",
        "<body style='font-family:sans-serif;max-width:760px'>",
        f"<h1>Topic digest: {e(d['run'])}</h1>",
        *[f"<p>{e(t)}</p>" for t in intro(d)],
    ]
    for title, items in sections(d):
        parts.append(f"<h2>{e(title)}</h2>")
        for i in items:
            img = e(src(key(i)))
            parts.append(
                f"<h3>{e(head(i))} <small>({e(i['category'])})</small></h3>"
                f"<p>{e(growth_text(i))}; {i['recent_count']} recent documents<br>"
                f"<img src='{img}' alt='share per period' height='40'></p>"
            )
            if theme_topics(i):
                parts.append(f"<p>{e(theme_topics(i))}</p>")
            if i["note"]:
                parts.append(f"<p><em>Note: {e(i['note'])}</em></p>")
            docs = []
            for doc in i["documents"]:
                t = e(doc["title"])
                link = f"<a href='{e(doc['url'], quote=True)}'>{t}</a>" if doc["url"] else t
                docs.append(f"<li>{link}{' (' + e(doc['date']) + ')' if doc['date'] else ''}</li>")
            parts.append("<ul>" + "".join(docs) + "</ul>")
    parts.append(f"<h2>Changes since update step {d['changes']['since_step']}</h2><ul>")
    parts += [f"<li>{e(w)}: {e(t)}</li>" for w, t in change_lines(d)] or ["<li>none</li>"]
    parts.append(f"</ul><p><small>Generated {e(d['generated_at'])}.</small></p></body></html>")
    return "\n".join(parts)


def to_json(d: dict[str, Any]) -> str:
    return json.dumps(d, indent=2, ensure_ascii=False) + "\n"


def to_rss(d: dict[str, Any], link: str = "http://localhost:8501/") -> str:
    """An RSS 2.0 feed (feedgen): one item per topic shown, newest digest's date."""
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    fg.title(f"Topic digest: {d['run']}")
    fg.link(href=link)
    fg.description(" ".join(intro(d)))
    fg.lastBuildDate(d["generated_at"])
    for title, items in sections(d):
        for i in items:
            fe = fg.add_entry(order="append")
            fe.id(f"{d['run']}:{d['generated_at']}:{title}:{key(i)}")
            fe.guid(f"{d['run']}:{d['generated_at']}:{title}:{key(i)}", permalink=False)
            fe.title(f"{title}: {head(i)}")
            docs = "".join(f"<li>{html.escape(doc['title'])}</li>" for doc in i["documents"])
            parts = [growth_text(i), theme_topics(i)]
            text = "".join(f"<p>{html.escape(p)}</p>" for p in parts if p)
            fe.description(f"{text}<ul>{docs}</ul>")
            fe.pubDate(d["generated_at"])
    return fg.rss_str(pretty=True).decode()


FORMATS: dict[str, Callable[[dict[str, Any]], str]] = {
    "md": to_markdown,
    "html": to_html,
    "json": to_json,
    "rss": to_rss,
}
