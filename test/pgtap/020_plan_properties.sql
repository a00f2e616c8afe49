/*
 * 020_plan_properties.sql: properties of migrate.plan() (upgrade and
 * downgrade) and of stamp on randomly generated revision graphs.
 *
 * Six graphs of 20-80 revisions (seeded); for each, six applied states
 * (nothing applied, then random stamps with purge).  In every state:
 *   - upgrade plans to 'heads', to random ids and to label@head;
 *   - downgrade plans to 'base', to random applied revisions and to an
 *     unapplied revision (an error);
 *   - stamp to an upgrade target, then plan(target) is empty;
 *   - the downgrade / upgrade round trip gives the same set of revisions.
 * Every plan is compared with an independent model (recursive CTEs in
 * lib/graph_helpers.psql).  One assertion per property and graph.
 */
BEGIN;
\ir lib/graph_helpers.psql

SELECT plan(50);

/*
 * tap.plan_of: a plan with its rows in output order, or the error it
 * raised.
 */
CREATE FUNCTION tap.plan_of(target text, direction text,
							OUT steps int[], OUT revs text[], OUT ops text[], OUT err text)
LANGUAGE plpgsql AS $$
BEGIN
	SELECT coalesce(array_agg(p.step ORDER BY p.o), '{}'),
		   coalesce(array_agg(p.revision ORDER BY p.o), '{}'),
		   coalesce(array_agg(p.operation ORDER BY p.o), '{}')
	  INTO steps, revs, ops
	  FROM migrate.plan(target, direction) WITH ORDINALITY AS p(step, revision, operation, message, o);
EXCEPTION WHEN OTHERS THEN
	err := SQLSTATE || ': ' || SQLERRM;
END $$;

