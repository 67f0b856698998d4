"""ascolto's analytics library: one module per stage, in data-flow order. Never imports Prefect."""

__version__ = "0.1.0"
