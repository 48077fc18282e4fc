"""Import real robot runs (ROS 2 bags, the Mobile VLA collectors' HDF5 files) into episode logs, source="real"."""
from __future__ import annotations


class RealImportError(ValueError):
    """A real run that cannot be imported: a malformed bag or file, a missing topic or dataset, a bad map file."""
