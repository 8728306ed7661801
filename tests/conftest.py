"""Test-session wiring shared by every test under tests/.

pytest-ansible makes the checkout importable as ``ansible_collections.azure_ops.vm_access`` by
building ``collections/ansible_collections/azure_ops/vm_access`` out of symlinks, but only once,
so entries added later would be missing; complete the tree before the plugin runs.
"""

from tests.collection_link import link_collection

link_collection()

pytest_plugins = ["tests.emulator.pytest_plugin", "tests.reliability.recorder"]
