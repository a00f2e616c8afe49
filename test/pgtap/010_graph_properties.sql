/*
 * 010_graph_properties.sql: properties of the inspection functions and of
 * stamp on randomly generated revision graphs.
 *
 * Six graphs of 20-80 revisions (seeded, so every run sees the same
 * graphs) are registered one after the other; each is checked against an
 * independent model computed with recursive CTEs (lib/graph_helpers.psql),
 * then moved through ten random stamps.  Observations are collected in
 * tap.obs and turned into one assertion per property and graph.
 */
BEGIN;
\ir lib/graph_helpers.psql

SELECT plan(65);

CREATE TABLE tap.shapes (gid int, nrev int, nbases int, nmerges int, nbranchpoints int,
						 ndeps int, nlabeldeps int, nlabels int, nmergefn int);

/*
 * Static properties of the registered graph.
 */
CREATE FUNCTION tap.check_static(g int) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	rec		record;
	got		text[];
	want	text[];
	pos		jsonb;
	ids		text[] := tap.all_ids();
	mheads	text[] := tap.model_heads();
	x		text;
BEGIN
	-- heads(): exactly the revisions no down_revision names; none has a child
	got := ARRAY(SELECT revision FROM migrate.heads());
	PERFORM tap.note('heads', g, tap.same(got, mheads),
					 format('heads() = %s, expected %s', got, mheads));
	PERFORM tap.note('heads', g, cardinality(got) = cardinality(tap.norm(got)),
					 format('heads() lists a revision twice: %s', got));
	FOR rec IN SELECT * FROM migrate.heads() LOOP
		PERFORM tap.note('heads', g, tap.children(rec.revision) = '{}',
						 format('head %s has children %s', rec.revision, tap.children(rec.revision)));
		PERFORM tap.note('heads', g,
						 rec.is_merge = (SELECT cardinality(down_revision) > 1 FROM migrate.revisions
										  WHERE id = rec.revision),
						 format('head %s: is_merge = %s', rec.revision, rec.is_merge));
	END LOOP;

	-- bases(): exactly the revisions with an empty down_revision
	got := ARRAY(SELECT revision FROM migrate.bases());
	want := ARRAY(SELECT id FROM migrate.revisions WHERE down_revision = '{}');
	PERFORM tap.note('bases', g, tap.same(got, want) AND cardinality(got) = cardinality(want),
					 format('bases() = %s, expected %s', got, want));
	FOR rec IN SELECT b.*, r.down_revision AS dr, r.depends_on AS dep
				 FROM migrate.bases() b LEFT JOIN migrate.revisions r ON r.id = b.revision LOOP
		PERFORM tap.note('bases', g, rec.dr = '{}' AND rec.depends_on = rec.dep,
						 format('base %s has down_revision %s, depends_on %s (catalog %s)',
								rec.revision, rec.dr, rec.depends_on, rec.dep));
	END LOOP;

	-- branches(): the revisions with two or more children, with those children
	got := ARRAY(SELECT revision FROM migrate.branches());
	want := ARRAY(SELECT r.id FROM migrate.revisions r WHERE cardinality(tap.children(r.id)) > 1);
	PERFORM tap.note('branches', g, tap.same(got, want) AND cardinality(got) = cardinality(want),
					 format('branches() = %s, expected %s', got, want));
	FOR rec IN SELECT * FROM migrate.branches() LOOP
		PERFORM tap.note('branches', g,
						 tap.same(rec.children, tap.children(rec.revision))
						 AND cardinality(rec.children) = cardinality(tap.children(rec.revision)),
						 format('branch point %s: children %s, expected %s',
								rec.revision, rec.children, tap.children(rec.revision)));
	END LOOP;

	-- history(): every revision once, children and dependents before parents
	SELECT jsonb_object_agg(revision, n) INTO pos
	  FROM (SELECT revision, row_number() OVER () AS n FROM migrate.history()) h;
	got := ARRAY(SELECT revision FROM migrate.history());
	PERFORM tap.note('history', g, tap.same(got, ids) AND cardinality(got) = cardinality(ids),
					 format('history() lists %s revisions (%s distinct) of %s',
							cardinality(got), cardinality(tap.norm(got)), cardinality(ids)));
	FOR rec IN SELECT * FROM tap.links() LOOP
		PERFORM tap.note('history', g, (pos->>rec.child)::int < (pos->>rec.parent)::int,
						 format('history(): %s (position %s) is listed after its %s %s (position %s)',
								rec.child, pos->>rec.child, rec.kind, rec.parent, pos->>rec.parent));
	END LOOP;
	FOR rec IN SELECT h.*, r.down_revision AS dr FROM migrate.history() h
				 JOIN migrate.revisions r ON r.id = h.revision LOOP
		PERFORM tap.note('history', g,
						 rec.is_head = (rec.revision = ANY (mheads))
						 AND rec.is_merge = (cardinality(rec.dr) > 1)
						 AND rec.is_branch_point = (cardinality(tap.children(rec.revision)) > 1)
						 AND rec.down_revision = rec.dr
						 AND NOT rec.applied,
						 format('history() row of %s: is_head %s, is_merge %s, is_branch_point %s, down_revision %s, applied %s',
								rec.revision, rec.is_head, rec.is_merge, rec.is_branch_point,
								rec.down_revision, rec.applied));
	END LOOP;

	-- resolve(): ids, 'heads' (honours depends_on), label@head
	FOR i IN 1..5 LOOP
		x := tap.pick(ids);
		got := ARRAY(SELECT revision FROM migrate.resolve(x));
		PERFORM tap.note('resolve', g, got = ARRAY[x], format('resolve(%s) = %s', x, got));
	END LOOP;
	got := ARRAY(SELECT revision FROM migrate.resolve('heads'));
	PERFORM tap.note('resolve', g, tap.same(got, tap.model_real_heads()),
					 format('resolve(heads) = %s, expected %s (revisions nothing links to)',
							got, tap.model_real_heads()));
	FOR x IN SELECT l FROM unnest(tap.labels()) l LOOP
		want := tap.label_heads(x);
		IF cardinality(want) = 1 THEN
			got := ARRAY(SELECT revision FROM migrate.resolve(x || '@head'));
			PERFORM tap.note('resolve', g, got = want,
							 format('resolve(%s@head) = %s, expected %s', x, got, want));
		END IF;
	END LOOP;
