#!/bin/bash
# udpsend/udprecv: command line, output formats, signals, interoperation
# with a plain python3 socket peer, man pages.
. "$(dirname "$0")/lib.bash"

# usage_err NAME EXPECTED_RC REGEX TOOL ARGS...: one line on stderr matching
# REGEX, nothing on stdout, the exit code expected.
usage_err() {
	local n=$1 want=$2 re=$3; shift 3
	timeout 10 "$@" >"$T/u.out" 2>"$T/u.err" </dev/null
	local rc=$?
	if [ "$rc" = "$want" ] && [ "$(wc -l <"$T/u.err")" = 1 ] && grep -qE "$re" "$T/u.err" && [ ! -s "$T/u.out" ]; then
		pass "$n"
	else
		fail "$n" "rc=$rc: $(cat "$T/u.err")"
	fi
}

# --- bad command lines -------------------------------------------------------
usage_err "unknown option: exit 2, one line" 2 "^udpsend: unknown option '--bogus'" "$SEND" --bogus 127.0.0.1 9 x
usage_err "unknown short option (udprecv)" 2 "^udprecv: unknown option '-Z'" "$RECV" -Z 9
usage_err "missing option argument" 2 "option '-c' needs an argument" "$SEND" 127.0.0.1 9 -c
usage_err "bad number for -c" 2 "bad number for -c: 'abc'" "$SEND" -c abc 127.0.0.1 9 x
usage_err "bad time for -w" 2 "bad time for -w: 'soon'" "$RECV" -w soon 0
usage_err "bad port: 70000" 2 "^udprecv: bad port '70000': port out of range \(0-65535\)" "$RECV" 70000
usage_err "bad port in HOST:PORT" 2 "^udpsend: bad port '99999'" "$SEND" 127.0.0.1:99999 x
usage_err "unresolvable host: exit 1" 1 "^udpsend: cannot resolve 'nohost.invalid': " "$SEND" nohost.invalid 9 x
usage_err "udpsend without arguments" 2 "^udpsend: missing destination" "$SEND"
usage_err "udpsend HOST without PORT" 2 "^udpsend: missing port after '127.0.0.1'" "$SEND" 127.0.0.1
usage_err "udprecv without arguments" 2 "^udprecv: missing port" "$RECV"
usage_err "udprecv with too many arguments" 2 "unexpected argument" "$RECV" 127.0.0.1 9 extra
usage_err "--chunk larger than the UDP limit" 2 "over the limit of 65507" "$SEND" --chunk 70000 127.0.0.1 9
usage_err "--echo with --reply" 2 "exclude each other" "$RECV" --echo --reply x 0
usage_err "broadcast without -b is refused clearly" 1 "Permission denied" "$SEND" 255.255.255.255 9 x

timeout 5 "$SEND" --help >"$T/h.out" 2>"$T/h.err"
okx "udpsend --help: usage on stdout, exit 0" '[ $? = 0 ] && grep -q "^Usage: udpsend" "$T/h.out" && [ ! -s "$T/h.err" ]'
timeout 5 "$RECV" -h >"$T/h.out" 2>"$T/h.err"
okx "udprecv -h: usage on stdout, exit 0" '[ $? = 0 ] && grep -q "^Usage: udprecv" "$T/h.out"'
okx "--version names tool and version" '[ "$("$SEND" --version)" = "udpsend (udpkit) $("$RECV" --version | cut -d" " -f3)" ]'

# --- output formats -----------------------------------------------------------
start_recv hex -c 1 -x 127.0.0.1 0
printf 'hello, hex dump!!' | snd --whole 127.0.0.1 "$PORT"
wait_pid "$RPID" 5
okx "-x hex dump: header line, offset, hex, ascii" \
	'grep -q "^# 17 bytes from 127.0.0.1:" "$T/hex.out" &&
	 grep -q "^00000000  68 65 6c 6c 6f 2c 20 68  65 78 20 64 75 6d 70 21  |hello, hex dump!|" "$T/hex.out" &&
	 grep -q "^00000010  21 .*|!|$" "$T/hex.out"'

