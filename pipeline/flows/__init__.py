"""The flows: build, update and refit, each a short sequence over the declared stages."""

from pipeline.flows.build import build
from pipeline.flows.run import BuildResult
from pipeline.flows.update import update

__all__ = ["BuildResult", "build", "update"]
