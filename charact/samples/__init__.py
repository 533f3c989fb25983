"""The sample catalogue: projects, manifests, ingest and queries, all keyed by sample ID."""

from .catalog import Catalog, IngestError, IngestReport, measurement_id_for
from .manifest import Sample, read_manifest
from .project import Project, ProjectConfig, find_project, init_project

__all__ = [
    "Catalog",
    "IngestError",
    "IngestReport",
    "Project",
    "ProjectConfig",
    "Sample",
    "find_project",
    "init_project",
    "measurement_id_for",
    "read_manifest",
]
