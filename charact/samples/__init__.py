"""The sample catalogue: projects, manifests, ingest and queries, all keyed by sample ID."""

from .analyze import AnalyzeReport, analyze_measurement, analyze_project
from .catalog import Catalog, IngestError, IngestReport, measurement_id_for
from .compare import compare_samples
from .manifest import Sample, read_manifest
from .project import Project, ProjectConfig, find_project, init_project

__all__ = [
    "AnalyzeReport",
    "Catalog",
    "IngestError",
    "IngestReport",
    "Project",
    "ProjectConfig",
    "Sample",
    "analyze_measurement",
    "analyze_project",
    "compare_samples",
    "find_project",
    "init_project",
    "measurement_id_for",
    "read_manifest",
]
