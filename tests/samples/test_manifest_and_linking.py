"""The samples manifest, project settings and the linking of files to sample IDs."""

from __future__ import annotations

from pathlib import Path

import pytest

from charact.core.errors import (
    AmbiguousSampleError,
    CatalogError,
    DuplicateSampleError,
    ManifestError,
    MissingFileError,
    UnknownSampleError,
)
from charact.samples import Project, init_project, read_manifest
from charact.samples.project import compile_pattern, find_project
from tests.conftest import write_manifest


def test_init_writes_commented_config_and_empty_manifest(tmp_path):
    root = init_project(tmp_path / "p")
    config = (root / "charact.toml").read_text()
    assert config.lstrip().startswith("#") and "patterns" in config
    assert read_manifest(root / "samples.csv") == []
    proj = Project(root)
    assert proj.config.name == "p" and proj.samples == []
    with pytest.raises(CatalogError, match="already exists"):
        init_project(root)


def test_manifest_columns_types_and_free_columns(tmp_path):
    path = write_manifest(
        tmp_path,
        [
            {
                "sample_id": "A1",
                "description": "x",
                "state": "Pristine",
                "cycles": "0",
                "parent": "",
                "mass_mg": "0.57",
                "operator": "Lin",
                "files": "a.xy; b/*.txt",
            },
            {"sample_id": "A2", "state": "cycled", "cycles": "500", "parent": "A1", "mass_mg": "1"},
        ],
    )
    s1, s2 = read_manifest(path)
    assert (s1.sample_id, s1.state, s1.cycles, s1.parent) == ("A1", "pristine", 0, None)
    assert s1.files == ["a.xy", "b/*.txt"]
    assert s1.extra == {"mass_mg": 0.57, "operator": "Lin"}
    assert (s2.parent, s2.cycles, s2.extra) == ("A1", 500, {"mass_mg": 1})


def test_manifest_toml(tmp_path):
    p = tmp_path / "samples.toml"
    p.write_text(
        '[[sample]]\nsample_id = "T1"\nstate = "pristine"\n'
        '[[sample]]\nsample_id = "T2"\nparent = "T1"\nfiles = ["x.xy"]\n'
    )
    _, s2 = read_manifest(p)
    assert s2.parent == "T1" and s2.files == ["x.xy"] and s2.where == "samples.toml sample #2"


def test_duplicate_sample_id_names_both_rows(tmp_path):
    path = write_manifest(tmp_path, [{"sample_id": "A1"}, {"sample_id": "B"}, {"sample_id": "A1"}])
    with pytest.raises(DuplicateSampleError) as info:
        read_manifest(path)
    assert "line 2" in str(info.value) and "line 4" in str(info.value)


def test_case_variant_duplicate_is_an_error(tmp_path):
    path = write_manifest(tmp_path, [{"sample_id": "MSiC-P01"}, {"sample_id": "msic-p01"}])
    with pytest.raises(DuplicateSampleError, match="case-variant"):
        read_manifest(path)


@pytest.mark.parametrize("bad", ["has space", "-lead", "a/b", "x" * 129])
def test_malformed_sample_id(tmp_path, bad):
    path = write_manifest(tmp_path, [{"sample_id": bad}])
    with pytest.raises(ManifestError, match="malformed"):
        read_manifest(path)


def test_bad_cycles_and_unknown_parent_and_loops(tmp_path):
    with pytest.raises(ManifestError, match="whole number"):
        read_manifest(write_manifest(tmp_path, [{"sample_id": "A", "cycles": "many"}]))
    with pytest.raises(UnknownSampleError, match="did you mean 'MSiC-P01'"):
        read_manifest(
            write_manifest(
                tmp_path, [{"sample_id": "MSiC-P01"}, {"sample_id": "X", "parent": "MSiC-PO1"}]
            )
        )
    with pytest.raises(ManifestError, match="loops"):
        read_manifest(
            write_manifest(
                tmp_path, [{"sample_id": "A", "parent": "B"}, {"sample_id": "B", "parent": "A"}]
            )
        )


def test_manifest_without_sample_id_header(tmp_path):
    p = tmp_path / "samples.csv"
    p.write_text("name,state\nA,pristine\n")
    with pytest.raises(ManifestError, match="'sample_id' column"):
        read_manifest(p)


# --------------------------------------------------------------------------- patterns


def test_pattern_compilation():
    rx = compile_pattern("{sample_id}_{technique}_*", sample_id="S-1")
    assert rx.match("S-1_xrd_001.xy") and rx.match("deep/dir/S-1_raman_a.txt")
    assert rx.match("S-1_XRD_1.xy").group("technique") == "XRD"
    assert not rx.match("S-10_xrd_001.xy")
    generic = compile_pattern("{technique}/{sample_id}.*")
    m = generic.match("xps/MSiC-C500.vms")
    assert m.group("sample_id") == "MSiC-C500" and m.group("technique") == "xps"
    assert compile_pattern("**/{sample_id}.*", sample_id="A").match("a/b/c/A.xy")
    with pytest.raises(ManifestError, match="no \\{sample_id\\}"):
        compile_pattern("*.xy")
    with pytest.raises(ManifestError, match="unknown placeholder"):
        compile_pattern("{sample}_{sample_id}")


