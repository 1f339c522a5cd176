"""Config sections that are not a pipeline stage's own (engine, labels, team features).

``pipeline/config.py`` holds the stage sections and the one ``Config`` that gathers every
section; a section that grows a feature of its own lives here, one module each, and is
registered in ``Config`` with one line. ``base.py`` is the shared building block.
"""