start_recv from -c 1 --from 127.0.0.1 0
sp=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
snd -s 127.0.0.1 -p "$sp" 127.0.0.1 "$PORT" from me
wait_pid "$RPID" 5
ok "--from prefixes ADDR<TAB> (and -s/-p set the source)" [ "$(cat "$T/from.out")" = "$(printf '127.0.0.1:%s\tfrom me' "$sp")" ]

start_recv esc -c 1 127.0.0.1 0
printf 'a\nb\\c\td\001\377\303\251' | snd --whole 127.0.0.1 "$PORT"
wait_pid "$RPID" 5
ok "text mode escapes newline, backslash, tab, bytes; keeps UTF-8" \
	[ "$(cat "$T/esc.out")" = 'a\nb\\c\td\x01\xffé' ]

start_recv json -c 2 --json -o "$T/j.json" ::1 0
printf 'q"u\\o\nte\001 \303\251' | snd --whole ::1 "$PORT"
printf '\377\000binary' | snd --whole ::1 "$PORT"
wait_pid "$RPID" 5
okx "--json (-o FILE): valid JSON, exact payloads, sender" \
	'python3 - "$T/j.json" <<-EOF
	import base64, json, sys
	rows = [json.loads(l) for l in open(sys.argv[1])]
	assert rows[0]["data"].encode() == b"q\"u\\\\o\nte\x01 \xc3\xa9", rows[0]
	assert rows[0]["len"] == 12 and rows[0]["from"].startswith("[::1]:")
	assert base64.b64decode(rows[1]["data_base64"]) == b"\xff\x00binary", rows[1]
	EOF'

# --- interoperation with a plain socket peer -----------------------------------
start_recv py -c 2 --json 127.0.0.1 0
timeout 5 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"from python", ("127.0.0.1", int(sys.argv[1])))
s.sendto(b"", ("127.0.0.1", int(sys.argv[1])))' "$PORT"
wait_pid "$RPID" 5
okx "python3 sender -> udprecv (incl. an empty datagram)" \
	'[ "$RC" = 0 ] && grep -q "\"len\":11,\"data\":\"from python\"" "$T/py.out" && grep -q "\"len\":0,\"data\":\"\"" "$T/py.out"'

timeout 5 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("::1", 0)); s.settimeout(4)
print(s.getsockname()[1], flush=True)
for _ in range(3):
    d, a = s.recvfrom(70000)
    sys.stderr.write(d.decode() + "\n")
    s.sendto(b"ack " + d, a)' >"$T/pyr.out" 2>"$T/pyr.err" &
pyp=$!
PIDS+=("$pyp")
for _ in $(seq 250); do [ -s "$T/pyr.out" ] && break; sleep 0.02; done
pport=$(head -n 1 "$T/pyr.out")
printf 'x\ny\n' | snd ::1 "$pport"
out=$(snd -w 2 "[::1]:$pport" z)
wait_pid "$pyp" 5
okx "udpsend -> python3 receiver (lines as datagrams, reply printed)" \
	'[ "$(cat "$T/pyr.err")" = "$(printf "x\ny\nz")" ] && [ "$out" = "ack z" ]'

# an unnamed unix sender (python, not bound) cannot be answered: counted, not fatal
start_recv unnamed -c 2 --from --echo --stats "unix:$T/u.sock"
timeout 20 python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"anon 1", sys.argv[1]); s.sendto(b"anon 2", sys.argv[1])' "$T/u.sock"
wait_pid "$RPID" 20 # bounds for hangs: Python starts slowly on a loaded box
okx "unnamed unix sender: shown as -, echo skipped and counted" \
	'[ "$RC" = 0 ] && [ "$(cat "$T/unnamed.out")" = "$(printf -- "-\tanon 1\n-\tanon 2")" ] && grep -q "errors=2 replies=0" "$T/unnamed.err"'

