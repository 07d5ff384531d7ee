# Sourced by scripts that run podman: on this kernel podman needs rlimits within the hard
# limits and runc (crun refuses hybrid cgroups). Writes /etc/containers/containers.conf
# only when there is none.
if [ ! -f /etc/containers/containers.conf ]; then
  mkdir -p /etc/containers
  cat > /etc/containers/containers.conf <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
CONF
fi
