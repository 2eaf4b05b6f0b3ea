#!/bin/bash
# The arrows of docs/ARCHITECTURE.md, checked on the includes of every
# source file: tools -> chat -> reliable -> netsim, seal -> udp.
# A file may include headers of its own folder and of the folders below it;
# the reliable core (every reliable/ file but the driver) includes no
# socket, sodium, clock or stdio header, so it stays sans-I/O.  The same
# arrows are checked on the built objects' undefined symbols, and a
# socket-only program must link against libudpkit.a with libc alone.
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

# header file name -> the room it belongs to.  Internal headers belong to
# the folder that holds them.  The public ones live together in
# include/udpkit/ and belong to a room by their prefix, as everything else
# in a room does (udpkit_* is the base room's: the version and the export
# macro).  The umbrella include/udpkit.h belongs to no room: it includes
# them all, so no library file may include it.
room_of_public() { # file name -> room, or nothing
	case "$1" in
	udp_* | udpkit_*) echo udp ;;
	netsim*) echo netsim ;;
	seal*) echo seal ;;
	rel*) echo reliable ;;
	chat*) echo chat ;;
	esac
}
declare -A home=()
for d in udp netsim seal reliable chat tools; do
	[ -d "$d" ] || continue
	while IFS= read -r h; do
		home[$(basename "$h")]=$d
	done < <(find "$d" -name '*.h')
