"""Fixtures for the AWX job tests: a job template factory bound to the session emulator."""

from __future__ import annotations

import pytest

from tests.awx.awx_job import JobTemplate
from tests.integration.fleet_helpers import RG

# Job template extra vars every test template carries (in AWX: the template's EXTRA VARIABLES box).
# The emulator runs time-scaled, so poll it often; reports go to a directory the job keeps.
FAST_POLL = 0.2


@pytest.fixture
def job_template(fresh_emulator, tmp_path):
    """job_template(playbook, hosts={group: [vm names]}, extra_vars=None) -> JobTemplate."""

    def make(playbook, hosts, extra_vars=None, hostvars=None, extra_env=None):
        inventory = {group: {name: dict({"resource_group": RG, "vm_name": name}, **(hostvars or {}).get(name, {}))
                             for name in names}
                     for group, names in hosts.items()}
        template_vars = {"vm_access_poll_interval": FAST_POLL, "vm_access_agent_wait_timeout": 2,
                         "vm_access_report_dir": str(tmp_path / "reports")}
        template_vars.update(extra_vars or {})
        template_vars = {k: v for k, v in template_vars.items() if v is not None}   # None: leave it unset
        return JobTemplate(tmp_path / "jobs", playbook=playbook, inventory=inventory,
                           credential_env=fresh_emulator.env, ca_bundle=fresh_emulator.env["REQUESTS_CA_BUNDLE"],
                           extra_vars=template_vars, extra_env=extra_env)

    return make
