"""charact: quantitative, linked, reproducible characterization of battery electrodes.

XRD, Raman, XPS, SEM and electrochemistry of the same samples, read from the instruments'
own files, analysed with uncertainties and joined by sample ID.

>>> import charact
>>> da = charact.read("pattern.xy", technique="xrd")  # doctest: +SKIP
"""

from .core.errors import CharactError
from .core.provenance import charact_version
from .core.readers import read
from .core.store import load_netcdf, save_netcdf

__version__ = charact_version()

__all__ = ["CharactError", "__version__", "load_netcdf", "read", "save_netcdf"]
