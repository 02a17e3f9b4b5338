#!/usr/bin/env bash
# Generates a large test repository shaped like git/git, for trying and timing `hotfix`.
# See bench/README.md. Usage: bench/gen-repo.sh [--small] [--force] [options]
# Prints the repository's path on stdout (the last line); progress goes to stderr.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: bench/gen-repo.sh [--small] [--force] [--no-origin] [--name NAME]
                         [--commits N] [--tags N] [--files N] [--develop-ahead N] [--seed N]

Generates (with git fast-import) a repository shaped like git/git under
${HOTFIX_BENCH_DIR:-$HOME/.cache/hotfix-bench}/<name>/repo, plus a bare origin.git beside it,
and prints the repo's path. Does nothing if it already exists (use --force to regenerate).

Presets (environment variables COMMITS, TAGS, FILES, DEVELOP_AHEAD, SEED override a preset,
and flags override both):
  (default)  name "full":  COMMITS=80000 TAGS=1000 FILES=5000 DEVELOP_AHEAD=1200
  --small    name "small": COMMITS=2000  TAGS=300  FILES=500  DEVELOP_AHEAD=600
Any other combination is cached as "custom-c<C>-t<T>-f<F>-d<D>-s<S>" unless --name is given.

  --force          regenerate even if the cached repository exists
  --no-origin      no bare origin.git: the repo is made directly, without a remote
  --name NAME      cache directory name to use instead of the preset's
  --copy DEST      then copy it (cp -a) to DEST, which must not exist, point the copy's origin
                   remote at the copied origin.git, and print DEST/repo: a scratch copy to try
                   things on while the cache stays clean
EOF
}

preset=full
force=0
origin=${ORIGIN:-1}
name=
copy=
declare -A flag=()
while [ $# -gt 0 ]; do
	case "$1" in
	--small) preset=small ;;
	--force) force=1 ;;
	--no-origin) origin=0 ;;
	--name) name=${2:?--name needs a value}; shift ;;
	--copy) copy=${2:?--copy needs a destination}; shift ;;
	--commits) flag[COMMITS]=${2:?--commits needs a number}; shift ;;
	--tags) flag[TAGS]=${2:?--tags needs a number}; shift ;;
	--files) flag[FILES]=${2:?--files needs a number}; shift ;;
	--develop-ahead) flag[DEVELOP_AHEAD]=${2:?--develop-ahead needs a number}; shift ;;
	--seed) flag[SEED]=${2:?--seed needs a number}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "gen-repo.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done

if [ "$preset" = small ]; then
	d_commits=2000 d_tags=300 d_files=500 d_dev=600
else
	d_commits=80000 d_tags=1000 d_files=5000 d_dev=1200
fi
COMMITS=${flag[COMMITS]:-${COMMITS:-$d_commits}}
TAGS=${flag[TAGS]:-${TAGS:-$d_tags}}
FILES=${flag[FILES]:-${FILES:-$d_files}}
DEVELOP_AHEAD=${flag[DEVELOP_AHEAD]:-${DEVELOP_AHEAD:-$d_dev}}
SEED=${flag[SEED]:-${SEED:-1}}

for v in COMMITS TAGS FILES DEVELOP_AHEAD SEED; do
	case "${!v}" in
	'' | *[!0-9]*) echo "gen-repo.sh: $v must be a whole number, not '${!v}'" >&2; exit 2 ;;
	esac
done
if [ "$FILES" -lt 50 ] || [ "$TAGS" -lt 40 ] || [ "$DEVELOP_AHEAD" -lt 1 ] ||
	[ $((COMMITS - DEVELOP_AHEAD)) -lt $((2 * TAGS + 20)) ]; then
	echo "gen-repo.sh: need FILES >= 50, TAGS >= 40, DEVELOP_AHEAD >= 1 and" \
		"COMMITS - DEVELOP_AHEAD >= 2*TAGS + 20 (main needs room for its tags)" >&2
	exit 2
