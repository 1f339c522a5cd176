"""The dashboard's pages, declared once: URL name, script, navigation title, icon, heading.

``streamlit_app`` builds the navigation from this table, every page opens with
``ui.page(name)`` (which shows the heading from here), and the tests read the same table,
so a new page is one row here plus its script in ``app_pages/``. No Streamlit here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    """One page: its script under ``dashboard/``, its title in the navigation, its icon,
    and the heading it shows (None: the run's name)."""

    script: str
    nav_title: str
    icon: str
    heading: str | None


PAGES: dict[str, PageSpec] = {
    "overview": PageSpec("app_pages/overview.py", "Overview", ":material/dashboard:", None),
    "map": PageSpec("app_pages/topic_map.py", "Topic map", ":material/scatter_plot:", "Topic map"),
    "topics": PageSpec("app_pages/topics.py", "Topics", ":material/topic:", "Topics"),
    "trends": PageSpec("app_pages/trends.py", "Trends", ":material/trending_up:", "Trends"),
    "documents": PageSpec(
        "app_pages/documents.py", "Documents", ":material/description:", "Documents"
    ),
    "facets": PageSpec(
        "app_pages/facets.py", "Metadata facets", ":material/filter_alt:", "Metadata facets"
    ),
    "hierarchy": PageSpec(
        "app_pages/hierarchy.py", "Hierarchy", ":material/account_tree:", "Topic hierarchy"
    ),
    "lineage": PageSpec("app_pages/lineage.py", "Lineage", ":material/call_split:", "Lineage"),
    "digest": PageSpec("app_pages/digest.py", "Digest", ":material/mail:", "Digest"),
    "run-info": PageSpec("app_pages/run_info.py", "Run info", ":material/info:", "Run info"),
}
DEFAULT_PAGE = "overview"