END $$;

/*
 * One random stamp, then the properties of the state it leaves.
 */
CREATE FUNCTION tap.check_random_stamp(g int, k int) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	st		record;
	before	text[] := tap.applied();
	after	text[];
	marked	text[];
	unmarked text[];
	got		text[];
	want	text[];
	s		record;
	what	text;
BEGIN
	st := tap.random_stamp_targets();
	what := format('stamp #%s %s purge=%s from %s', k, st.targets, st.purge, tap.current_revs());
	IF cardinality(st.targets) = 1 THEN
		CREATE TEMP TABLE stamp_rows ON COMMIT DROP AS
			SELECT * FROM migrate.stamp(st.targets[1], purge => st.purge);
	ELSE
		CREATE TEMP TABLE stamp_rows ON COMMIT DROP AS
			SELECT * FROM migrate.stamp(st.targets, purge => st.purge);
	END IF;
	after := tap.applied();
	marked := ARRAY(SELECT revision FROM stamp_rows WHERE action = 'applied');
	unmarked := ARRAY(SELECT revision FROM stamp_rows WHERE action = 'unapplied');
	DROP TABLE stamp_rows;

	-- the rows stamp() returns are exactly the difference it made
	PERFORM tap.note('stamp_rows', g,
					 tap.same(marked, tap.minus(after, before))
					 AND tap.same(unmarked, tap.minus(before, after))
					 AND cardinality(marked) + cardinality(unmarked)
						 = cardinality(tap.norm(marked || unmarked)),
					 format('%s: returned applied %s unapplied %s; the state went from %s to %s',
							what, marked, unmarked, before, after));

	-- the applied set stays closed under ancestry (parents and depends_on)
	PERFORM tap.note('closure', g, tap.same(after, tap.anc(after)),
					 format('%s: applied %s misses ancestors %s',
							what, after, tap.minus(tap.anc(after), after)));

	-- the stamp reached its target
	IF st.targets = ARRAY['base'] THEN
		IF st.purge THEN
			PERFORM tap.note('stamp_target', g, after = '{}',
							 format('%s: applied %s, expected nothing', what, after));
		END IF;
	ELSIF st.targets = ARRAY['heads'] THEN
		PERFORM tap.note('stamp_target', g, tap.same(after, tap.all_ids()),
						 format('%s: unapplied after stamping heads: %s',
								what, tap.minus(tap.all_ids(), after)));
	ELSIF st.targets[1] LIKE '%@head' THEN
		want := tap.label_heads(split_part(st.targets[1], '@', 1));
		PERFORM tap.note('stamp_target', g, want <@ after,
						 format('%s: %s not applied', what, want));
	ELSIF st.purge THEN
		PERFORM tap.note('stamp_target', g, tap.same(after, tap.anc(st.targets)),
						 format('%s: applied %s, expected exactly the targets and their ancestors %s',
								what, after, tap.anc(st.targets)));
	ELSE
		PERFORM tap.note('stamp_target', g, st.targets <@ after,
						 format('%s: target not applied, applied = %s', what, after));
	END IF;

	-- current(): applied revisions that no applied revision names as parent or depends_on
	got := tap.current_revs();
	PERFORM tap.note('current', g,
					 tap.same(got, tap.model_current()) AND got <@ after
					 AND cardinality(got) = cardinality(tap.norm(got)),
					 format('%s: current() = %s, expected %s', what, got, tap.model_current()));

	-- status(): pending = rows of plan('heads'); current and heads as the listings
	BEGIN
		SELECT * INTO s FROM migrate.status();
	EXCEPTION WHEN OTHERS THEN
		PERFORM tap.note('status', g, false,
						 format('%s: status() raised %s: %s', what, SQLSTATE, SQLERRM));
		RETURN;
	END;
	PERFORM tap.note('status', g,
					 s.pending = (SELECT count(*) FROM migrate.plan('heads'))
					 AND s.pending = cardinality(tap.minus(tap.all_ids(), after))
					 AND tap.same(s.current, got)
					 AND tap.same(s.heads, ARRAY(SELECT revision FROM migrate.heads())),
					 format('%s: status() = (current %s, heads %s, pending %s); plan(heads) has %s rows, %s unapplied',
							what, s.current, s.heads, s.pending,
							(SELECT count(*) FROM migrate.plan('heads')),
							cardinality(tap.minus(tap.all_ids(), after))));
