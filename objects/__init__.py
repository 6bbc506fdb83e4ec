"""Data: the 21-object catalog (``catalog.json``), the recipes of the procedural stand-ins, and the
sample object set (``sample/``: ``--objects sample``, its files credited in ``sample/SOURCE.md``)."""
