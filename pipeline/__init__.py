"""topictrends offline pipeline: ingest, embed, reduce, cluster, describe, trend, cache."""

__version__ = "0.1.0"
SCHEMA_VERSION = 2
