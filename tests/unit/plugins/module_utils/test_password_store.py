"""The password store's protocol and rotation rule as plain Python: secret names, ordering of versions,
``decide``, ``settle``, and the store over an in-memory secret API (no Azure, no emulator)."""

from __future__ import annotations

import json
import re

import pytest

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.keyvault import SecretVersion
from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.refs import VmRef
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine import password_rotation as rot
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.password_store import PasswordStore
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.targets import VmTarget
from ansible_collections.azure_ops.vm_access.plugins.module_utils.errors import VmAccessError

DAY = 86400.0
NOW = 1_800_000_000.0
SUB = "6f1c2a3e-4b5d-4c7e-9f80-1a2b3c4d5e6f"
GOOD = "Gen3rated-Passw0rd!aa"


def vid(name, rg="rg-a", sub=SUB):
    return VmRef(sub, rg, name).id


def version(n, state=None, created=None, set_at=None, username="azureadmin", enabled=True, **tags):
    if state is not None:
        tags["state"] = state
    if set_at is not None:
        tags["set_at"] = rot.stamp(set_at)
    if username is not None and state is not None:
        tags["username"] = username
    return SecretVersion(name="s", version="%032x" % n, created=created if created is not None else NOW - 100 + n,
                         enabled=enabled, content_type="password", tags=tags)


# -- names ---------------------------------------------------------------------------------------
def test_secret_names_are_readable_stable_and_collision_free():
    name = rot.secret_name(vid("Web_01.prod"))
    assert re.fullmatch(r"vmaccess-web-01-prod-[0-9a-f]{12}", name)
    assert rot.secret_name(vid("Web_01.prod")) == name == rot.secret_name(vid("Web_01.prod").upper())
    assert rot.secret_name(vid("web-01", rg="rg-a")) != rot.secret_name(vid("web-01", rg="rg-b"))
    assert rot.secret_name(vid("web-01", sub="0" * 8 + SUB[8:])) != rot.secret_name(vid("web-01"))
    long_name = rot.secret_name(vid("x" * 64 + "_" + "y" * 10))
    assert len(long_name) <= 127 and re.fullmatch(r"[0-9a-zA-Z-]{1,127}", long_name)
    assert rot.secret_name(vid("___")).startswith("vmaccess-vm-")


# -- decide --------------------------------------------------------------------------------------
@pytest.mark.parametrize("versions, max_age, username, action, resume", [
    ([], 30, None, "rotate", None),
    ([version(1, "active", set_at=NOW - 3 * DAY)], 30, None, "keep", None),
    ([version(1, "active", set_at=NOW - 31 * DAY)], 30, None, "rotate", None),
    ([version(1, "active", set_at=NOW - 3 * DAY)], None, None, "rotate", None),       # plain reset: always
    ([version(1, "active", set_at=NOW - 3 * DAY)], 0, None, "rotate", None),
    ([version(1, "active", set_at=NOW - 3 * DAY), version(2, "pending")], 30, None, "resume", 2),
    ([version(1, "active", set_at=NOW - 3 * DAY), version(2, "failed")], 30, None, "rotate", None),
    ([version(1, "active", set_at=NOW - 3 * DAY), version(2, "pending"), version(3, "failed")], 30, None, "rotate", None),
    ([version(1, "pending"), version(2, "active", set_at=NOW - 3 * DAY)], 30, None, "keep", None),  # older pending
    ([version(1, "pending")], 30, None, "resume", 1),
    ([version(1, "active", set_at=NOW - 3 * DAY), version(2, None)], 30, None, "keep", None),  # not ours: ignored
    ([version(1, "active", set_at=NOW - 3 * DAY), version(2, "pending", enabled=False)], 30, None, "keep", None),
    ([version(1, "active", set_at=NOW - 3 * DAY, enabled=False)], 30, None, "rotate", None),
    ([version(1, "active", set_at=NOW - 3 * DAY)], 30, "breakglass", "rotate", None),   # another account
    ([version(1, "active", set_at=NOW - 3 * DAY)], 30, "AzureAdmin", "keep", None),
    ([version(1, "active", set_at=NOW - 3 * DAY), version(2, "pending", username="other")], 30, "azureadmin",
     "rotate", None),
])
def test_the_rotation_rule(versions, max_age, username, action, resume):
    decision = rot.decide(list(reversed(versions)), NOW, max_age, username)  # the listing's order does not matter
    assert decision.action == action, decision.why
    assert (decision.pending.version if decision.pending else None) == (("%032x" % resume) if resume else None)
    assert decision.due is (action != "keep")


