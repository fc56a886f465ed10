#!/usr/bin/env bash
# Runs a command inside a throwaway VM booted from Debian's kernel (which has IPVS), under qemu with
# software emulation (no KVM needed), and exits with the command's exit code.
#
#   run-in-vm.sh [--timeout SECONDS] [--] COMMAND [ARGS...]
#
# The guest sees the host's whole filesystem read-only (9p) under a throwaway tmpfs overlay, chroots
# into it and runs COMMAND from the current directory, so the host's JDK, ipvsadm, iproute2, curl and
# ~/.m2 work unchanged. The current directory's target/ (if any) is shared writable so results come back.
# Inputs come from Debian's mirror with `apt-get download` + `dpkg -x` into $TIERGATE_VM_CACHE
# (default ~/.cache/tiergate-vm); nothing is installed on the host. Host tools: qemu-system-x86,
# busybox-static, kmod (depmod/modprobe), cpio.
#
# Exit codes: the command's own; 77 = can't run here (a line starting "skip:" says why);
# 124 = the hard timeout fired; 125 = the VM itself failed (boot, modules, mounts).
set -euo pipefail

timeout_s=240
while (($#)); do
  case "$1" in
    --timeout) timeout_s=$2; shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
(($#)) || { echo "usage: $0 [--timeout S] [--] COMMAND [ARGS...]" >&2; exit 2; }

skip() { echo "skip: $*" >&2; exit 77; }
fail() { echo "run-in-vm: $*" >&2; exit 125; }

[[ $(id -u) == 0 ]] || skip "the IPVS VM tests need root (9p export of / and netns inside the guest)"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"
[[ -x /bin/busybox ]] || skip "busybox-static not installed"
command -v depmod >/dev/null || [[ -x /sbin/depmod ]] || skip "kmod (depmod) not installed"
command -v cpio >/dev/null || skip "cpio not installed"
PATH=$PATH:/sbin:/usr/sbin

cache=${TIERGATE_VM_CACHE:-$HOME/.cache/tiergate-vm}
mkdir -p "$cache"

# --- Debian's kernel, extracted once per version ---------------------------------------------
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[[ -n $pkg ]] || skip "apt doesn't know linux-image-amd64 (run apt-get update; needs Debian's mirror)"
kver=${pkg#linux-image-}
kdir=$cache/$pkg
if [[ ! -f $kdir/.ready ]]; then
  echo "run-in-vm: fetching $pkg from Debian's mirror (once)" >&2
  rm -rf "$kdir" "$cache/dl"; mkdir -p "$cache/dl"
  (cd "$cache/dl" && apt-get download -q "$pkg" >&2) || skip "can't download $pkg from Debian's mirror"
  dpkg -x "$cache"/dl/"$pkg"_*.deb "$kdir"
  depmod -b "$kdir" "$kver"
  rm -rf "$cache/dl"
  touch "$kdir/.ready"
fi
vmlinuz=$kdir/boot/vmlinuz-$kver
[[ -f $vmlinuz ]] || fail "no kernel image in $kdir"

# --- initramfs: busybox + the modules, loaded in dependency order ----------------------------
# IPVS and the schedulers the tests use (lblcr deliberately left out: "scheduler not loaded" test), IPIP and
# nft netdev forwarding and the hash/numgen expressions (nft-ipip-dr.sh, nft-tunnel-director.sh),
# namespaces' plumbing for traffic tests, and virtio/9p/overlay for the root filesystem.
modules=(ip_vs ip_vs_rr ip_vs_wrr ip_vs_wlc ip_vs_lc ip_vs_sh ip_vs_mh veth dummy bridge
         tunnel4 ip_tunnel ipip nft_fwd_netdev nft_hash nft_numgen nft_objref
         virtio_pci 9pnet_virtio 9p overlay)
work=$(mktemp -d /tmp/tiergate-vm.XXXXXX)
trap 'rm -rf "$work"' EXIT
ird=$work/initramfs
mkdir -p "$ird"/{bin,sbin,proc,sys,dev,host,rw,root,modules}
cp /bin/busybox "$ird/bin/busybox"
: > "$ird/modules/order"
for m in "${modules[@]}"; do
  modprobe -d "$kdir" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
done | awk '!seen[$0]++' | while read -r ko; do
  base=$(basename "$ko")
  if [[ ! -f $ird/modules/$base ]]; then
    case "$ko" in
      *.ko.xz) xz -dc "$ko" > "$ird/modules/${base%.xz}"; base=${base%.xz} ;;
      *.ko.zst) zstd -qdc "$ko" > "$ird/modules/${base%.zst}"; base=${base%.zst} ;;
      *) cp "$ko" "$ird/modules/$base" ;;
    esac
    echo "$base" >> "$ird/modules/order"
  fi
done

# The command runs from the current directory; target/ under it is the writable share.
cwd=$(pwd)
share=$cwd/target/vm-share
[[ $share != *" "* ]] || fail "paths with spaces are not supported: $share"
mkdir -p "$share"
rm -f "$share/rc"
{
  printf 'cd %q || exit 125\n' "$cwd"
  printf 'export HOME=%q PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin TIERGATE_IN_VM=1 LANG=C.UTF-8\n' "$HOME"
  printf '%q ' "$@"; echo
} > "$share/cmd.sh"

cat > "$ird/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in \$(cat /modules/order); do
  # crc32c-intel needs SSE4.2, which the default TCG CPU lacks; crc32c_generic covers it.
  insmod /modules/\$m 2>/dev/null || case \$m in crc32c-intel.ko) ;; *) echo "insmod \$m failed" ;; esac
