# public_names DIR: the names libudpkit.so must export, one a line, sorted:
# every function and object that a header in DIR (include/udpkit) declares
# with UDPKIT_API.  Sourced by headers.sh and install.sh, so that the list
# of allowed exports is computed from the headers, never kept by hand.
# A declaration may span lines: the name is the identifier right before
# the first '(' (a function) or the ';' (an object) of the statement.
public_names() {
	cat "$1"/*.h | awk '
		/^[[:space:]]*(extern[[:space:]]+)?UDPKIT_API[[:space:]]/ { decl = ""; on = 1 }
		on { decl = decl " " $0 }
		on && /;/ {
			on = 0
			sub(/\/\*.*/, "", decl)
			if (match(decl, /[A-Za-z_][A-Za-z0-9_]*[[:space:]]*\(/)) {
				n = substr(decl, RSTART, RLENGTH); sub(/[[:space:]]*\($/, "", n)
			} else if (match(decl, /[A-Za-z_][A-Za-z0-9_]*[[:space:]]*;/)) {
				n = substr(decl, RSTART, RLENGTH); sub(/[[:space:]]*;$/, "", n)
			} else next
			print n
		}' | sort -u
}
