#!/usr/bin/python3
"""Differential tester: pg_migrate's graph answers versus Alembic 1.8's.

What it does
------------
For every revision graph it knows (hand-written re-statements of the graphs
used by Alembic's own test suite, a few invalid graphs, and seeded random
DAGs) it

  1. recreates the extension (DROP EXTENSION / CREATE EXTENSION) and registers
     the revisions in order through migrate.revision(...), and builds the same
     graph as an alembic.script.revision.RevisionMap (same registration order);
  2. compares migrate.heads() / migrate.bases() with RevisionMap.heads/.bases;
  3. for several applied states (empty, everything, random ancestor-closed
     subsets) stamps the state with migrate.stamp(ARRAY[...], purge => true),
     checks that migrate.applied is the closure of the stamped revisions
     (parents and depends_on) and that migrate.current() is its set of minimal
     elements (revisions no other applied revision links to), then for many
     target strings (keywords, ids, id prefixes, labels, label@head, id@base,
     +N/-N, X+N, label@-N, base+N, garbage ...) compares:
       * resolve:   migrate.resolve(t)      vs RevisionMap.get_revisions(t)
       * upgrade:   migrate.plan(t,'upgrade') (as a set, and its order must be
                    topological) vs RevisionMap.iterate_revisions(t, current,
                    implicit_base=True)     (= ScriptDirectory._upgrade_revs)
       * downgrade: migrate.plan(t,'downgrade') (set; children before parents)
                    vs RevisionMap.iterate_revisions(current, t,
                    select_for_downgrade=True) (= ScriptDirectory._downgrade_revs)
       * show:      migrate.show(t) (empty and full state only) vs
                    get_revisions(t), as `alembic show` does
       * history:   migrate.history('A:B') for ranges built from the targets
                    (empty and full state only) vs what `alembic history -r
                    A:B` walks: command.history's parsing, then
                    iterate_revisions(B or 'heads', A or 'base',
                    inclusive=True, assert_relative_length=False); our order
                    must list children before parents
       * stamp:     closure of migrate.applied after migrate.stamp(t) vs the
                    version-table heads Alembic's stamp leaves (Alembic's own
                    ScriptDirectory._stamp_revs steps fed through its own
                    HeadMaintainer, driven with a stub script/context), closed
                    under ancestry.
     "current" handed to Alembic is the version-table view of the state: its
     minimal elements, in registration order.

A comparison passes when both sides fail (any SQL error on our side; any
exception on Alembic's side -- RevisionError & subclasses, CommandError,
AssertionError, and also internal crashes, which are labelled as such), or
both succeed with equal sets.  Everything else is a mismatch.

Output is TAP: one line per (graph, category), with up to 5 mismatches as
"# " diagnostics; targets outside the grammar get their own line per graph
("garbage targets").  Then a summary of the distinct kinds of mismatch
(category, target shape, outcome) with the smallest example of each.  A
mismatch that is exactly one of the deliberate differences listed in
pg_migrate's README is tagged "[documented: ...]"; --allow-documented stops
those from failing.  Exit status 1 on any (counted) mismatch, 2 when the
database is unusable.

Stamp checks run in a subtransaction that is rolled back after reading
migrate.applied (--stamp-reset purge instead re-stamps the state with
purge => true before each one; both give the same answers).

Reproducing one case: --spec 'a; b <- a ~ dep [label]; ...' --state b
--targets 'heads,b@base' --ranges 'a:heads' (see --help).

Our side is queried through one PL/pgSQL helper (schema difftest) that runs a
batch of targets, each in its own subtransaction, capturing SQLSTATE and
message; if a batch dies (crash, timeout) it is re-run target by target.

Usage: diff_alembic.py [--dbname DB] [--random N] [--seed S] [--graph NAME]
                       [--spec S --state R,.. --targets T,.. --ranges R,..]
                       [--allow-documented] [--alembic-only]
Connection parameters come from the usual PG* environment variables.
Needs Alembic 1.8 and psycopg2 (Debian: python3-alembic, python3-psycopg2).
"""

import argparse
import collections
import hashlib
import random
import re
import sys
import time
import warnings

from alembic.script.revision import Revision, RevisionMap
from alembic.script.base import ScriptDirectory
from alembic.runtime.migration import HeadMaintainer

warnings.simplefilter("ignore")

# ---------------------------------------------------------------------------
# Graphs
# ---------------------------------------------------------------------------

Rev = collections.namedtuple("Rev", "id parents deps labels")


class Graph:
    """A revision graph as plain data, in registration order."""

    def __init__(self, name, revs, kind="classic", expect_invalid=False):
        self.name = name
        self.revs = list(revs)
        self.kind = kind
        self.expect_invalid = expect_invalid
        self.ids = [r.id for r in self.revs]
        self.order = {r.id: i for i, r in enumerate(self.revs)}
        self.by_id = {r.id: r for r in self.revs}
        self.label_owner = {}
        for r in self.revs:
            for l in r.labels:
                self.label_owner.setdefault(l, r.id)
        self.labels = list(self.label_owner)

    def dep_ids(self, rid):
        r = self.by_id[rid]
        out = []
        for d in r.deps:
            if d in self.by_id:
                out.append(d)
            elif d in self.label_owner:
                out.append(self.label_owner[d])
        return out

    def links(self, rid):
        """Everything rid points at: parents and (resolved) depends_on."""
        return [p for p in self.by_id[rid].parents if p in self.by_id] + \
            self.dep_ids(rid)

    def closure(self, ids):
        seen = set()
        todo = [i for i in ids if i in self.by_id]
        while todo:
            x = todo.pop()
            if x in seen:
                continue
            seen.add(x)
            todo.extend(self.links(x))
        return seen

    def minimal(self, closed):
        linked = set()
        for x in closed:
            linked.update(self.links(x))
        return [x for x in self.ids if x in closed and x not in linked]

    def revmap(self):
        def gen():
            return [
                Revision(
                    r.id,
                    tuple(r.parents) if r.parents else None,
                    dependencies=(tuple(r.deps) if r.deps else None),
                    branch_labels=(tuple(r.labels) if r.labels else None),
                )
                for r in self.revs
            ]
        return RevisionMap(gen)

    def spec(self):
        """One line per revision, in the parse_spec() notation."""
        out = []
        for r in self.revs:
            s = r.id
            if r.parents:
                s += " <- " + " ".join(r.parents)
            if r.deps:
                s += " ~ " + " ".join(r.deps)
            if r.labels:
                s += " [" + " ".join(r.labels) + "]"
            out.append(s)
        return "; ".join(out)


def parse_spec(text):
    """'id <- parent1 parent2 ~ dep1 dep2 [label1 label2]' per line or ';'."""
    revs = []
    for line in re.split(r"[\n;]", text):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        labels = ()
        m = re.search(r"\[(.*?)\]", line)
        if m:
            labels = tuple(m.group(1).split())
            line = line[: m.start()] + line[m.end():]
        deps = ()
        if "~" in line:
            line, d = line.split("~", 1)
            deps = tuple(d.split())
        parents = ()
        if "<-" in line:
            line, p = line.split("<-", 1)
            parents = tuple(p.split())
        revs.append(Rev(line.strip(), parents, deps, labels))
    return revs


