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


def test_importing_the_package_or_the_cli_reads_no_data():
    """camsweep.types reads the restricted makers from the data; the CLI must be running first, so
    that a broken data file is one line and exit 2 rather than a traceback at import."""
    import subprocess
    import sys

    code = "import sys, camsweep, camsweep.cli; print('camsweep.types' in sys.modules, 'camsweep.models' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
    from camsweep import Manufacturer, Tier, Verdict
    from camsweep.models import Manufacturer as from_models
    from camsweep.types import Manufacturer as from_types

    assert Manufacturer is from_models is from_types and Tier.FIRMWARE.value == "firmware" and Verdict


def test_unknown_attribute():
    import pytest

    with pytest.raises(AttributeError):
        camsweep.no_such_thing  # noqa: B018
