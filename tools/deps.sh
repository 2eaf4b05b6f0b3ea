#!/bin/sh
# Installs udpkit's build and test dependencies on Debian when missing.
# Nothing is fetched when everything is already present.
set -e
need=""
have_pkg() { pkg-config --exists "$1" 2>/dev/null; }
command -v cc >/dev/null 2>&1 || need="$need gcc"
command -v make >/dev/null 2>&1 || need="$need make"
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
have_pkg libsodium || need="$need libsodium-dev"
have_pkg cmocka || need="$need libcmocka-dev"
[ -f /usr/include/pcap/pcap.h ] || need="$need libpcap-dev" # --pcap (tools/tool_pcap.c)
command -v python3 >/dev/null 2>&1 || need="$need python3"
# make python (the udpkit module): headers and setuptools of Debian's python3
[ -f "$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])' 2>/dev/null)/Python.h" ] || need="$need python3-dev"
python3 -c 'import setuptools' 2>/dev/null || need="$need python3-setuptools"
command -v ip >/dev/null 2>&1 || need="$need iproute2"
command -v unshare >/dev/null 2>&1 || need="$need util-linux"
command -v nft >/dev/null 2>&1 || need="$need nftables" # tests/e2e/pmtu_netns.sh: a router that drops ICMP
command -v socat >/dev/null 2>&1 || need="$need socat"
command -v timeout >/dev/null 2>&1 || need="$need coreutils"
command -v valgrind >/dev/null 2>&1 || need="$need valgrind" # tests/e2e/leaks.sh
command -v tmux >/dev/null 2>&1 || need="$need tmux" # udpchat terminal test
command -v tshark >/dev/null 2>&1 || need="$need tshark" # tests/e2e/wireshark.sh
command -v abidiff >/dev/null 2>&1 || need="$need abigail-tools" # tests/e2e/abi.sh, make abi-update
command -v g++ >/dev/null 2>&1 || need="$need g++" # tests/e2e/headers.sh, install.sh: the headers as C++
# --- fuzz-smoke (tests/fuzz/fuzz.mk): clang and its libFuzzer runtime.
# Debian puts the runtime in libclang-rt-N-dev, only a Recommends of clang
# (so not installed by --no-install-recommends); libclang-rt-dev is the
# unversioned name matching the default clang.  This block sits above the
# early exit below, or it would never run when nothing else is missing.
command -v clang >/dev/null 2>&1 || need="$need clang"
ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1 ||
	need="$need libclang-rt-dev"
# --- end of fuzz block
# --- make bench: ENet's reliable channel is the comparison (tests/helpers/enet_bench.c).
have_pkg libenet || [ -f /usr/include/enet/enet.h ] || need="$need libenet-dev"
# ... and SRT's file mode (tests/helpers/srt_bench.c).
have_pkg srt || [ -f /usr/include/srt/srt.h ] || need="$need libsrt-openssl-dev"
[ -n "$need" ] || exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing:$need (run as root, or: apt-get install$need)" >&2
	exit 1
fi
echo "deps: installing$need"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq </dev/null
apt-get install -y -qq --no-install-recommends $need </dev/null >/dev/null
