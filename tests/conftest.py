"""Test-session wiring shared by every test under tests/.

The checkout becomes importable as ``ansible_collections.azure_ops.vm_access`` through
``collections/ansible_collections/azure_ops/vm_access`` (symlinks), before any conftest below this
one is loaded and whether pytest-ansible is active or not (``-p no:pytest-ansible``).
"""

from tests.collection_link import inject

inject()

pytest_plugins = ["tests.emulator.pytest_plugin", "tests.reliability.recorder"]
