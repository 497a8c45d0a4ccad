"""The public surface of the library: everything in __all__ exists and is importable."""

import camsweep


def test_every_exported_name_resolves():
    for name in camsweep.__all__:
        assert getattr(camsweep, name) is not None, name


def test_heavy_parts_load_lazily():
    import subprocess
    import sys

    code = "import sys, camsweep; print('scapy' in sys.modules, 'camsweep.engine' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_unknown_attribute():
    import pytest

    with pytest.raises(AttributeError):
        camsweep.no_such_thing  # noqa: B018