fi

if [ -z "$name" ]; then
	if [ "$COMMITS/$TAGS/$FILES/$DEVELOP_AHEAD/$SEED" = "$d_commits/$d_tags/$d_files/$d_dev/1" ]; then
		name=$preset
	else
		name=custom-c$COMMITS-t$TAGS-f$FILES-d$DEVELOP_AHEAD-s$SEED
	fi
fi
[ "$origin" = 1 ] || case "$name" in *-no-origin) ;; *) name=$name-no-origin ;; esac

base=${HOTFIX_BENCH_DIR:-$HOME/.cache/hotfix-bench}
out=$base/$name
mkdir -p "$base"
# one generator per cache entry at a time
exec 9>"$base/.$name.lock"
flock 9

# prints the repository's path, or makes the --copy and prints the copy's
finish() {
	if [ -z "$copy" ]; then
		echo "$out/repo"
		return
	fi
	if [ -e "$copy" ]; then
		echo "gen-repo.sh: $copy already exists; --copy wants a new path" >&2
		exit 2
	fi
	cp -a "$out" "$copy"
	copy=$(cd "$copy" && pwd)
	if [ -d "$copy/origin.git" ]; then
		git -C "$copy/repo" remote set-url origin "$copy/origin.git"
	fi
	echo "gen-repo.sh: copied to $copy" >&2
	echo "$copy/repo"
}

if [ -f "$out/.complete" ] && [ "$force" = 0 ]; then
	echo "gen-repo.sh: $out exists; nothing to do (--force regenerates)" >&2
	finish
	exit 0
fi

start_ns=$(date +%s%N)
elapsed() {
	local ms=$((($(date +%s%N) - start_ns) / 1000000))
	printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100))
}
say() { echo "gen-repo.sh [$(elapsed) s] $*" >&2; }

tmp=$out.tmp.$$
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
say "generating $name: $COMMITS commits, $TAGS tags, $FILES files, develop $DEVELOP_AHEAD commits past main"

# The history is computed by a Perl program (perl-base is part of every Debian install and git
# needs it elsewhere) that writes a fast-import stream: no per-commit `git commit`.
cat >"$tmp/gen.pl" <<'PERL'
use strict;
use warnings;

my ($COMMITS, $TAGS, $FILES, $DEV, $SEED, $INFO) = @ARGV;
srand($SEED);
binmode STDOUT;
my $out = '';
sub out { $out .= join('', @_); if (length($out) > 1 << 20) { print $out; $out = ''; } }

my @WORDS = qw(alloc apply archive attr bisect blame blob branch bundle cache check clone color
  commit config credential daemon date delta diff dir entry environ fetch file fsck gc graph grep
  hash help hook ident index lock log ls mailmap merge midx name notes object pack pager parse
  patch path pathspec prompt pull push quote range read rebase ref reflog remote repack replace
  rerere reset revision run send sequencer setup shallow show sparse stash status strbuf string
  submodule symlink tag tempfile trace transport tree unpack upload url usage userdiff utf8
  version walker worktree wrapper write xdiff);
my @VERBS = qw(fix add remove teach simplify avoid use handle document refactor drop rename
  optimize clarify allow reject support introduce plug guard);
sub pick { $_[int(rand(@_))] }
sub words { join(' ', map { pick(@WORDS) } 1 .. $_[0]) }
sub min { $_[0] < $_[1] ? $_[0] : $_[1] }

# people: authors, and the maintainer who tags releases and merges topics
my @FIRST = qw(Alice Bob Carol Dmitri Elena Farid Grace Hiro Ines Jonas Kavya Lars Mei Nadia
  Oskar Priya Quentin Rosa Sven Tomas Uma Victor Wen Ximena Yusuf Zoe);