def test_a_daily_schedule_rotates_on_day_max_age_not_a_day_later():
    written = version(1, "active", set_at=NOW - 30 * DAY + 50)   # 30 days ago, 50 s after that day's job began
    assert rot.decide([written], NOW, 30).action == "rotate"
    assert rot.decide([version(1, "active", set_at=NOW - 30 * DAY + 2 * 3600)], NOW, 30).action == "keep"


def test_versions_of_the_same_second_are_ordered_by_set_at():
    second = NOW - 50
    active = version(9, "active", created=second, set_at=second + 0.7)   # its id sorts after the pending one
    pending = version(1, "pending", created=second, set_at=second + 0.2)
    assert rot.decide([active, pending], NOW, 30).action == "keep"         # the pending one is older
    later = version(1, "pending", created=second, set_at=second + 0.9)
    assert rot.decide([active, later], NOW, 30).action == "resume"


def test_age_falls_back_to_created_when_set_at_is_unreadable():
    old = SecretVersion(name="s", version="a" * 32, created=NOW - 40 * DAY, tags={"state": "active", "set_at": "x"})
    assert rot.decide([old], NOW, 30).action == "rotate"
    assert rot.decide([old], NOW, 50).action == "keep"
    assert rot.parse_stamp(rot.stamp(NOW + 0.25)) == NOW + 0.25 and rot.parse_stamp("2026-01-01T00:00:00Z")


@pytest.mark.parametrize("result, waited, resumed, state", [
    ({"outcome": "changed", "changed": True}, True, False, "active"),
    ({"outcome": "ok", "changed": False}, True, True, "active"),                  # the same reset already succeeded
    ({"outcome": "changed", "changed": True}, False, False, "pending"),           # wait=false
    ({"outcome": "failed", "reason": "extension_failed", "changed": True}, True, False, "failed"),
    ({"outcome": "failed", "reason": "extension_failed", "changed": True}, True, True, "failed"),
    ({"outcome": "skipped", "reason": "vm_not_running", "changed": False}, True, False, "failed"),
    ({"outcome": "skipped", "reason": "vm_not_running", "changed": False}, True, True, "pending"),  # maybe set before
    ({"outcome": "failed", "reason": "conflict", "changed": False}, True, False, "failed"),
    ({"outcome": "failed", "reason": "operation_timeout", "changed": True}, True, False, "pending"),
    ({"outcome": "failed", "reason": "connection_error", "changed": False}, True, False, "pending"),
    ({"outcome": "failed", "reason": "extension_timeout", "changed": True}, True, False, "pending"),
    ({"outcome": "failed", "reason": "unexpected_response", "changed": True}, True, False, "pending"),
])
def test_settle(result, waited, resumed, state):
    assert rot.settle(result, waited, resumed)[0] == state


