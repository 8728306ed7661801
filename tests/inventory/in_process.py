"""Parse an azure_vms configuration file in the test process, the way ``ansible-inventory`` does.

ansible-core's own API: ``DataLoader`` + ``InventoryManager(loader, sources=[config])`` (which tries
the enabled inventory plugins; ``auto`` hands the file to azure_vms), then ``VariableManager`` for
every host's variables as ``ansible-inventory --list`` resolves them (that is where Ansible warns
about reserved variable names). For the duration of one parse, and undone right after it:

* the environment is the one an Ansible process gets in the subprocess tests (the emulator's
  ``env.sh`` variables, no other ``AZURE_*``, a ``HOME`` without Azure files), plus overrides;
* ``INVENTORY_UNPARSED_IS_FAILED`` is on (``ANSIBLE_INVENTORY_UNPARSED_FAILED=true``) unless a test
  turns it off: a source no plugin could parse makes InventoryManager raise, as it makes
  ansible-inventory exit non-zero;
* Ansible's display (warnings, errors, ``-v`` messages) and warnings logged by libraries are
  captured as ``output``; the display's memory of warnings already shown is emptied first, so
  every parse shows its own; ``verbosity`` is that of ``-v``/``-vvv``;
* InventoryManager shows each plugin's failure only as a warning: the exception itself is kept
  (``failures``), so tests can check its type, text and reason code.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
from dataclasses import dataclass, field

import yaml
from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.utils.display import Display
from ansible.vars.manager import VariableManager

from .fleet import arm_calls

PLUGIN = "azure_ops.vm_access.azure_vms"
CLEARED_VARIABLES = ("IDENTITY_ENDPOINT", "IDENTITY_HEADER")
# The ansible-core plugin that reads the file's "plugin:" key and hands the file to azure_vms.
DISPATCHING_PLUGIN = "auto"
FAILED_PLUGIN = re.compile(r"^Failed to parse inventory with '([^']+)' plugin")
# Set on every host by InventoryData itself; ansible-inventory --list leaves them out too.
SOURCE_VARIABLES = ("inventory_file", "inventory_dir")


@dataclass
class InventoryRun:
    inventory: InventoryManager | None = field(repr=False)  # None when nothing was parsed
    error: AnsibleError | None  # what InventoryManager raised when nothing was parsed
    failures: list  # (plugin name, exception) for every plugin that tried the source and failed
    output: str  # everything Ansible displayed, and warnings logged, during the parse
    requests: list = field(repr=False)  # the emulator's request log during the parse

    @property
    def arm(self):
        return arm_calls(self.requests)

    @property
    def plugin_error(self):
        """The exception azure_vms raised (through ``auto``), as InventoryManager caught it."""
        errors = [exc for plugin, exc in self.failures if plugin.rsplit(".", 1)[-1] == DISPATCHING_PLUGIN]
        assert len(errors) == 1, self.failures
        return errors[0]

    @property
    def hosts(self):
        return set(self.inventory.hosts) if self.inventory else set()

    def hostvars(self, host):
        """The variables the plugin set on ``host`` (compose included), as ``_meta.hostvars`` lists them."""
        variables = self.inventory.get_host(host).vars
        return {name: value for name, value in variables.items() if name not in SOURCE_VARIABLES}

    def group(self, name):
        """Hosts of a group (direct members)."""
        group = self.inventory.groups.get(name)
        return {host.name for host in group.hosts} if group else set()

    @property
    def groups(self):
        """Every group with direct members, but ``all``."""
        return {name: {host.name for host in group.hosts} for name, group in self.inventory.groups.items()
                if name != "all" and group.hosts}

    def pattern(self, pattern):
        """Host names a play's ``hosts:`` pattern selects."""
        return {host.name for host in self.inventory.get_hosts(pattern)}

    @property
    def content(self):
        """Groups and host variables: what two runs compare."""
        return {"groups": self.groups, "hostvars": {host: self.hostvars(host) for host in sorted(self.hosts)}}


class InventoryParser:
    """``parse(config, **options) -> InventoryRun``: one in-process parse of an azure_vms source."""

    def __init__(self, emulator, tmp_path, monkeypatch):
        self.emulator = emulator
        self.tmp_path = tmp_path
        self.monkeypatch = monkeypatch
        self.home = tmp_path / "home"
        self.home.mkdir(exist_ok=True)
        self.count = 0

    def parse(self, config, env=None, flush_cache=False, verbosity=0, name="fleet.azure_vms.yml", workdir=None,
              unparsed_is_failed=True):
        """``workdir`` reuses a directory, and so the same source path: the inventory cache key is the path.
        ``env`` overrides variables (None removes one); ``flush_cache`` is ``--flush-cache``;
        ``unparsed_is_failed=False`` keeps whatever a failed source left in the inventory."""
        self.count += 1
        directory = self.tmp_path / (workdir or "inv%d" % self.count)
        directory.mkdir(exist_ok=True)
        source = directory / name
        source.write_text(yaml.safe_dump(dict({"plugin": PLUGIN}, **config)))
        since = self.emulator.control.counters()["last_seq"]
        with self.monkeypatch.context() as patch:
            self._use_environment(patch, env or {})
            self._fresh_display(patch, verbosity)
            failures = self._keep_plugin_failures(patch)
            patch.setattr(C, "INVENTORY_UNPARSED_IS_FAILED", unparsed_is_failed)
            with captured_output() as output:
                inventory, error = self._load(str(source), flush_cache)
        return InventoryRun(inventory, error, failures, output.getvalue(),
                            self.emulator.control.requests(since=since))

    @staticmethod
    def _load(source, flush_cache):
        loader = DataLoader()
        try:
            inventory = InventoryManager(loader=loader, sources=[source], cache=not flush_cache)
        except AnsibleError as error:
            return None, error
        variables = VariableManager(loader=loader, inventory=inventory)
        for host in inventory.get_hosts():
            variables.get_vars(host=host, include_hostvars=False)
        return inventory, None

    def _use_environment(self, patch, overrides):
        for name in list(os.environ):
            if name.startswith("AZURE_") or name in CLEARED_VARIABLES:
                patch.delenv(name)
        for name, value in dict(self.emulator.env, HOME=str(self.home), **overrides).items():
            if value is None:
                patch.delenv(name, raising=False)
            else:
                patch.setenv(name, value)

    @staticmethod
    def _fresh_display(patch, verbosity):
        display = Display()  # the process's one display, the plugins' self.display
        for shown in ("_warns", "_errors", "_deprecations"):  # its memory of messages already shown
            patch.setattr(display, shown, set())
        patch.setattr(display, "verbosity", verbosity)

    @staticmethod
    def _keep_plugin_failures(patch):
        """InventoryManager shows every plugin's failure with ``Display.error_as_warning``
        ("Failed to parse inventory with 'auto' plugin."): keep the plugin's name and exception."""
        failures = []
        show = Display.error_as_warning

        def keep_and_show(display, msg, exception, **kwargs):
            named = FAILED_PLUGIN.search(msg or "")
            failures.append((named.group(1) if named else "", exception))
            return show(display, msg, exception, **kwargs)

        patch.setattr(Display, "error_as_warning", keep_and_show)
        return failures


@contextlib.contextmanager
def captured_output():
    """What the parse prints (Ansible's display writes to sys.stdout / sys.stderr) and what libraries
    log at WARNING or above (which an Ansible process would print on stderr)."""
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            yield output
    finally:
        root.removeHandler(handler)