# The graphs of Alembic's own tests (tests/test_version_traversal.py and
# tests/test_revision.py), restated in the notation above.  Where the tests
# use generated ids the graph is given with short readable ids; every classic
# graph is also run a second time with 12-hex-digit ids (see hexify) so that
# prefix matching gets exercised.
CLASSIC = [
    ("linear path (RevisionPathTest)",
     "e6239818bb3a; 548bbb905360 <- e6239818bb3a; b7ea43dc85e4 <- 548bbb905360;"
     "1bbe33445780 <- b7ea43dc85e4; 3975fb1a0125 <- 1bbe33445780"),
    ("two labelled branches (BranchedPathTest)",
     "a; b <- a; c1 <- b [c1branch]; d1 <- c1; c2 <- b [c2branch]; d2 <- c2"),
    ("branch from a mergepoint (BranchFromMergepointTest)",
     "a1; b1 <- a1; c1 <- b1; a2; b2 <- a2; c2 <- b2; d1 <- c1 c2; d2 <- c2"),
    ("branch from a 3-way mergepoint (BranchFrom3WayMergepointTest)",
     "a1; b1 <- a1; c1 <- b1; a2; b2 <- a2; c2 <- b2; a3; b3 <- a3; c3 <- b3;"
     "d1 <- c1 c2 c3; d2 <- c2; d3 <- c3"),
    ("twin merges (TwinMergeTest)",
     "a; b1 <- a; b2 <- a; b3 <- a; c1 <- b1 b2 b3; c2 <- b1 b2 b3;"
     "d1 <- c1; d2 <- c2"),
    ("not quite twin merges (NotQuiteTwinMergeTest)",
     "a; b1 <- a; b2 <- a; b3 <- a; c1 <- b1 b2; c2 <- b2 b3; d1 <- c1; d2 <- c2"),
    ("depends on another branch (DependsOnBranchTestOne)",
     "a1 [lib1]; b1 <- a1; c1 <- b1; a2; b2 <- a2; c2 <- b2 ~ c1;"
     "d1 <- c1; e1 <- d1; f1 <- e1"),
    ("kaboom: three merges and an overmerge (DependsOnBranchTestTwo)",
     "a1; a2; a3; amerge <- a1 a2 a3; b1; b2; bmerge <- b1 b2;"
     "c1; c2; c3; cmerge <- c1 c2 c3; d1 ~ a3 b2 c1"),
    ("criss-cross dependencies (DependsOnBranchTestThree)",
     "a1; a2 <- a1; b1; b2 <- b1 ~ a2; b3 <- b2; a3 <- a2 ~ b1"),
    ("depends on own down revision (DependsOnOwnDownrevTest)",
     "a1; a2 <- a1 ~ a1"),
    ("repeated dependency (DependsOnBranchTestFour)",
     "a1; a2 <- a1; a3 <- a2; b1; b2 <- b1 ~ a3; b3 <- b2; b4 <- b3 ~ a3"),
    ("depends on a branch label (DependsOnBranchLabelTest)",
     "a1 [lib1]; b1 <- a1; c1 <- b1 [c1lib]; a2; b2 <- a2; c2 <- b2 ~ c1lib;"
     "d1 <- c1; e1 <- d1; f1 <- e1"),
    ("forest of two trees (ForestTest)",
     "a1; b1 <- a1; a2; b2 <- a2"),
    ("branch and merge back (MergedPathTest)",
     "a; b <- a; c1 <- b; d1 <- c1; c2 <- b [c2branch]; d2 <- c2;"
     "e <- d1 d2; f <- e"),
    ("labelled branches with a cross dependency "
     "(BranchedPathTestCrossDependencies)",
     "a; b <- a; c1 <- b [c1branch]; d1 <- c1; c2 <- b [c2branch];"
     "d2 <- c2 ~ c1"),
    ("diamond (DiamondTest)",
     "a; b1 <- a; b2 <- a; c <- b1 b2; d <- c"),
    ("labelled branch across a merge "
     "(test_filter_for_lineage_labeled_head_across_merge)",
     "a; b <- a; c1 <- b [c1branch]; c2 <- b; d <- c1 c2"),
    ("long names and labels (LabeledBranchTest)",
     "a [abranch]; b <- a; somelongername <- b; c <- somelongername; d;"
     "e <- d [ebranch]; someothername <- e; f <- someothername"),
    ("long and short branches (LongShortBranchTest)",
     "a; b1 <- a; b2 <- a; c1 <- b1; d11 <- c1; d12 <- c1"),
    ("many branches (MultipleBranchTest)",
     "a; b1 <- a; b2 <- a; cb1 <- b1; cb2 <- b2; d1cb1 <- cb1; d2cb1 <- cb1;"
     "d1cb2 <- cb2; d2cb2 <- cb2; d3cb2 <- cb2; d1d2cb2 <- d1cb2 d2cb2"),
    ("effective head through a dependency (MultipleBranchEffectiveHead)",
     "y1 [y]; x1 [x]; y2 <- y1 ~ x1; x2 <- x1"),
    ("branch travelling (BranchTravellingTest)",
     "a1; a2 <- a1; a3 <- a2; b1 <- a3; b2 <- a3; cb1 <- b1; cb2 <- b2;"
     "db1 <- cb1; db2 <- cb2; e1b1 <- db1; fe1b1 <- e1b1; e2b1 <- db1;"
     "e2b2 <- db2; merge <- e2b1 e2b2"),
    ("multiple bases (MultipleBaseTest)",
     "base1; base2; base3; a1a <- base1; a1b <- base1; a2 <- base2;"
     "a3 <- base3; b1a <- a1a; b1b <- a1b; b2 <- a2; b3 <- a3; c2 <- b2;"
     "d2 <- c2; mergeb3d2 <- b3 d2"),
    ("multiple bases, cross dependencies one "
     "(MultipleBaseCrossDependencyTestOne)",
     "base1 [b_1]; a1a <- base1; a1b <- base1; b1a <- a1a; b1b <- a1b ~ a3;"
     "base2 [b_2]; a2 <- base2; b2 <- a2; c2 <- b2 ~ a3; d2 <- c2;"
     "base3 [b_3]; a3 <- base3; b3 <- a3"),
    ("multiple bases, cross dependencies two "
     "(MultipleBaseCrossDependencyTestTwo)",
     "base1 [b_1]; a1 <- base1; b1 <- a1; c1 <- b1; base2 ~ b_1 [b_2];"
     "a2 <- base2; b2 <- a2; c2 <- b2; d2 <- c2; base3 [b_3]; a3 <- base3;"
     "b3 <- a3; c3 <- b3 ~ b2; d3 <- c3"),
    ("base depending on another tree (MultipleBaseCrossDependencyTestThree)",
     "base1; a1 <- base1; b1 <- a1; c2 ~ a1; c3 <- c2"),
    ("normalized down revisions (NormalizedDownRevTest)",
     "a1; a2 <- a1; a3 <- a2; b1; b2 <- b1 ~ a3; b3 <- b2; b4 <- b3 ~ a3;"
     "b5 <- b4 ~ b4"),
    ("implicit base three (test_partial_traversal_implicit_base_three)",
     "c1; a1; a2 <- a1 ~ c1; a3 <- a2 ~ c1; b1; b2 <- b1 ~ a3; b3 <- b2;"
     "b4 <- b3 ~ a3; b5 <- b4"),
    ("names near the keywords (reserved-name-like)",
     "baseline; basement <- baseline; header <- basement [headsup];"
     "heads2 <- basement [basic]; head1 <- header; based <- heads2"),
    ("labels that prefix ids",
     "abcd1234; abcd5678 <- abcd1234 [abcdlabel]; abce0000 <- abcd1234;"
     "abcdef99 <- abce0000 [zzlab]; zzlabel1 <- abcd5678"),
]

