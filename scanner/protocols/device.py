"""Values derived per device by the verdict (``scanner/verdicts.py``), not sent by a device.

Rules match them like any other field: ``device.ports`` (``fingerprints/ports.toml``) and
``device.model`` (``fingerprints/models.toml``: model family -> device type).
"""

from __future__ import annotations

from ._spec import Field, ProtocolSpec

__all__ = ["SPEC"]

SPEC = ProtocolSpec(
    name="device",
    title="derived per device",
    order=140,
    method=False,
    families={"device": "port set"},
    fields={
        "device.ports": Field("device", "sorted open TCP ports, comma-joined (port-pattern rules)"),
        "device.model": Field("device", "the model the verdict settled on (model-family rules give the type)"),
    },
)
