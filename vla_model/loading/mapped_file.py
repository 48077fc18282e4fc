"""A checkpoint's tensors are views of its file, memory-mapped privately: once one is converted (another precision,
int8) its pages are given back, so that a load never holds the file and the converted model at once."""
from __future__ import annotations

import ctypes
import mmap
from typing import Iterable

import torch

from vla_model.model.lowering import Release

_PAGE = mmap.PAGESIZE
_MADVISE = getattr(ctypes.CDLL(None), "madvise", None) if hasattr(mmap, "MADV_DONTNEED") else None


def release_pages(tensor: torch.Tensor) -> None:
    """Drop the resident pages that lie wholly inside `tensor`'s bytes, a view of a mapped file no longer read:
    touched again, they come back from the file as stored (anonymous memory would come back zeroed).
    A no-op where the OS has no madvise(MADV_DONTNEED).
    """
    if _MADVISE is None or not tensor.is_contiguous():
        return
    start = tensor.data_ptr()
    first = -(-start // _PAGE) * _PAGE
    last = (start + tensor.numel() * tensor.element_size()) // _PAGE * _PAGE
    if last > first:
        _MADVISE(ctypes.c_void_p(first), ctypes.c_size_t(last - first), mmap.MADV_DONTNEED)


def file_page_release(tensors: Iterable[torch.Tensor], mapped: bool) -> Release:
    """The release a conversion calls on each replaced tensor: the file's pages back for one of `tensors` (views of
    a mapped file), nothing for any other (a base model's weights, or a file that could not be mapped)."""
    if not mapped:
        return lambda tensor: None
    from_file = {tensor.data_ptr() for tensor in tensors}
    return lambda tensor: release_pages(tensor) if tensor.data_ptr() in from_file else None
