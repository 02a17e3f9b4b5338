#!/usr/bin/env bash
# Kills `hotfix start` with SIGKILL at random moments on the generated repositories (see
# bench/README.md), then resumes it (half of the runs) or aborts it (the other half), and checks
# that the tree is exactly one side of the switch with nothing else changed. Not part of
# `cargo test`. Usage: bench/kill-start.sh [--runs N] [--full-runs N] [--small-only]
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: bench/kill-start.sh [--runs N] [--full-runs N] [--small-only] [--hotfix PATH]
                           [--work DIR] [--keep] [--seed N]

Builds `cargo build --release` (unless --hotfix), copies the small and the full repository of
bench/gen-repo.sh (generating them the first time), adds to develop a commit that the switch
to the release must undo in libgit2's share (a symbolic link, an executable bit, a new file,
a deleted file), plants an untracked and an ignored file, and then, N times per repository:

  1. runs `hotfix start k ...` from develop and sends it SIGKILL after a random delay between
     0 and 1.3 times the time an uninterrupted start takes there;
  2. in odd runs resumes it (`hotfix start k ...` again, which must exit 0 on the release's
     tree) and in even runs aborts it (`hotfix abort k --delete`, which must exit 0 on
     develop's tree), or, when the kill came before hotfix recorded anything, checks that
     nothing changed;
  3. checks the tree byte for byte: HEAD is the side it should be, `git status --porcelain
     --ignored` lists only the two planted files, whose content is unchanged, the index
     matches HEAD's tree, and no index.lock or journal is left.

Prints, per repository, "N of N recovered" and where the kills landed.

  --runs N        kills on the small repository (default 40; RUNS)
  --full-runs N   kills on the full repository (default 20; FULL_RUNS)
  --small-only    only the small repository
  --hotfix PATH   test this binary instead of building target/release/hotfix
  --work DIR      where the copies go (default: a new folder under ${TMPDIR:-/tmp})
  --keep          keep the copies
  --seed N        seed of the delays (default: the time)
EOF
}

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
RUNS=${RUNS:-40}
FULL_RUNS=${FULL_RUNS:-20}
small_only=0
hotfix=
work=
keep=0
seed=$(date +%s)
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=${2:?}; shift ;;
	--full-runs) FULL_RUNS=${2:?}; shift ;;
	--small-only) small_only=1 ;;
	--hotfix) hotfix=${2:?}; shift ;;
	--work) work=${2:?}; shift ;;
	--keep) keep=1 ;;
	--seed) seed=${2:?}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "kill-start.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
say() { echo "kill-start.sh: $*" >&2; }

if [ -z "$hotfix" ]; then
	say "building (cargo build --release)"
	(cd "$root" && cargo build --release --quiet)
	hotfix=$root/target/release/hotfix
fi
H=$(cd "$(dirname "$hotfix")" && pwd)/$(basename "$hotfix")

if [ -z "$work" ]; then
	work=$(mktemp -d "${TMPDIR:-/tmp}/hotfix-kill.XXXXXX")
else
	mkdir -p "$work"
