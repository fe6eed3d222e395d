#!/usr/bin/env bash
# system_instance_test BUILD_DIR SOURCE_DIR: hcsd's system instance (docs/hcsd.md) as root with two other
# users, through the real tools:
#   - the units pass `systemd-analyze verify`;
#   - hcsd --system starts by socket activation (systemd-socket-activate hands it LISTEN_FDS) on a
#     socket root:hostcompute 0660, and logs to a journal stream (JOURNAL_STREAM) without timestamps;
#   - a member of the group finds it without HCS_SOCKET, creates a system and sees it; a second member
#     neither lists nor opens it; root sees it; a user outside the group cannot connect;
#   - a member's document naming a disk image only root may read is refused, naming the field;
#   - HcsGrantVmAccess (hcsctl grant) by a file's owner lets another user's system use it (a disk image,
#     a directory for its save file); the grantee cannot grant itself others' files; revoke undoes it.
# Users and the group are made once (system accounts) and reused. Needs root.
set -euo pipefail
build=$(realpath "$1")
source=$(realpath "$2")
[ "$(id -u)" -eq 0 ] || { echo "system_instance_test: needs root" >&2; exit 1; }
for tool in systemd-socket-activate systemd-analyze setpriv useradd groupadd getfacl; do
  command -v "$tool" >/dev/null || { echo "system_instance_test: $tool is missing" >&2; exit 1; }
done
hcsd=$build/tools/hcsd/hcsd
hcsctl=$build/tools/hcsctl/hcsctl
fail() { echo "system_instance_test: FAILED: $*" >&2; [ -f "${work:-/nonexistent}/hcsd.log" ] && sed 's/^/  hcsd: /' "$work/hcsd.log" >&2; exit 1; }

