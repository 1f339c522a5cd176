"""Digests and alerts: what is new, rising and fading in a run, for people who do not open
the dashboard. ``content`` decides what a digest says, ``render`` writes it (Markdown,
HTML, JSON, RSS, text), ``chart`` draws its PNG charts, ``send`` mails it. docs/digests.md.
"""