# Graphs every Alembic version rejects; our side must fail too, either at
# registration or when the graph is used (migrate.plan('heads')).
INVALID = [
    ("duplicate branch label (test_dupe_branch_collection)",
     "a; b <- a; c <- b [xy1]; d; e <- d [xy1]; f <- e"),
    ("dependency cycle", "a ~ c; b <- a; c <- b"),
    ("dependency cycle in a tail", "a; b <- a; c <- b ~ e; d <- c; e <- d"),
]


def hexify(name, revs):
    """The same graph with 12-hex-digit ids derived from the short ones."""
    m = {r.id: hashlib.sha1((name + "/" + r.id).encode()).hexdigest()[:12]
         for r in revs}
    return [Rev(m[r.id], tuple(m[p] for p in r.parents),
                tuple(m.get(d, d) for d in r.deps), r.labels) for r in revs]


# ---------------------------------------------------------------------------
# Random graphs
# ---------------------------------------------------------------------------

ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
RESERVED = {"head", "heads", "base"}


def random_graph(rng, idx):
    n = rng.randint(3, 30)
    revs = []
    used = set()
    ids = []
    labels_used = set()
    anc = {}  # id -> set of ancestors (closure via parents and deps), incl.

    def new_id():
        while True:
            if ids and rng.random() < 0.25:
                base = rng.choice(ids)
                k = rng.randint(1, min(6, len(base)))
                s = base[:k] + "".join(rng.choice(ALNUM)
                                       for _ in range(rng.randint(1, 6)))
                s = s[:12]
            else:
                s = "".join(rng.choice(ALNUM)
                            for _ in range(rng.randint(4, 12)))
            if s not in used and s not in RESERVED and len(s) >= 4:
                return s

    heads = []
    for i in range(n):
        rid = new_id()
        r = rng.random()
        if i == 0 or r < 0.10:
            parents = []
        elif r < 0.25 and len(ids) >= 2:
            a = rng.choice(ids)
            cands = [x for x in ids if x != a and x not in anc[a]
                     and a not in anc[x]]
            parents = [a, rng.choice(cands)] if cands else [a]
            if len(parents) == 2 and rng.random() < 0.2:
                more = [x for x in ids if x not in parents and all(
                    x not in anc[p] and p not in anc[x] for p in parents)]
                if more:
                    parents.append(rng.choice(more))
        else:
            pool = heads if heads and rng.random() < 0.6 else ids
            parents = [rng.choice(pool)]
        myanc = set()
        for p in parents:
            myanc |= anc[p]
        deps = []
        if ids and rng.random() < 0.18:
            cands = [x for x in ids if x not in myanc]
            if not cands or rng.random() < 0.05:
                cands = [x for x in ids if x in myanc]
            for _ in range(2 if rng.random() < 0.2 else 1):
                cands = [x for x in cands if x not in deps and
                         x not in myanc]
                if not cands:
                    break
                d = rng.choice(cands)
                lab = [l for l in revs[ids.index(d)].labels]
                if lab and rng.random() < 0.5:
                    deps.append(rng.choice(lab))
                else:
                    deps.append(d)
                myanc |= anc[d]
        labels = []
        for _ in range(rng.random() < 0.15 and (2 if rng.random() < 0.15
                                                else 1) or 0):
            while True:
                if rng.random() < 0.3:
                    l = rng.choice(ids or [rid])[: rng.randint(2, 5)] + \
                        "lbl" + str(rng.randint(0, 99))
                else:
                    l = "br" + "".join(rng.choice(ALNUM) for _ in range(3))
                if l not in used and l not in labels_used and \
                        l not in RESERVED:
                    break
            labels.append(l)
            labels_used.add(l)
            used.add(l)
        used.add(rid)
        ids.append(rid)
        anc[rid] = myanc | {rid}
        for p in parents:
            if p in heads:
                heads.remove(p)
        heads.append(rid)
        revs.append(Rev(rid, tuple(parents), tuple(deps), tuple(labels)))
    # label names may not equal a later id (Alembic would reject the map)
    return Graph("random graph %d" % idx, revs, kind="random")


def random_states(g, rng, k):
    states = [("empty", []), ("full", list(g.ids))]
    tries = 0
    seen = {frozenset(), frozenset(g.ids)}
    while len(states) < k + 2 and tries < 20:
        tries += 1
        picks = rng.sample(g.ids, min(len(g.ids), rng.randint(1, 3)))
        cl = frozenset(g.closure(picks))
        if cl in seen:
            continue
        seen.add(cl)
        states.append(("random", picks))
    return states


def classic_states(g, max_single=6, pairs=4):
    """Empty, full, the closures of single revisions (at most max_single of
    them, spread over the registration order) and a few pairs."""
    states = [("empty", []), ("full", list(g.ids))]
    seen = {frozenset(), frozenset(g.ids)}
    singles = []
    for rid in g.ids:
        cl = frozenset(g.closure([rid]))
        if cl not in seen:
            seen.add(cl)
            singles.append(rid)
    if len(singles) > max_single:
        step = len(singles) / float(max_single)
        singles = [singles[int(i * step)] for i in range(max_single)]
    states.extend(("closure", [rid]) for rid in singles)
    rng = random.Random(g.name)
    added = 0
    for _ in range(30):
        if added >= pairs:
            break
        picks = rng.sample(g.ids, min(2, len(g.ids)))
        cl = frozenset(g.closure(picks))
        if cl not in seen:
            seen.add(cl)
            states.append(("pair", picks))
            added += 1
    return states


# ---------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------

