"""Release metadata agrees with itself: one version, one licence, citable papers."""

import re
from pathlib import Path

import grl

ROOT = Path(__file__).resolve().parents[2]


def read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def test_citation_version_is_the_package_version():
    match = re.search(r"^version:\s*\"?([^\"\n]+)\"?\s*$", read("CITATION.cff"), re.MULTILINE)
    assert match, "CITATION.cff has no version"
    assert match.group(1) == grl.__version__


def test_citation_references_both_papers():
    citation = read("CITATION.cff")
    assert "Unsupervised Domain Adaptation by Backpropagation" in citation
    assert "Domain-Adversarial Training of Neural Networks" in citation
    assert "arXiv:1409.7495" in citation and "arXiv:1505.07818" in citation


def test_licence_is_mit_as_the_package_metadata_says():
    assert read("LICENSE").startswith("MIT License\n\nCopyright (c) 2026 grl contributors\n")
    assert re.search(r'^license = "MIT"$', read("pyproject.toml"), re.MULTILINE)


def test_readme_bibtex_versions_match_the_package():
    # A software entry (if the README has one) must cite the version being released.
    readme = read("README.md")
    assert "@inproceedings{ganin2015unsupervised" in readme
    assert "@article{ganin2016domain" in readme
    for version in re.findall(r"version\s*=\s*\{([^}]+)\}", readme):
        assert version == grl.__version__
