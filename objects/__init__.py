"""Data: the 21-object catalog (``catalog.json``) and the recipes of the procedural stand-ins."""