# Strings outside the grammar.  Their mismatches are reported on a separate
# TAP line per graph ("garbage targets") so that they do not drown the rest.
GARBAGE = [
    ("garbage: unknown name", ["nonexistent", "zzzzzzzz", "None", "none",
                               "a" * 70]),
    ("garbage: empty or blank", ["", " ", "head ", " base"]),
    ("garbage: wrong case keyword", ["HEAD", "Heads", "Base"]),
    ("garbage: keyword as qualifier", ["head@head", "heads@heads", "base@base",
                                       "base@head", "head@base", "base@+1",
                                       "heads@+1", "head@-1"]),
    ("garbage: empty qualifier", ["@head", "@", "x@", "@@", "@+1", "@-1"]),
    ("garbage: range or list syntax", [":", "head:base", "heads,head"]),
    ("garbage: bare sign or double sign", ["+", "-", "++1", "--1", "+-1"]),
    ("garbage: junk after a relative step", ["+1+1", "-1x", "+1 "]),
    ("garbage: bare number", ["1", "0"]),
    ("garbage: quote or backslash", ["'", "\\"]),
]


def gen_targets(g, rng, rel_ids_max=None):
    out = []
    seen = set()

    def add(t, shape):
        if t not in seen:
            seen.add(t)
            out.append((t, shape))

    for t in ("heads", "head", "base"):
        add(t, t)
    for t in ("+1", "+2", "-1", "-2", "+0", "-0", "+9"):
        add(t, "%sN" % t[0])
    for t in ("base+1", "base+2", "base+3", "base-1", "head-1", "head-2",
              "heads-1", "head+1", "heads+1", "head+0"):
        add(t, re.sub(r"\d+", "N", t))
    for i in g.ids:
        add(i, "id")
    for name in g.ids + g.labels:
        for n in range(1, 7):
            if n < len(name):
                add(name[:n], "prefix(len<4)" if n < 4 else "prefix(len>=4)")
    rel = list(g.ids)
    if rel_ids_max is not None and len(rel) > rel_ids_max:
        rel = rng.sample(rel, rel_ids_max)
    for i in rel:
        add(i + "@head", "id@head")
        add(i + "@heads", "id@heads")
        add(i + "@base", "id@base")
        add(i + "+1", "id+N")
        add(i + "+2", "id+N")
        add(i + "-1", "id-N")
        add(i + "-2", "id-N")
        add(i + "@+1", "id@+N")
        add(i + "@-1", "id@-N")
        add(i + "+1x", "garbage: junk after a relative step")
        if len(i) >= 5:
            add(i[:4] + "@head", "prefix@head")
            add(i[:4] + "+1", "prefix+N")
            add(i[:4] + "-1", "prefix-N")
    for l in g.labels:
        add(l, "label")
        for suffix, shape in (("@head", "label@head"), ("@heads", "label@heads"),
                              ("@base", "label@base"), ("@+1", "label@+N"),
                              ("@+2", "label@+N"), ("@-1", "label@-N"),
                              ("@-2", "label@-N"), ("@base+1", "label@base+N"),
                              ("@base+2", "label@base+N"),
                              ("@head-1", "label@head-N"),
                              ("@heads-1", "label@heads-N"),
                              ("@nosuch", "label@garbage")):
            add(l + suffix, shape)
        for i in rng.sample(g.ids, min(4, len(g.ids))):
            add(l + "@" + i, "label@id")
            add(l + "@" + i + "+1", "label@id+N")
            add(l + "@" + i + "-1", "label@id-N")
    for _ in range(min(8, len(g.ids))):
        a, b = rng.choice(g.ids), rng.choice(g.ids)
        add(a + "@" + b, "id@id")
        if len(a) >= 5:
            add(a[:4] + "@" + b, "prefix@id")
    for t in ("nosuch@head", "nosuch@base", "nosuch@+1", "nosuch@-1"):
        add(t, "unknown@x")
    for shape, ts in GARBAGE:
        for t in ts:
            add(t, shape)
    return out


def gen_ranges(g, rng):
    """Ranges for migrate.history(range) / 'alembic history -r'."""
    out = [(None, "no range")]
    seen = {None}

    def add(t, shape):
        if t not in seen:
            seen.add(t)
            out.append((t, shape))

    ids = rng.sample(g.ids, min(4, len(g.ids)))
    lows = ["", "base"] + ids + [l + "@base" for l in g.labels[:2]] + \
        [i[:4] for i in ids[:1] if len(i) > 4] + [ids[0] + "@base"]
    highs = ["", "heads", "head"] + ids + [l + "@head" for l in g.labels[:2]] \
        + g.labels[:1]
    for a in lows:
        for b in highs:
            add("%s:%s" % (a, b), "range")
    for a in ids[:2]:
        add("%s-1:%s" % (a, a), "range with relative end")
        add("%s:%s+1" % (a, a), "range with relative end")
    add("-1:heads", "range with relative end")
    add("base:+1", "range with relative end")
    for t in ("heads", ids[0], "a:b:c", "::", " %s : heads " % ids[0],
              "current:heads", "base:current"):
        add(t, "garbage: range")
    return out


# ---------------------------------------------------------------------------
# Alembic side
# ---------------------------------------------------------------------------

class _Anything:
    """Absorbs the SQL-building calls HeadMaintainer makes on its context."""
    as_sql = True   # skip the rowcount checks: there is no real table

    def __getattr__(self, name):
        return self

    def __call__(self, *a, **kw):
        return self

    def __eq__(self, other):
        return self

    __hash__ = object.__hash__


class _ScriptStub:
    """Just enough of ScriptDirectory to run its own _stamp_revs."""
    _catch_revision_errors = ScriptDirectory._catch_revision_errors
    get_revisions = ScriptDirectory.get_revisions
    _stamp_revs = ScriptDirectory._stamp_revs

    def __init__(self, revmap):
        self.revision_map = revmap


def _alembic(fn):
    try:
        return ("ok", fn())
    except Exception as e:  # noqa: any failure is an "error" outcome
        from alembic.script.revision import RevisionError
        from alembic.util import CommandError
        name = type(e).__name__
        if not isinstance(e, (RevisionError, CommandError, AssertionError)):
            name += " [alembic internal]"
        msg = str(e).splitlines()[0] if str(e) else ""
        return ("err", "%s: %s" % (name, msg))


def _ids(revs):
    return frozenset(r.revision for r in revs if isinstance(r, Revision))


class AlembicSide:
    def __init__(self, g):
        self.g = g
        self.map_error = None
        self.revmap = g.revmap()
        try:
            self.revmap._revision_map
        except Exception as e:
            self.map_error = "%s: %s" % (type(e).__name__, e)
        self.script = _ScriptStub(self.revmap)
        self._resolve_cache = {}
        self._history_cache = {}

    def heads(self):
        return _alembic(lambda: frozenset(self.revmap.heads))

    def bases(self):
        return _alembic(lambda: frozenset(self.revmap.bases))

    def resolve(self, t):
        if t not in self._resolve_cache:
            self._resolve_cache[t] = _alembic(
                lambda: _ids(self.revmap.get_revisions(t)))
        return self._resolve_cache[t]

    def history(self, rng_):
        """What 'alembic history -r rng_' lists (command.history parsing,
        then ScriptDirectory.walk_revisions)."""
        if rng_ not in self._history_cache:
            def run():
                if rng_ is None:
                    base = head = None
                else:
                    if ":" not in rng_:
                        raise ValueError("History range requires [start]:[end]")
                    base, head = rng_.strip().split(":")
                return _ids(list(self.revmap.iterate_revisions(
                    head or "heads", base or "base", inclusive=True,
                    assert_relative_length=False)))
            self._history_cache[rng_] = _alembic(run)
        return self._history_cache[rng_]

    def upgrade(self, t, current):
        return _alembic(lambda: _ids(list(self.revmap.iterate_revisions(
            t, tuple(current), implicit_base=True))))

    def downgrade(self, t, current):
        return _alembic(lambda: _ids(list(self.revmap.iterate_revisions(
            tuple(current), t, select_for_downgrade=True))))

    def stamp(self, t, current):
        def run():
            steps = self.script._stamp_revs((t,), tuple(current))
            hm = HeadMaintainer(_Anything(), tuple(current))
            for step in steps:
                hm.update_to_step(step)
            return frozenset(self.g.closure(hm.heads))
        return _alembic(run)