fi
work=$(cd "$work" && pwd)
cleanup() { [ "$keep" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT
RANDOM=$((seed % 32768))
say "seed $seed"

NOTES=notes-kept.txt
NOTES_TEXT="what I saw in the logs"
SECRET=local-kept.env
SECRET_TEXT="TOKEN=not-in-git"
START=(start k --severity revenue-loss --reproduced --summary "killed at random" -q)

# the repository back on develop as generated, the planted files kept, no hotfix state
reset_repo() {
	local s=$1
	rm -f "$s/.git/index.lock"
	git -C "$s" switch -q -f develop
	git -C "$s" reset -q --hard develop
	git -C "$s" branch -q -D hotfix/k 2>/dev/null || true
	rm -rf "$s/.git/hotfix" "$s/.git/hotfix-switch" "$s/.git/hotfix-index-writer"
	git -C "$s" for-each-ref --format='delete %(refname)' refs/hotfix-seals refs/hotfix |
		git -C "$s" update-ref --stdin
}

# check S SIDE (a branch name): HEAD on it, index and tree exactly its commit, the planted
# files and nothing else besides; prints what is wrong, returns 1 then
check_tree() {
	local s=$1 side=$2 bad=
	local head
	head=$(git -C "$s" symbolic-ref -q --short HEAD || echo detached)
	[ "$head" = "$side" ] || bad="$bad HEAD is $head, not $side;"
	[ ! -e "$s/.git/index.lock" ] || bad="$bad index.lock left;"
	[ ! -e "$s/.git/hotfix-switch" ] || bad="$bad switch journal left;"
	git -C "$s" diff-index --quiet --cached HEAD -- || bad="$bad the index differs from HEAD;"
	git -C "$s" diff-files --quiet || bad="$bad files differ from the index;"
	local extra
	extra=$(git -C "$s" status --porcelain --ignored --untracked-files=all |
		{ grep -v -x -F -e "?? $NOTES" -e "!! $SECRET" || true; } | sed -n 1,5p)
	[ -z "$extra" ] || bad="$bad status lists: $(echo "$extra" | tr '\n' ' ');"
	[ "$(cat "$s/$NOTES" 2>/dev/null)" = "$NOTES_TEXT" ] || bad="$bad $NOTES changed or lost;"
	[ "$(cat "$s/$SECRET" 2>/dev/null)" = "$SECRET_TEXT" ] || bad="$bad $SECRET changed or lost;"
	if [ -n "$bad" ]; then
		echo "$bad"
		return 1
	fi
}

has_entry() { grep -q '"hotfix/k"' "$1/.git/hotfix/state.toml" 2>/dev/null; }

campaign() {
	local name=$1 runs=$2 flag=$3
	local s
	say "$name: copying the repository"
	s=$("$here/gen-repo.sh" $flag --copy "$work/$name" 2>/dev/null)
	# libgit2's share of the switch: develop gains a link, an executable bit, a new file and
	# loses a file; the switch to the release undoes each
	(
		cd "$s"
		ln -s README.md kill-link
		f=$(git ls-files | sed -n 3p)
		chmod +x "$f"
		echo "only on develop" >kill-new.txt
		git rm -q "$(git ls-files | sed -n 5p)"
		git add -A
		git commit -q -m "develop: a link, a mode, a new file, a deleted file"
		echo "$SECRET" >>.git/info/exclude
		printf '%s\n' "$NOTES_TEXT" >"$NOTES"
		printf '%s\n' "$SECRET_TEXT" >"$SECRET"
	)
	# how long an uninterrupted start takes here (the best of three)
	local best=999999 t0 t1 ms i
	for i in 1 2 3; do
		reset_repo "$s"
		t0=$(date +%s%N)
		"$H" -C "$s" "${START[@]}" >/dev/null 2>&1 || { say "$name: start fails even unkilled"; exit 1; }
		t1=$(date +%s%N)
		ms=$(((t1 - t0) / 1000000))
		[ "$ms" -ge "$best" ] || best=$ms
	done
	reset_repo "$s"
	local changed release
	release=$(sed -n 's/^newest_stable=//p' "$(dirname "$s")/info")
	changed=$(git -C "$s" diff --name-only develop "$release" | wc -l)
	say "$name: an uninterrupted start takes $best ms; killing $runs times"
	local ok=0 before=0 mid=0 moved=0 done_=0 failures=()
	for i in $(seq 1 "$runs"); do
		reset_repo "$s"
		local delay_us=$((RANDOM * 32768 + RANDOM))
		delay_us=$((delay_us % (best * 1300 + 1)))
		"$H" -C "$s" "${START[@]}" >/dev/null 2>&1 &
		local pid=$!
		perl -e 'select(undef, undef, undef, $ARGV[0] / 1e6)' "$delay_us"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		# where it landed
		local where
		if [ "$(git -C "$s" symbolic-ref -q --short HEAD)" = hotfix/k ]; then
			if grep -q 'phase = "open"' "$s/.git/hotfix/state.toml" 2>/dev/null; then
				where=done
				done_=$((done_ + 1))
			else
				where=moved
				moved=$((moved + 1))
			fi
		elif [ -n "$(git -C "$s" status --porcelain --untracked-files=no)" ]; then
			where=mid
			mid=$((mid + 1))
		else
			where=before
			before=$((before + 1))
		fi
		local why=
		if ! has_entry "$s"; then
			# killed before hotfix recorded anything: nothing may have changed
			why=$(check_tree "$s" develop) || true
		elif [ "$where" = done ]; then
			# the kill came after start finished: a started hotfix, which abort gives up
			why=$(check_tree "$s" hotfix/k) || true
			[ -n "$why" ] || "$H" -C "$s" abort k --delete -q >/dev/null 2>&1 ||
				why="abort of the finished start failed"
			[ -n "$why" ] || why=$(check_tree "$s" develop) || true
		elif [ $((i % 2)) = 1 ]; then
			if "$H" -C "$s" "${START[@]}" >"$work/out" 2>&1; then
				why=$(check_tree "$s" hotfix/k) || true
				# and back, for the next run (a normal abort of a started hotfix)
				[ -n "$why" ] || "$H" -C "$s" abort k --delete -q >/dev/null 2>&1 ||
					why="abort after the resumed start failed"
				[ -n "$why" ] || why=$(check_tree "$s" develop) || true
			else
				why="start again exited $?: $(tr '\n' ' ' <"$work/out" | cut -c1-300)"
			fi
		else
			if "$H" -C "$s" abort k --delete -q >"$work/out" 2>&1; then
				why=$(check_tree "$s" develop) || true
			else
				why="abort exited $?: $(tr '\n' ' ' <"$work/out" | cut -c1-300)"
			fi
		fi
		if [ -z "$why" ]; then
			ok=$((ok + 1))
		else
			failures+=("run $i (killed after ${delay_us} us, $where): $why")
		fi
	done
	reset_repo "$s"
	echo "$name ($changed files differ between develop and the release; a start takes $best ms):" \
		"$ok of $runs recovered. Killed before any file changed: $before; while the files were" \
		"being written: $mid; after HEAD moved, before the state said so: $moved; after start" \
		"finished: $done_."
	local f
	for f in "${failures[@]}"; do echo "  FAILED $f"; done
	[ "$ok" = "$runs" ]
}

status=0
campaign small "$RUNS" --small || status=1
if [ "$small_only" = 0 ]; then
	campaign full "$FULL_RUNS" "" || status=1
fi
exit $status
