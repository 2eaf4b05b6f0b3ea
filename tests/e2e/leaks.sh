#!/bin/bash
# Leaks and memory errors under valgrind (docs/HARDENING.md): a full small
# transfer udpsend -> udprecv plain and sealed, the same through udprelay
# (with a client expiring), and udprecv --echo answering.  Both ends run
# under valgrind --leak-check=full; any definite, indirect or possible leak
# or any memory error makes valgrind exit 99.  Only in the normal build: the
# ASan build (BUILD=build-asan) has LeakSanitizer in every test already.
. "$(dirname "$0")/lib.bash"
RELAY=$BIN/udprelay
KEY=$BIN/udpkey
cd "$T" || exit 1
case "${BUILD:-build}:$BIN" in
*asan*)
	skip "valgrind leak checks" "ASan build: LeakSanitizer checks every test"
	e2e_summary
	exit
	;;
esac
if ! command -v valgrind >/dev/null 2>&1; then
	skip "valgrind leak checks" "valgrind not installed"
	e2e_summary
	exit
fi

# vg TOOL: a wrapper script running TOOL under valgrind, log in vg.TOOL.PID
vg() {
	cat >"vg-$1" <<EOF
#!/bin/sh
exec valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible \\
	--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \\
	--log-file="$T/vg.$1.%p" "$BIN/$1" "\$@"
EOF
	chmod +x "vg-$1"
}
vg udprecv; vg udpsend; vg udprelay; vg udpchat
RECV=$T/vg-udprecv
VSEND=$T/vg-udpsend
"$KEY" genkey -o k 2>"$T/last.err"
head -c 60000 /dev/urandom >blob

# vsnd ARGS...: udpsend under valgrind (bounded); sets SRC
vsnd() { timeout -k 2 60 "$VSEND" "$@" 2>"$T/last.err"; SRC=$?; }
logs_clean() { ! grep -l . "$T"/vg.* >/dev/null 2>&1; }

# wait_listen FILE: valgrind is slow to start; "listening on" within 30 s
wait_listen() {
	for _ in $(seq 1500); do grep -q 'listening on' "$1" && return 0; sleep 0.02; done
	return 1
}

# --- plain transfer -------------------------------------------------------------
: >plain.err
"$RECV" --raw --stats -c 60 -w 30 127.0.0.1 0 >plain.out 2>plain.err &
RPID=$!; PIDS+=("$RPID")
wait_listen plain.err
PORT=$(sed -n 's/^udprecv: listening on .*:\([0-9]*\)$/\1/p' plain.err)
vsnd --chunk 1000 --rate 500 127.0.0.1 "$PORT" <blob
wait_pid "$RPID" 60
okx "plain transfer under valgrind: exact, both exit 0 (99 = leak or error)" \
	'[ "$SRC" = 0 ] && [ "$RC" = 0 ] && cmp -s blob plain.out'

# --- sealed transfer, --echo answering -------------------------------------------
: >sealed.err
"$RECV" -k k --raw --echo --stats -c 60 -w 30 127.0.0.1 0 >sealed.out 2>sealed.err &
RPID=$!; PIDS+=("$RPID")
wait_listen sealed.err
PORT=$(sed -n 's/^udprecv: listening on .*:\([0-9]*\)$/\1/p' sealed.err)
vsnd -k k --chunk 1000 --rate 500 -w 2 -o echoed 127.0.0.1 "$PORT" <blob
wait_pid "$RPID" 60
okx "sealed transfer with --echo under valgrind: exact both ways, exit 0" \
	'[ "$SRC" = 0 ] && [ "$RC" = 0 ] && cmp -s blob sealed.out && [ "$(wc -c <echoed)" -gt 0 ]'

# --- through udprelay (two clients, one expires) ---------------------------------
: >relayed.err
"$BIN/udprecv" -k k --raw -w 6 127.0.0.1 0 >relayed.out 2>relayed.err &
RPID=$!; PIDS+=("$RPID")
wait_listen relayed.err
PORT=$(sed -n 's/^udprecv: listening on .*:\([0-9]*\)$/\1/p' relayed.err)
: >relay.err
"$T/vg-udprelay" --stats --idle 0.5 -w 3 --netsim 'loss 1% seed 5' 127.0.0.1:0 "127.0.0.1:$PORT" 2>relay.err &
XPID=$!; PIDS+=("$XPID")
wait_listen relay.err
XPORT=$(sed -n 's/^udprelay: listening on [^,]*:\([0-9]*\),.*/\1/p' relay.err | head -n 1)
snd -k k 127.0.0.1 "$XPORT" first client
sleep 1.2
snd -k k --chunk 1000 --rate 500 127.0.0.1 "$XPORT" <blob
wait_pid "$XPID" 60
xrc=$RC
wait_pid "$RPID" 20
okx "udprelay under valgrind (netsim, a client expired): exit 0" \
	'[ "$xrc" = 0 ] && grep -q " [1-9][0-9]* expired" relay.err && [ -s relayed.out ]'

# --- reliable transfer (udpsend -r -> udprecv -r), both under valgrind ----------------
head -c 200000 /dev/urandom >rblob
: >rel.err
"$RECV" -r --raw --stats --timeout 30 -w 30 127.0.0.1 0 >rel.out 2>rel.err &
RPID=$!; PIDS+=("$RPID")
wait_listen rel.err
PORT=$(sed -n 's/^udprecv: listening on .*:\([0-9]*\)$/\1/p' rel.err)
vsnd -r --whole --no-progress --stats --timeout 30 127.0.0.1 "$PORT" <rblob
wait_pid "$RPID" 60
okx "reliable transfer under valgrind (200 KB): exact, both exit 0" \
	'[ "$SRC" = 0 ] && [ "$RC" = 0 ] && cmp -s rblob rel.out'

# --- udpchat: two peers join, say one line each, leave on end of input ----------------
# cpeer NAME ARGS...: udpchat under valgrind, stdin from a FIFO (fd in CFD_NAME)
cpeer() {
	local name=$1; shift
	mkfifo "$name.in"
	"$T/vg-udpchat" --json --nick "$name" --no-discovery --linger 2 "$@" <"$name.in" >"$name.out" 2>"$name.err" &
	PIDS+=("$!"); eval "CPID_$name=$!"
	eval "exec {CFD_$name}>$name.in"
	wait_listen "$name.err"
	CPORT=$(sed -n 's/.* listening on .*:\([0-9]*\).*/\1/p' "$name.err" | head -n 1)
}
# cwait FILE PATTERN: bounded (valgrind is slow)
cwait() { for _ in $(seq 600); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done; return 1; }
cpeer ann
cpeer ben --peer "127.0.0.1:$CPORT"
# shellcheck disable=SC2154
{ cwait ann.out '"type":"join"' && cwait ben.out '"type":"join"'; } &&
	echo "hi from ann" >&"$CFD_ann" && echo "hi from ben" >&"$CFD_ben" &&
	cwait ann.out 'hi from ben' && cwait ben.out 'hi from ann'
joined=$?
exec {CFD_ben}>&-
cwait ann.out '"type":"leave"'
exec {CFD_ann}>&-
wait_pid "$CPID_ben" 30; brc=$RC
wait_pid "$CPID_ann" 30; arc=$RC
okx "udpchat join, one line each, leave under valgrind: both exit 0" \
	'[ "$joined" = 0 ] && [ "$arc" = 0 ] && [ "$brc" = 0 ]'

okx "valgrind logs empty (no leak, no error)" logs_clean
if ! logs_clean; then head -n 40 "$T"/vg.* ; fi

e2e_summary