# ---------------------------------------------------------------------------
# Our side
# ---------------------------------------------------------------------------

HELPER_SQL = r"""
CREATE SCHEMA IF NOT EXISTS difftest;
CREATE OR REPLACE FUNCTION difftest.batch(kind text, targets text[],
                                          reset_sql text)
RETURNS TABLE(idx integer, ok boolean, result text[], err_state text,
              err_msg text)
LANGUAGE plpgsql AS $f$
DECLARE
  i integer;
BEGIN
  FOR i IN 1 .. coalesce(array_length(targets, 1), 0) LOOP
    idx := i; ok := true; result := NULL; err_state := NULL; err_msg := NULL;
    BEGIN
      IF kind IN ('upgrade', 'downgrade') THEN
        EXECUTE 'SELECT coalesce(array_agg(p.revision ORDER BY p.step), ''{}'')'
                ' FROM migrate.plan($1, $2) p'
          INTO result USING targets[i], kind;
      ELSIF kind = 'resolve' THEN
        EXECUTE 'SELECT coalesce(array_agg(r.revision), ''{}'')'
                ' FROM migrate.resolve($1) r'
          INTO result USING targets[i];
      ELSIF kind = 'show' THEN
        EXECUTE 'SELECT coalesce(array_agg(s.revision), ''{}'')'
                ' FROM migrate.show($1) s'
          INTO result USING targets[i];
      ELSIF kind = 'history' THEN
        EXECUTE 'SELECT coalesce(array_agg(h.revision ORDER BY h.n), ''{}'')'
                ' FROM migrate.history($1) WITH ORDINALITY'
                ' AS h(revision, dr, dep, bl, msg, ih, ibp, im, ap, ra, n)'
          INTO result USING targets[i];
      ELSIF kind = 'stamp' THEN
        -- reset_sql NULL: the state is already set; undo the stamp by
        -- rolling back this block's subtransaction (raising P0999 after
        -- reading the result, which plpgsql variables keep).
        IF reset_sql IS NOT NULL THEN
          EXECUTE reset_sql;
        END IF;
        EXECUTE 'SELECT count(*) FROM migrate.stamp($1::text)'
          USING targets[i];
        EXECUTE 'SELECT coalesce(array_agg(a.revision), ''{}'')'
                ' FROM migrate.applied a'
          INTO result;
        IF reset_sql IS NULL THEN
          RAISE EXCEPTION 'undo' USING ERRCODE = 'P0999';
        END IF;
      ELSE
        RAISE EXCEPTION 'unknown kind %', kind;
      END IF;
    EXCEPTION WHEN SQLSTATE 'P0999' THEN
      NULL;  -- the stamp above, undone; result and ok are kept
    WHEN OTHERS THEN
      ok := false;
      GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE,
                              err_msg = MESSAGE_TEXT;
    END;
    RETURN NEXT;
  END LOOP;
END
$f$;
"""


class DB:
    def __init__(self, dbname):
        import psycopg2
        self.psycopg2 = psycopg2
        self.dbname = dbname
        self.conn = None
        self.lost = 0
        self.connect()

    def connect(self):
        kw = {"dbname": self.dbname} if self.dbname else {}
        last = None
        for attempt in range(30):
            try:
                self.conn = self.psycopg2.connect(**kw)
                break
            except self.psycopg2.OperationalError as e:
                last = e
                time.sleep(0.5)
        else:
            raise last
        self.conn.autocommit = True
        with self.conn.cursor() as cur:
            cur.execute("SET client_min_messages = warning")
            cur.execute("SET statement_timeout = '120s'")

    def q(self, sql, params=None, timeout=None):
        """('ok', rows) or ('err', 'SQLSTATE: message')."""
        pe = self.psycopg2
        try:
            with self.conn.cursor() as cur:
                if timeout:
                    cur.execute("SET statement_timeout = %s", (timeout,))
                try:
                    cur.execute(sql, params)
                    rows = cur.fetchall() if cur.description else []
                finally:
                    if timeout and not self.conn.closed:
                        try:
                            cur.execute("SET statement_timeout = '120s'")
                        except pe.Error:
                            pass
            return ("ok", rows)
        except (pe.OperationalError, pe.InterfaceError) as e:
            if self.conn.closed or getattr(e, "pgcode", None) is None:
                self.lost += 1
                try:
                    self.conn.close()
                except Exception:
                    pass
                self.connect()
                return ("err", "CONNECTION LOST (backend crash?): %s" %
                        str(e).strip().splitlines()[0] if str(e).strip()
                        else "CONNECTION LOST")
            return ("err", "%s: %s" % (e.pgcode, (
                e.diag.message_primary or str(e)).strip()))
        except pe.Error as e:
            msg = (e.diag.message_primary or str(e)).strip()
            return ("err", "%s: %s" % (e.pgcode, msg))

    def setup_helper(self):
        return self.q(HELPER_SQL)

    def batch(self, kind, targets, reset_sql=None):
        """Outcome per target: ('ok', list) or ('err', 'SQLSTATE: msg')."""
        st, rows = self.q("SELECT idx, ok, result, err_state, err_msg "
                          "FROM difftest.batch(%s, %s::text[], %s)",
                          (kind, list(targets), reset_sql))
        if st == "ok" and len(rows) == len(targets):
            res = [None] * len(targets)
            for idx, ok, result, es, em in rows:
                res[idx - 1] = ("ok", list(result or [])) if ok else \
                    ("err", "%s: %s" % (es, em))
            return res
        # the batch died: go target by target, with a short timeout
        res = []
        for t in targets:
            st, rows = self.q("SELECT idx, ok, result, err_state, err_msg "
                              "FROM difftest.batch(%s, ARRAY[%s]::text[], %s)",
                              (kind, t, reset_sql), timeout="10s")
            if st == "ok" and rows:
                idx, ok, result, es, em = rows[0]
                res.append(("ok", list(result or [])) if ok else
                           ("err", "%s: %s" % (es, em)))
            else:
                res.append(("err", "BATCH FAILURE %s" % rows))
        return res


# ---------------------------------------------------------------------------
# Comparison and reporting
# ---------------------------------------------------------------------------

