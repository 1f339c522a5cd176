"""The stages: one module each, declared once in ``registry.py``, run by ``base.run_stage``."""