my @LAST = qw(Anders Brown Costa Dubois Eriksen Fischer Garcia Hansen Ito Jensen Kowalski Lopez
  Moreau Nakamura Olsen Petrov Quinn Rossi Schmidt Tanaka Usman Varga Weber Xu Yilmaz Zimmer);
my @TZ = qw(+0000 +0100 +0200 -0700 -0500 +0530 +0900 -0300 +0800);
my @PEOPLE;
for (1 .. 40) {
  my ($f, $l) = (pick(@FIRST), pick(@LAST));
  push @PEOPLE, ["$f $l <" . lc("$f.$l") . "\@example.com>", pick(@TZ)];
}
my $MAINT = ['Mia Maintainer <maintainer@example.com>', '-0700'];

# nested directories, then files in them
my @TOP = qw(src lib builtin Documentation t compat contrib xdiff refs reftable scripts include
  tools web po);
my (@dirs, %seen);
for my $t (@TOP) {
  push @dirs, $t;
  for (1 .. 2 + int(rand(5))) {
    my $d2 = "$t/" . pick(@WORDS);
    next if $seen{$d2}++;
    push @dirs, $d2;
    for (1 .. int(rand(4))) {
      my $d3 = "$d2/" . pick(@WORDS);
      next if $seen{$d3}++;
      push @dirs, $d3;
      for (1 .. int(rand(3))) {
        my $d4 = "$d3/" . pick(@WORDS);
        push @dirs, $d4 unless $seen{$d4}++;
      }
    }
  }
}
my %EXT = (Documentation => [qw(adoc adoc txt)], t => ['sh'], web => [qw(js css html)],
  scripts => [qw(sh py perl)], po => ['po'], include => ['h'], src => [qw(rs rs c)]);
my (@path, @kind, @content, %taken);
while (@path < $FILES) {
  my $d = pick(@dirs);
  my ($top) = split m{/}, $d;
  my $ext = pick(@{ $EXT{$top} || [qw(c c c h)] });
  my $base = $top eq 't' ? sprintf('t%04d-%s-%s', int(rand(10000)), pick(@WORDS), pick(@WORDS))
    : rand() < 0.5 ? pick(@WORDS) : pick(@WORDS) . '-' . pick(@WORDS);
  my $p = "$d/$base.$ext";
  next if $taken{$p}++;
  push @path, $p;
  my $k = { adoc => 'doc', txt => 'doc', sh => 'sh', js => 'js', css => 'js', html => 'doc',
    py => 'py', perl => 'sh', po => 'po', h => 'c', c => 'c', rs => 'rs' }->{$ext};
  push @kind, $k;
  push @content, [map { line_for($k) } 1 .. 8 + int(rand(72))];
}