def fmt_set(s):
    return "{" + ",".join(sorted(s)) + "}"


def fmt_outcome(o, ordered=False):
    st, v = o
    if st == "err":
        return "ERROR " + (v if len(v) <= 160 else v[:157] + "...")
    if ordered:
        return "[" + ",".join(v) + "]"
    return fmt_set(v)


STAMP_SKIP = {"prefix(len<4)", "prefix(len>=4)", "label@id+N", "label@id-N",
              "garbage: junk after a relative step"}


# pg_migrate's README lists deliberate differences from Alembic.  A mismatch
# that fits one of them exactly is tagged with it; with --allow-documented it
# is reported but does not fail its TAP line.
_ALEMBIC_REL = re.compile(r"(?:(.+?)@)?(\w+)?((?:\+|-)\d+)")   # .match()


def documented(m):
    t = m.target
    if t is None or m.raw_ours is None or m.raw_theirs is None:
        return None
    ours_err = m.raw_ours[0] == "err"
    al_err = m.raw_theirs[0] == "err"
    garbage = m.shape.startswith("garbage")
    if m.category in ("resolve", "show") and re.search(r"[+-]\d", t) \
            and not garbage:
        return "resolve() understands relative targets"
    if ours_err and not al_err and _ALEMBIC_REL.match(t) and \
            not _ALEMBIC_REL.fullmatch(t):
        return "a relative target must be the whole string"
    if t == "" and ours_err:
        return "an empty target is an error"
    if re.fullmatch(r"-\d+", t) and len(m.current) > 1 and ours_err \
            and not al_err and m.category in ("upgrade", "downgrade"):
        return "-N from several current revisions is an error"
    qual = t.split("@", 1)[0] if "@" in t else None
    if ours_err and qual is not None and qual in ("", "head", "heads", "base"):
        return "a branch qualifier must name a branch"
    if ours_err and not al_err and "no such branch" in m.raw_ours[1]:
        return "an unknown branch qualifier is always an error"
    if al_err and not ours_err and ("[alembic internal]" in m.raw_theirs[1]
                                    or m.raw_theirs[1].startswith(
                                        "AssertionError")):
        return "answers where Alembic fails internally"
    if m.category == "stamp" and not ours_err and not al_err and \
            not garbage and m.raw_theirs[1] < frozenset(m.raw_ours[1]) and \
            frozenset(m.raw_ours[1]) - m.raw_theirs[1] <= m.state:
        # what we keep beyond Alembic was applied before the stamp
        return "stamp never drops a branch it does not move"
    return None


class Mismatch:
    def __init__(self, graph, category, target, shape, state, current, ours,
                 theirs, why, raw_ours=None, raw_theirs=None):
        self.raw_ours = raw_ours
        self.raw_theirs = raw_theirs
        self.graph = graph
        self.category = category
        self.target = target
        self.shape = shape
        self.state = state
        self.current = current
        self.ours = ours
        self.theirs = theirs
        self.why = why
        self.doc = documented(self)

    def line(self):
        tgt = "" if self.target is None else "target %r " % self.target
        st = "" if self.state is None else "state %s current [%s]: " % (
            fmt_set(self.state), ",".join(self.current))
        return "%s%s%s; ours %s; alembic %s%s" % (
            tgt, st, self.why, self.ours, self.theirs,
            " [documented: %s]" % self.doc if self.doc else "")

    def kind(self):
        return (self.category, self.shape, self.why, self.doc)

    def size(self):
        return (len(self.graph.revs), len(self.state or ()),
                len(self.target or ""))


def outcome_kind(ours, theirs):
    if ours[0] == "err" and theirs[0] == "ok":
        return "ours error, alembic ok"
    if ours[0] == "ok" and theirs[0] == "err":
        if "[alembic internal]" in theirs[1]:
            return "ours ok, alembic crashes (%s)" % theirs[1].split(" ")[0]
        return "ours ok, alembic error"
    return "sets differ"


def check_order(g, seq, direction):
    """Return a problem string or None."""
    if len(seq) != len(set(seq)):
        return "duplicate steps"
    pos = {r: i for i, r in enumerate(seq)}
    for r in seq:
        if r not in g.by_id:
            return "unknown revision %s in plan" % r
        for p in g.links(r):
            if p in pos:
                if direction == "upgrade" and pos[p] > pos[r]:
                    return "%s planned before its ancestor %s" % (r, p)
                if direction == "downgrade" and pos[p] < pos[r]:
                    return "%s planned after its ancestor %s" % (r, p)
    return None