# 1. The units as installed (ExecStart pointed at this build's hcsd).
work=$(mktemp -d /tmp/hcsd-system-test.XXXXXX)
chmod 0755 "$work"
activator=""
cleanup() {
  if [ -n "$activator" ]; then
    # hcsd replaced systemd-socket-activate (exec): one pid; its QEMUs are killed below.
    kill "$activator" 2>/dev/null || true
    wait "$activator" 2>/dev/null || true
  fi
  for pid in $(pgrep -f -- "$work/state" || true); do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/units"
sed "s|^ExecStart=[^ ]*|ExecStart=$hcsd|" "$build/packaging/systemd/hcsd.service" >"$work/units/hcsd.service"
cp "$source/packaging/systemd/hcsd.socket" "$work/units/"
systemd-analyze verify --man=no "$work/units/hcsd.socket" "$work/units/hcsd.service" || fail "systemd-analyze verify"
echo "system_instance_test: units verified"

# 2. Users: two members of the group, one outsider.
getent group hostcompute >/dev/null || groupadd --system hostcompute
user() {
  id "$1" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$1"
  if [ "$2" = member ]; then usermod -a -G hostcompute "$1"; else gpasswd -d "$1" hostcompute >/dev/null 2>&1 || true; fi
}
user hcs-sys-alice member
user hcs-sys-bob member
user hcs-sys-eve outsider

# 3. hcsd --system by socket activation, stderr a "journal stream".
mkdir -m 0755 "$work/run"
socket=$work/run/hcsd.sock
log=$work/hcsd.log
: >"$log"
journal_stream=$(stat -c '%d:%i' "$log")
env HOSTCOMPUTE_LOG=info HCSD_ACCEL=tcg JOURNAL_STREAM="$journal_stream" \
  systemd-socket-activate -E HOSTCOMPUTE_LOG -E HCSD_ACCEL -E JOURNAL_STREAM -l "$socket" "$hcsd" --system --socket "$socket" --state-dir "$work/state" \
  </dev/null >>"$log" 2>&1 &
activator=$!
for _ in $(seq 1 100); do [ -S "$socket" ] && break; sleep 0.1; done
[ -S "$socket" ] || fail "systemd-socket-activate did not bind $socket"
# What hcsd.socket's SocketGroup= and SocketMode= do.
chgrp hostcompute "$socket"
chmod 0660 "$socket"

as() {
  local who=$1
  shift
  setpriv --reuid="$who" --regid="$(id -g "$who")" --init-groups \
    env -i PATH=/usr/bin:/bin HCS_SYSTEM_SOCKET="$socket" HCSD_PATH=/nonexistent XDG_RUNTIME_DIR= TMPDIR="$work" \
    "$@"
}
doc='{"SchemaVersion":{"Major":2,"Minor":1},"Owner":"alice","VirtualMachine":{"Chipset":{"Uefi":{}},"ComputeTopology":{"Memory":{"SizeInMB":64},"Processor":{"Count":1}}}}'

# 4. A member: no HCS_SOCKET, finds the system instance (the first connection starts hcsd).
echo "$doc" >"$work/vm.json"
chmod 0644 "$work/vm.json"
as hcs-sys-alice "$hcsctl" --compact service >"$work/service.json" || fail "alice: hcsctl service"
grep -q "\"StateDirectory\":\"$work/state\"" "$work/service.json" || fail "alice did not reach the system instance: $(cat "$work/service.json")"
kill -0 "$activator" || fail "hcsd exited"
as hcs-sys-alice "$hcsctl" create alice-vm "$work/vm.json" >/dev/null || fail "alice: create"
as hcs-sys-alice "$hcsctl" --compact list | grep -q '"Id":"alice-vm"' || fail "alice does not see her system"
echo "system_instance_test: a member created a system through the activated hcsd"

# 5. Another member neither lists nor opens it; root does.
[ "$(as hcs-sys-bob "$hcsctl" --compact list)" = "[]" ] || fail "bob lists alice's system"
if as hcs-sys-bob "$hcsctl" props alice-vm >"$work/bob.out" 2>&1; then fail "bob opened alice's system"; fi
grep -q "HCS_E_SYSTEM_NOT_FOUND" "$work/bob.out" || fail "bob: unexpected answer: $(cat "$work/bob.out")"
HCS_SYSTEM_SOCKET=$socket HCSD_PATH=/nonexistent "$hcsctl" --compact list | grep -q '"Id":"alice-vm"' || fail "root does not see alice's system"
echo "system_instance_test: another member cannot see or open it; root can"

# 6. An outsider cannot connect: the client does not offer it the system socket, and a direct connect fails.
if as hcs-sys-eve "$hcsctl" list >"$work/eve.out" 2>&1; then fail "eve (not in the group) listed systems"; fi
if as hcs-sys-eve env HCS_SOCKET="$socket" "$hcsctl" list >"$work/eve2.out" 2>&1; then fail "eve connected to the system socket"; fi
echo "system_instance_test: a user outside the group cannot use it"

# 7. A disk only root may read is refused for alice's system, naming the field; root's own is accepted.
head -c 1048576 /dev/zero >"$work/secret.img"
chmod 0600 "$work/secret.img"
disk_doc='{"SchemaVersion":{"Major":2,"Minor":1},"VirtualMachine":{"Chipset":{"Uefi":{}},"ComputeTopology":{"Memory":{"SizeInMB":64},"Processor":{"Count":1}},"Devices":{"Scsi":{"Primary":{"Attachments":{"0":{"Type":"VirtualDisk","Path":"'$work/secret.img'","ReadOnly":true}}}}}}}'
echo "$disk_doc" >"$work/disk.json"
chmod 0644 "$work/disk.json"
if as hcs-sys-alice "$hcsctl" create alice-disk "$work/disk.json" >"$work/disk.out" 2>&1; then
  fail "alice's system was given a disk only root may read"
fi
grep -q "VirtualMachine.Devices.Scsi.Primary.Attachments.0.Path" "$work/disk.out" || fail "the refusal does not name the field: $(cat "$work/disk.out")"
echo "system_instance_test: a member cannot hand root's files to a VM"

# 8. HcsGrantVmAccess: bob (the file's owner) gives alice's system his disk; alice (not the owner) cannot
#    grant herself root's file; revoking takes the access away and leaves the mode as it was.
head -c 1048576 /dev/zero >"$work/bob.img"
chown hcs-sys-bob "$work/bob.img"
chmod 0600 "$work/bob.img"
if as hcs-sys-alice head -c1 "$work/bob.img" >/dev/null 2>&1; then fail "alice reads bob's file before any grant"; fi
as hcs-sys-bob "$hcsctl" grant alice-vm "$work/bob.img" >/dev/null || fail "bob: grant"
getfacl -cp "$work/bob.img" 2>/dev/null | grep -q '^user:hcs-sys-alice:rw-$' || fail "no ACL entry for alice: $(getfacl -cp "$work/bob.img")"
as hcs-sys-alice head -c1 "$work/bob.img" >/dev/null || fail "alice cannot read bob's file after the grant"
sed "s|$work/secret.img|$work/bob.img|" "$work/disk.json" >"$work/bobdisk.json"
chmod 0644 "$work/bobdisk.json"
as hcs-sys-alice "$hcsctl" create alice-disk "$work/bobdisk.json" >/dev/null || fail "alice: create with the granted disk"
HCS_SYSTEM_SOCKET=$socket HCSD_PATH=/nonexistent "$hcsctl" terminate alice-disk >/dev/null || fail "root: terminate alice-disk"
if as hcs-sys-alice "$hcsctl" grant alice-vm "$work/secret.img" >/dev/null 2>&1; then fail "alice changed root's file's ACL"; fi
getfacl -cp "$work/secret.img" 2>/dev/null | grep -q '^user:hcs-sys-alice' && fail "root's file got an entry for alice"
as hcs-sys-bob "$hcsctl" revoke alice-vm "$work/bob.img" >/dev/null || fail "bob: revoke"
if as hcs-sys-alice head -c1 "$work/bob.img" >/dev/null 2>&1; then fail "alice still reads bob's file after the revoke"; fi
[ "$(stat -c %a "$work/bob.img")" = 600 ] || fail "the mode after revoke is $(stat -c %a "$work/bob.img"), not 600"
echo "system_instance_test: grant and revoke change who may use a file"

# 9. A granted directory takes save files: alice's paused system cannot save into bob's private directory
#    until bob grants it (rwx), and the save file written there is alice's; revoke closes it again.
mkdir -m 0700 "$work/bobsaves"
chown hcs-sys-bob "$work/bobsaves"
save_opts='{"SaveType":"ToFile","SaveStateFilePath":"'$work/bobsaves/alice.save'"}'
as hcs-sys-alice "$hcsctl" start alice-vm >/dev/null || fail "alice: start"
as hcs-sys-alice "$hcsctl" pause alice-vm >/dev/null || fail "alice: pause"
if as hcs-sys-alice "$hcsctl" save alice-vm "$save_opts" >"$work/save.out" 2>&1; then fail "alice saved into bob's directory without a grant"; fi
grep -q "SaveStateFilePath" "$work/save.out" || fail "the save refusal does not name the field: $(cat "$work/save.out")"
as hcs-sys-bob "$hcsctl" grant alice-vm "$work/bobsaves" >/dev/null || fail "bob: grant the directory"
getfacl -cp "$work/bobsaves" 2>/dev/null | grep -q '^user:hcs-sys-alice:rwx$' || fail "no rwx entry on the directory: $(getfacl -cp "$work/bobsaves")"
as hcs-sys-alice "$hcsctl" save alice-vm "$save_opts" >"$work/save.out" 2>&1 || fail "alice: save into the granted directory: $(cat "$work/save.out")"
[ "$(head -c4 "$work/bobsaves/alice.save")" = QEVM ] || fail "the save file holds no migration stream"
[ "$(stat -c %U "$work/bobsaves/alice.save")" = hcs-sys-alice ] || fail "the save file is not alice's: $(stat -c %U "$work/bobsaves/alice.save")"
as hcs-sys-bob "$hcsctl" revoke alice-vm "$work/bobsaves" >/dev/null || fail "bob: revoke the directory"
[ "$(stat -c %a "$work/bobsaves")" = 700 ] || fail "the directory's mode after revoke is $(stat -c %a "$work/bobsaves")"
if as hcs-sys-alice ls "$work/bobsaves" >/dev/null 2>&1; then fail "alice still lists bob's directory after the revoke"; fi
echo "system_instance_test: a granted directory takes the system's save file"

# 10. Journal logging: priority prefixes, no timestamps.
grep -q '^<6>hcsd: client connected' "$log" || fail "no journal-style log lines"
if grep -q '^\[[0-9]' "$log"; then fail "timestamped lines while logging to the journal"; fi

HCS_SYSTEM_SOCKET=$socket HCSD_PATH=/nonexistent "$hcsctl" terminate alice-vm >/dev/null || fail "root: terminate"
echo "system_instance_test: passed"
