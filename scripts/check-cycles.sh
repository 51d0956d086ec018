#!/usr/bin/env bash
# check-cycles.sh - find call cycles between the .c files of some folders.
#
#   scripts/check-cycles.sh [-g] [-b BUILD_DIR] DIR...
#
# "A calls B" means A.c's object needs a symbol (U) that B.c's object defines
# as a function (T/W). The graph is read with nm from the objects CMake built
# (BUILD_DIR, default $SNAPSIM_BUILD_DIR or build/release), so build first; it
# is exact where grep is not (comments, macros, same-named statics).
# All files of all DIRs (each DIR/*.c) form one graph, so a cycle that runs
# through two folders is found too; pass one DIR to look inside it alone.
# Prints every elementary cycle (a -> b -> a), exits 1 if there is any,
# 2 on a usage error or a missing object. -g also prints the graph's edges
# with the symbols behind each.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SNAPSIM_BUILD_DIR:-$root/build/release}
graph=0
usage() { echo "usage: $0 [-g] [-b BUILD_DIR] DIR..." >&2; exit 2; }
while getopts gb: opt; do
	case $opt in
	g) graph=1 ;;
	b) build=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || usage
build=$(cd "$build" 2>/dev/null && pwd) || { echo "$0: no build directory $build" >&2; exit 2; }

syms=$(mktemp)
trap 'rm -f "$syms"' EXIT
nfiles=0
for dir in "$@"; do
	abs=$(cd "$dir" 2>/dev/null && pwd) || { echo "$0: no directory $dir" >&2; exit 2; }
	case $abs/ in
	"$root"/*) rel=${abs#"$root"/} ;;
	*) echo "$0: $dir is outside $root" >&2; exit 2 ;;
	esac
	for src in "$abs"/*.c; do
		[ -e "$src" ] || continue
		name=$rel/$(basename "$src")
		# CMake mirrors the source path under CMakeFiles/<target>.dir/; a file
		# built into several targets has the same symbols in each object.
		obj=$(find "$build" -path "*/CMakeFiles/*.dir/$name.o" 2>/dev/null | sort | head -n 1)
		if [ -z "$obj" ]; then
			echo "$0: no object for $name under $build (build first)" >&2
			exit 2
		fi
		nm -P "$obj" | awk -v f="$name" '
			$2 == "U" { print f, "U", $1; next }
			$2 == "T" || $2 == "W" || $2 == "i" { print f, "D", $1 }'
		echo "$name N -" # a node even with no symbols
		nfiles=$((nfiles + 1))
	done >>"$syms"
done

awk -v graph="$graph" -v nfiles="$nfiles" '
function dfs(s, v,    i, w) {
	for (i = 1; i <= nadj[v]; i++) {
		w = adj[v, i]
		if (w == s) {
			ncyc++
			if (ncyc <= 100)
				print "cycle: " path_text() " -> " name[s]
		} else if (w > s && !onpath[w]) {
			onpath[w] = 1; stack[++depth] = w
			dfs(s, w)
			onpath[w] = 0; depth--
		}
	}
}
function path_text(    i, t) {
	t = name[stack[1]]
	for (i = 2; i <= depth; i++)
		t = t " -> " name[stack[i]]
	return t
}
{ file[$1] = 1 }
$2 == "D" { def[$3] = $1 }
$2 == "U" { use[$1, $3] = 1 }
END {
	n = 0
	for (f in file) sorted[++n] = f
	for (i = 2; i <= n; i++) {           # insertion sort: awk has no portable sort
		t = sorted[i]
		for (j = i - 1; j >= 1 && sorted[j] > t; j--) sorted[j + 1] = sorted[j]
		sorted[j + 1] = t
	}
	for (i = 1; i <= n; i++) { name[i] = sorted[i]; idx[sorted[i]] = i }
	for (k in use) {
		split(k, p, SUBSEP)
		a = p[1]; s = p[2]
		if (!(s in def) || def[s] == a) continue
		e = a SUBSEP def[s]
		if (!(e in why)) { why[e] = s; adj[idx[a], ++nadj[idx[a]]] = idx[def[s]] }
		else why[e] = why[e] " " s
	}
	for (v = 1; v <= n; v++) {           # fixed order: sort each adjacency list
		for (i = 2; i <= nadj[v]; i++) {
			t = adj[v, i]
			for (j = i - 1; j >= 1 && adj[v, j] > t; j--) adj[v, j + 1] = adj[v, j]
			adj[v, j + 1] = t
		}
	}
	if (graph)
		for (v = 1; v <= n; v++)
			for (i = 1; i <= nadj[v]; i++) {
				cnt = split(why[name[v], name[adj[v, i]]], list, " ")
				# symbols in a fixed order too
				for (x = 2; x <= cnt; x++) {
					t = list[x]
					for (y = x - 1; y >= 1 && list[y] > t; y--) list[y + 1] = list[y]
					list[y + 1] = t
				}
				t = list[1]
				for (x = 2; x <= cnt; x++) t = t " " list[x]
				print name[v] " -> " name[adj[v, i]] ": " t
			}
	ncyc = 0
	for (s = 1; s <= n; s++) {
		depth = 1; stack[1] = s; onpath[s] = 1
		dfs(s, s)
		onpath[s] = 0
	}
	if (ncyc > 100)
		print "... and " (ncyc - 100) " more cycles"
	if (ncyc) {
		print ncyc " cycle(s) among " nfiles " files"
		exit 1
	}
	print "no cycles among " nfiles " files"
}' "$syms"
