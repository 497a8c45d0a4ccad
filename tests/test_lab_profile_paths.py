"""Profile data the root-run lab uses: body_file stays inside the profiles' folder; MACs are exact."""

from __future__ import annotations

from pathlib import Path

import pytest

from camsweep.errors import DataFileError
from camsweep.lab.profiles import parse_profile

PROFILE = """
[device]
name = 'path-test'
segment = 'A'
mac = {mac}
sources = ['test']

[truth]
manufacturer = 'other'
brand = 'none'
type = 'other'

[[http]]
port = 80

[[http.routes]]
path = '/'
status = 200
body_file = '{body_file}'
"""


def _write(folder: Path, *, body_file: str = "bodies/page.html", mac: str = "'02:1a:c5:00:00:99'") -> Path:
    (folder / "bodies").mkdir(exist_ok=True)
    (folder / "bodies" / "page.html").write_text("<html></html>", encoding="utf-8")
    path = folder / "p.toml"
    path.write_text(PROFILE.format(body_file=body_file, mac=mac), encoding="utf-8")
    return path


def test_body_file_inside_the_folder_is_accepted(tmp_path: Path) -> None:
    path = _write(tmp_path)
    assert parse_profile(path.read_text(encoding="utf-8"), str(path)).name == "path-test"


@pytest.mark.parametrize("body_file", ["/etc/passwd", "../secret.html", "bodies/../../secret.html", "link.html"])
def test_body_file_outside_the_folder_is_refused(tmp_path: Path, body_file: str) -> None:
    folder = tmp_path / "profiles"
    folder.mkdir()
    (tmp_path / "secret.html").write_text("root-only", encoding="utf-8")
    (folder / "link.html").symlink_to(tmp_path / "secret.html")
    path = _write(folder, body_file=body_file)
    with pytest.raises(DataFileError, match="outside"):
        parse_profile(path.read_text(encoding="utf-8"), str(path))


def test_mac_with_a_trailing_newline_is_refused(tmp_path: Path) -> None:
    # It would end a line of the `ip -batch` input the lab builds from the profile.
    path = _write(tmp_path, mac='"02:1a:c5:00:00:99\\n"')  # a TOML basic string: a real newline
    with pytest.raises(DataFileError, match="bad MAC"):
        parse_profile(path.read_text(encoding="utf-8"), str(path))
