"""Scanning electron microscopy: calibrated images, particle sizes, layer thicknesses."""

from .io import image_from_array, read_sem_image, read_sem_tiff

__all__ = ["image_from_array", "read_sem_image", "read_sem_tiff"]
