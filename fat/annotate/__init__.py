"""From a rendered view to annotations: FAT's per-object records and segmentation, and the extra images (--extras)."""
