"""X-ray diffraction: read patterns, identify and index phases, refine lattices."""

from .io import read_xy, write_xy

__all__ = ["read_xy", "write_xy"]
