"""Progress for long batch work: the package's one implementation (``realavatar_nb._progress``), re-exported."""

from .._progress import Progress, ProgressArg, TextProgress, make_progress

__all__ = ["Progress", "ProgressArg", "TextProgress", "make_progress"]
