#!/usr/bin/env bash
# Times `hotfix` against git doing the same work, on the generated repositories (see
# bench/README.md). Not part of `cargo test`. Usage: bench/run.sh [--runs N] [--only NAMES]
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: bench/run.sh [--runs N] [--slow-runs N] [--only "start status ..."] [--small]
                    [--hotfix PATH] [--work DIR] [--keep]

Builds `cargo build --release`, takes the cached repositories of bench/gen-repo.sh and
bench/gen-releases.sh (generating them the first time), and times each hotfix command against
the git commands that do the same work, interleaved (hotfix, git, git, hotfix, ...), with
untimed preparation (and `sync`) before every run. Prints the medians and their ratio.

  --runs N        runs of each command for start, status, guard (default 10; RUNS)
  --slow-runs N   runs for verify-merged, list, stats and the like (default 3; SLOW_RUNS):
                  the git side of those takes tens of seconds
  --only NAMES    a subset of: start status status-unapproved status-slow guard tag-merged
                  verify-merged verify-merged-cold verify-merged-moved list stats
                  (status-slow: origin behind an ssh wrapper that waits 300 ms)
  --small         the small repositories (a quick try of the script itself)
  --hotfix PATH   time this binary instead of building target/release/hotfix
  --work DIR      where the scratch copies go (default: a new folder under ${TMPDIR:-/tmp})
  --keep          keep the scratch copies

Times come from `perf stat` (wall clock and task-clock CPU time) when perf is available
(and NO_PERF is not set), else wall clock from Perl's Time::HiRes. The machine is described
at the end.
EOF
}

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
RUNS=${RUNS:-10}
SLOW_RUNS=${SLOW_RUNS:-3}
only="start status status-unapproved status-slow guard tag-merged verify-merged verify-merged-cold verify-merged-moved list stats"
small=
hotfix=
work=
keep=0
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=${2:?}; shift ;;
	--slow-runs) SLOW_RUNS=${2:?}; shift ;;
	--only) only=${2:?}; shift ;;
	--small) small=--small ;;
	--hotfix) hotfix=${2:?}; shift ;;
	--work) work=${2:?}; shift ;;
	--keep) keep=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
wants() { case " $only " in *" $1 "*) return 0 ;; *) return 1 ;; esac }
say() { echo "run.sh: $*" >&2; }

if [ -z "$hotfix" ]; then
	say "building (cargo build --release)"
	(cd "$root" && cargo build --release --quiet)
	hotfix=$root/target/release/hotfix
fi
hotfix=$(cd "$(dirname "$hotfix")" && pwd)/$(basename "$hotfix")
H=$hotfix

repo=$("$here/gen-repo.sh" $small)
rel=
for row in tag-merged verify-merged verify-merged-cold verify-merged-moved list stats; do
	if wants "$row"; then
		rel=$("$here/gen-releases.sh" $small)
		break
	fi
done
newest_stable=$(sed -n 's/^newest_stable=//p' "$(dirname "$repo")/info")

if [ -z "$work" ]; then
	work=$(mktemp -d "${TMPDIR:-/tmp}/hotfix-bench.XXXXXX")
else
	mkdir -p "$work"
