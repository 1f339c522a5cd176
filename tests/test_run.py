"""What the flows share (pipeline.flows.run): run keys, the run's current build."""

from __future__ import annotations

from pipeline.config import Config


def test_update_settings_never_invalidate_a_build() -> None:
    """[update] is outside the run key and every stage key; other sections are inside."""
    from pipeline.flows.run import run_key

    base = Config()
    tuned = base.with_overrides({"update": {"match_threshold": 0.9, "assign_threshold": 0.5}})
    assert run_key("corpus", tuned) == run_key("corpus", base)
    assert run_key("corpus", base.with_overrides({"cluster": {"min_cluster_size": 9}})) != (
        run_key("corpus", base)
    )
    assert all(getattr(tuned, s).key() == getattr(base, s).key() for s in ("embed", "cluster"))
