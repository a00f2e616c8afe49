#!/usr/bin/python3
"""Reference answers for test_core.c, from Alembic itself (1.8.1 on Debian).

    /usr/bin/python3 test/unit/ref_alembic.py

prints, for the graphs of test_core.c, what Alembic resolves a target to,
which revisions an upgrade or downgrade runs (as sets), what a stamp leaves
applied, and which revisions a history range lists.  It is not run by
"make check"; it documents where the expected values come from.  pg_migrate
deliberately differs in two places: a relative target must be the whole
string (Alembic reads "abcd+1x" as "abcd+1"), and "-1" from several current
revisions is an error (Alembic warns and picks one).
"""
import warnings
from unittest import mock

from alembic.runtime.migration import HeadMaintainer
from alembic.script.base import ScriptDirectory
from alembic.script.revision import Revision, RevisionMap

warnings.simplefilter("ignore")


def graph(spec):
    """The spec syntax of test_core.c: "a; b:a @label; y:x +dep"."""
    revs = []
    for entry in spec.split(";"):
        toks = entry.split()
        rid, _, parents = toks[0].partition(":")
        deps = [d for t in toks[1:] if t[0] == "+" for d in t[1:].split(",")]
        labels = [l for t in toks[1:] if t[0] == "@" for l in t[1:].split(",")]
        parents = tuple(parents.split(",")) if parents else None
        if parents and len(parents) == 1:
            parents = parents[0]
        revs.append(Revision(rid, parents, dependencies=tuple(deps) or None,
                             branch_labels=tuple(labels) or None))
    return lambda: list(revs)


def err(e):
    return "ERR %s: %s" % (type(e).__name__, e)


def resolve(spec, target):
    try:
        return [getattr(r, "revision", r) for r in RevisionMap(graph(spec)).get_revisions(target)]
    except Exception as e:
        return err(e)


def upgrade(spec, current, target):
    try:
        m = RevisionMap(graph(spec))
        return sorted(r.revision for r in m.iterate_revisions(target, tuple(current), implicit_base=True))
    except Exception as e:
        return err(e)


def downgrade(spec, current, target):
    try:
        m = RevisionMap(graph(spec))
        return sorted(r.revision for r in m.iterate_revisions(tuple(current), target, select_for_downgrade=True))
    except Exception as e:
        return err(e)


def stamp(spec, current, target):
    """The applied set (closed under ancestry) after stamping target."""
    m = RevisionMap(graph(spec))
    sd = ScriptDirectory.__new__(ScriptDirectory)
    sd.__dict__["revision_map"] = m
    h = HeadMaintainer(mock.Mock(), list(current))
    try:
        for step in sd._stamp_revs(target, list(current)):
            h.update_to_step(step)
    except Exception as e:
        return err(e)
    if not h.heads:
        return []
    return sorted(r.revision for r in m.iterate_revisions(tuple(h.heads), None))


def history(spec, lower, upper):
    try:
        m = RevisionMap(graph(spec))
        return [r.revision for r in m.iterate_revisions(upper, lower, inclusive=True, assert_relative_length=False)]
    except Exception as e:
        return err(e)


BRANCH = "a; b:a; c1:b @c1branch; c2:b @c2branch; d1:c1; d2:c2"
CHAIN = "a; b:a; c:b; d:c; e:d"
MERGE = "a; b:a; c:a; m:b,c; n:m"
DEP = "a; b:a; x; y:x +b"
STAMPDEP = "a1; b1:a1; c1:b1; a2; b2:a2; c2:b2 +c1; d1:c1; e1:d1; f1:e1"
PREFIX = ("1a2b3c4d; 1a2b9999:1a2b3c4d; 5e6f7a8b:1a2b9999 @feature; "
          "xyz:5e6f7a8b; abcd1234:xyz @abcdlabel")