sub line_for {
  my ($k) = @_;
  my $r = rand();
  my ($x, $y, $z) = (pick(@WORDS), pick(@WORDS), pick(@WORDS));
  my $n = int(rand(1000));
  if ($k eq 'c') {
    return "\tret = ${x}_$y($z, $n);" if $r < 0.35;
    return "\tif ($x->$y < $n)" if $r < 0.5;
    return "\t\treturn error(_(\"could not $x '%s'\"), $y->$z);" if $r < 0.6;
    return "static int ${x}_$y(struct $z *$x, unsigned flags)" if $r < 0.7;
    return "\tstruct $x *$y = NULL;" if $r < 0.8;
    return "/* " . words(3 + int(rand(8))) . " */" if $r < 0.92;
    return $r < 0.96 ? '}' : '';
  }
  if ($k eq 'rs') {
    return "    let $x = $y.${z}_$x($n)?;" if $r < 0.4;
    return "fn ${x}_$y($z: &mut " . ucfirst($x) . ") -> Result<()> {" if $r < 0.55;
    return "    if $x.$y() > $n {" if $r < 0.7;
    return "    // " . words(3 + int(rand(8))) if $r < 0.9;
    return $r < 0.95 ? '}' : '';
  }
  if ($k eq 'sh') {
    return "test_expect_success '$x $y $z' '" if $r < 0.15;
    return "\tgit $x --$y $z >actual &&" if $r < 0.5;
    return "\ttest_cmp expect actual" if $r < 0.65;
    return "\techo $x $n >expect &&" if $r < 0.85;
    return $r < 0.95 ? "'" : '';
  }
  if ($k eq 'py') {
    return "def ${x}_$y($z):" if $r < 0.2;
    return "    return $x.$y($z, $n)" if $r < 0.5;
    return "    # " . words(3 + int(rand(8))) if $r < 0.8;
    return $r < 0.9 ? "    $x = ${y}[$n]" : '';
  }
  if ($k eq 'js') {
    return "function $x" . ucfirst($y) . "($z) {" if $r < 0.2;
    return "  const $x = $y.$z($n);" if $r < 0.55;
    return ".$x-$y { margin: ${n}px; }" if $r < 0.8;
    return $r < 0.9 ? '}' : '';
  }
  if ($k eq 'po') {
    return "msgid \"could not $x $y\"" if $r < 0.4;
    return "msgstr \"" . words(3) . "\"" if $r < 0.8;
    return $r < 0.9 ? "#: $x/$y.c:$n" : '';
  }
  # doc
  return "== " . ucfirst(words(2)) if $r < 0.08;
  return "--$x-${y}::" if $r < 0.2;
  return ucfirst(words(6 + int(rand(10)))) . '.' if $r < 0.9;
  return '';
}

# 1-3 edits: replace a line, insert a few, delete a few; files stay between 5 and ~150 lines
sub mutate {
  my ($k, $L) = @_;
  for (1 .. 1 + int(rand(3))) {
    my $r = rand();
    my $n = @$L;
    if ($n > 150 || ($r < 0.25 && $n > 6)) {
      splice(@$L, int(rand($n)), 1 + int(rand(3)));
    } elsif ($r < 0.6) {
      $L->[int(rand($n))] = line_for($k);
    } else {
      splice(@$L, int(rand($n + 1)), 0, map { line_for($k) } 1 .. 1 + int(rand(4)));
    }
  }
}

# distinct files in the order drawn (never hash order: that changes from run to run, and the
# same seed must give the same repository)
sub pick_files {
  my ($count, $avoid) = @_;
  my (%got, @out);
  while (@out < $count) {
    my $i = int(rand($FILES));
    push @out, $i unless $avoid->{$i} || $got{$i}++;
  }
  return @out;
}

sub file_op {
  my ($i, $L) = @_;
  my $c = join("\n", @$L) . "\n";
  out("M 100644 inline $path[$i]\ndata ", length($c), "\n", $c, "\n");
}

