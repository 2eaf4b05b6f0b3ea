#!/bin/bash
# udpkey end to end: key files are created 0600 and checked, open or
# linked files are refused with one line and exit 1, derive is
# deterministic, usage errors exit 2.
set -u
top=${UDPKIT_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${UDPKIT_BIN:-$top/build/bin}
k=$bin/udpkey
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1"; [ -n "${2:-}" ] && echo "  $2"; }
check() { # name, condition result (0 = ok), detail
	if [ "$2" -eq 0 ]; then pass "$1"; else fail "$1" "${3:-}"; fi
}
lines() { wc -l <"$1" | tr -d ' '; }

# genkey -o creates a 0600 file, whatever the umask
(umask 000; "$k" genkey -o "$tmp/k") 2>"$tmp/err"
rc=$?
mode=$(stat -c %a "$tmp/k" 2>/dev/null)
[ $rc -eq 0 ] && [ "$mode" = 600 ]; check "genkey -o creates a 0600 file" $? "rc=$rc mode=$mode"
len=$(wc -c <"$tmp/k")
grep -Eq '^[A-Za-z0-9+/]{43}=$' "$tmp/k" && [ "$len" -eq 45 ]; check "key file is 44 base64 chars + newline" $? "len=$len"

"$k" genkey -o "$tmp/k" 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && [ "$(lines "$tmp/err")" -eq 1 ] && grep -q "exists" "$tmp/err"
check "genkey -o refuses to overwrite" $? "rc=$rc $(cat "$tmp/err")"

out=$("$k" check "$tmp/k" 2>"$tmp/err")
rc=$?
id=$("$k" id "$tmp/k")
[ $rc -eq 0 ] && echo "$out" | grep -q "ok, key id $id" && echo "$id" | grep -Eq '^[0-9a-f]{8}$'
check "check passes and prints the key id" $? "rc=$rc out=$out id=$id"

id2=$("$k" id <"$tmp/k")
[ "$id" = "$id2" ]; check "id reads stdin" $? "$id vs $id2"

chmod 644 "$tmp/k"
"$k" check "$tmp/k" >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && [ "$(lines "$tmp/err")" -eq 1 ] && grep -q "permissions too open" "$tmp/err"
check "check refuses mode 644 (one line, exit 1)" $? "rc=$rc $(cat "$tmp/err")"
chmod 640 "$tmp/k"
"$k" check "$tmp/k" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ]; check "check refuses mode 640" $?
chmod 600 "$tmp/k"

ln -s "$tmp/k" "$tmp/link"
"$k" check "$tmp/link" >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && [ "$(lines "$tmp/err")" -eq 1 ] && grep -q "symbolic link" "$tmp/err"
check "check refuses a symlink" $? "rc=$rc $(cat "$tmp/err")"

printf 'not a key\n' >"$tmp/bad"; chmod 600 "$tmp/bad"
"$k" check "$tmp/bad" >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && grep -q "malformed" "$tmp/err"; check "check refuses a malformed file" $? "rc=$rc $(cat "$tmp/err")"

# Three derivations (Argon2id moderate: most of a second each).
a=$(UK_PASS='correct horse' "$k" derive --group lab --passphrase-env UK_PASS)
c=$(UK_PASS='correct horse' "$k" derive -g other --passphrase-env UK_PASS)
[ -n "$a" ] && [ "$a" != "$c" ] && echo "$a" | grep -Eq '^[A-Za-z0-9+/]{43}=$'
check "derive: another group (-g), another key" $? "a=$a c=$c"

printf 'correct horse\n' >"$tmp/pw"; chmod 600 "$tmp/pw"
"$k" derive --group lab --passphrase-file "$tmp/pw" -o "$tmp/dk"
[ "$(stat -c %a "$tmp/dk")" = 600 ] && [ "$(cat "$tmp/dk")" = "$a" ]
check "derive --passphrase-file -o: a 0600 key file, the same key as --passphrase-env" $?

printf 'eleven char\n' >"$tmp/pws"; chmod 600 "$tmp/pws"
"$k" derive --group lab --passphrase-file "$tmp/pws" >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && [ "$(lines "$tmp/err")" -eq 1 ] && grep -q "too short (at least 12 bytes)" "$tmp/err"
check "derive: an 11-byte passphrase refused, one line, exit 1" $? "rc=$rc $(cat "$tmp/err")"

"$k" derive --group lab --passphrase 'secret' >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] && [ "$(lines "$tmp/err")" -eq 1 ]; check "passphrase on the command line refused (exit 2)" $? "rc=$rc"

bad_usage_ok=0
for args in "" "frobnicate" "genkey --bogus" "check" "genkey extra" "derive --passphrase-env X" \
	"derive --group g" "id a b" "genkey -o"; do
	# shellcheck disable=SC2086
	"$k" $args >/dev/null 2>"$tmp/err" </dev/null
	rc=$?
	if [ $rc -ne 2 ] || [ "$(lines "$tmp/err")" -ne 1 ]; then
		bad_usage_ok=1; echo "  '$args': rc=$rc $(cat "$tmp/err")"
	fi
done
check "bad usage exits 2 with one line" $bad_usage_ok

"$k" --help >"$tmp/out" 2>&1; rc=$?
[ $rc -eq 0 ] && grep -q "genkey" "$tmp/out"; check "--help exits 0" $?
"$k" genkey -h >/dev/null 2>&1; check "genkey -h exits 0" $?
"$k" --version | grep -q "udpkey (udpkit) [0-9]"; check "--version" $?

