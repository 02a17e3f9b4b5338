#!/usr/bin/env bash
# Adds hotfix releases (annotated tags carrying a release record, as `hotfix deploy` makes them)
# to a copy of a bench/gen-repo.sh repository, for timing `verify-merged`, `list` and `stats`.
# See bench/README.md. Usage: bench/gen-releases.sh [--small] [--force] [--releases N]
# Prints the repository's path on stdout (the last line); progress goes to stderr.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: bench/gen-releases.sh [--small] [--force] [--releases N] [--cherry-picked N] [--missing N]

Takes the cached bench/gen-repo.sh repository (generating it first if needed), copies it, and
adds hotfix releases to the copy: for each, a hotfix branch from a production tag with 1-3
commits, an annotated release tag whose message is a hotfix release record, and then (in
deploy order) a merge of the release into develop, or a cherry-pick of its commits onto
develop, or nothing (a fix that never reached develop). Also adds "not a code change" records.
The result is cached as ${HOTFIX_BENCH_DIR:-$HOME/.cache/hotfix-bench}/<name>-releases<N>/repo.

  --small            start from the small repository (gen-repo.sh --small)
  --releases N       hotfix releases (default 300; RELEASES)
  --cherry-picked N  of which cherry-picked onto develop (default 20; CHERRY_PICKED)
  --missing N        of which never merged (default 12; MISSING)
  --not-code N       "not a code change" records (default 40; NOT_CODE)
  --force            regenerate even if it exists
  --copy DEST        then copy it to DEST (which must not exist) and print DEST/repo
EOF
}

here=$(cd "$(dirname "$0")" && pwd)
small=
force=0
copy=
RELEASES=${RELEASES:-300}
CHERRY_PICKED=${CHERRY_PICKED:-20}
MISSING=${MISSING:-12}
NOT_CODE=${NOT_CODE:-40}
SEED=${SEED:-1}
while [ $# -gt 0 ]; do
	case "$1" in
	--small) small=--small ;;
	--force) force=1 ;;
	--releases) RELEASES=${2:?--releases needs a number}; shift ;;
	--cherry-picked) CHERRY_PICKED=${2:?--cherry-picked needs a number}; shift ;;
	--missing) MISSING=${2:?--missing needs a number}; shift ;;
	--not-code) NOT_CODE=${2:?--not-code needs a number}; shift ;;
	--copy) copy=${2:?--copy needs a destination}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "gen-releases.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
for v in RELEASES CHERRY_PICKED MISSING NOT_CODE SEED; do
	case "${!v}" in
	'' | *[!0-9]*) echo "gen-releases.sh: $v must be a whole number, not '${!v}'" >&2; exit 2 ;;
	esac
done
if [ $((CHERRY_PICKED + MISSING)) -gt "$RELEASES" ]; then
	echo "gen-releases.sh: --cherry-picked + --missing is more than --releases" >&2
	exit 2
fi

src=$("$here/gen-repo.sh" $small)
srcdir=$(dirname "$src")
name=$(basename "$srcdir")-releases$RELEASES
[ "$CHERRY_PICKED/$MISSING/$NOT_CODE/$SEED" = 20/12/40/1 ] ||
	name=$name-c$CHERRY_PICKED-m$MISSING-n$NOT_CODE-s$SEED
base=$(dirname "$srcdir")
out=$base/$name
exec 9>"$base/.$name.lock"
flock 9

finish() {
	if [ -z "$copy" ]; then
		echo "$out/repo"
		return
	fi
	if [ -e "$copy" ]; then
		echo "gen-releases.sh: $copy already exists; --copy wants a new path" >&2
		exit 2
	fi
	cp -a "$out" "$copy"
	echo "gen-releases.sh: copied to $copy" >&2
	echo "$(cd "$copy" && pwd)/repo"
}

if [ -f "$out/.complete" ] && [ "$force" = 0 ]; then
	echo "gen-releases.sh: $out exists; nothing to do (--force regenerates)" >&2
	finish
	exit 0
fi