END $$;

DO $$
DECLARE
	n int;
BEGIN
	PERFORM setseed(0.010);
	FOR g IN 1..6 LOOP
		PERFORM tap.reset_catalog();
		n := tap.rand_int(20, 80);
		PERFORM tap.gen_graph(g, n);
		INSERT INTO tap.shapes SELECT g, s.*,
			(SELECT count(*) FROM migrate.events e
			  WHERE e.kind = 'merge' AND e.revision LIKE format('g%sr%%', g))
		  FROM tap.graph_shape() s;
		PERFORM tap.check_static(g);
		FOR k IN 1..10 LOOP
			PERFORM tap.check_random_stamp(g, k);
		END LOOP;
	END LOOP;
END $$;

-- the generator produced what the properties need (these fail if it regresses)
SELECT is((SELECT count(*)::int FROM tap.shapes WHERE nrev BETWEEN 20 AND 80), 6,
		  'six graphs of 20-80 revisions were registered');
SELECT cmp_ok((SELECT min(nbranchpoints) FROM tap.shapes), '>', 0,
			  'every graph has a branch point');
SELECT cmp_ok((SELECT min(nmerges) FROM tap.shapes), '>', 0,
			  'every graph has a merge');
SELECT ok((SELECT sum(nmergefn) > 0 AND sum(nmerges) > sum(nmergefn) FROM tap.shapes),
		  'merges come both from migrate.merge() and from a two-parent down_revision');
SELECT ok((SELECT sum(ndeps) > sum(nlabeldeps) AND sum(nlabeldeps) > 0
				  AND max(nbases) > 1 AND min(nlabels) > 0 FROM tap.shapes),
		  'graphs have depends_on by id and by branch label, several bases and branch labels');

SELECT tap.verdict(p.prop, g, p.descr)
  FROM (VALUES
		(1, 'heads', 'heads() lists exactly the revisions without children'),
		(2, 'bases', 'bases() lists exactly the revisions with an empty down_revision'),
		(3, 'branches', 'branches() lists the branch points with their children'),
		(4, 'history', 'history() lists every revision once, children and dependents first'),
		(5, 'resolve', 'resolve() of ids, heads and label@head'),
		(6, 'stamp_rows', 'stamp() returns exactly the revisions it marked'),
		(7, 'closure', 'the applied set is closed under ancestry after every stamp'),
		(8, 'stamp_target', 'stamp() reaches its target (purge: exactly its ancestry)'),
		(9, 'current', 'current() = applied revisions no applied revision links to'),
		(10, 'status', 'status() pending = rows of plan(heads); current and heads agree')
	   ) AS p(ord, prop, descr),
	   generate_series(1, 6) AS g
 ORDER BY g, p.ord;

SELECT * FROM finish();
ROLLBACK;
