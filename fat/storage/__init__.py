"""Where :class:`fat.Dataset` reads frames from: a dataset folder (:class:`~fat.storage.folder.FolderStorage`)
or an HDF5 export of one (:class:`~fat.storage.hdf5.H5Storage`), chosen by :func:`open_storage`.

A storage offers what differs between the two; the Dataset does the rest (filters, eyes, items):

* ``base``: the folder holding ``mixed/`` and ``single/``, or the HDF5 file; ``baseline`` (metres);
* ``folders``: :class:`FolderInfo` per leaf folder (``mixed/kitchen_0``), in the order of
  :func:`~fat.storage.base.folder_order` (mixed, dr, single; then by name), the same in every storage;
* ``frames(infos, classes)``: ``(folder, index, eyes)`` of the frames of those folders that show one
  of ``classes`` (class keys, :func:`class_key`; None: all), ``eyes`` those present, folder by folder
  in the order of ``infos``, each folder's frames by number;
* ``intrinsics(folder, eye)``; ``annotations(folder, index, eye)`` (``camera_pose``, ``objects``,
  ``raw``); ``image(name, folder, index, eye, size)``; ``folder(rel)`` (the leaf folder's
  :class:`~fat.formats.fat.FatFolder`); ``close()``.
"""

from __future__ import annotations

from pathlib import Path

from .base import FolderInfo, Storage, class_key, decode_rgb, object_item

__all__ = ["FolderInfo", "Storage", "class_key", "decode_rgb", "is_hdf5", "object_item", "open_storage"]


def is_hdf5(root: str | Path) -> bool:
    """Whether ``root`` is a file made by ``fat export hdf5`` (by its name), which Dataset reads too."""
    return str(root).endswith((".h5", ".hdf5")) and Path(root).is_file()


def open_storage(root: str | Path) -> Storage:
    """The storage of ``root``: an HDF5 export (by its name) or a dataset folder."""
    if is_hdf5(root):
        from .hdf5 import H5Storage

        return H5Storage(root)
    from .folder import FolderStorage

    return FolderStorage(root)