start_recv named -c 1 --from "unix:$T/n.sock"
snd -s "unix:$T/me.sock" "unix:$T/n.sock" named
wait_pid "$RPID" 5
ok "-s unix:PATH names the sender" [ "$(cat "$T/named.out")" = "$(printf 'unix:%s\tnamed' "$T/me.sock")" ]

# --- signals and --stats --------------------------------------------------------
start_recv sig --stats 127.0.0.1 0
snd 127.0.0.1 "$PORT" one
snd 127.0.0.1 "$PORT" two
wait_lines "$T/sig.out" 2 5
kill -INT "$RPID"
wait_pid "$RPID" 5
okx "SIGINT: udprecv exits 0 and prints --stats" \
	'[ "$RC" = 0 ] && grep -q "^udprecv: datagrams=2 bytes=6 truncated=0 errors=0 replies=0 seconds=" "$T/sig.err"'

fp=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$RECV" -q --stats 127.0.0.1 "$fp" >"$T/term.out" 2>"$T/term.err" &
RPID=$!
PIDS+=("$RPID")
wait_catches "$RPID" 15 10 # -q: no "listening on" line to wait for
kill -TERM "$RPID"
wait_pid "$RPID" 5
okx "SIGTERM: exit 0; -q drops the listening line" \
	'[ "$RC" = 0 ] && [ "$(cat "$T/term.err")" = "udprecv: datagrams=0 bytes=0 truncated=0 errors=0 replies=0 seconds=$(sed -n "s/.*seconds=//p" "$T/term.err")" ]'

start_recv sink 127.0.0.1 0
"$SEND" --stats -c 0 -i 0.05 127.0.0.1 "$PORT" x 2>"$T/ss.err" &
spid=$!
PIDS+=("$spid")
wait_lines "$T/sink.out" 1 10 # sending (so past its set-up)
wait_catches "$spid" 2 10
kill -INT "$spid"
wait_pid "$spid" 5
okx "SIGINT stops udpsend -c 0: exit 130, stats printed" '[ "$RC" = 130 ] && grep -q "^udpsend: datagrams=[1-9]" "$T/ss.err"'

start_recv st -c 3 127.0.0.1 0
printf 'ab\ncd\nef\n' | snd --stats 127.0.0.1 "$PORT"
wait_pid "$RPID" 5
ok "udpsend --stats: one key=value line" grep -q '^udpsend: datagrams=3 bytes=6 errors=0 replies=0 reply_bytes=0 truncated=0 seconds=' "$T/last.err"

# --- -4 / -6 ----------------------------------------------------------------------
start_recv fam4 -4 -c 1 0
okx "-4 listener binds 0.0.0.0" '[ "$LADDR" = "0.0.0.0:$PORT" ]'
snd -4 localhost "$PORT" four
wait_pid "$RPID" 5
ok "-4 localhost reaches it" [ "$(cat "$T/fam4.out")" = four ]
start_recv fam6 -6 -c 1 0
snd -6 ::1 "$PORT" six
wait_pid "$RPID" 5
okx "-6 listener on [::], reached over ::1" '[ "$LADDR" = "[::]:$PORT" -a "$(cat "$T/fam6.out")" = six ]'

# --- man pages ------------------------------------------------------------------
for m in udpsend udprecv; do
	f=$TOP/docs/man/$m.1
	if ! command -v man >/dev/null; then skip "man page $m.1" "no man"; continue; fi
	w=$(MANWIDTH=80 man --warnings -l "$f" 2>&1 >"$T/man.txt")
	miss=
	for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES "SEE ALSO"; do
		grep -q "^$s" "$T/man.txt" || miss="$miss $s"
	done
	ok "man -l $m.1 renders cleanly with all sections" [ -z "$w$miss" ]
done

e2e_summary