def _project(
    tmp_path: Path, ids: list[str], files: list[str], config: str | None = None
) -> Project:
    root = init_project(tmp_path / "p")
    if config is not None:
        (root / "charact.toml").write_text(config)
    write_manifest(root, [{"sample_id": i} for i in ids])
    for f in files:
        (root / f).parent.mkdir(parents=True, exist_ok=True)
        (root / f).write_text("1 2\n3 4\n")
    return Project(root)


def test_link_by_default_patterns_and_technique_folders(tmp_path):
    proj = _project(
        tmp_path,
        ["MSiC-C5", "MSiC-C500", "MSiC-P01"],
        ["xrd/MSiC-P01.xy", "raman/MSiC-C500_spot1.txt", "MSiC-C5_xps_a.vms", "misc/si_ref.txt"],
    )
    link = proj.link("xrd/MSiC-P01.xy")
    assert (link.sample_id, link.technique) == ("MSiC-P01", "xrd")
    link = proj.link("raman/MSiC-C500_spot1.txt")  # not MSiC-C5: "00_spot1" does not fit
    assert (link.sample_id, link.technique) == ("MSiC-C500", "raman")
    link = proj.link("MSiC-C5_xps_a.vms")
    assert (link.sample_id, link.technique) == ("MSiC-C5", "xps")
    assert proj.link("misc/si_ref.txt").sample_id is None  # no close match: simply unlinked
    assert proj.scan() == [
        "MSiC-C5_xps_a.vms",
        "misc/si_ref.txt",
        "raman/MSiC-C500_spot1.txt",
        "xrd/MSiC-P01.xy",
    ]


def test_link_ambiguous_sample_is_an_error(tmp_path):
    proj = _project(tmp_path, ["A_1", "A"], ["A_1_x.txt"])
    with pytest.raises(AmbiguousSampleError, match="'A_1', 'A'|'A', 'A_1'"):
        proj.link("A_1_x.txt")


def test_link_typo_in_filename_lists_close_matches(tmp_path):
    proj = _project(tmp_path, ["MSiC-P01", "MSiC-C500"], ["MSiC-P0l_xrd_1.xy"])
    with pytest.raises(UnknownSampleError) as info:
        proj.link("MSiC-P0l_xrd_1.xy")
    assert "'MSiC-P0l'" in str(info.value) and "did you mean 'MSiC-P01'" in str(info.value)


def test_explicit_files_column_wins_and_missing_file_is_an_error(tmp_path):
    root = init_project(tmp_path / "p")
    (root / "data").mkdir()
    (root / "data" / "run7.xy").write_text("1 2\n3 4\n")
    write_manifest(root, [{"sample_id": "A", "files": "data/run7.xy"}, {"sample_id": "B"}])
    proj = Project(root)
    assert proj.link("data/run7.xy").sample_id == "A"
    assert proj.link("data/run7.xy").reason == "manifest files column"
    write_manifest(root, [{"sample_id": "A", "files": "data/run8.xy"}])
    with pytest.raises(MissingFileError, match="'data/run8.xy' of sample 'A' does not exist"):
        Project(root).explicit_links()


def test_custom_patterns_and_ignore(tmp_path):
    config = '[link]\npatterns = ["{technique}/{sample_id}-*"]\nignore = ["scratch/**", "*.log"]\n'
    proj = _project(tmp_path, ["P1"], ["xrd/P1-a.xy", "scratch/P1-b.xy", "run.log"], config)
    assert proj.scan() == ["xrd/P1-a.xy"]
    assert proj.link("xrd/P1-a.xy").sample_id == "P1"


def test_bad_config_is_a_manifest_error(tmp_path):
    root = init_project(tmp_path / "p")
    (root / "charact.toml").write_text("[link]\npatterns = 3\n")
    with pytest.raises(ManifestError, match="list of strings"):
        Project(root)
    (root / "charact.toml").write_text("[linkk]\n")
    with pytest.raises(ManifestError, match="unknown table"):
        Project(root)
    (root / "charact.toml").write_text("[link\n")
    with pytest.raises(ManifestError, match="malformed TOML"):
        Project(root)


def test_find_project_walks_up(tmp_path, monkeypatch):
    root = init_project(tmp_path / "p")
    (root / "xrd" / "deep").mkdir(parents=True)
    monkeypatch.delenv("CHARACT_PROJECT", raising=False)
    assert find_project(root / "xrd" / "deep") == root.resolve()
    with pytest.raises(CatalogError, match="no charact.toml"):
        find_project(tmp_path)


def test_csv_manifest_quotes_follow_the_csv_standard(tmp_path):
    # RFC 4180: a doubled quote inside a quoted field is one quote character.
    path = tmp_path / "samples.csv"
    path.write_text('sample_id,description\nS1,"film ""A"", 50 µm"\nS2,plain\n', encoding="utf-8")
    samples = read_manifest(path)
    assert [s.description for s in samples] == ['film "A", 50 µm', "plain"]
