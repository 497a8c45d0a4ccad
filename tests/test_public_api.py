"""The public surface of the library: everything in __all__ exists and is importable."""

import scanner


def test_every_exported_name_resolves():
    for name in scanner.__all__:
        assert getattr(scanner, name) is not None, name


def test_heavy_parts_load_lazily():
    import subprocess
    import sys

    code = "import sys, scanner; print('scapy' in sys.modules, 'scanner.engine' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_unknown_attribute():
    import pytest

    with pytest.raises(AttributeError):
        scanner.no_such_thing  # noqa: B018