done
declare -A pub_of=() # room -> its public headers (paths)
stray=""
for h in include/udpkit/*.h; do
	[ -f "$h" ] || continue
	b=$(basename "$h") r=$(room_of_public "$b")
	if [ -z "$r" ]; then
		stray="$stray $h"
		continue
	fi
	[ -z "${home[$b]:-}" ] || stray="$stray $h(also in ${home[$b]}/)"
	home[$b]=$r
	pub_of[$r]="${pub_of[$r]:-} $h"
done
home[udpkit.h]=umbrella

check() { # name, ok(0/1), message
	if [ "$2" = 0 ]; then
		echo "PASS: $1"; pass=$((pass + 1))
	else
		echo "FAIL: $1: $3"; fail=$((fail + 1))
	fi
}

check "layers: every public header belongs to one room by its prefix" \
	"$([ -z "$stray" ]; echo $?)" "$stray"
[ -n "${pub_of[reliable]:-}" ] && [ -n "${pub_of[udp]:-}" ]
check "layers: include/udpkit/ holds the public headers of udp/ and reliable/" $? "none found"

for d in "${!may[@]}"; do
	bad=""
	for f in $(find "$d" -name '*.[ch]' | sort) ${pub_of[$d]:-}; do
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
	check "layers: $d (and its public headers) includes only ${may[$d]}" "$([ -z "$bad" ]; echo $?)" "$bad"
done

# The umbrella header includes only public headers, all of them.
bad=""
for h in include/udpkit/*.h; do
	grep -q "^#include \"udpkit/$(basename "$h")\"" include/udpkit.h ||
		[ "$(basename "$h")" = udpkit_api.h ] || bad="$bad $(basename "$h")"
done
while IFS= read -r inc; do
	[ -f "include/$inc" ] || bad="$bad $inc(not public)"
done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' include/udpkit.h)
check "layers: include/udpkit.h includes every public header and nothing else" \
	"$([ -z "$bad" ]; echo $?)" "$bad"

# The reliable core is sans-I/O: only the driver may touch sockets, time,
# stdio or libsodium.
bad=""
for f in $(find reliable -name '*.[ch]' ! -name 'rel_drv.*' | sort) $(ls include/udpkit/rel*.h | grep -v '/rel_drv\.h$'); do
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

# The same arrows at link level, on the objects the build made: what a
# folder's objects leave undefined names no folder above it (udp/ reaches
# sealing and netsim only through the ops they install on a socket).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
build=${UDPKIT_BIN:+$(dirname "$UDPKIT_BIN")}
build=${build:-$top/build}
declare -A no_ref=(
	[udp]="netsim_ seal_ rel_ chat_ sodium_ crypto_"
	[netsim]="seal_ rel_ chat_ sodium_ crypto_"
	[seal]="netsim_ rel_ chat_"
	[reliable]="chat_"
)
# The objects of a folder's current sources (a build dir may still hold
# objects of files that were moved or deleted since).
objs_of() {
	local c o
	for c in "$1"/*.c; do
		o="$build/${c%.c}.o"
		[ -f "$o" ] && echo "$o"
	done
}
undefined_with() { # object files..., then a pattern of prefixes in $pat
	nm -u "$@" 2>/dev/null | awk -v pat="$pat" '$NF ~ pat { print $NF }' | sort -u | tr '\n' ' '
}
for d in udp netsim seal reliable; do
	objs=$(objs_of "$d")
	if [ -z "$objs" ]; then
		check "link: $d objects exist in $build" 1 "none found: build first"
		continue
	fi
	pat="^($(echo ${no_ref[$d]} | sed 's/ /|/g'))"
	bad=$(undefined_with $objs)
	check "link: $d/*.o need no ${no_ref[$d]} symbol" "$([ -z "$bad" ]; echo $?)" "$bad"
done
# Names alone would miss a call into another folder under this folder's
# prefix (udp_sock.c once called udp_sock_seal_*() defined in seal/), so
# also: nothing a folder's objects leave undefined is defined by a folder
# it may not reach.
declare -A not_below=(
	[udp]="netsim seal reliable chat"
	[netsim]="seal reliable chat"
	[seal]="netsim reliable chat"
	[reliable]="chat"
)
for d in udp netsim seal reliable; do
	others=""
	for o in ${not_below[$d]}; do others="$others $(objs_of "$o")"; done
	[ -n "$others" ] || continue
	nm -g --defined-only $others 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u >"$tmp/defs"
	nm -u $(objs_of "$d") 2>/dev/null | awk '{ print $NF }' | sort -u >"$tmp/undef"
	bad=$(comm -12 "$tmp/defs" "$tmp/undef" | head -8 | tr '\n' ' ')
	check "link: $d/*.o call nothing defined in ${not_below[$d]}" "$([ -z "$bad" ]; echo $?)" "$bad"
done

# ... and that check can fail: seal_sock.o does need libsodium.
pat='^sodium_'
seen=$(undefined_with "$build/seal/seal_sock.o")
check "link: the check sees seal_sock.o's sodium_ references" "$([ -n "$seen" ]; echo $?)" "nothing seen"

# A program that uses only sockets and addresses links against
# libudpkit.a with libc alone (no -lsodium, no -lm), carries no sealing or
# netsim code, and ignores UDPKIT_NETSIM (here malformed, which would fail
# the open of a program that links netsim).  Statically where the objects
# allow it; a sanitizer build links dynamically with its runtime, which
# proves the same about libsodium.
obj="$build/tests/helpers/sock_only.o"
if [ ! -f "$obj" ] || [ ! -f "$build/libudpkit.a" ]; then
	check "link: sock_only links with libc alone" 1 "$obj or $build/libudpkit.a missing: build first"
else
	if nm "$obj" | grep -q '__asan'; then
		how=dynamic ldflags="-fsanitize=address,undefined"
	else
		how=static ldflags="-static"
	fi
	${CC:-cc} $ldflags -o "$tmp/sock_only" "$obj" "$build/libudpkit.a" >"$tmp/ld.log" 2>&1
	check "link: sock_only links ($how) with libudpkit.a and libc alone" $? "$(grep -v warning "$tmp/ld.log" | head -5)"
	if [ -x "$tmp/sock_only" ]; then
		pat='^(netsim_|seal_|sodium_|crypto_)'
		bad=$(nm "$tmp/sock_only" 2>/dev/null | awk -v pat="$pat" '$NF ~ pat { print $NF }' | head -5 | tr '\n' ' ')
		check "link: sock_only carries no sealing or netsim code" "$([ -z "$bad" ]; echo $?)" "$bad"
		out=$(UDPKIT_NETSIM='lose 1%' timeout 10 "$tmp/sock_only" 2>&1)
		check "link: sock_only sends and receives, drops sealed-looking, ignores UDPKIT_NETSIM" \
			"$([ "$out" = "sock_only: ok" ]; echo $?)" "$out"
	fi
fi

# The check itself must be able to fail: a file that breaks an arrow is seen.
printf '#include "rel.h"\n' > "$tmp/x.c"
inc=$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$tmp/x.c")
owner=${home[$inc]:-}
case " ${may[udp]} " in *" $owner "*) seen=1 ;; *) seen=0 ;; esac
check "layers: a udp/ file including rel.h would be caught" "$seen" "rel.h was not attributed to reliable/"
# ... and a public header is attributed by its prefix, not by its folder.
[ "${home[rel.h]:-}" = reliable ] && [ "${home[udp_sock.h]:-}" = udp ] && [ "${home[seal.h]:-}" = seal ]
check "layers: include/udpkit/rel.h counts as reliable/, udp_sock.h as udp/" $? \
	"rel.h=${home[rel.h]:-} udp_sock.h=${home[udp_sock.h]:-} seal.h=${home[seal.h]:-}"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