fi
work=$(cd "$work" && pwd)
cleanup() { [ "$keep" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT
results=$work/results.tsv
: >"$results"

# --- timing ---------------------------------------------------------------------------------
use_perf=0
if [ -z "${NO_PERF:-}" ] && command -v perf >/dev/null 2>&1 &&
	perf stat -x, -e task-clock,duration_time -o /dev/null -- true >/dev/null 2>&1; then
	use_perf=1
fi

# measure OUT CMD...: appends "wall_ms cpu_ms" (cpu "-" without perf); output and exit status
# of the command are ignored (guard and verify-merged exit 1 by design here)
measure() {
	local out=$1
	shift
	if [ "$use_perf" = 1 ]; then
		perf stat -x, -e task-clock,duration_time -o "$work/perf.txt" -- "$@" >/dev/null 2>&1 || true
		awk -F, '/task-clock/ { cpu = $1 } /duration_time/ { wall = $1 / 1e6 }
			END { printf "%.2f %.2f\n", wall, cpu }' "$work/perf.txt" >>"$out"
	else
		perl -MTime::HiRes=time -e '
			my $out = shift;
			my $t = time;
			my $pid = fork() // die "fork: $!";
			if (!$pid) {
				open(STDOUT, ">", "/dev/null"); open(STDERR, ">", "/dev/null");
				exec(@ARGV) or exit 127;
			}
			waitpid($pid, 0);
			open(my $f, ">>", $out) or die; printf $f "%.2f -\n", (time - $t) * 1000;' "$out" "$@"
	fi
}

median() { # column of FILE
	sort -n -k"$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END {
		if (NR == 0 || v[1] == "-") { print "-"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# pair NAME RUNS "WHAT GIT DOES": times the arrays cmd_hotfix and cmd_git, RUNS times each,
# alternating which goes first, after the untimed functions prep_hotfix and prep_git
pair() {
	local name=$1 runs=$2 what=$3
	local i hf=$work/$name.hotfix gf=$work/$name.git
	: >"$hf"
	: >"$gf"
	say "$name: $runs runs each, interleaved"
	for i in $(seq 1 "$runs"); do
		if [ $((i % 2)) = 1 ]; then
			prep_hotfix; measure "$hf" "${cmd_hotfix[@]}"
			prep_git; measure "$gf" "${cmd_git[@]}"
		else
			prep_git; measure "$gf" "${cmd_git[@]}"
			prep_hotfix; measure "$hf" "${cmd_hotfix[@]}"
		fi
	done
	local hw gw hc gc
	hw=$(median "$hf" 1) gw=$(median "$gf" 1) hc=$(median "$hf" 2) gc=$(median "$gf" 2)
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$hw" "$gw" "$hc" "$gc" "$runs" "$what" >>"$results"
}

# --- start: newest stable tag, a branch from it, checkout -------------------------------------
if wants start; then
	say "start: copying the repository"
	s=$("$here/gen-repo.sh" $small --copy "$work/start" 2>/dev/null)
	clean_start() {
		git -C "$s" switch -q -f develop
		git -C "$s" branch -q -D hotfix/x hotfix/y 2>/dev/null || true
		rm -rf "$s/.git/hotfix"
		git -C "$s" for-each-ref --format='delete %(refname)' refs/hotfix-seals refs/hotfix |
			git -C "$s" update-ref --stdin
		sync
	}
	prep_hotfix() { clean_start; }
	prep_git() { clean_start; }
	cmd_hotfix=("$H" -C "$s" start x --severity revenue-loss --reproduced --summary bench -q)
	cmd_git=(sh -c 'git tag -l "v*" --sort=-v:refname >/dev/null && git switch -q -c hotfix/y "$1"' sh "$newest_stable")
	(cd "$s" && pair start "$RUNS" "git tag -l 'v*' --sort=-v:refname; git switch -c hotfix/y $newest_stable")
	clean_start
fi

# --- status: a hotfix with a two-file fix, before and after approval --------------------------
if wants status || wants status-unapproved || wants status-slow; then
	say "status: copying the repository and making a hotfix with a fix"
	s=$("$here/gen-repo.sh" $small --copy "$work/status" 2>/dev/null)
	"$H" -C "$s" start fix --severity revenue-loss --reproduced --summary "Login returns 500" -q
	for f in $(git -C "$s" ls-files '*.c' | sed -n '7p;300p'); do
		perl -i -pe 's/$/ \/* checked *\// if $. == 3; $_ .= "\tif (!x)\n\t\treturn -1;\n" if $. == 5' "$s/$f"
	done
	git -C "$s" commit -q -am "login: return an error instead of crashing"
	# files written in the same second as the index (by any checkout, git's own too) are
	# "racily clean": git status re-reads them on every run until the index is written again
	# in a later second. Measure git as it normally runs, with its index refreshed.
	git -C "$s" update-index -q --really-refresh >/dev/null || true
	prep_hotfix() { :; }
	prep_git() { :; }
	cmd_git=(git -C "$s" status)
	if wants status-unapproved; then
		cmd_hotfix=("$H" -C "$s" status)
		pair status-unapproved "$RUNS" "git status (hotfix fetches approvals from origin)"
	fi
	if wants status-slow; then
		# origin through an ssh that takes 300 ms before each connection (a far remote): the
		# wrapper ignores the host and runs the git command here
		cat >"$work/slow-ssh" <<'EOS'
#!/bin/sh
sleep 0.3
shift
cmd=$1
exec sh -c "git ${cmd#git-}"
EOS
		chmod +x "$work/slow-ssh"
		url=$(git -C "$s" remote get-url origin)
		git -C "$s" remote set-url origin "fakehost:$url"
		export GIT_SSH_COMMAND="$work/slow-ssh" GIT_SSH_VARIANT=simple
		cmd_hotfix=("$H" -C "$s" status)
		# every run fetches (the last fetch forgotten): the worst case, one round trip
		prep_hotfix() { rm -f "$s/.git/hotfix/last-fetch.json"; }
		pair status-slow "$RUNS" "git status (origin 300 ms away; hotfix fetches once)"
		# run again within 5 s of the last fetch: no round trip at all
		prep_hotfix() { :; }
		"$H" -C "$s" status >/dev/null 2>&1 || true
		pair status-slow-again "$RUNS" "git status (origin 300 ms away; fetched a moment ago)"
		git -C "$s" remote set-url origin "$url"
		unset GIT_SSH_COMMAND GIT_SSH_VARIANT
	fi
	GIT_AUTHOR_NAME='Rita Reviewer' GIT_AUTHOR_EMAIL=rita@example.com \
		GIT_COMMITTER_NAME='Rita Reviewer' GIT_COMMITTER_EMAIL=rita@example.com \
		"$H" -C "$s" approve --yes -q >/dev/null
	if wants status; then
		cmd_hotfix=("$H" -C "$s" status)
		pair status "$RUNS" "git status"
	fi
fi

# --- guard: a 1,000-file diff ------------------------------------------------------------------
if wants guard; then
	say "guard: copying the repository and changing 1,000 files on a hotfix branch"
	s=$("$here/gen-repo.sh" $small --copy "$work/guard" 2>/dev/null)
	"$H" -C "$s" start big --severity revenue-loss --reproduced --summary "Everything" -q
	n=1000
	[ -z "$small" ] || n=200
	# awk reads all of its input (`head` would leave early, and git or awk would die of
	# SIGPIPE: exit 141 under pipefail)
	git -C "$s" ls-files | awk -v n="$n" 'NR % 5 == 2 && k++ < n' >"$work/guard-files"
	# in each: two lines added after a line near the top, and a line further down replaced
	(cd "$s" && xargs perl -i -pe '
		BEGIN { srand(7) }
		$r = 2 + int(rand(10)) if $. == 1;
		$_ .= "\tif (!guard)\n\t\treturn 0;\n" if $. == $r;
		$_ = "\t/* checked by the guard */\n" if $. == $r + 4;
		close ARGV if eof' <"$work/guard-files")
	git -C "$s" commit -q -am "many: touch 1,000 files"
	prep_hotfix() { :; }
	prep_git() { :; }
	cmd_hotfix=("$H" -C "$s" guard)
	cmd_git=(git -C "$s" diff --shortstat "$newest_stable" HEAD)
	pair guard "$RUNS" "git diff --shortstat $newest_stable HEAD ($(git -C "$s" diff --shortstat "$newest_stable" HEAD | sed 's/^ *//'))"
fi

# --- verify-merged, list, stats: 300 hotfix releases -------------------------------------------
if [ -n "$rel" ]; then
	say "verify-merged, list, stats: copying the releases repository"
	r=$("$here/gen-releases.sh" $small --copy "$work/releases" 2>/dev/null)
	cat >"$work/git-verify.sh" <<'EOF'
#!/bin/sh
# verify-merged with git: per release tag, reachable from develop, else each commit the same
# patch on develop
repo=$1
for t in $(git -C "$repo" for-each-ref refs/tags --format='@@ %(refname:strip=2)%0a%(contents)' |
	awk '/^@@ /{t=$2} /^hotfix-record-v1:$/{print t}'); do
	git -C "$repo" merge-base --is-ancestor "$t" develop && continue
	git -C "$repo" cherry develop "$t" | grep -q '^+' && echo "missing: $t"
done
EOF
	cat >"$work/git-list.sh" <<'EOF'
#!/bin/sh
# list / stats with git: the records, which releases develop reaches (one walk), and for the
# others whether each commit is on develop as the same patch
repo=$1
tmp=$(mktemp -d)
git -C "$repo" for-each-ref refs/tags --format='@@ %(refname:strip=2) %(taggerdate:short)%0a%(contents)' >"$tmp/records"
git -C "$repo" tag --merged develop >"$tmp/merged"
for t in $(awk '/^@@ /{t=$2} /^hotfix-record-v1:$/{print t}' "$tmp/records" | grep -vxF -f "$tmp/merged"); do
	git -C "$repo" cherry develop "$t" | grep -q '^+' && echo "missing: $t"
done
rm -rf "$tmp"
EOF
	chmod +x "$work/git-verify.sh" "$work/git-list.sh"
	# hotfix keeps an index of develop's history in .git/hotfix/cache (derived data, made by
	# the first history command in a clone). These rows time it as every later run finds it,
	# made once here, untimed; verify-merged-moved adds a commit to develop before each run
	# (the index is a commit behind, as after every merge); verify-merged-cold removes the
	# index before each run (a fresh clone, such as CI's)
	"$H" -C "$r" verify-merged >/dev/null 2>&1 || true
	prep_hotfix() { :; }
	prep_git() { :; }
	if wants tag-merged; then
		# the anchor: the reachability of every tag in one walk, with git's commit-graph
		cmd_hotfix=("$H" -C "$r" verify-merged)
		cmd_git=(git -C "$r" tag --merged develop)
		pair tag-merged "$RUNS" "anchor: git tag --merged develop (reachability alone), against hotfix verify-merged"
	fi
	if wants verify-merged; then
		cmd_hotfix=("$H" -C "$r" verify-merged)
		cmd_git=("$work/git-verify.sh" "$r")
		pair verify-merged "$SLOW_RUNS" "per release: git merge-base --is-ancestor, else git cherry"
	fi
	if wants verify-merged-moved; then
		moved=0
		move_develop() {
			moved=$((moved + 1))
			local c
			c=$(git -C "$r" commit-tree -p develop -m "bench: develop moves on ($moved)" 'develop^{tree}')
			git -C "$r" update-ref refs/heads/develop "$c"
		}
		prep_hotfix() { move_develop; }
		prep_git() { move_develop; }
		cmd_hotfix=("$H" -C "$r" verify-merged)
		cmd_git=("$work/git-verify.sh" "$r")
		pair verify-merged-moved "$SLOW_RUNS" "the same, develop a new commit ahead before each run"
		prep_hotfix() { :; }
		prep_git() { :; }
	fi
	if wants verify-merged-cold; then
		prep_hotfix() { rm -rf "$r/.git/hotfix/cache"; }
		cmd_hotfix=("$H" -C "$r" verify-merged)
		cmd_git=("$work/git-verify.sh" "$r")
		pair verify-merged-cold "$SLOW_RUNS" "the same, hotfix's index removed before each run"
		prep_hotfix() { :; }
		"$H" -C "$r" verify-merged >/dev/null 2>&1 || true
	fi
	if wants list; then
		cmd_hotfix=("$H" -C "$r" list)
		cmd_git=("$work/git-list.sh" "$r")
		pair list "$SLOW_RUNS" "git for-each-ref (records) + git tag --merged develop + git cherry for the rest"
	fi
	if wants stats; then
		cmd_hotfix=("$H" -C "$r" stats)
		pair stats "$SLOW_RUNS" "the same git work as list"
	fi
fi

# --- the table ---------------------------------------------------------------------------------
echo
if [ "$use_perf" = 1 ]; then
	echo "Medians; wall clock and CPU (task-clock) from perf stat. Ratio = hotfix / git."
else
	echo "Medians; wall clock (no perf here, so no CPU times). Ratio = hotfix / git."
fi
echo
printf '| %-19s | %11s | %11s | %6s | %11s | %11s | %6s | %4s | %s\n' command "hotfix ms" "git ms" ratio "hotfix CPU" "git CPU" "CPU r." runs "git doing the same work"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s\n' --------------------- ------------- ------------- -------- ------------- ------------- -------- ------ ------------------------
while IFS=$'\t' read -r name hw gw hc gc runs what; do
	ratio=$(awk -v a="$hw" -v b="$gw" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	cratio=$(awk -v a="$hc" -v b="$gc" 'BEGIN { if (a != "-" && b > 0) printf "%.2f", a / b; else print "-" }')
	printf '| %-19s | %11s | %11s | %6s | %11s | %11s | %6s | %4s | %s\n' "$name" "$hw" "$gw" "$ratio" "$hc" "$gc" "$cratio" "$runs" "$what"
done <"$results"
echo
if grep -q '^status	' "$results"; then
	awk -F'\t' '$1 == "status" { printf "status: %s ms wall (target: at most 15 ms)\n", $2 }' "$results"
fi
echo
echo "Machine: $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(free -g | awk '/^Mem:/ { print $2 }') GB RAM;" \
	"$(uname -sr); $(git --version); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "hotfix: $H"
echo "repositories: $repo${rel:+, a copy of $rel}"
