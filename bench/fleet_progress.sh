#!/usr/bin/env bash
# What a fleet run prints while it goes: playbooks/reset_rdp.yml over 600 emulated VMs (time scale 0.3: a
# 60 s extension run takes 18 s; ARM budgets refill 1/0.3 as fast), only the progress and summary lines.
#   bash bench/fleet_progress.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd); STATE=${STATE:-$ROOT/.tmp/fleet-progress}
rm -rf "$STATE"; mkdir -p "$STATE"
export PATH=$ROOT/.venv/bin:$PATH
cd "$ROOT"
python - <<'PY' > "$STATE/fleet.json"
import json
vms=[{"name":"web-%03d"%i,"os":"windows","rdp":"broken"} for i in range(600)]
vms[7]["power_state"]="deallocated"; vms[8]["os"]="linux"; vms[9]["failure_mode"]="firewall_service_stopped"
print(json.dumps({"seed":1,"resource_groups":[{"name":"rg-web","location":"westeurope","vms":vms}]}))
PY
python -m tests.emulator serve --fleet "$STATE/fleet.json" --state-dir "$STATE" --time-scale 0.3 > "$STATE/emu.out" 2>&1 &
PID=$!
trap 'kill "$PID"' EXIT
for _ in $(seq 1 100); do [ -f "$STATE/env.sh" ] && break; sleep 0.2; done
# shellcheck disable=SC1091
source "$STATE/env.sh"
ANSIBLE_PYTHON_INTERPRETER=$(command -v python)
export ANSIBLE_PYTHON_INTERPRETER ANSIBLE_COLLECTIONS_PATH=$ROOT/collections ANSIBLE_LOCALHOST_WARNING=False
printf 'plugin: azure_ops.vm_access.azure_vms\npower_states: [all]\n' > "$STATE/inv.azure_vms.yml"
cd "$STATE"
ansible-playbook -i inv.azure_vms.yml "$ROOT/playbooks/reset_rdp.yml" -e target=all -e vm_access_run_tag=INC-42 -e vm_access_poll_interval=1 \
  | grep -E "vm_access_fleet:|Summary|changed=|reasons:|^PLAY RECAP" | grep -v "^web-"