class Runner:
    def __init__(self, args):
        self.args = args
        self.db = None if args.alembic_only else DB(args.dbname)
        self.n = 0
        self.failed = 0
        self.kinds = collections.OrderedDict()   # kind -> [count, smallest]
        self.checks = 0
        self.timing = collections.Counter()

    # -- TAP -----------------------------------------------------------------
    def emit(self, ok, desc, mismatches=(), notes=()):
        mismatches = list(mismatches)
        if mismatches and self.args.allow_documented:
            real = [m for m in mismatches if not m.doc]
            ndoc = len(mismatches) - len(real)
            if ndoc:
                notes = list(notes) + [
                    "%d mismatches are documented differences (README), "
                    "not counted" % ndoc]
                for m in mismatches:
                    if m.doc:
                        self.record_kind(m)
                mismatches = real
                ok = not real
        self.n += 1
        if not ok:
            self.failed += 1
        print("%s %d - %s" % ("ok" if ok else "not ok", self.n, desc))
        for m in list(mismatches)[: self.args.show]:
            print("#   " + m.line())
        if len(mismatches) > self.args.show:
            print("#   ... and %d more" % (len(mismatches) - self.args.show))
        for n in notes:
            print("#   " + n)
        sys.stdout.flush()
        for m in mismatches:
            self.record_kind(m)

    def record_kind(self, m):
        k = m.kind()
        if k not in self.kinds:
            self.kinds[k] = [0, m]
        self.kinds[k][0] += 1
        if m.size() < self.kinds[k][1].size():
            self.kinds[k][1] = m

    # -- one graph -----------------------------------------------------------
    def load(self, g):
        db = self.db
        st, rows = db.q("DROP EXTENSION IF EXISTS pg_migrate CASCADE")
        if st == "ok":
            st, rows = db.q("CREATE EXTENSION pg_migrate")
        if st != "ok":
            print("Bail out! cannot (re)create extension pg_migrate: %s" % rows)
            sys.exit(2)
        for r in g.revs:
            st, rows = db.q(
                "SELECT migrate.revision(id => %s, down_revision => %s::text[],"
                " depends_on => %s::text[], branch_labels => %s::text[],"
                " upgrade => 'SELECT 1', message => %s)",
                (r.id, list(r.parents), list(r.deps) or None,
                 list(r.labels) or None, "revision " + r.id))
            if st != "ok":
                return "registering %s: %s" % (r.id, rows)
            if rows and rows[0][0] != r.id:
                return "registering %s returned %r" % (r.id, rows[0][0])
        return None

    def run_invalid(self, g):
        al = AlembicSide(g)
        if self.args.alembic_only:
            print("# %s: alembic: %s" % (g.name, al.map_error))
            return
        err = self.load(g)
        if err is None:
            st, rows = self.db.q(
                "SELECT count(*) FROM migrate.plan('heads', 'upgrade')")
            ours = ("ok", []) if st == "ok" else ("err", rows)
        else:
            ours = ("err", err)
        theirs = ("err", al.map_error) if al.map_error else ("ok", [])
        ok = (ours[0] == theirs[0])
        mm = [] if ok else [Mismatch(g, "invalid graph", None, "graph", None,
                                     [], fmt_outcome(ours),
                                     fmt_outcome(theirs),
                                     outcome_kind(ours, theirs))]
        self.emit(ok, "%s: rejected like alembic" % g.name, mm,
                  notes=["graph: " + g.spec()] if not ok else ())

    def run_graph(self, g, states, targets, ranges):
        al = AlembicSide(g)
        if al.map_error:
            self.emit(False, "%s: alembic rejects the graph: %s"
                      % (g.name, al.map_error), notes=["graph: " + g.spec()])
            return
        if self.args.alembic_only:
            self.print_alembic(g, al, states, targets, ranges)
            return

        err = self.load(g)
        if err:
            self.emit(False, "%s: load %d revisions" % (g.name, len(g.revs)),
                      [Mismatch(g, "load", None, "load", None, [], "ERROR " + err,
                                "ok", "registration failed")],
                      notes=["graph: " + g.spec()])
            return
        self.emit(True, "%s: load %d revisions" % (g.name, len(g.revs)))
        db = self.db

        # listing
        mm = []
        for fn, alfn in (("heads", al.heads), ("bases", al.bases)):
            st, rows = db.q("SELECT revision FROM migrate.%s()" % fn)
            ours = (st, frozenset(r[0] for r in rows)) if st == "ok" else (st, rows)
            theirs = alfn()
            self.checks += 1
            if not (ours[0] == theirs[0] == "err" or ours == theirs):
                mm.append(Mismatch(g, "listing", "migrate.%s()" % fn, fn,
                                   None, [], fmt_outcome(ours),
                                   fmt_outcome(theirs),
                                   outcome_kind(ours, theirs)))
        self.emit(not mm, "%s: heads() and bases() listings" % g.name, mm,
                  notes=["graph: " + g.spec()] if mm else ())

        cats = collections.OrderedDict(
            (c, []) for c in ("state", "resolve", "show", "history",
                              "upgrade", "downgrade", "stamp", "garbage"))
        counts = collections.Counter()
        tlist = [t for t, _ in targets]
        shape = dict(targets)
        # stamp resolves its target like upgrade does: prefixes and some
        # relative forms add nothing there but time (stamps write), so they
        # are left out
        stamp_list = [t for t in tlist if shape[t] not in STAMP_SKIP]
        hlist = [t for t, _ in ranges]
        hshape = dict(ranges)
        for sname, picks in states:
            closed = frozenset(g.closure(picks))
            cur = g.minimal(closed)
            reset_sql = db.conn.cursor().mogrify(
                "SELECT count(*) FROM migrate.stamp(%s::text[], purge => true)",
                (list(picks),)).decode()
            st, rows = db.q(reset_sql)
            counts["state"] += 1
            if st != "ok" and not picks:
                reset_sql = "SELECT count(*) FROM migrate.stamp('base'::text," \
                            " purge => true)"
                st2, rows2 = db.q(reset_sql)
                cats["state"].append(Mismatch(
                    g, "state", "stamp(ARRAY[]::text[], purge => true)",
                    "empty stamp", closed, cur, "ERROR " + rows, "{}",
                    "purge stamp of an empty array fails"))
                st, rows = st2, rows2
            if st != "ok":
                cats["state"].append(Mismatch(
                    g, "state", "stamp(%s, purge => true)" % fmt_set(picks),
                    "state stamp", closed, cur, "ERROR " + rows,
                    fmt_set(closed), "cannot set up the state"))
                continue
            st, rows = db.q("SELECT revision FROM migrate.applied")
            applied = frozenset(r[0] for r in rows) if st == "ok" else None
            if applied != closed:
                cats["state"].append(Mismatch(
                    g, "state", "stamp(%s, purge => true)" % fmt_set(picks),
                    "state stamp", closed, cur,
                    fmt_set(applied) if applied is not None else rows,
                    fmt_set(closed), "applied set is not the closure"))
                continue
            st, rows = db.q("SELECT revision FROM migrate.current()")
            counts["state"] += 1
            ourcur = frozenset(r[0] for r in rows) if st == "ok" else None
            if ourcur != frozenset(cur):
                cats["state"].append(Mismatch(
                    g, "state", "current()", "current", closed, cur,
                    fmt_set(ourcur) if ourcur is not None else "ERROR " + rows,
                    fmt_set(cur), "current() is not the minimal elements"))

            for kind in ("resolve", "show", "history", "upgrade", "downgrade",
                         "stamp"):
                # show and history only in the first two states (empty, full):
                # Alembic's answers do not depend on the state there
                if kind in ("show", "history") and \
                        (sname, picks) not in states[:2]:
                    continue
                if kind == "stamp":
                    klist, kshape = stamp_list, shape
                elif kind == "history":
                    klist, kshape = hlist, hshape
                else:
                    klist, kshape = tlist, shape
                t0 = time.time()
                ours_all = db.batch(
                    kind, klist,
                    reset_sql if self.args.stamp_reset == "purge" else None)
                t1 = time.time()
                self.timing["ours " + kind] += t1 - t0
                for t, ours in zip(klist, ours_all):
                    counts[kind] += 1
                    self.checks += 1
                    if kind in ("resolve", "show"):
                        theirs = al.resolve(t)
                    elif kind == "history":
                        theirs = al.history(t)
                    elif kind == "upgrade":
                        theirs = al.upgrade(t, cur)
                    elif kind == "downgrade":
                        theirs = al.downgrade(t, cur)
                    else:
                        theirs = al.stamp(t, cur)
                    cat = "garbage" if kshape[t].startswith("garbage") \
                        else kind
                    ordered = kind in ("upgrade", "downgrade", "history")
                    if ours[0] == "err" and theirs[0] == "err":
                        continue
                    if ours[0] == "ok" and theirs[0] == "ok":
                        ourset = frozenset(ours[1])
                        if ourset == theirs[1]:
                            if ordered:
                                prob = check_order(
                                    g, ours[1],
                                    "upgrade" if kind == "upgrade"
                                    else "downgrade")
                                if prob:
                                    cats[cat].append(Mismatch(
                                        g, kind, t, kshape[t], closed, cur,
                                        fmt_outcome(ours, ordered=True),
                                        fmt_outcome(theirs),
                                        "invalid order (%s)" % prob))
                            continue
                    cats[cat].append(Mismatch(
                        g, kind, t, kshape[t], closed, cur,
                        fmt_outcome(ours, ordered=ordered),
                        fmt_outcome(theirs), outcome_kind(ours, theirs),
                        raw_ours=ours, raw_theirs=theirs))
                self.timing["alembic " + kind] += time.time() - t1

        titles = {"state": "applied states and current()",
                  "resolve": "resolve", "show": "show",
                  "history": "history ranges", "upgrade": "upgrade plans",
                  "downgrade": "downgrade plans", "stamp": "stamp",
                  "garbage": "garbage targets (all of the above)"}
        ngarbage = sum(1 for t in tlist if shape[t].startswith("garbage"))
        for c, mm in cats.items():
            if c == "state":
                extra = " (%d states)" % len(states)
            elif c == "garbage":
                extra = " (%d targets x %d states)" % (
                    ngarbage + sum(1 for t in hlist
                                   if hshape[t].startswith("garbage")),
                    len(states))
            elif c == "history":
                extra = " (%d ranges x %d states)" % (
                    sum(1 for t in hlist if not hshape[t].startswith("garbage")),
                    min(2, len(states)))
            elif c == "show":
                extra = " (%d targets x %d states)" % (
                    len(tlist) - ngarbage, min(2, len(states)))
            elif c == "stamp":
                extra = " (%d targets x %d states)" % (
                    len(stamp_list) - ngarbage, len(states))
            else:
                extra = " (%d targets x %d states)" % (
                    len(tlist) - ngarbage, len(states))
            self.emit(not mm, "%s: %s%s" % (g.name, titles[c], extra), mm,
                      notes=["graph: " + g.spec()] if mm else ())

    def print_alembic(self, g, al, states, targets, ranges=()):
        print("# graph %s: %s" % (g.name, g.spec()))
        print("#   heads %s bases %s" % (fmt_outcome(al.heads()),
                                         fmt_outcome(al.bases())))
        for r, _ in ranges:
            print("#   history %-20r %s" % (r, fmt_outcome(al.history(r))))
        for sname, picks in states:
            closed = frozenset(g.closure(picks))
            cur = g.minimal(closed)
            print("#   state %s (%s) current %s" % (fmt_set(closed), sname, cur))
            for t, shape in targets:
                print("#     %-22r resolve %s | up %s | down %s | stamp %s" % (
                    t, fmt_outcome(al.resolve(t)),
                    fmt_outcome(al.upgrade(t, cur)),
                    fmt_outcome(al.downgrade(t, cur)),
                    fmt_outcome(al.stamp(t, cur))))

    def summary(self):
        if not self.kinds:
            return
        print("# ---- distinct kinds of mismatch (category / target shape / "
              "outcome: count; smallest example) ----")
        for (cat, shape, why, doc), (count, m) in self.kinds.items():
            print("# [%s] %s / %s: %d%s" % (
                cat, shape, why, count,
                " (documented difference: %s)" % doc if doc else ""))
            print("#     graph (%s): %s" % (m.graph.name, m.graph.spec()))
            print("#     " + m.line())


