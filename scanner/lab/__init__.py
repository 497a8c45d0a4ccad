"""The emulated device lab: network namespaces + one emulator process serving device profiles.

See ``scanner/lab/PROFILES.md`` for the profile format and README "The device lab" for use.
"""

from .lab import Lab, LabDevice, down, read_state
from .netns import IsolationError, check_isolated, require_privileges
from .profiles import SHIPPED_PROFILES, Profile, load_profiles, parse_profile

__all__ = [
           "SHIPPED_PROFILES",
           "IsolationError",
           "Lab",
           "LabDevice",
           "Profile",
           "check_isolated",
           "down",
           "load_profiles",
           "parse_profile",
           "read_state",
           "require_privileges",
]
