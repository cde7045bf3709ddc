#!/bin/bash
# The man page, the bash completion and the README against the option
# tables that `lkvm help` prints (commands.c, options.c, listed by
# scripts/lkvm-doc.c), the completion's behaviour, and `make install`. Needs no rig: part of
# `make check` (tests/check.sh counts it) and `make docs-check`.
#
# Every command must be in the man page's COMMANDS and in the completion's
# command list; every option of a command (long and short) in the man
# page's section for that command and in what the completion offers for it.
# The same checker runs once on a man page and a completion with an option
# taken out, and must fail there.
#
# Usage: DOC_GEN=build/native/lkvm-doc tests/docs.sh
# Prints TAP-like "ok"/"not ok" lines; with DOCS_SUMMARY_FILE set, writes
# "PASS FAIL" there (tests/check.sh), else prints "N passed, N failed".
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
DOC_GEN=${DOC_GEN:-build/native/lkvm-doc}
MAN=${MAN:-build/lkvm.1}
COMP=${COMP:-build/lkvm.bash}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

result() {	# result OK(0/1) TEXT
	if [ "$1" = 0 ]; then
		echo "ok - docs: $2"
		pass=$((pass + 1))
	else
		echo "not ok - docs: $2"
		fail=$((fail + 1))
	fi
}

# The roff spelling of an option: \- for each -.
roff() { sed 's/-/\\-/g' <<<"$1"; }

# The lines of man page $1 in section "lkvm $2" (.SS up to the next .SS/.SH).
man_section() {
	awk -v want=".SS \"lkvm $2\"" '
		$0 == want { on = 1; next }
		/^\.S[SH]/ { on = 0 }
		on' "$1"
}

# check_docs MAN COMP: every command and option of the tables in both;
# prints what is missing, fails if anything is.
check_docs() {
	local man=$1 comp=$2 cmd long short arg missing=0 sec opts cmds

	cmds=$(bash -c '. "$1"; echo "$_lkvm_commands"' _ "$comp") || return 1
	while IFS=$'\t' read -r cmd long short arg; do
		if [ -z "$long" ]; then
			grep -qF "\\fBlkvm $cmd\\fR" "$man" ||
				{ echo "# man: no command $cmd"; missing=1; }
			grep -qw -- "$cmd" <<<"$cmds" ||
				{ echo "# completion: no command $cmd"; missing=1; }
			continue
		fi
		sec=$(man_section "$man" "$cmd")
		opts=$(bash -c '. "$1"; _lkvm_options "$2"' _ "$comp" "$cmd")
		for o in "$long" "$short"; do
			[ "$o" = - ] && continue
			grep -qF -- "\\fB$(roff "$o")\\fR" <<<"$sec" ||
				{ echo "# man: no $o in lkvm $cmd"; missing=1; }
			grep -qwF -- "$o" <<<"$opts" ||
				{ echo "# completion: no $o for lkvm $cmd"; missing=1; }
		done
		if [ "$arg" != - ]; then
			bash -c '. "$1"; _lkvm_optarg "$2" "$3"' _ "$comp" "$cmd" \
				"$long" | grep -qxF -- "$arg" ||
				{ echo "# completion: $long of $cmd takes no $arg"; missing=1; }
		fi
	done <"$tmp/list"
	return $missing
}

# complete WORDS...: what the completion offers for the last word, sorted
complete_words() {
	HOME=$tmp/home bash -c '. "$1"; shift; COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1)); _lkvm
		[ ${#COMPREPLY[@]} = 0 ] || printf "%s\n" "${COMPREPLY[@]}"' \
		_ "$COMP" "$@" | sort | tr '\n' ' '
}

if ! "$DOC_GEN" list >"$tmp/list" || [ ! -s "$tmp/list" ]; then
	result 1 "$DOC_GEN lists the commands and options"
else
	n=$(grep -c $'\t' "$tmp/list")
	check_docs "$MAN" "$COMP"
	result $? "every command and each of $n options in $MAN and $COMP"

	# the checker fails when an option is missing: take --balloon out
	grep -vF '\fB\-\-balloon\fR' "$MAN" >"$tmp/man"
	sed 's/--balloon //' "$COMP" >"$tmp/comp"
	out=$(check_docs "$tmp/man" "$COMP")
	st1=$?
	check_docs "$MAN" "$tmp/comp" >/dev/null
	st2=$?
	[ "$st1" != 0 ] && [ "$st2" != 0 ] && grep -q 'man: no --balloon in lkvm run' <<<"$out"
	result $? "a man page or completion without --balloon fails the check"
fi

# the README names every command and option too (its tables are by hand)
if [ -s "$tmp/list" ]; then
	missing=$(while IFS=$'\t' read -r cmd long short arg; do
		if [ -z "$long" ]; then
			grep -qF "lkvm $cmd" README.md || echo "lkvm $cmd"
		else
			grep -qF -- "$long" README.md || echo "$cmd $long"
		fi
	done <"$tmp/list" | tr '\n' ' ')
	[ -z "$missing" ]
	result $? "README.md names every command and option${missing:+ (not: $missing)}"
fi

# the man page is well-formed roff
warn=$(groff -man -ww -z "$MAN" 2>&1)
[ -z "$warn" ] && grep -q '^\.SH EXAMPLES' "$MAN"
result $? "groff -man -ww finds nothing to warn about in $MAN${warn:+: $warn}"

# completion: commands, options, choices, running guests for --name
mkdir -p "$tmp/home/.lkvm"
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
	"$tmp/home/.lkvm/web.sock"
touch "$tmp/home/.lkvm/notasocket.sock"
got="$(complete_words lkvm st)|$(complete_words lkvm stop --n)|"
got+="$(complete_words lkvm stop --name '')|$(complete_words lkvm run --console '')|"
got+="$(complete_words lkvm help de)|$(complete_words lkvm run --name '')"
want="stat stop |--name |web |serial virtio |debug |"
[ "$got" = "$want" ]
result $? "completion offers commands, options, choices, guests (got '$got')"

# make install: the files, where PREFIX and DESTDIR say (lkvm-slirp,
# which lkvm runs for -n mode=user, where libslirp was there to build it)
dest=$tmp/dest
make -s install DESTDIR="$dest" PREFIX=/usr/local >"$tmp/install.log" 2>&1
st=$?
slirp=""
[ -e lkvm-slirp ] && slirp="./usr/local/bin/lkvm-slirp "
got=$(cd "$dest" 2>/dev/null && find . -type f | sort | tr '\n' ' ')
want="./usr/local/bin/lkvm ${slirp}./usr/local/share/bash-completion/completions/lkvm ./usr/local/share/man/man1/lkvm.1 "
[ "$st" = 0 ] && [ "$got" = "$want" ] && [ -x "$dest/usr/local/bin/lkvm" ] &&
	cmp -s "$MAN" "$dest/usr/local/share/man/man1/lkvm.1"
result $? "make install DESTDIR=... installs $want(got '$got')"
make -s uninstall DESTDIR="$dest" PREFIX=/usr/local >>"$tmp/install.log" 2>&1
[ -z "$(find "$dest" -type f)" ]
result $? "make uninstall removes them"

if [ -n "${DOCS_SUMMARY_FILE:-}" ]; then
	echo "$pass $fail" >"$DOCS_SUMMARY_FILE"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" = 0 ]