start_ns=$(date +%s%N)
say() {
	local ms=$((($(date +%s%N) - start_ns) / 1000000))
	printf 'gen-releases.sh [%d.%d s] %s\n' $((ms / 1000)) $((ms % 1000 / 100)) "$*" >&2
}
tmp=$out.tmp.$$
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
say "copying $srcdir/repo"
cp -a "$src" "$tmp/repo"
repo=$tmp/repo

# The plan and the history are made by a Perl program that drives git: fast-import for the
# hotfix commits and tags, `git merge-tree` for the merges and cherry-picks into develop (real
# merges of real trees, so the patch ids `verify-merged` and `git cherry` compute are the ones
# a team would have).
cat >"$tmp/gen.pl" <<'PERL'
use strict;
use warnings;

my ($RELEASES, $CHERRY, $MISSING, $NOT_CODE, $SEED) = @ARGV;
srand($SEED);

sub git { my $out = `git @_`; die "git @_ failed\n" if $?; chomp $out; $out }
sub pick { $_[int(rand(@_))] }

my @PEOPLE = (
  ['Ann Author', 'ann@example.com'], ['Bo Builder', 'bo@example.com'],
  ['Cy Coder', 'cy@example.com'], ['Di Dev', 'di@example.com'],
  ['Ed Engineer', 'ed@example.com'], ['Fay Fixer', 'fay@example.com'],
  ['Gus Gardner', 'gus@example.com'], ['Hal Hacker', 'hal@example.com'],
  ['Ida Oncall', 'ida@example.com'], ['Jo Jensen', 'jo@example.com']);
my @SEVERITY = qw(revenue-loss data-corruption security-exploit core-workflow-blocked);
my @WORDS = qw(login checkout cart payment invoice session cache token export import search
  upload download profile billing refund webhook report queue mailer);
my @VERBS = qw(returns fails crashes hangs drops leaks double-charges corrupts times-out);
my $MAINT = ['Mia Maintainer', 'maintainer@example.com'];

# stable vX.Y.Z tags, grouped by minor series: the newest patch of a series is where its
# hotfixes start
my %series;
for (split /\n/, git(q{for-each-ref refs/tags --format='%(refname:strip=2) %(objectname) %(*objectname) %(taggerdate:unix) %(*committerdate:unix) %(committerdate:unix)'})) {
  my ($tag, $obj, $peeled, @dates) = split / /;
  next unless $tag =~ /^v(\d+)\.(\d+)\.(\d+)$/;
  my ($M, $m, $p) = ($1, $2, $3);
  my $commit = $peeled || $obj;
  my ($date) = grep { length } @dates;
  my $s = $series{"$M.$m"} //= { major => $M, minor => $m, patch => -1 };
  @$s{qw(patch tag commit date)} = ($p, $tag, $commit, $date) if $p > $s->{patch};
}
my @series = sort { $b->{major} <=> $a->{major} || $b->{minor} <=> $a->{minor} } values %series;
die "no stable release tags\n" unless @series;

# chains: every series gets a hotfix, the newest ones a second, and so on
my @chain_len = (0) x @series;
for my $i (0 .. $RELEASES - 1) { $chain_len[$i % @series]++ }

my $dev = git('rev-parse develop');
my $dev_date = git('log -1 --format=%ct develop');
my @files = split /\n/, git('ls-tree -r --name-only develop');
my %used;    # files already changed by a hotfix: each hotfix changes files of its own

# which releases did not reach develop: only the last of a chain (merging a later one would
# bring the earlier ones along); cherry-picks on the newer series, where files untouched since
# the release exist and the patch is the same on develop
my @tips = map { $_ } grep { $chain_len[$_] } 0 .. $#series;
die "not enough release series for $CHERRY cherry-picked and $MISSING missing releases\n"
  if $CHERRY + $MISSING > @tips;