# -- the store over an in-memory API -------------------------------------------------------------
class FakeSecrets:
    """Key Vault's behaviour as the store sees it: versions with tags, values apart, failures on demand."""

    def __init__(self, clock):
        self.clock = clock
        self.secrets = {}
        self.values = {}
        self.calls = []
        self.fail = {}  # (operation, name) -> VmAccessError

    def _check(self, operation, name):
        self.calls.append((operation, name))
        if (operation, name) in self.fail:
            raise self.fail[(operation, name)]

    def versions(self, name):
        self._check("list", name)
        return list(self.secrets.get(name, []))

    def read(self, name, version=None):
        self._check("get", name)
        found = [v for v in self.secrets.get(name, []) if version in (None, v.version)]
        if not found:
            raise VmAccessError("secret_not_found", "no %s" % name)
        return found[-1], self.values[found[-1].version]

    def create(self, name, value, tags, content_type="password"):
        self._check("set", name)
        made = SecretVersion(name=name, version="%032x" % (len(self.values) + 1), created=self.clock(),
                             content_type=content_type, tags=dict(tags))
        self.secrets.setdefault(name, []).append(made)
        self.values[made.version] = value
        return made

    def update_tags(self, name, version, tags):
        self._check("update", name)
        versions = self.secrets[name]
        for i, v in enumerate(versions):
            if v.version == version:
                versions[i] = SecretVersion(name=name, version=version, created=v.created, content_type=v.content_type,
                                            tags=dict(tags))
                return versions[i]
        raise VmAccessError("secret_not_found", "no version")

    def states(self, name):
        return [v.tags.get("state") for v in self.secrets.get(name, [])]

    def writes(self):
        return [c for c in self.calls if c[0] in ("set", "update")]


@pytest.fixture
def api():
    return FakeSecrets(lambda: NOW)


def targets(*names):
    return [VmTarget(host=n, ref=VmRef(SUB, "rg-a", n)) for n in names]


def store_on(api, **kwargs):
    kwargs.setdefault("generate", lambda: GOOD)
    return PasswordStore(api, clock=lambda: NOW, **kwargs)


def test_plan_sets_passwords_on_due_vms_and_holds_the_others_back(api):
    fresh, due = targets("fresh", "due")
    for t, age in ((fresh, 2), (due, 45)):
        api.create(rot.secret_name(t.ref.id), "Old-Passw0rd!%d" % age, {"state": "active", "username": "azureadmin",
                                                                        "set_at": rot.stamp(NOW - age * DAY)})
    unresolved = VmTarget(host="ghost", error=VmAccessError("vm_unresolved", "which VM?"))
    api.calls.clear()
    store = store_on(api)
    held = store.plan([fresh, due, unresolved], run_tag="R1", max_age_days=30)
    assert set(held) == {"fresh"} and held["fresh"].outcome == "ok" and "not due" in held["fresh"].msg
    assert fresh.password is None and due.password == GOOD and unresolved.password is None
    assert store.report("fresh")["state"] == "active" and store.report("fresh")["version"]
    assert api.writes() == []   # planning never writes


def test_a_pending_version_is_resumed_with_its_own_password_and_run_tag(api):
    (t,) = targets("vm")
    name = rot.secret_name(t.ref.id)
    api.create(name, "Pending-Passw0rd!1", {"state": "pending", "username": "azureadmin", "run_tag": "OLD-7"})
    api.calls.clear()
    store = store_on(api)
    assert store.plan([t], run_tag="NEW-1", max_age_days=30) == {}
    assert (t.password, t.run_tag) == ("Pending-Passw0rd!1", "OLD-7")
    assert store.before_submit([("vm", t.ref.id, "azureadmin")]) == {} and api.writes() == []  # already pending
    assert store.finish([{"host": "vm", "outcome": "changed", "changed": True, "username": "azureadmin"}]) == {}
    assert api.states(name) == ["active"]
    (only,) = api.secrets[name]
    assert only.tags["run_tag"] == "OLD-7" and only.tags["set_at"]


def test_a_pending_version_that_breaks_the_rules_is_not_resumed(api):
    (t,) = targets("vm")
    api.create(rot.secret_name(t.ref.id), "weak", {"state": "pending"})
    store = store_on(api)
    store.plan([t], run_tag="R1")
    assert t.password == GOOD and "cannot be used" in store.report("vm")["rotation"]


