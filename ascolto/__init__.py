"""ascolto: listen to customers after debt collection."""

from pipeline import __version__

__all__ = ["__version__"]
