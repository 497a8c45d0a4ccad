"""Pure protocol codecs: build requests and parse replies into Observations. No sockets here.

One module per protocol (``http``, ``rtsp``, ``tls``, ``wsd``, ``onvif``, ``sadp``, ``dhip``,
``upnp``, ``mdns``, ``dhcp``). Every ``parse_*``/``from_*`` function returns exactly one
``camsweep.models.Observation`` and never raises on device input: bad input (garbage, oversize,
XML bombs, DTDs, invalid UTF-8, lying length fields) becomes an observation whose ``problem`` is
``"<slug>: <detail>"`` and which carries no fields. Builders raise ``ValueError`` only on bad
arguments from our own code. Lower-level helpers that do not build an Observation
(``dhip.decode``, ``http.split_response``) raise ``BadInput`` instead; it carries the same slug.
"""

from ._common import BadInput

__all__ = ["BadInput"]