def build_graphs(args):
    graphs = []
    for name, spec in CLASSIC:
        revs = parse_spec(spec)
        graphs.append(("classic", Graph(name, revs)))
        if not all(len(r.id) == 12 for r in revs):
            graphs.append(("classic", Graph(name + " [hex ids]",
                                            hexify(name, revs))))
    for name, spec in INVALID:
        graphs.append(("invalid", Graph(name, parse_spec(spec), kind="invalid",
                                        expect_invalid=True)))
    rng = random.Random(args.seed)
    for i in range(1, args.random + 1):
        graphs.append(("random", random_graph(rng, i)))
    return graphs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dbname", default=None,
                    help="database (default: PGDATABASE / libpq default)")
    ap.add_argument("--random", type=int, default=20,
                    help="number of random graphs (default 20)")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--states", type=int, default=3,
                    help="random applied states per random graph")
    ap.add_argument("--graph", default=None,
                    help="only graphs whose name contains this string")
    ap.add_argument("--spec", default=None,
                    help="run a single graph given in the spec notation "
                         "('a; b <- a ~ dep [label]; ...')")
    ap.add_argument("--targets", default=None,
                    help="comma-separated targets instead of the generated ones")
    ap.add_argument("--state", action="append", default=None,
                    help="comma-separated revisions whose closure is an "
                         "applied state to use (repeatable; replaces the "
                         "generated states; '' = empty)")
    ap.add_argument("--ranges", default=None,
                    help="comma-separated history ranges instead of the "
                         "generated ones")
    ap.add_argument("--no-classic", action="store_true")
    ap.add_argument("--stamp-reset", choices=("rollback", "purge"),
                    default="rollback",
                    help="how the state is restored between stamp checks: "
                         "roll back a subtransaction (default, fast) or "
                         "stamp it again with purge => true before each one")
    ap.add_argument("--allow-documented", action="store_true",
                    help="do not fail on mismatches that are exactly one of "
                         "the deliberate differences pg_migrate's README "
                         "lists (they are still counted in the summary)")
    ap.add_argument("--show", type=int, default=5,
                    help="mismatches shown per TAP line")
    ap.add_argument("--alembic-only", action="store_true",
                    help="no database: print Alembic's answers")
    args = ap.parse_args()

    t0 = time.time()
    if args.spec:
        graphs = [("classic", Graph("spec graph", parse_spec(args.spec)))]
    else:
        graphs = build_graphs(args)
        if args.no_classic:
            graphs = [x for x in graphs if x[0] == "random"]
        if args.graph:
            graphs = [x for x in graphs if args.graph in x[1].name]

    runner = Runner(args)
    if runner.db:
        st, rows = runner.db.setup_helper()
        if st != "ok":
            print("Bail out! cannot create helper schema difftest: %s" % rows)
            return 2
    rng = random.Random(args.seed + 1)
    for kind, g in graphs:
        if kind == "invalid":
            runner.run_invalid(g)
            continue
        if args.targets is not None:
            targets = [(t, "given") for t in args.targets.split(",")]
        elif kind == "random" or g.name.endswith("[hex ids]"):
            targets = gen_targets(g, rng, rel_ids_max=5)
        else:
            targets = gen_targets(g, rng)
        if kind == "random" or g.name.endswith("[hex ids]"):
            states = random_states(g, rng, args.states)
        else:
            states = classic_states(g)
        if args.state is not None:
            states = [("given", [x for x in st.split(",") if x])
                      for st in args.state]
        ranges = gen_ranges(g, rng)
        if args.ranges is not None:
            ranges = [(r, "given") for r in args.ranges.split(",")]
        runner.run_graph(g, states, targets, ranges)

    if not args.alembic_only:
        print("1..%d" % runner.n)
        runner.summary()
        print("# %d comparisons, %d failed TAP lines, %.1f s%s" % (
            runner.checks, runner.failed, time.time() - t0,
            ", %d lost connections" % runner.db.lost if runner.db and
            runner.db.lost else ""))
        print("# time: " + ", ".join("%s %.1f s" % kv for kv in
                                     sorted(runner.timing.items())))
    return 1 if runner.failed else 0


if __name__ == "__main__":
    sys.exit(main())
