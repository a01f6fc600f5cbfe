#!/usr/bin/env bash
# Starts a single-node Slurm cluster on this machine for the integration
# test (slurm_test.go): installs Debian's slurm-wlm and munge when missing,
# creates a munge key, writes /etc/slurm/slurm.conf for this host (its real
# CPUs and memory, from slurmd -C), and starts munged, slurmctld and slurmd
# without systemd. Run as root on Debian; idempotent (a running cluster is
# left as it is). "local-cluster.sh stop" stops the daemons.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" != 0 ]; then
	echo "local-cluster.sh: run as root (it installs packages and starts daemons)" >&2
	exit 1
fi

# stop_slurm stops the daemons of the pid files (only when the pid is
# still theirs: a stale file may name a reused pid).
stop_slurm() {
	for d in slurmd slurmctld; do
		p=/run/$d.pid
		if [ -s "$p" ] && [ "$(cat "/proc/$(cat "$p")/comm" 2>/dev/null)" = "$d" ]; then
			kill "$(cat "$p")" 2>/dev/null || true
		fi
		rm -f "$p"
	done
	sleep 0.5
}

if [ "${1:-}" = stop ]; then
	stop_slurm
	exit 0
fi

need=()
for p in slurm-wlm munge; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# munge: one key, the daemon running as the munge user.
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge
install -d -o munge -g munge -m 0755 /var/log/munge /run/munge
if ! test -s /etc/munge/munge.key; then
	/usr/sbin/mungekey --create --keyfile /etc/munge/munge.key
	chown munge:munge /etc/munge/munge.key
	chmod 0400 /etc/munge/munge.key
fi
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
	rm -f /run/munge/munge.socket.2 /run/munge/munged.pid
	runuser -u munge -- /usr/sbin/munged
	for _ in $(seq 50); do
		munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
		sleep 0.1
	done
	munge -n | unmunge >/dev/null
fi

host=$(hostname -s)
if ! scontrol ping 2>/dev/null | grep -q UP; then
	install -d -m 0755 /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
	# This node as slurmd sees it (CPUs, sockets, cores, memory).
	node=$(slurmd -C | head -1)
	node=${node/NodeName=* CPUs=/NodeName=$host NodeAddr=127.0.0.1 CPUs=}
	tee /etc/slurm/slurm.conf >/dev/null <<CONF
ClusterName=cleval-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
MinJobAge=600
KillWait=10
$node State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
	stop_slurm
	# -c: a clean start (no jobs or state of an earlier cluster).
	/usr/sbin/slurmctld -c
	/usr/sbin/slurmd
fi

# Wait for the node to be usable.
for _ in $(seq 120); do
	state=$(sinfo -h -n "$host" -o %T 2>/dev/null | head -1 || true)
	case "$state" in
	idle* | mixed* | allocated*) break ;;
	drain* | down*) scontrol update nodename="$host" state=resume 2>/dev/null || true ;;
	esac
	sleep 0.5
done
state=$(sinfo -h -n "$host" -o %T 2>/dev/null | head -1 || true)
case "$state" in
idle* | mixed* | allocated*) echo "local-cluster.sh: Slurm is up: node $host is $state" ;;
*)
	echo "local-cluster.sh: node $host is ${state:-unknown}" >&2
	sinfo -R >&2 || true
	tail -20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
	exit 1
	;;
esac
