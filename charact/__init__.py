"""charact: quantitative, linked, reproducible characterization of battery electrodes.

XRD, Raman, XPS, SEM and electrochemistry of the same samples, read from the instruments'
own files, analysed with uncertainties and joined by sample ID.

>>> import charact
>>> da = charact.read("pattern.xy", technique="xrd")  # doctest: +SKIP
>>> maps = charact.open_results("charact-demo", analysis="raman.map")  # doctest: +SKIP
"""

from .core.errors import CharactError
from .core.provenance import charact_version
from .core.readers import read
from .core.store import load_netcdf, save_netcdf

__version__ = charact_version()

__all__ = ["CharactError", "__version__", "load_netcdf", "open_results", "read", "save_netcdf"]


def __getattr__(name: str):  # lazy: the catalogue (SQLAlchemy) loads only when asked for
    if name == "open_results":
        from .samples.results import open_results

        return open_results
    raise AttributeError(f"module 'charact' has no attribute {name!r}")
