"""Curation: a team's audited edits (rename, merge, hide, note, undo) on top of a run.

``log`` stores them (append-only, locked), ``overlay`` replays them on the current build
through lineage, ``view`` applies them to every table read (the dashboard, the CLI and
the digest all import it: there is no other copy), ``edit`` is the one write path.
docs/curation.md is the user's guide.
"""
