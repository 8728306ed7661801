"""An HTTPS emulator of Azure Resource Manager + Entra ID for the VMAccess collection's tests.

Public API: ``EmulatorProcess`` (run one in a subprocess), ``ControlClient`` (its control API)
and ``load_fleet`` (validate a fleet file or dict). See README.md.
"""

from .client import ControlClient, EmulatorProcess
from .fleet import FleetError, load_fleet

__all__ = ["ControlClient", "EmulatorProcess", "FleetError", "load_fleet"]