my %fate;
my @recent = @tips[0 .. ($#tips < 2 * $CHERRY ? $#tips : 2 * $CHERRY - 1)];
my %taken;
while (keys %taken < $CHERRY) { my $i = pick(@recent); $fate{$i} = 'cherry-picked' unless $taken{$i}++ }
while (keys %taken < $CHERRY + $MISSING) { my $i = pick(@tips); $fate{$i} = 'missing' unless $taken{$i}++ }

sub line_for {
  my ($x, $y) = (pick(@WORDS), pick(@WORDS));
  my $r = rand();
  return "\tif (!$x->$y)" if $r < 0.3;
  return "\t\treturn error(_(\"$x: no $y\"));" if $r < 0.6;
  return "\t$x = ${y}_lookup($x, 0);" if $r < 0.85;
  return "\t/* $x must not be NULL here */";
}

sub iso {
  my @t = gmtime($_[0]);
  sprintf('%04d-%02d-%02dT%02d:%02d:%02dZ', $t[5] + 1900, $t[4] + 1, @t[3, 2, 1, 0]);
}

# --- the hotfix commits, written by fast-import -----------------------------------------------
open(my $fi, '|-', 'git fast-import --quiet --done --export-marks=marks') or die;
binmode $fi;
print $fi "feature done\n";
my $mark = 0;
my $n = 0;
my @releases;
for my $si (0 .. $#series) {
  my $s = $series[$si];
  my ($from, $from_tag, $date) = ($s->{commit}, $s->{tag}, $s->{date});
  my %changed_since;    # for cherry-picks: files changed between the release and develop
  for my $k (1 .. $chain_len[$si]) {
    $n++;
    my $fate = $k == $chain_len[$si] ? ($fate{$si} || 'merged') : 'merged';
    if ($fate eq 'cherry-picked' && !%changed_since) {
      %changed_since = map { $_ => 1 } split /\n/, git("diff --name-only $s->{commit} $dev");
    }
    my $version = "$s->{major}.$s->{minor}." . ($s->{patch} + $k);
    my $who = pick(@PEOPLE);
    my $approver = pick(grep { $_ != $who } @PEOPLE);
    my $started = $date + 86400 * (1 + int(rand(20))) + int(rand(86400));
    my $deployed = $started + 60 * (15 + int(rand(240)));
    my $name = pick(@WORDS) . '-' . (500 + int(rand(4))) . "-$n";
    my @commits;
    my $lines = 0;
    my $t = $started;
    for my $c (1 .. pick(1, 1, 1, 2, 2, 3)) {
      my @free = grep { !$used{$_} && !$changed_since{$_} } @files;
      my ($path, $old);
      if (@free) {
        $path = pick(@free);
        $old = git("cat-file blob $s->{tag}:$path");
        $old .= "\n" if length $old;
      } else {
        # nothing untouched since this old release: the fix adds a file
        $path = "src/hotfix/$name-$c.c";
        $old = '';
      }
      $used{$path} = 1;
      my @l = split /\n/, $old, -1;
      pop @l;
      my $add = 1 + int(rand(4));
      splice(@l, int(rand(@l + 1)), 0, map { line_for() } 1 .. $add);
      $lines += $add;
      my $content = join("\n", @l) . "\n";
      $t += 60 * (5 + int(rand(30)));
      $mark++;
      my $msg = ($path =~ m{([^/]+)\.\w+$})[0] . ': ' . pick(@VERBS) . ' ' . pick(@WORDS) . " fix\n";
      print $fi "commit refs/heads/hotfix/$name\nmark :$mark\n",
        "author $who->[0] <$who->[1]> $t +0000\ncommitter $who->[0] <$who->[1]> $t +0000\n",
        "data ", length($msg), "\n$msg", "from ", (@commits ? ":$commits[-1]" : $from), "\n",
        "M 100644 inline $path\ndata ", length($content), "\n$content\n";
      push @commits, $mark;
    }
    push @releases, {
      n => $n, tag => "v$version", version => $version, name => $name, who => $who,
      approver => $approver, started => $started, deployed => $deployed, fate => $fate,
      base_tag => $from_tag, base => $from, marks => [@commits], lines => $lines,
      files => scalar @commits, severity => pick(@SEVERITY),
      summary => ucfirst(pick(@WORDS)) . ' ' . pick(@VERBS) . ' for ' . pick(@WORDS) . ' users',
      test_ms => 20000 + int(rand(600000)), override => rand() < 0.06,
    };
    # the next hotfix of the series starts from this release
    ($from, $from_tag, $date) = (":$commits[-1]", "v$version", $deployed);
  }
}
print $fi "done\n";
close($fi) or die "fast-import failed\n";

my %sha;
open(my $mf, '<', 'marks') or die;
while (<$mf>) { my ($m, $s) = /^:(\d+) (\w+)/ or next; $sha{$m} = $s }
close $mf;
my @tips_of = map { $sha{ $_->{marks}[-1] } } @releases;
my @trees = split /\n/, git('rev-parse ' . join(' ', map { "$_^{tree}" } @tips_of));

# --- the release tags: the message is the record, as ReleaseRecord::tag_message writes it ----
sub person { my ($p) = @_; qq({"name":"$p->[0]","email":"$p->[1]"}) }
open($fi, '|-', 'git fast-import --quiet --done') or die;
binmode $fi;
print $fi "feature done\n";
for my $i (0 .. $#releases) {
  my $r = $releases[$i];
  my $base = $r->{base} =~ /^:(\d+)$/ ? $sha{$1} : $r->{base};
  $r->{base_commit} = $base;
  my @commits = map { $sha{$_} } @{ $r->{marks} };
  $r->{commits} = \@commits;
  my $approved = $r->{deployed} - 60 * (5 + int(rand(60)));
  my $overrides = $r->{override}
    ? '[{"gate":"test","reason":"suite is flaky on the payment sandbox","by":' . person($r->{who})
      . ',"at":"' . iso($approved) . '"}]'
    : '[]';
  my $json = '{"schema":1,"tag":"' . $r->{tag} . '","version":"' . $r->{version}
    . '","name":"' . $r->{name} . '","branch":"hotfix/' . $r->{name}
    . '","base_tag":"' . $r->{base_tag} . '","base_commit":"' . $base
    . '","commit":"' . $commits[-1] . '","tree":"' . $trees[$i]
    . '","commits":[' . join(',', map {"\"$_\""} @commits) . ']'
    . ',"severity":"' . $r->{severity} . '","summary":"' . $r->{summary}
    . '","author":' . person($r->{who})
    . ',"approvers":[{"name":"' . $r->{approver}[0] . '","email":"' . $r->{approver}[1]
    . '","approved_at":"' . iso($approved) . '"}]'
    . ',"test":{"passed":true,"duration_ms":' . $r->{test_ms} . ',"exit_code":0}'
    . ',"diff":{"files":' . $r->{files} . ',"lines":' . $r->{lines} . ',"flags":[]}'
    . ',"overrides":' . $overrides
    . ',"started_at":"' . iso($r->{started}) . '","deployed_at":"' . iso($r->{deployed}) . '"}';
  my $pl = sub { $_[0] == 1 ? '' : 's' };
  my $msg = "hotfix $r->{tag}: $r->{summary}\n\n"
    . "Base $r->{base_tag}, severity $r->{severity}, $r->{files} file" . $pl->($r->{files})
    . ", $r->{lines} line" . $pl->($r->{lines}) . ".\n"
    . "Approved by $r->{approver}[0] <$r->{approver}[1]>.\n"
    . sprintf("Tests passed in %.1fs.\n", $r->{test_ms} / 1000)
    . ($r->{override} ? "Override of the test gate by $r->{who}[1]: suite is flaky on the payment sandbox\n" : '')
    . "\nhotfix-record-v1:\n$json\n";
  print $fi "tag $r->{tag}\nfrom $commits[-1]\n",
    "tagger $r->{who}[0] <$r->{who}[1]> $r->{deployed} +0000\n",
    "data ", length($msg), "\n$msg\n";
}
print $fi "done\n";
close($fi) or die "fast-import failed\n";

# --- merge-back, in deploy order: merges and cherry-picks on top of develop -------------------
my $tip = $dev;
my $t = $dev_date;
my %count;
for my $r (sort { $a->{deployed} <=> $b->{deployed} } @releases) {
  $count{ $r->{fate} }++;
  next if $r->{fate} eq 'missing';
  $t += 3600;
  local $ENV{GIT_COMMITTER_NAME} = $MAINT->[0];
  local $ENV{GIT_COMMITTER_EMAIL} = $MAINT->[1];
  local $ENV{GIT_COMMITTER_DATE} = "$t +0000";
  if ($r->{fate} eq 'merged') {
    my ($tree) = split /\n/, `git merge-tree --write-tree -X theirs $tip $r->{commits}[-1]`;
    local $ENV{GIT_AUTHOR_NAME} = $MAINT->[0];
    local $ENV{GIT_AUTHOR_EMAIL} = $MAINT->[1];
    local $ENV{GIT_AUTHOR_DATE} = "$t +0000";
    $tip = git("commit-tree $tree -p $tip -p $r->{commits}[-1] -m \"Merge tag '$r->{tag}' into develop\"");
  } else {
    for my $c (@{ $r->{commits} }) {
      my $out = `git merge-tree --write-tree --merge-base=$c^ $tip $c`;
      die "cherry-pick of $c ($r->{tag}) did not apply cleanly\n" if $?;
      my ($tree) = split /\n/, $out;
      my ($an, $ae, $ad) = split /\n/, git("log -1 --format='%an%n%ae%n%ad' --date=raw $c");
      local $ENV{GIT_AUTHOR_NAME} = $an;
      local $ENV{GIT_AUTHOR_EMAIL} = $ae;
      local $ENV{GIT_AUTHOR_DATE} = $ad;
      my $msg = git("log -1 --format=%B $c") . "\n\n(cherry picked from commit $c)";
      open(my $ct, '-|', 'git', 'commit-tree', $tree, '-p', $tip, '-m', $msg) or die;
      chomp($tip = <$ct>);
      close($ct) or die "commit-tree failed\n";
    }
  }
}
git("update-ref -m 'gen-releases: merge-back' refs/heads/develop $tip $dev");

# --- "not a code change" outcomes (refs/hotfix/not-code/*), as `start --not-code` records them
for my $i (1 .. $NOT_CODE) {
  my $s = pick(@series);
  my $at = $s->{date} + int(rand(90 * 86400));
  my $who = pick(@PEOPLE);
  my $name = pick(@WORDS) . "-alarm-$i";
  my $json = "{\n  \"name\": \"$name\",\n  \"summary\": \"" . ucfirst(pick(@WORDS))
    . " alarm was a stale cache\",\n  \"severity\": \"" . pick(@SEVERITY)
    . "\",\n  \"recorded_at\": \"" . iso($at) . "\",\n  \"by_name\": \"$who->[0]\",\n"
    . "  \"by_email\": \"$who->[1]\"\n}";
  open(my $h, '>', 'not-code.json') or die;
  print $h $json;
  close($h) or die;
  my $blob = git('hash-object -w not-code.json');
  git("update-ref refs/hotfix/not-code/$name-$at $blob");
}
unlink 'not-code.json', 'marks';
git("for-each-ref --format='delete %(refname)' refs/heads/hotfix/ | git update-ref --stdin");

open(my $info, '>', 'info') or die;
print $info "releases=" . scalar(@releases) . "\nmerged=" . ($count{merged} // 0)
  . "\ncherry_picked=" . ($count{'cherry-picked'} // 0) . "\nmissing=" . ($count{missing} // 0)
  . "\nnot_code=$NOT_CODE\n";
close $info;
PERL

say "adding $RELEASES hotfix releases ($CHERRY_PICKED cherry-picked, $MISSING missing) and $NOT_CODE not-code records"
(cd "$repo" && perl "$tmp/gen.pl" "$RELEASES" "$CHERRY_PICKED" "$MISSING" "$NOT_CODE" "$SEED")
mv "$repo/info" "$tmp/releases-info"
say "packing"
git -C "$repo" repack -adq
git -C "$repo" pack-refs --all
git -C "$repo" commit-graph write --reachable

# the facts, checked as `git` sees them
tags=$(git -C "$repo" for-each-ref refs/tags --format='%(contents)' | grep -c '^hotfix-record-v1:$')
[ "$tags" = "$RELEASES" ] || { echo "gen-releases.sh: $tags release records, wanted $RELEASES" >&2; exit 1; }
{
	cat "$srcdir/info" | sed 's/^name=.*/name='"$name"'/'
	cat "$tmp/releases-info"
	echo "develop_commits=$(git -C "$repo" rev-list --count develop)"
} >"$tmp/info"
rm -f "$tmp/releases-info" "$tmp/gen.pl"
touch "$tmp/.complete"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
say "done: $(tr '\n' ' ' <"$out/info")"
finish