def test_before_submit_fails_only_the_vms_it_could_not_write(api):
    a, b = targets("a", "b")
    api.fail[("set", rot.secret_name(b.ref.id))] = VmAccessError("key_vault_forbidden", "no setSecret")
    store = store_on(api)
    store.plan([a, b], run_tag="R1")
    failures = store.before_submit([("a", a.ref.id, "azureadmin"), ("b", b.ref.id, "azureadmin")])
    assert set(failures) == {"b"} and failures["b"].reason == "key_vault_forbidden"
    assert api.states(rot.secret_name(a.ref.id)) == ["pending"] and api.states(rot.secret_name(b.ref.id)) == []
    tags = api.secrets[rot.secret_name(a.ref.id)][0].tags
    assert tags == {"vm_id": a.ref.id, "username": "azureadmin", "run_tag": "R1", "state": "pending",
                    "set_at": rot.stamp(NOW)}
    assert api.values[api.secrets[rot.secret_name(a.ref.id)][0].version] == GOOD
    # b has nothing in play: finish leaves it alone.
    store.finish([{"host": "a", "outcome": "changed", "changed": True},
                  {"host": "b", "outcome": "failed", "reason": "key_vault_forbidden", "changed": False}])
    assert api.states(rot.secret_name(a.ref.id)) == ["active"] and store.report("b")["version"] is None


def test_a_failed_promotion_is_reported_and_the_version_stays_pending(api):
    (t,) = targets("vm")
    store = store_on(api)
    store.plan([t], run_tag="R1")
    store.before_submit([("vm", t.ref.id, "azureadmin")])
    api.fail[("update", rot.secret_name(t.ref.id))] = VmAccessError("key_vault_error", "HTTP 503")
    failures = store.finish([{"host": "vm", "outcome": "changed", "changed": True}])
    assert failures["vm"].reason == "key_vault_error"
    assert store.report("vm")["state"] == "pending" and "run again" in store.report("vm")["note"]


def test_check_mode_never_writes(api):
    (t,) = targets("vm")
    store = store_on(api, check_mode=True)
    store.plan([t], run_tag="R1")
    assert store.finish([{"host": "vm", "outcome": "changed", "changed": False}]) == {}
    assert api.writes() == []


def test_a_given_version(api):
    (t,) = targets("vm")
    made = api.create("mine", "Given-Passw0rd!2026", {"owner": "ops"})
    store = store_on(api)
    entry = store.use_existing(t, "mine", made.version, run_tag="R1")
    assert t.password == "Given-Passw0rd!2026" and entry.state is None
    store.before_submit([("vm", t.ref.id, "azureadmin")])
    assert api.secrets["mine"][0].tags["state"] == "pending" and api.secrets["mine"][0].tags["owner"] == "ops"
    store.finish([{"host": "vm", "outcome": "failed", "reason": "extension_failed", "changed": True}])
    assert api.states("mine") == ["failed"]
    with pytest.raises(VmAccessError) as caught:
        store_on(api).use_existing(targets("other")[0], "mine")
    assert caught.value.reason == "secret_conflict"
    api.create("weak", "qwerty", {})
    with pytest.raises(VmAccessError) as caught:
        store_on(api).use_existing(targets("vm")[0], "weak")
    assert caught.value.reason == "invalid_password" and "qwerty" not in caught.value.message


def test_a_resumed_version_for_another_account_is_not_sent(api):
    (t,) = targets("vm")
    api.create(rot.secret_name(t.ref.id), "Pending-Passw0rd!1", {"state": "pending", "username": "azureadmin"})
    store = store_on(api)
    store.plan([t], run_tag="R1")
    failures = store.before_submit([("vm", t.ref.id, "localadmin")])   # the VM's administrator changed meanwhile
    assert failures["vm"].reason == "secret_conflict" and "username: azureadmin" in failures["vm"].message


def test_nothing_reported_holds_a_password(api):
    vms = targets("a", "b", "c")
    api.create(rot.secret_name(vms[1].ref.id), "Pending-Passw0rd!1", {"state": "pending"})
    store = store_on(api)
    store.plan(vms, run_tag="R1")
    store.before_submit([(t.host, t.ref.id, "azureadmin") for t in vms])
    store.finish([{"host": t.host, "outcome": "changed", "changed": True} for t in vms])
    shown = json.dumps([store.report(t.host) for t in vms]) + repr(store.entries) + json.dumps(store.summary())
    for secret in [GOOD, "Pending-Passw0rd!1"]:
        assert secret not in shown
    assert store.summary() == {"active": 3}
