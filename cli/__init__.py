"""The ``fat`` command line (installed as ``fat.cli``)."""
