"""Data: the three FAT environments, five locations each."""
