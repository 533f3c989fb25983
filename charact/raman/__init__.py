"""Raman spectroscopy: read spectra and maps, fit c-Si, a-Si and carbon bands."""

from .io import read_text_spectrum, write_text_spectrum

__all__ = ["read_text_spectrum", "write_text_spectrum"]
