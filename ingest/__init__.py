"""EduOpen ingestion: polite HTTP, per-source adapters, the raw store and the pipeline steps."""

__version__ = "0.1.0"
