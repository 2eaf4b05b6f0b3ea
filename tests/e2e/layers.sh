#!/bin/bash
# The arrows of docs/ARCHITECTURE.md, checked on the includes of every
# source file: tools -> chat -> reliable -> netsim, seal -> udp.
# A file may include headers of its own folder and of the folders below it;
# the reliable core (every reliable/ file but the driver) includes no
# socket, sodium, clock or stdio header, so it stays sans-I/O.
top=${UDPKIT_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top" || exit 1
pass=0 fail=0

# folder -> the project folders whose headers it may include
declare -A may=(
	[udp]="udp"
	[netsim]="netsim udp"
	[seal]="seal udp"
	[reliable]="reliable netsim seal udp"
	[chat]="chat reliable netsim seal udp"
)

# header file name -> the folder that holds it
declare -A home=()
for d in udp netsim seal reliable chat tools include; do
	[ -d "$d" ] || continue
	while IFS= read -r h; do
		home[$(basename "$h")]=$d
	done < <(find "$d" -name '*.h')
done

check() { # name, ok(0/1), message
	if [ "$2" = 0 ]; then
		echo "PASS: $1"; pass=$((pass + 1))
	else
		echo "FAIL: $1: $3"; fail=$((fail + 1))
	fi
}

for d in "${!may[@]}"; do
	bad=""
	for f in $(find "$d" -name '*.[ch]' | sort); do
		while IFS= read -r inc; do
			h=$(basename "$inc")
			owner=${home[$h]:-}
			[ -n "$owner" ] || continue # a system header
			case " ${may[$d]} " in
			*" $owner "*) ;;
			*) bad="$bad $f->$owner/$h" ;;
			esac
		done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
	done
	check "layers: $d includes only ${may[$d]}" "$([ -z "$bad" ]; echo $?)" "$bad"
done

# The reliable core is sans-I/O: only the driver may touch sockets, time,
# stdio or libsodium.
bad=""
for f in $(find reliable -name '*.[ch]' ! -name 'rel_drv.*' | sort); do
	if grep -Eq '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](sys/socket\.h|netinet/|arpa/|sys/un\.h|poll\.h|time\.h|sys/time\.h|stdio\.h|sodium\.h|udp_sock\.h|udp_addr\.h)' "$f"; then
		bad="$bad $f"
	fi
done
check "layers: reliable core includes no socket, clock, stdio or sodium header" \
	"$([ -z "$bad" ]; echo $?)" "$bad"

# Only udp/udp_sock.c makes socket system calls.
bad=$(grep -lE '\b(sendmmsg|recvmmsg|sendmsg|recvmsg|sendto|recvfrom|setsockopt)[[:space:]]*\(' \
	$(find udp netsim seal reliable chat -name '*.c') 2>/dev/null | grep -v '^udp/udp_sock\.c$' | tr '\n' ' ')
check "layers: socket system calls only in udp/udp_sock.c" "$([ -z "$bad" ]; echo $?)" "$bad"

# The check itself must be able to fail: a file that breaks an arrow is seen.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#include "rel.h"\n' > "$tmp/x.c"
inc=$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$tmp/x.c")
owner=${home[$inc]:-}
case " ${may[udp]} " in *" $owner "*) seen=1 ;; *) seen=0 ;; esac
check "layers: a udp/ file including rel.h would be caught" "$seen" "rel.h was not attributed to reliable/"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
