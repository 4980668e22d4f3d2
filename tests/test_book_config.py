"""The repository URL is the book's one publishing setting (scripts/book_config.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("book_config", ROOT / "scripts" / "book_config.py")
book_config_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(book_config_module)
book_config = book_config_module.book_config

BASE = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def test_committed_config_names_no_repository_and_no_buttons_leading_there() -> None:
    assert "url" not in BASE.get("repository", {})
    assert not BASE["html"].get("use_repository_button")
    assert not {"binderhub_url", "colab_url"} & set(BASE.get("launch_buttons", {}))


def test_without_a_url_the_buttons_are_off() -> None:
    config = book_config(BASE, "")
    assert "url" not in config["repository"]
    assert config["html"]["use_repository_button"] is False
    assert "binderhub_url" not in config["launch_buttons"]
    assert "colab_url" not in config["launch_buttons"]
    assert config["title"] == BASE["title"]  # everything else is kept


def test_a_url_switches_on_repository_binder_and_colab() -> None:
    config = book_config(BASE, "https://github.com/owner/gmm-book/")
    assert config["repository"]["url"] == "https://github.com/owner/gmm-book"
    assert config["repository"]["branch"] == BASE["repository"]["branch"]
    assert config["html"]["use_repository_button"] is True
    assert config["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert config["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert "url" not in BASE["repository"], "the base configuration must not be changed"


@pytest.mark.parametrize(
    "url", ["github.com/owner/repo", "https://gitlab.com/owner/repo", "https://github.com/owner"]
)
def test_a_url_that_is_not_a_github_repository_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="REPOSITORY_URL must be a GitHub repository"):
        book_config(BASE, url)


def test_the_script_writes_a_config_jupyter_book_can_read(tmp_path: Path) -> None:
    output = tmp_path / "_config.yml"
    assert book_config_module.main(["book_config.py", str(output)]) == 0
    written = yaml.safe_load(output.read_text(encoding="utf-8"))
    assert written == book_config_module.relocate(book_config(BASE, ""), tmp_path)
    assert book_config_module.main(["book_config.py", str(output), "not a url"]) == 2


def test_local_extensions_are_found_from_where_the_config_is_written(tmp_path: Path) -> None:
    """Jupyter Book looks for them relative to the written file, not to _config.yml."""
    output = tmp_path / "deeper" / "_config.yml"
    assert book_config_module.main(["book_config.py", str(output)]) == 0
    written = yaml.safe_load(output.read_text(encoding="utf-8"))
    extensions = BASE["sphinx"]["local_extensions"]
    assert extensions, "the book has a local extension (book/_ext)"
    for name, path in written["sphinx"]["local_extensions"].items():
        assert (output.parent / path).resolve() == (ROOT / extensions[name]).resolve()
        assert (output.parent / path / f"{name}.py").is_file()
