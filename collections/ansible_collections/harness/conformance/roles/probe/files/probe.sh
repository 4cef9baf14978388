# The in-container probe of the verify roles: one `RESULT key=value` line per fact, read back
# from the container log (no exec, no shell on the node). Busybox sh; nvidia-smi when the
# runtime injected one. Ends with `RESULT done=1` and marks itself done for the readiness probe.
n=0; names=""
for d in /dev/nvidia[0-9]*; do
  [ -e "$d" ] || continue
  n=$((n + 1)); names="$names${names:+,}${d#/dev/}"
done
echo "RESULT devices=$n"
echo "RESULT device_names=$names"
smi=""
for p in nvidia-smi /usr/bin/nvidia-smi /usr/local/nvidia/bin/nvidia-smi /usr/local/bin/nvidia-smi; do
  if command -v "$p" >/dev/null 2>&1; then smi=$(command -v "$p"); break; fi
done
if [ -n "$smi" ]; then
  out=$("$smi" -L 2>&1); rc=$?
  echo "RESULT smi_rc=$rc"
  echo "RESULT smi_uuids=$(echo "$out" | sed -n 's/.*(UUID: \([^)]*\)).*/\1/p' | tr '\n' ',' | sed 's/,$//')"
  echo "RESULT smi_names=$(echo "$out" | sed -n 's/^GPU [0-9]*: \(.*\) (UUID:.*/\1/p' | tr '\n' ',' | sed 's/,$//')"
  echo "RESULT smi_first_line=$(echo "$out" | head -n 1)"
  if [ "$rc" = 0 ]; then
    echo "RESULT driver_version=$("$smi" --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -n 1)"
    echo "RESULT mig_mode=$("$smi" --query-gpu=mig.mode.current --format=csv,noheader 2>/dev/null | head -n 1)"
  fi
else
  echo "RESULT smi_rc=127"
fi
echo "RESULT kernel=$(uname -r)"
echo "RESULT proc_version=$(cat /proc/version 2>/dev/null)"
echo "RESULT boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)"
echo "RESULT processes=$(ls -d /proc/[0-9]* 2>/dev/null | wc -l)"
echo "RESULT interfaces=$(ls /sys/class/net 2>/dev/null | tr '\n' ',' | sed 's/,$//')"
echo "RESULT done=1"
touch /tmp/probe-done