if __name__ == "__main__":
    for t in ["head", "heads", "1a2b", "1a2b3", "5e6", "xy", "xyz", "feat", "abcd",
              "feature@head", "feature@base", "1a2b9999@xyz", "feature@1a2b"]:
        print("resolve PREFIX", t, resolve(PREFIX, t))
    for t in ["head", "heads", "c1branch@head", "c1@head", "b@head", "c1branch@d2",
              "-1", "c1branch@-1"]:
        print("resolve BRANCH", t, resolve(BRANCH, t))
    for cur in [("d1", "c2"), (), ("c1",), ("b",)]:
        for t in ["heads", "head", "c1branch@head", "c2branch@head", "+1", "+3",
                  "c1branch@+1", "c2branch@+1", "c2branch@+2", "c2branch@+3",
                  "c2+1", "a+2", "b+1", "base+2", "d2", "-1"]:
            print("upgrade BRANCH", cur, t, upgrade(BRANCH, cur, t))
    for t in ["c1branch@base", "c2branch@base", "d1@base", "c2branch@-1", "c1branch@-1",
              "base", "b", "a", "c1branch@b", "c2branch@b", "d1@b", "c2@b",
              "c1branch@b+1", "base+2", "c2branch@base+2", "c2", "-1", "d2", "b+1",
              "c1branch@+1"]:
        print("downgrade BRANCH {d1,c2}", t, downgrade(BRANCH, ("d1", "c2"), t))
    for t in ["+1", "+2", "+3", "+4", "+0", "c+1", "e-2", "a+9", "-1", "heads", "base+3"]:
        print("upgrade CHAIN {b}", t, upgrade(CHAIN, ("b",), t))
    for t in ["-1", "-3", "-4", "-5", "b-1", "e-2", "c+0", "d+1", "-0", "base", "a", "d"]:
        print("downgrade CHAIN {d}", t, downgrade(CHAIN, ("d",), t))
    for t in ["abcd+1x", "+1x", "abcd+1"]:
        print("upgrade abcd-chain {abcd}", t, upgrade("abcd; efgh:abcd; ijkl:efgh", ("abcd",), t))
    for t in ["-1", "-2", "c", "a"]:
        print("downgrade MERGE {n}", t, downgrade(MERGE, ("n",), t))
    for t in ["heads", "b+1", "+1"]:
        print("upgrade MERGE {a}", t, upgrade(MERGE, ("a",), t))
    for t in ["a", "x", "b", "-1", "y@base", "base"]:
        print("downgrade DEP {y}", t, downgrade(DEP, ("y",), t))
    for t in ["y", "heads", "head", "+1"]:
        print("upgrade DEP {}", t, upgrade(DEP, (), t))
    for t in ["c1branch@base", "c2branch@head", "c2branch@base", "c1", "b", "base",
              "heads", "d2"]:
        print("stamp BRANCH {d1,c2}", t, stamp(BRANCH, ("d1", "c2"), t))
    print("stamp BRANCH {} c1", stamp(BRANCH, (), "c1"))
    print("stamp BRANCH {b} c2branch@head", stamp(BRANCH, ("b",), "c2branch@head"))
    print("stamp BRANCH {} (c1, d2)", stamp(BRANCH, (), ("c1", "d2")))
    print("stamp BRANCH {b} (d1, d2)", stamp(BRANCH, ("b",), ("d1", "d2")))
    for t in ["b1", "c1", "d1", "a2"]:
        print("stamp STAMPDEP {e1,c2}", t, stamp(STAMPDEP, ("e1", "c2"), t))
    for lo, up in [("b", "d"), ("base", "c"), ("c", "heads"), ("d", "b"), ("c", "c")]:
        print("history CHAIN", lo, up, history(CHAIN, lo, up))
    for lo, up in [("c1", "d2"), ("b", "heads"), ("c1", "heads"), ("base", "c2branch@head")]:
        print("history BRANCH", lo, up, history(BRANCH, lo, up))
    print("resolve 202311251351", resolve("202311251351; 202311251352:202311251351", "202311251351"))
