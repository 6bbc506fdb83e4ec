"""fat: make, load and study Falling Things (FAT) style synthetic datasets."""
__version__ = "0.1.0"
