#!/usr/bin/env bash
# `make demo`: the collection against the local Azure emulator, no subscription needed.
# Starts the emulator with the demo fleet (tests/emulator/fleets/demo.yml), resets RDP across
# the fleet with playbooks/reset_rdp.yml, resets one VM's password with the module, runs the
# fleet again to show it is idempotent, and shows what changed inside the emulated guests.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STATE=$ROOT/.tmp/demo
TIME_SCALE=${DEMO_TIME_SCALE:-0.05}   # a 60 s extension run takes 3 s

rm -rf "$STATE" && mkdir -p "$STATE"
python -m tests.collection_link >/dev/null
python -m tests.emulator serve --state-dir "$STATE" --time-scale "$TIME_SCALE" >"$STATE/emulator.out" 2>&1 &
EMULATOR_PID=$!
trap 'kill $EMULATOR_PID 2>/dev/null || true; wait $EMULATOR_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -f "$STATE/env.sh" ] && break; sleep 0.2; done
[ -f "$STATE/env.sh" ] || { cat "$STATE/emulator.out"; echo "the emulator did not start"; exit 1; }
# shellcheck disable=SC1091
source "$STATE/env.sh"
ANSIBLE_PYTHON_INTERPRETER="$(command -v python)"
export ANSIBLE_PYTHON_INTERPRETER ANSIBLE_COLLECTIONS_PATH="$ROOT/collections"
export ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_NOCOLOR=${ANSIBLE_NOCOLOR:-} ANSIBLE_DEPRECATION_WARNINGS=False
echo "== Azure emulator on $AZURE_CLOUD_ENVIRONMENT (AWX-style AZURE_* variables exported from $STATE/env.sh)"

# The inventory: this collection's plugin lists every VM of the subscription in one paged call
# (Linux and stopped VMs included here, to show what the fleet run skips and why).
cat >"$STATE/demo.azure_vms.yml" <<'YAML'
plugin: azure_ops.vm_access.azure_vms
power_states: [all]
azure_rm_aliases: false
YAML
echo; echo "== ansible-inventory -i demo.azure_vms.yml --graph (inventory plugin azure_ops.vm_access.azure_vms)"
ansible-inventory -i "$STATE/demo.azure_vms.yml" --graph | sed -n '1,40p'

echo; echo "== The emulated guests before (RDP off on the web VMs):"
python scripts/demo_guests.py "$STATE"

cd "$STATE"
echo; echo "== ansible-playbook playbooks/reset_rdp.yml over the whole fleet (one process does the Azure work)"
rdp_run() {
  ansible-playbook -i demo.azure_vms.yml "$ROOT/playbooks/reset_rdp.yml" -e target=all \
    -e vm_access_run_tag=DEMO-1 -e vm_access_poll_interval=0.5 -e vm_access_agent_wait_timeout=5 \
    | sed -n '/TASK \[azure_ops.vm_access.vm_access : Summary\]/,/^$/p; /^fatal/,/^}/p; /PLAY RECAP/,$p' || true
}
rdp_run

echo; echo "== The same run again: nothing left to do on the fixed VMs, no writes (idempotent per run tag);"
echo "   the VM whose run failed in the guest is retried"
rdp_run

echo; echo "== Reset one VM's administrator password with the module (the password never appears in output)"
DEMO_PASSWORD="Demo-$(python -c 'import secrets; print(secrets.token_urlsafe(12))')!9a"
export DEMO_PASSWORD
cat >reset_password.yml <<'YAML'
- name: Reset one administrator password
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Reset the password of web-01's administrator
      azure_ops.vm_access.vm_access_reset:
        resource_group: rg-web
        vm_name: web-01
        reset: password
        password: "{{ lookup('ansible.builtin.env', 'DEMO_PASSWORD') }}"
      no_log: true
      register: reset
    - name: Show the result (no secret in it)
      ansible.builtin.debug:
        msg: "{{ reset | dict2items | selectattr('key', 'in', ['changed', 'action', 'username', 'duration_s']) | items2dict }}"
YAML
ansible-playbook -i localhost, -c local reset_password.yml | sed -n '/TASK \[Show/,/^$/p'
python "$ROOT/scripts/demo_guests.py" "$STATE" --verify-password rg-web web-01 azureadmin DEMO_PASSWORD

echo "== The emulated guests after:"
python "$ROOT/scripts/demo_guests.py" "$STATE"

echo; echo "== When RDP still fails: four VMs broken in four ways (tests/emulator/fleets/demo_rdp.yml)"
python "$ROOT/scripts/demo_guests.py" "$STATE" --add-fleet "$ROOT/tests/emulator/fleets/demo_rdp.yml"
python "$ROOT/scripts/demo_guests.py" "$STATE" --rdp rg-rdp-demo
rdp_play() {
  ansible-playbook -i demo.azure_vms.yml "$ROOT/playbooks/$1" -e target=all --limit 'demo-*' \
    -e vm_access_poll_interval=0.5 "${@:2}" \
    | sed -n '/^vm_rdp_fleet: done/p; /TASK \[azure_ops.vm_access.vm_access : Summary\]/,/^$/p; /^fatal/p; /PLAY RECAP/,$p' || true
}
echo; echo "== ansible-playbook playbooks/diagnose_rdp.yml -e vm_access_guest_checks=true (changes nothing)"
rdp_play diagnose_rdp.yml -e vm_access_guest_checks=true
echo; echo "== ansible-playbook playbooks/repair_rdp.yml: fixes what can be fixed from outside, reports the rest"
rdp_play repair_rdp.yml -e vm_access_run_tag=DEMO-2
echo; echo "== The emulated guests after the repair (the NSG is left to a person):"
python "$ROOT/scripts/demo_guests.py" "$STATE" --rdp rg-rdp-demo
echo
# shellcheck disable=SC2012  # the first report is enough; names are ours
echo "Reports: $(ls -1 "$STATE"/vm_access_reports/*.md | head -1) (and .json)"