sub area_of { my @p = split m{/}, $path[$_[0]]; my $f = $p[-1]; $f =~ s/\..*//; $f =~ s/^t\d+-//; $f }

# time moves on from 2005 to about now, whatever the number of commits
my $ts = 1112911993;
my $avg = int((1735689600 - $ts) / $COMMITS);
my $mark = 0;
sub commit {
  my (%a) = @_;
  $ts += 60 + int(rand(2 * $avg));
  my $who = $a{who} || pick(@PEOPLE);
  my $by = $a{by} || $who;
  my $msg = $a{msg};
  $mark++;
  out("commit $a{ref}\nmark :$mark\nauthor $who->[0] $ts $who->[1]\n",
    "committer $by->[0] $ts $by->[1]\ndata ", length($msg), "\n$msg\n");
  out("from :$a{from}\n") if $a{from};
  out("merge :$a{merge}\n") if $a{merge};
  file_op(@$_) for @{ $a{files} };
  out("\n");
  return $mark;
}

sub subject {
  my ($i) = @_;
  return area_of($i) . ': ' . pick(@VERBS) . ' ' . words(2 + int(rand(4)));
}

sub message {
  my ($s) = @_;
  return "$s\n" if rand() < 0.3;
  my $body = '';
  for (1 .. 1 + int(rand(3))) { $body .= ucfirst(words(8 + int(rand(6)))) . ".\n" }
  return "$s\n\n$body\nSigned-off-by: " . pick(@PEOPLE)->[0] . "\n";
}

# --- the release tags: 0.1.0 ... 2.N.p, then 2.(N+1).0-rc0..rc2 -----------------------------
my @ODD = (
  ['v1.0rc1', 1], ['v1.5.0.1', 1], ['vfoo', 0], ['v3', 1], ['v2.3', 0], ['latest', 0],
  ['gitgui-0.10.0', 1], ['nightly-20240101', 0], ['v2.0.0+build.7', 1], ['V1.2.0', 1],
  ['v-next', 0], ['release/2019-03', 1], ['v1.2.3-beta.1', 1]);
my $budget = $TAGS - @ODD - 1;    # - 1: junio-gpg-pub, a tag of a blob as in git/git
my @minors;                        # [rc count, patch count] per minor series
my $left = $budget - 3;            # the last series is rc0..rc2 only
while ($left > 0) {
  my $rc = rand() < 0.75 ? 3 : rand() < 0.5 ? 1 : 0;
  my $patch = pick(0, 1, 1, 2, 2, 3, 4, 5);
  my $want = $rc + 1 + $patch;
  if ($want > $left) {
    $patch = 0 if $rc + 1 + $patch > $left;
    $rc = $left - 1 if $rc + 1 + $patch > $left;
  }
  push @minors, [$rc, $patch];
  $left -= $rc + 1 + $patch;
}
# majors: 0.x, 1.x, 2.x with at least 11 minors in 2.x so that v2.9.* sorts after v2.10.* as
# text while being older
my $M = @minors;
my $n2 = $M < 11 ? $M : $M - 2 * int(0.3 * $M + 0.5) < 11 ? 11 : $M - 2 * int(0.3 * $M + 0.5);
my $n0 = int(($M - $n2) / 2 + 0.5);
my (@order, $newest_stable);
my %next = (0 => 1, 1 => 0, 2 => 0);
for my $i (0 .. $#minors) {
  my $major = $i < $n0 ? 0 : $i < $M - $n2 ? 1 : 2;
  my $minor = $next{$major}++;
  my ($rc, $patch) = @{ $minors[$i] };
  my $v = "$major.$minor";
  push @order, ["v$v.0-rc$_", 1] for (3 - $rc .. 2);
  push @order, map { ["v$v.$_", rand() < 0.9 ? 1 : 0] } 0 .. $patch;
  $newest_stable = "v$v.$patch";
}
my $last_minor = $next{2}++;
push @order, ["v2.$last_minor.0-rc$_", 1] for 0 .. 2;
my $newest_pre = "v2.$last_minor.0-rc2";
# odd tags at random places among the releases
for my $odd (@ODD) { splice(@order, 1 + int(rand(@order - 4)), 0, $odd) }

# --- main: an initial import, then commits and merged topic branches, tags along the way ------
my $main_total = $COMMITS - $DEV;
my @thr = map { 2 + int(($_ + 1) * ($main_total * 0.985 - 2) / @order) } 0 .. $#order;
my $ti = 0;
my $n = 0;
my $tip;

out("feature done\n");
$tip = commit(ref => 'refs/heads/main', msg => "Initial import\n",
  files => [map { [$_, $content[$_]] } 0 .. $FILES - 1]);
$n = 1;
{
  my $key = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQGiBEPS" . words(12) . "\n-----END PGP PUBLIC KEY BLOCK-----\n";
  $mark++;
  out("blob\nmark :$mark\ndata ", length($key), "\n$key\n");
  my $msg = "The maintainer's public key\n";
  out("tag junio-gpg-pub\nfrom :$mark\ntagger $MAINT->[0] $ts $MAINT->[1]\ndata ", length($msg), "\n$msg\n");
}

sub tag_tip {
  my ($force) = @_;
  while ($ti < @order && ($n >= $thr[$ti] || $force)) {
    my ($name, $annotated) = @{ $order[$ti++] };
    if ($annotated) {
      (my $v = $name) =~ s/^v//;
      my $msg = "Release $v\n";
      out("tag $name\nfrom :$tip\ntagger $MAINT->[0] ", $ts + 60, " $MAINT->[1]\ndata ",
        length($msg), "\n$msg\n");
    } else {
      out("reset refs/tags/$name\nfrom :$tip\n\n");
    }
    last unless $force;
  }
}

sub grow {
  my ($ref, $until, $on_tip) = @_;
  while ($n < $until) {
    my $room = $until - $n;
    if ($room >= 4 && rand() < 0.07) {
      # a topic branch: k commits off the tip, j commits on $ref meanwhile, then a merge
      my $k = 1 + int(rand(min(4, $room - 2)));
      my $j = int(rand(min(3, $room - $k - 1) + 1));
      my (%ov, @subjects);
      my $side;
      my $who = pick(@PEOPLE);
      for my $s (1 .. $k) {
        my @ch = pick_files(1 + int(rand(5)), {});
        for my $i (@ch) { $ov{$i} //= [@{ $content[$i] }]; mutate($kind[$i], $ov{$i}) }
        my $subj = subject($ch[0]);
        push @subjects, $subj;
        $side = commit(ref => 'refs/heads/_gen_side', from => ($s == 1 ? $tip : undef),
          who => $who, msg => message($subj), files => [map { [$_, $ov{$_}] } @ch]);
      }
      $n += $k;
      for (1 .. $j) {
        my @ch = pick_files(1 + int(rand(5)), \%ov);
        mutate($kind[$_], $content[$_]) for @ch;
        $tip = commit(ref => $ref, msg => message(subject($ch[0])),
          files => [map { [$_, $content[$_]] } @ch]);
        $n++;
        $on_tip->() if $on_tip;
      }
      my ($f, $l) = split / /, $who->[0];
      my $topic = lc(substr($f, 0, 1) . substr($l, 0, 1)) . '/' . pick(@WORDS) . '-' . pick(@WORDS);
      $content[$_] = $ov{$_} for sort { $a <=> $b } keys %ov;
      $tip = commit(ref => $ref, merge => $side, by => $MAINT, who => $MAINT,
        msg => "Merge branch '$topic'\n\n* $topic:\n" . join('', map { "  $_\n" } reverse @subjects),
        files => [map { [$_, $content[$_]] } sort { $a <=> $b } keys %ov]);
      $n++;
      $on_tip->() if $on_tip;
    } else {
      my @ch = pick_files(1 + int(rand(5)), {});
      mutate($kind[$_], $content[$_]) for @ch;
      $tip = commit(ref => $ref, msg => message(subject($ch[0])),
        files => [map { [$_, $content[$_]] } @ch]);
      $n++;
      $on_tip->() if $on_tip;
    }
  }
}

grow('refs/heads/main', $main_total, sub { tag_tip(0) });
tag_tip(1);    # whatever is left goes on main's tip
my $main_tip = $tip;

# --- develop: DEV commits past main ---------------------------------------------------------
out("reset refs/heads/develop\nfrom :$main_tip\n\n");
grow('refs/heads/develop', $COMMITS, undef);
out("done\n");
print $out;

open(my $fh, '>', $INFO) or die "cannot write $INFO: $!";
print $fh "newest_stable=$newest_stable\nnewest_prerelease=$newest_pre\n";
close $fh;
PERL

if [ "$origin" = 1 ]; then
	importdir=$tmp/origin.git
	git init -q --bare -b main "$importdir"
else
	git init -q -b main "$tmp/repo"
	importdir=$tmp/repo/.git
fi

say "writing history with git fast-import"
perl "$tmp/gen.pl" "$COMMITS" "$TAGS" "$FILES" "$DEVELOP_AHEAD" "$SEED" "$tmp/info" |
	git -C "$importdir" fast-import --quiet --done
git -C "$importdir" update-ref -d refs/heads/_gen_side

if [ "$origin" = 1 ]; then
	say "packing origin.git"
	git -C "$importdir" repack -adq
	git -C "$importdir" pack-refs --all
	say "cloning repo from origin.git"
	git clone -q "$importdir" "$tmp/repo"
	git -C "$tmp/repo" switch -q develop
else
	git -C "$tmp/repo" symbolic-ref HEAD refs/heads/develop
	git -C "$tmp/repo" reset -q --hard
fi
repo=$tmp/repo
git -C "$repo" config user.name "Bench User"
git -C "$repo" config user.email "bench@example.com"
say "packing repo (git repack -ad, git gc)"
git -C "$repo" repack -adq
git -C "$repo" gc --quiet

# check what the brief promises, and record it
newest_stable='' newest_prerelease=''
# shellcheck source=/dev/null
. "$tmp/info"
commits=$(git -C "$repo" rev-list --count --all)
tags=$(git -C "$repo" tag | wc -l)
annotated=$(git -C "$repo" for-each-ref refs/tags --format='%(objecttype)' | grep -c '^tag$')
files=$(git -C "$repo" ls-files | wc -l)
on_main=$(git -C "$repo" tag --merged main | wc -l)
ahead=$(git -C "$repo" rev-list --count "$newest_stable..develop")
# sed reads all of its input: `head -1` would exit first and git would die of SIGPIPE (141 under pipefail)
naive=$(git -C "$repo" tag --sort=-v:refname | sed -n 1p)
# among the stable vX.Y.Z tags, the one a plain text sort puts last
textual=$(git -C "$repo" tag -l 'v*' | grep -E '^v[0-9]+\.[0-9]+\.[0-9]+$' | LC_ALL=C sort | tail -1)
fail=
[ "$commits" = "$COMMITS" ] || fail="$fail commits=$commits (wanted $COMMITS);"
[ "$tags" = "$TAGS" ] || fail="$fail tags=$tags (wanted $TAGS);"
[ "$files" = "$FILES" ] || fail="$fail files=$files (wanted $FILES);"
[ "$on_main" = $((TAGS - 1)) ] || fail="$fail $on_main tags reachable from main (wanted $((TAGS - 1)));"
[ "$textual" != "$newest_stable" ] || fail="$fail newest stable tag is also the textually newest;"
[ "$(git -C "$repo" symbolic-ref --short HEAD)" = develop ] || fail="$fail HEAD is not develop;"
[ -z "$(git -C "$repo" status --porcelain)" ] || fail="$fail the working tree is not clean;"
if [ -n "$fail" ]; then
	echo "gen-repo.sh: the generated repository is not as intended:$fail" >&2
	exit 1
fi

cat >"$tmp/info" <<EOF
name=$name
commits=$commits
tags=$tags
annotated_tags=$annotated
files=$files
develop_ahead_of_newest_stable=$ahead
newest_stable=$newest_stable
newest_prerelease=$newest_prerelease
git_tag_sort_v_refname_first=$naive
textually_newest_stable_tag=$textual
seed=$SEED
origin=$origin
EOF
touch "$tmp/.complete"
rm -f "$tmp/gen.pl"
rm -rf "$out"
# the clone's origin remote points into the temporary folder: point it at its final place
[ "$origin" = 0 ] || git -C "$repo" remote set-url origin "$out/origin.git"
mv "$tmp" "$out"
trap - EXIT
say "done: $commits commits, $tags tags ($annotated annotated), $files files;" \
	"newest stable $newest_stable, newest pre-release $newest_prerelease," \
	"develop $ahead commits past $newest_stable"
echo "generated $name in $(elapsed) s" >&2
finish
