"""The ``fat`` command line (installed as ``fat.cli``)."""

import time

#: When the command started (the package is imported first): what the summaries time from.
START = time.perf_counter()
