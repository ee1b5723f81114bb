# Sourced by scripts/build-image.sh and scripts/test-image.sh: finds a podman invocation that
# can run containers on this machine and sets
#   PODMAN      the command with its global flags (an array)
#   RUN_LIMITS  --ulimit flags for `podman run` and `podman build` (an array)
#
# On VMs with the hybrid cgroup v1 layout (no systemd as PID 1) crun fails to create
# containers, so the fallback is runc with the cgroupfs manager and explicit nofile/nproc
# limits (runc cannot raise them past the caller's). FATHOM_PODMAN_FLAGS overrides the probe:
# e.g. FATHOM_PODMAN_FLAGS="--runtime runc --cgroup-manager=cgroupfs".

podman_env_setup() {
  local probe_image="$1"
  command -v podman >/dev/null 2>&1 || { echo "podman not found: apt-get install podman runc" >&2; return 1; }
  local nofile
  nofile=$(ulimit -Hn); [ "$nofile" = unlimited ] && nofile=65536
  [ "$nofile" -gt 65536 ] && nofile=65536

  local flag_sets=("" "--runtime runc --cgroup-manager=cgroupfs")
  [ -n "${FATHOM_PODMAN_FLAGS:-}" ] && flag_sets=("$FATHOM_PODMAN_FLAGS")
  # Some sandboxes refuse to set RLIMIT_NPROC even at the caller's own value: try smaller ones.
  local flags nproc
  for flags in "${flag_sets[@]}"; do
    # shellcheck disable=SC2206  # word splitting is the point
    PODMAN=(podman ${flags})
    for nproc in 65536 16384 4096 1024; do
      RUN_LIMITS=(--ulimit "nofile=${nofile}:${nofile}" --ulimit "nproc=${nproc}:${nproc}")
      if "${PODMAN[@]}" run --rm "${RUN_LIMITS[@]}" --network none --no-healthcheck --entrypoint /bin/true "$probe_image" >/dev/null 2>&1; then
        echo "podman: using '${PODMAN[*]}' with ${RUN_LIMITS[*]}" >&2
        return 0
      fi
    done
  done
  echo "podman cannot run a container here, even with runc and cgroupfs; last error:" >&2
  "${PODMAN[@]}" run --rm "${RUN_LIMITS[@]}" --network none --no-healthcheck --entrypoint /bin/true "$probe_image" >&2 || true
  return 1
}