g1=$("$k" genkey); g2=$("$k" genkey)
[ "$g1" != "$g2" ] && echo "$g1" | grep -Eq '^[A-Za-z0-9+/]{43}=$'; check "genkey prints fresh keys" $?
# ---- identity keys ----
b64='^[A-Za-z0-9+/]{43}=$'
fpr='^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$'
pub=$( (umask 000; "$k" genkey --identity -o "$tmp/id") 2>"$tmp/err")
rc=$?
mode=$(stat -c %a "$tmp/id" 2>/dev/null)
[ $rc -eq 0 ] && [ "$mode" = 600 ] && echo "$pub" | grep -Eq "$b64" && [ "$(echo "$pub" | wc -l)" -eq 1 ]
check "genkey --identity -o: a 0600 file, its public key on stdout" $? "rc=$rc mode=$mode pub=$pub"

p2=$("$k" pub "$tmp/id"); p3=$("$k" pub - <"$tmp/id"); p4=$("$k" pubkey <"$tmp/id")
[ "$pub" = "$p2" ] && [ "$pub" = "$p3" ] && [ "$pub" = "$p4" ]
check "pub FILE, pub -, pubkey agree with genkey's output" $? "$pub / $p2 / $p3 / $p4"
[ "$pub" != "$(cat "$tmp/id")" ]; check "the public key is not the private one" $?

"$k" genkey --identity -o "$tmp/id" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && [ "$(lines "$tmp/err")" -eq 1 ] && grep -q "exists" "$tmp/err" && [ ! -s "$tmp/out" ] &&
	[ "$("$k" pub "$tmp/id")" = "$pub" ]
check "genkey --identity -o refuses to overwrite (key unchanged)" $? "rc=$rc $(cat "$tmp/err")"

s1=$("$k" genkey --identity); s2=$("$k" genkey -i)
q1=$(echo "$s1" | "$k" pub -)
[ "$s1" != "$s2" ] && echo "$s1" | grep -Eq "$b64" && echo "$q1" | grep -Eq "$b64" && [ "$q1" != "$s1" ]
check "genkey --identity prints fresh private keys that pub reads" $? "s1=$s1 q1=$q1"

f1=$("$k" fingerprint "$tmp/id"); f2=$("$k" fingerprint "$pub")
echo "$pub" >"$tmp/id.pub"
f3=$("$k" fingerprint "@$tmp/id.pub"); f4=$("$k" pub "$tmp/id" | "$k" fingerprint -)
f5=$("$k" fingerprint <"$tmp/id.pub")
echo "$f1" | grep -Eq "$fpr" && [ "$f1" = "$f2" ] && [ "$f1" = "$f3" ] && [ "$f1" = "$f4" ] && [ "$f1" = "$f5" ]
check "fingerprint of the key file, the key, @FILE and stdin agree" $? "$f1 $f2 $f3 $f4 $f5"
other=$("$k" genkey -i | "$k" pub | "$k" fingerprint)
[ "$other" != "$f1" ] && echo "$other" | grep -Eq "$fpr"; check "another key, another fingerprint" $?

one_line_err() { # name, expected rc, grep pattern, command...
	local name=$1 want=$2 pat=$3; shift 3
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	local rc=$?
	[ $rc -eq "$want" ] && [ "$(lines "$tmp/err")" -eq 1 ] && grep -q "$pat" "$tmp/err" && [ ! -s "$tmp/out" ]
	check "$name" $? "rc=$rc $(cat "$tmp/err")"
}
chmod 640 "$tmp/id"
one_line_err "pub refuses mode 640 (one line, exit 1)" 1 "permissions too open" "$k" pub "$tmp/id"
one_line_err "fingerprint of a key file refuses mode 640" 1 "permissions too open" "$k" fingerprint "$tmp/id"
chmod 600 "$tmp/id"
cp "$tmp/id" "$tmp/id.other"; chown nobody "$tmp/id.other" 2>/dev/null
if [ "$(stat -c %U "$tmp/id.other")" = nobody ]; then
	one_line_err "pub refuses a key file of another user" 1 "another user" "$k" pub "$tmp/id.other"
fi
ln -s "$tmp/id" "$tmp/id.link"
one_line_err "pub refuses a symlink" 1 "symbolic link" "$k" pub "$tmp/id.link"
printf 'not a key at all\n' >"$tmp/id.bad"; chmod 600 "$tmp/id.bad"
one_line_err "pub refuses bad key text" 1 "malformed" "$k" pub "$tmp/id.bad"
one_line_err "pub - refuses bad key text on stdin" 1 "stdin" "$k" pub -
one_line_err "fingerprint: @FILE without a key" 1 "does not hold a public key" "$k" fingerprint "@$tmp/id.bad"
one_line_err "fingerprint: neither key nor file" 1 "neither a public key" "$k" fingerprint "nokey"
one_line_err "fingerprint: one character off is not a key" 1 "neither a public key" \
	"$k" fingerprint "${pub%=}x"
one_line_err "genkey --identity extra argument: usage" 2 "unexpected" "$k" genkey --identity x
one_line_err "--identity does not apply to check" 2 "does not apply" "$k" check -i "$tmp/id"
one_line_err "pub takes one file" 2 "unexpected" "$k" pub a b
exit 0