done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose host /host || { echo TIERGATE-VM-EXIT: 125; poweroff -f; }
mount -t tmpfs -o size=512m rw /rw
mkdir -p /rw/upper /rw/work /rw/root
mount -t overlay overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work /rw/root || { echo TIERGATE-VM-EXIT: 125; poweroff -f; }
r=/rw/root
mount -t proc proc \$r/proc
mount -t sysfs sys \$r/sys
mount -t devtmpfs dev \$r/dev
mkdir -p \$r/dev/pts \$r/dev/shm; mount -t devpts devpts \$r/dev/pts; mount -t tmpfs shm \$r/dev/shm
# No tmpfs over /tmp: a checkout (and its test classpath) may live under the host's /tmp; writes there land in
# the overlay's tmpfs upper layer anyway.
mount -t tmpfs run \$r/run
mount -t 9p -o trans=virtio,version=9p2000.L share \$r$share || { echo TIERGATE-VM-EXIT: 125; poweroff -f; }
chroot \$r /bin/ip link set lo up
chroot \$r /bin/bash $share/cmd.sh
rc=\$?
echo \$rc > \$r$share/rc
sync
echo "TIERGATE-VM-EXIT: \$rc"
poweroff -f
INIT
chmod +x "$ird/init"
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initramfs.gz"

# --- boot ------------------------------------------------------------------------------------
log=$share/console.log
set +e
timeout -k 5 "$timeout_s" qemu-system-x86_64 -accel tcg -smp 1 -m 2048 \
  -kernel "$vmlinuz" -initrd "$work/initramfs.gz" \
  -append "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init" \
  -virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap \
  -virtfs local,path="$share",mount_tag=share,security_model=none,multidevs=remap \
  -display none -monitor none -serial stdio -no-reboot < /dev/null 2>&1 | tee "$log"
qrc=${PIPESTATUS[0]}
set -e
((qrc == 124)) && { echo "run-in-vm: hard timeout (${timeout_s}s) fired" >&2; exit 124; }
rc=$(tr -d '\r' < "$log" | awk -F': ' '/^TIERGATE-VM-EXIT: /{print $2}' | tail -1)
[[ -n $rc ]] || fail "the VM stopped without an exit marker (qemu exit $qrc); console in $log"
exit "$rc"