/* rows numbered 1..n in order, no revision twice, the right operation */
CREATE FUNCTION tap.check_form(prop text, g int, p record, direction text, what text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM tap.note(prop, g,
					 p.steps = ARRAY(SELECT generate_series(1, cardinality(p.revs)))
					 AND cardinality(p.revs) = cardinality(tap.norm(p.revs))
					 AND p.ops <@ ARRAY[direction]
					 AND array_position(p.revs, NULL) IS NULL,
					 format('%s: steps %s, revisions %s, operations %s',
							what, p.steps, p.revs, tap.norm(p.ops)));
END $$;

/*
 * Order: for an upgrade every parent and depends_on target that is in the
 * plan comes earlier; for a downgrade every child and dependent comes
 * earlier.
 */
CREATE FUNCTION tap.check_order(prop text, g int, p record, upgrade boolean, what text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	bad text[];
BEGIN
	bad := ARRAY(
		SELECT format('%s %s %s', l.child, l.kind, l.parent)
		  FROM tap.links() l
		 WHERE l.child = ANY (p.revs) AND l.parent = ANY (p.revs)
		   AND (array_position(p.revs, l.parent) < array_position(p.revs, l.child)) IS DISTINCT FROM upgrade
		 ORDER BY 1);
	PERFORM tap.note(prop, g, bad = '{}',
					 format('%s: plan %s has these links in the wrong order: %s', what, p.revs, bad));
END $$;

/*
 * Upgrade plan to target (seeds = what it resolves to, NULL = an error is
 * expected): form, order, set; then stamp(target) leaves nothing to plan.
 */
CREATE FUNCTION tap.check_upgrade(g int, target text, seeds text[], ctx text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	what	text := format('%s: upgrade to %s', ctx, target);
	applied text[] := tap.applied();
	p		record;
	want	text[];
	after	text[];
	again	record;
BEGIN
	p := tap.plan_of(target, 'upgrade');
	IF seeds IS NULL THEN
		PERFORM tap.note('up_set', g, p.err IS NOT NULL,
						 format('%s: expected an error (several heads on the branch), got plan %s',
								what, p.revs));
		RETURN;
	END IF;
	IF p.err IS NOT NULL THEN
		PERFORM tap.note('up_form', g, false, format('%s: unexpected error %s', what, p.err));
		RETURN;
	END IF;
	PERFORM tap.check_form('up_form', g, p, 'upgrade', what);
	PERFORM tap.check_order('up_order', g, p, true, what);

	want := tap.anc(seeds);
	PERFORM tap.note('up_set', g,
					 tap.same(tap.union_(p.revs, applied), tap.union_(want, applied))
					 AND tap.inter(p.revs, applied) = '{}',
					 format('%s from %s: plan %s; missing %s; extra %s; already applied %s',
							what, tap.current_revs(), tap.norm(p.revs),
							tap.minus(tap.minus(want, applied), p.revs),
							tap.minus(p.revs, want), tap.inter(p.revs, applied)));

	-- stamp to the target: nothing left to plan; an upgrade stamp adds exactly the plan
	PERFORM migrate.stamp(target);
	after := tap.applied();
	again := tap.plan_of(target, 'upgrade');
	PERFORM tap.note('up_stamp', g,
					 again.err IS NULL AND again.revs = '{}'
					 AND (p.revs = '{}' OR tap.same(after, tap.union_(applied, p.revs))),
					 format('%s: after stamp(%s) applied %s (expected %s), plan(%s) = %s %s',
							what, target, after, tap.union_(applied, p.revs), target,
							again.revs, coalesce(again.err, '')));
	-- back to the state we came from
	PERFORM migrate.stamp(applied, purge => true);
	PERFORM tap.note('up_stamp', g, tap.applied() = applied,
					 format('%s: stamp(%s, purge) restored %s', what, applied, tap.applied()));
END $$;

/*
 * Downgrade plan to target: form, order, set (expected: applied
 * descendants, through children and dependents, of the target's children;
 * everything for base; an error when there is nothing to remove and the
 * target is not a current revision); then the round trip.
 */
CREATE FUNCTION tap.check_downgrade(g int, target text, ctx text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	what	text := format('%s: downgrade to %s', ctx, target);
	applied text[] := tap.applied();
	cur		text[] := tap.current_revs();
	p		record;
	want	text[];
	expect_error boolean;
	kept	text[];
	back	text[];
	q		record;
BEGIN
	IF target = 'base' THEN
		want := applied;
		expect_error := false;
	ELSIF target <> ALL (applied) THEN
		want := NULL;
		expect_error := true;
	ELSE
		want := tap.inter(tap.descendants(tap.children(target), true), applied);
		expect_error := want = '{}' AND target <> ALL (cur);
	END IF;

	p := tap.plan_of(target, 'downgrade');
	IF expect_error OR p.err IS NOT NULL THEN
		PERFORM tap.note('down_set', g, expect_error AND p.err IS NOT NULL,
						 format('%s from %s: expected %s, got %s',
								what, cur,
								CASE WHEN expect_error THEN 'an error' ELSE 'plan ' || want::text END,
								coalesce(p.err, 'plan ' || p.revs::text)));
		RETURN;
	END IF;
	PERFORM tap.check_form('down_form', g, p, 'downgrade', what);
	PERFORM tap.check_order('down_order', g, p, false, what);
	kept := tap.minus(applied, p.revs);
	PERFORM tap.note('down_set', g,
					 tap.same(p.revs, want) AND p.revs <@ applied
					 AND (target = 'base' OR target = ANY (kept))
					 AND tap.same(kept, tap.anc(kept)),
					 format('%s from %s: plan %s, expected %s; what stays %s lacks ancestors %s',
							what, cur, tap.norm(p.revs), want, kept,
							tap.minus(tap.anc(kept), kept)));

	-- round trip: move to what the downgrade leaves, then the upgrade plans
	-- back to every previous current revision give the same set of revisions
	IF p.revs = '{}' THEN
		RETURN;
	END IF;
	PERFORM migrate.stamp(kept, purge => true);
	back := '{}';
	FOR i IN 1..cardinality(cur) LOOP
		q := tap.plan_of(cur[i], 'upgrade');
		back := back || coalesce(q.revs, ARRAY['error: ' || q.err]);
	END LOOP;
	PERFORM tap.note('roundtrip', g,
					 tap.applied() = kept AND tap.same(back, p.revs),
					 format('%s from %s: downgrade plan %s, state after stamp %s (expected %s), upgrade plans back %s',
							what, cur, tap.norm(p.revs), tap.applied(), kept, tap.norm(back)));
	PERFORM migrate.stamp(applied, purge => true);
	PERFORM tap.note('roundtrip', g, tap.applied() = applied,
					 format('%s: stamp(%s, purge) restored %s', what, applied, tap.applied()));
END $$;

CREATE FUNCTION tap.check_state(g int, k int) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	ids		text[] := tap.all_ids();
	ctx		text;
	x		text;
	lh		text[];
BEGIN
	IF k = 1 THEN
		PERFORM migrate.stamp('base', purge => true);
	ELSE
		PERFORM migrate.stamp(ARRAY(SELECT DISTINCT tap.pick(ids)
									  FROM generate_series(1, tap.rand_int(1, 3))),
							  purge => true);
	END IF;
	ctx := format('state %s (current %s)', k, tap.current_revs());

	PERFORM tap.check_upgrade(g, 'heads', tap.model_real_heads(), ctx);
	FOR i IN 1..3 LOOP
		x := tap.pick(ids);
		PERFORM tap.check_upgrade(g, x, ARRAY[x], ctx);
	END LOOP;
	FOR x IN SELECT l FROM unnest(tap.labels()) l ORDER BY random() LIMIT 2 LOOP
		lh := tap.label_heads(x);
		PERFORM tap.check_upgrade(g, x || '@head', CASE WHEN cardinality(lh) = 1 THEN lh END, ctx);
	END LOOP;

	PERFORM tap.check_downgrade(g, 'base', ctx);
	FOR i IN 1..3 LOOP
		x := tap.pick(tap.applied());
		IF x IS NOT NULL THEN
			PERFORM tap.check_downgrade(g, x, ctx);
		END IF;
	END LOOP;
	x := tap.pick(tap.minus(ids, tap.applied()));
	IF x IS NOT NULL THEN
		PERFORM tap.check_downgrade(g, x, ctx);
	END IF;
END $$;

DO $$
BEGIN
	PERFORM setseed(0.020);
	FOR g IN 1..6 LOOP
		PERFORM tap.reset_catalog();
		PERFORM tap.gen_graph(g, tap.rand_int(20, 80));
		FOR k IN 1..6 LOOP
			PERFORM tap.check_state(g, k);
		END LOOP;
	END LOOP;
END $$;

SELECT tap.verdict(p.prop, g, p.descr)
  FROM (VALUES
		(1, 'up_form', 'upgrade plans are numbered 1..n, no revision twice, operation upgrade'),
		(2, 'up_order', 'upgrade plans put parents and depends_on targets first'),
		(3, 'up_set', 'upgrade plan = unapplied ancestors of the target'),
		(4, 'up_stamp', 'after stamp(target) plan(target) is empty'),
		(5, 'down_form', 'downgrade plans are numbered 1..n, no revision twice, operation downgrade'),
		(6, 'down_order', 'downgrade plans put children and dependents first'),
		(7, 'down_set', 'downgrade plan = applied descendants above the target'),
		(8, 'roundtrip', 'downgrade then upgrade back plans the same revisions')
	   ) AS p(ord, prop, descr),
	   generate_series(1, 6) AS g
 ORDER BY g, p.ord;

-- the states above did reach the interesting cases
SELECT ok((SELECT count(*) FILTER (WHERE prop = 'down_set' AND detail IS NULL) > 0
			  AND count(*) FILTER (WHERE prop = 'up_set' AND ok) > 100
			  AND count(*) FILTER (WHERE prop = 'roundtrip') > 20
		   FROM tap.obs),
		  'enough upgrade, downgrade and round-trip cases were checked');

/*
 * The smallest case of the rule above with several current revisions:
 * from {r2, r3} (r1 <- r2, r1 <- r3 <- r4), stamp('heads') adds r4 and keeps
 * r2.  Alembic 1.8 would forget r2 here; README ("Stamp never drops a branch
 * it does not move") makes keeping it a deliberate difference.
 */
DO $$
BEGIN
	PERFORM tap.reset_catalog();
	PERFORM migrate.revision(id => 'r1', down_revision => '{}', upgrade => '');
	PERFORM migrate.revision(id => 'r2', down_revision => '{r1}', upgrade => '');
	PERFORM migrate.revision(id => 'r3', down_revision => '{r1}', upgrade => '');
	PERFORM migrate.revision(id => 'r4', down_revision => '{r3}', upgrade => '');
	PERFORM migrate.stamp(ARRAY['r2', 'r3'], purge => true);
	PERFORM migrate.stamp('heads');
END $$;
SELECT is(tap.applied(), ARRAY['r1', 'r2', 'r3', 'r4'],
		  'stamp(heads) from {r2, r3} keeps r2 and adds r4, as upgrade(heads) would');

SELECT * FROM finish();
ROLLBACK;
