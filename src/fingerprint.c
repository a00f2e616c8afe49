/*-------------------------------------------------------------------------
 *
 * fingerprint.c
 *	  migrate.describe() and migrate.fingerprint(): the catalog definition
 *	  of a set of schemas as sorted, normalized lines, and a SHA-256 over
 *	  them, so that two databases (or one database before and after a
 *	  migration) can be compared.
 *
 * Each object of the schemas becomes one line (kind, object, definition):
 * schemas, extensions (by name, version and schema; their member objects
 * are left out), tables, views and materialized views, columns (type,
 * collation, NOT NULL, default, generated, identity), constraints, indexes,
 * sequences (parameters and owning column), functions, procedures and
 * aggregates, types (enum labels in order, composite attributes in order,
 * domains, ranges, base types), triggers (and whether they are enabled),
 * rules, row-level security policies, and the comment of any of these.
 *
 * What makes the lines stable: objects are named, never numbered, so OIDs
 * and column positions (attnum) do not count, nor does the order in which
 * objects were created; owners and privileges are not described; every
 * sort uses the "C" collation; and the query always runs with search_path
 * = pg_catalog, pg_temp, so that the server's deparsers (pg_get_indexdef,
 * pg_get_constraintdef, format_type ...) qualify every name outside
 * pg_catalog the same way whatever the caller's settings.  Schema names are
 * part of the lines: a schema fingerprinted under another name is a
 * different schema.  The deparsed text comes from the server, so compare
 * fingerprints made by the same PostgreSQL major version.
 *
 * The hash covers a format tag and every line, each field length-prefixed,
 * in sorted order.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/tuplestore.h"

#include "catalog.h"
#include "fingerprint.h"

#define FP_FORMAT "pg_migrate fingerprint 1\n"

/*
 * The lines, sorted.  $1 is an oid[] of schemas, or NULL for every schema
 * except pg_*, information_schema and migrate.  Runs with search_path =
 * pg_catalog, pg_temp (see pgm_fp_compute), so catalog names need no
 * qualification and deparsed names are qualified alike everywhere.
 */
static const char *const DESCRIBE_SQL =
"WITH ns AS ("
"  SELECT n.oid, n.nspname FROM pg_namespace n"
"  WHERE CASE WHEN $1 IS NULL"
"             THEN n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'"
"                  AND n.nspname <> 'migrate'"
"             ELSE n.oid = ANY ($1) END"
"), member AS ("
"  SELECT d.classid, d.objid FROM pg_depend d WHERE d.deptype = 'e'"
"), rel AS ("
"  SELECT c.oid, c.relkind, c.relpersistence, c.reloptions, c.reloftype,"
"         c.relispartition, c.relpartbound, c.relrowsecurity, c.relforcerowsecurity,"
"         quote_ident(ns.nspname) || '.' || quote_ident(c.relname) AS qname"
"  FROM pg_class c JOIN ns ON ns.oid = c.relnamespace"
"  WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S')"
"    AND NOT EXISTS (SELECT 1 FROM member m"
"                    WHERE m.classid = 'pg_class'::regclass AND m.objid = c.oid)"
"), proc AS ("
"  SELECT p.oid, p.prokind, p.proparallel,"
"         quote_ident(ns.nspname) || '.' || quote_ident(p.proname) AS qname"
"  FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace"
"  WHERE NOT EXISTS (SELECT 1 FROM member m"
"                    WHERE m.classid = 'pg_proc'::regclass AND m.objid = p.oid)"
/* a range type's constructors are part of the type */
"    AND NOT EXISTS (SELECT 1 FROM pg_depend d"
"                    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid"
"                      AND d.deptype = 'i')"
"), typ AS ("
"  SELECT t.oid, t.typtype, t.typrelid, t.typbasetype, t.typtypmod, t.typnotnull,"
"         t.typdefaultbin, t.typcollation, t.typinput, t.typoutput, t.typreceive,"
"         t.typsend, t.typmodin, t.typmodout, t.typanalyze, t.typlen, t.typbyval,"
"         t.typalign, t.typstorage, t.typcategory, t.typispreferred, t.typdelim,"
"         t.typelem,"
"         quote_ident(ns.nspname) || '.' || quote_ident(t.typname) AS qname"
"  FROM pg_type t JOIN ns ON ns.oid = t.typnamespace"
"  WHERE t.typtype <> 'm'"
"    AND (t.typrelid = 0 OR EXISTS (SELECT 1 FROM pg_class c"
"                                   WHERE c.oid = t.typrelid AND c.relkind = 'c'))"
"    AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = t.oid)"
"    AND NOT EXISTS (SELECT 1 FROM member m"
"                    WHERE m.classid = 'pg_type'::regclass AND m.objid = t.oid)"
"), objs (classid, objid, objsubid, kind, object, definition) AS ("
/* schemas */
"  SELECT 'pg_namespace'::regclass::oid, ns.oid, 0, 'schema', quote_ident(ns.nspname), ''"
"  FROM ns"
/* extensions: name, version and schema stand for their members */
"  UNION ALL"
"  SELECT 'pg_extension'::regclass::oid, e.oid, 0, 'extension', quote_ident(e.extname),"
"         'version ' || quote_literal(e.extversion) || ' schema ' || quote_ident(ns.nspname)"
"  FROM pg_extension e JOIN ns ON ns.oid = e.extnamespace"
/* tables, foreign tables, views, materialized views */
"  UNION ALL"
"  SELECT 'pg_class'::regclass::oid, r.oid, 0,"
"         CASE r.relkind WHEN 'f' THEN 'foreign table' WHEN 'v' THEN 'view'"
"                        WHEN 'm' THEN 'materialized view' ELSE 'table' END,"
"         r.qname,"
"         concat_ws(' ',"
"           CASE WHEN r.relpersistence = 'u' THEN 'unlogged' END,"
"           'of type ' || format_type(NULLIF(r.reloftype, 0), NULL),"
"           CASE WHEN r.relispartition THEN 'partition of ' ||"
"             (SELECT string_agg(i.inhparent::regclass::text, ', ')"
"              FROM pg_inherits i WHERE i.inhrelid = r.oid) ||"
"             ' ' || pg_get_expr(r.relpartbound, r.oid) END,"
"           CASE WHEN NOT r.relispartition THEN 'inherits (' ||"
"             (SELECT string_agg(i.inhparent::regclass::text, ', ' ORDER BY i.inhseqno)"
"              FROM pg_inherits i WHERE i.inhrelid = r.oid) || ')' END,"
"           CASE WHEN r.relkind = 'p' THEN 'partition by ' || pg_get_partkeydef(r.oid) END,"
"           CASE WHEN r.relkind = 'f' THEN"
"             (SELECT concat_ws(' ', 'server ' || quote_ident(s.srvname),"
"                'options (' || array_to_string(ARRAY(SELECT o FROM unnest(f.ftoptions) o"
"                                                     ORDER BY o COLLATE \"C\"), ', ') || ')')"
"              FROM pg_foreign_table f JOIN pg_foreign_server s ON s.oid = f.ftserver"
"              WHERE f.ftrelid = r.oid) END,"
"           CASE WHEN r.reloptions IS NOT NULL THEN"
"             'with (' || array_to_string(ARRAY(SELECT o FROM unnest(r.reloptions) o"
"                                              ORDER BY o COLLATE \"C\"), ', ') || ')' END,"
"           CASE WHEN r.relrowsecurity THEN 'row level security' END,"
"           CASE WHEN r.relforcerowsecurity THEN 'force row level security' END,"
"           CASE WHEN r.relkind IN ('v', 'm') THEN 'as ' || ltrim(pg_get_viewdef(r.oid)) END)"
"  FROM rel r WHERE r.relkind <> 'S'"
/* sequences */
"  UNION ALL"
"  SELECT 'pg_class'::regclass::oid, r.oid, 0, 'sequence', r.qname,"
"         concat_ws(' ',"
"           CASE WHEN r.relpersistence = 'u' THEN 'unlogged' END,"
"           'as ' || format_type(s.seqtypid, NULL),"
"           'increment by ' || s.seqincrement, 'minvalue ' || s.seqmin,"
"           'maxvalue ' || s.seqmax, 'start with ' || s.seqstart, 'cache ' || s.seqcache,"
"           CASE WHEN s.seqcycle THEN 'cycle' ELSE 'no cycle' END,"
"           (SELECT 'owned by ' || d.refobjid::regclass::text || '.' || quote_ident(a.attname)"
"            FROM pg_depend d JOIN pg_attribute a"
"              ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid"
"            WHERE d.classid = 'pg_class'::regclass AND d.objid = r.oid"
"              AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0"
"              AND d.deptype IN ('a', 'i')"
"            LIMIT 1))"
"  FROM rel r JOIN pg_sequence s ON s.seqrelid = r.oid"
/* columns, by name: their position does not count */
"  UNION ALL"
"  SELECT 'pg_class'::regclass::oid, r.oid, a.attnum, 'column',"
"         r.qname || '.' || quote_ident(a.attname),"
"         concat_ws(' ',"
"           format_type(a.atttypid, a.atttypmod),"
"           CASE WHEN a.attcollation <> t.typcollation"
"                THEN 'collate ' || a.attcollation::regcollation::text END,"
"           CASE WHEN a.attnotnull THEN 'not null' END,"
"           CASE WHEN a.attgenerated = 's'"
"                THEN 'generated always as (' || pg_get_expr(ad.adbin, ad.adrelid) || ') stored'"
"                ELSE 'default ' || pg_get_expr(ad.adbin, ad.adrelid) END,"
"           CASE a.attidentity WHEN 'a' THEN 'generated always as identity'"
"                              WHEN 'd' THEN 'generated by default as identity' END)"
"  FROM rel r"
"  JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped"
"  JOIN pg_type t ON t.oid = a.atttypid"
"  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum"
"  WHERE r.relkind <> 'S'"
/* constraints of tables and of domains */
"  UNION ALL"
"  SELECT 'pg_constraint'::regclass::oid, co.oid, 0, 'constraint',"
"         r.qname || '.' || quote_ident(co.conname), pg_get_constraintdef(co.oid)"
"  FROM rel r JOIN pg_constraint co ON co.conrelid = r.oid"
"  UNION ALL"
"  SELECT 'pg_constraint'::regclass::oid, co.oid, 0, 'constraint',"
"         t.qname || '.' || quote_ident(co.conname), pg_get_constraintdef(co.oid)"
"  FROM typ t JOIN pg_constraint co ON co.contypid = t.oid"
/* indexes */
"  UNION ALL"
"  SELECT 'pg_class'::regclass::oid, i.indexrelid, 0, 'index',"
"         quote_ident(n.nspname) || '.' || quote_ident(ic.relname),"
"         pg_get_indexdef(i.indexrelid)"
"  FROM rel r JOIN pg_index i ON i.indrelid = r.oid"
"  JOIN pg_class ic ON ic.oid = i.indexrelid"
"  JOIN pg_namespace n ON n.oid = ic.relnamespace"
/* triggers (not the internal ones of foreign keys) */
"  UNION ALL"
"  SELECT 'pg_trigger'::regclass::oid, tg.oid, 0, 'trigger',"
"         r.qname || '.' || quote_ident(tg.tgname),"
"         pg_get_triggerdef(tg.oid) ||"
"         CASE tg.tgenabled WHEN 'D' THEN ' (disabled)' WHEN 'R' THEN ' (enabled replica)'"
"                           WHEN 'A' THEN ' (enabled always)' ELSE '' END"
"  FROM rel r JOIN pg_trigger tg ON tg.tgrelid = r.oid"
"  WHERE NOT tg.tgisinternal"
/* rules (a view's own _RETURN rule is its definition) */
"  UNION ALL"
"  SELECT 'pg_rewrite'::regclass::oid, rw.oid, 0, 'rule',"
"         r.qname || '.' || quote_ident(rw.rulename), pg_get_ruledef(rw.oid)"
"  FROM rel r JOIN pg_rewrite rw ON rw.ev_class = r.oid"
"  WHERE rw.rulename <> '_RETURN'"
/* row-level security policies */
"  UNION ALL"
"  SELECT 'pg_policy'::regclass::oid, po.oid, 0, 'policy',"
"         r.qname || '.' || quote_ident(po.polname),"
"         concat_ws(' ',"
"           CASE WHEN po.polpermissive THEN 'permissive' ELSE 'restrictive' END,"
"           'for ' || CASE po.polcmd WHEN 'r' THEN 'select' WHEN 'a' THEN 'insert'"
"                                    WHEN 'w' THEN 'update' WHEN 'd' THEN 'delete'"
"                                    ELSE 'all' END,"
"           'to ' || (SELECT string_agg(x.role, ', ' ORDER BY x.role COLLATE \"C\")"
"                     FROM (SELECT CASE WHEN u = 0 THEN 'public'"
"                                       ELSE quote_ident(pg_get_userbyid(u)) END AS role"
"                           FROM unnest(po.polroles) u) x),"
"           'using (' || pg_get_expr(po.polqual, po.polrelid) || ')',"
"           'with check (' || pg_get_expr(po.polwithcheck, po.polrelid) || ')')"
"  FROM rel r JOIN pg_policy po ON po.polrelid = r.oid"
/* functions, procedures, aggregates */
"  UNION ALL"
"  SELECT 'pg_proc'::regclass::oid, p.oid, 0,"
"         CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate'"
"                        ELSE 'function' END,"
"         p.qname || '(' || pg_get_function_identity_arguments(p.oid) || ')',"
"         CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) ELSE"
"           (SELECT concat_ws(' ',"
"              'kind ' || ag.aggkind::text,"
"              'returns ' || pg_get_function_result(p.oid),"
"              'sfunc ' || ag.aggtransfn::regprocedure::text,"
"              'stype ' || format_type(ag.aggtranstype, NULL),"
"              'sspace ' || NULLIF(ag.aggtransspace, 0),"
"              'finalfunc ' || NULLIF(ag.aggfinalfn::oid, 0)::regprocedure::text,"
"              CASE WHEN ag.aggfinalextra THEN 'finalfunc_extra' END,"
"              'finalfunc_modify ' || ag.aggfinalmodify::text,"
"              'combinefunc ' || NULLIF(ag.aggcombinefn::oid, 0)::regprocedure::text,"
"              'serialfunc ' || NULLIF(ag.aggserialfn::oid, 0)::regprocedure::text,"
"              'deserialfunc ' || NULLIF(ag.aggdeserialfn::oid, 0)::regprocedure::text,"
"              'initcond ' || quote_literal(ag.agginitval),"
"              'msfunc ' || NULLIF(ag.aggmtransfn::oid, 0)::regprocedure::text,"
"              'minvfunc ' || NULLIF(ag.aggminvtransfn::oid, 0)::regprocedure::text,"
"              'mstype ' || format_type(NULLIF(ag.aggmtranstype, 0), NULL),"
"              'mfinalfunc ' || NULLIF(ag.aggmfinalfn::oid, 0)::regprocedure::text,"
"              'minitcond ' || quote_literal(ag.aggminitval),"
"              'sortop ' || NULLIF(ag.aggsortop, 0)::regoperator::text,"
"              'parallel ' || p.proparallel::text)"
"            FROM pg_aggregate ag WHERE ag.aggfnoid = p.oid) END"
"  FROM proc p"
/* types: enum labels in their order, composite attributes in their order */
"  UNION ALL"
"  SELECT 'pg_type'::regclass::oid, t.oid, 0,"
"         CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END, t.qname,"
"         CASE t.typtype"
"           WHEN 'e' THEN 'enum (' || coalesce((SELECT string_agg(quote_literal(e.enumlabel::text), ', '"
"                                                                 ORDER BY e.enumsortorder)"
"                                               FROM pg_enum e WHERE e.enumtypid = t.oid), '') || ')'"
"           WHEN 'c' THEN 'composite (' || coalesce((SELECT string_agg(quote_ident(a.attname) || ' ' ||"
"                                        format_type(a.atttypid, a.atttypmod) ||"
"                                        CASE WHEN a.attcollation <> at.typcollation"
"                                             THEN ' collate ' || a.attcollation::regcollation::text"
"                                             ELSE '' END, ', ' ORDER BY a.attnum)"
"                                      FROM pg_attribute a JOIN pg_type at ON at.oid = a.atttypid"
"                                      WHERE a.attrelid = t.typrelid AND a.attnum > 0"
"                                        AND NOT a.attisdropped), '') || ')'"
"           WHEN 'd' THEN concat_ws(' ',"
"             'over ' || format_type(t.typbasetype, t.typtypmod),"
"             CASE WHEN t.typcollation <> (SELECT b.typcollation FROM pg_type b"
"                                          WHERE b.oid = t.typbasetype)"
"                  THEN 'collate ' || t.typcollation::regcollation::text END,"
"             CASE WHEN t.typnotnull THEN 'not null' END,"
"             'default ' || pg_get_expr(t.typdefaultbin, 0))"
"           WHEN 'r' THEN (SELECT concat_ws(' ',"
"               'range of ' || format_type(rg.rngsubtype, NULL),"
"               'subtype_opclass ' || (SELECT quote_ident(n.nspname) || '.' || quote_ident(oc.opcname)"
"                                      FROM pg_opclass oc JOIN pg_namespace n ON n.oid = oc.opcnamespace"
"                                      WHERE oc.oid = rg.rngsubopc),"
"               'collation ' || NULLIF(rg.rngcollation, 0)::regcollation::text,"
"               'canonical ' || NULLIF(rg.rngcanonical::oid, 0)::regprocedure::text,"
"               'subtype_diff ' || NULLIF(rg.rngsubdiff::oid, 0)::regprocedure::text,"
"               'multirange ' || format_type(rg.rngmultitypid, NULL))"
"             FROM pg_range rg WHERE rg.rngtypid = t.oid)"
"           WHEN 'p' THEN 'shell'"
"           ELSE concat_ws(' ', 'base',"
"             'input ' || t.typinput::regprocedure::text,"
"             'output ' || t.typoutput::regprocedure::text,"
"             'receive ' || NULLIF(t.typreceive::oid, 0)::regprocedure::text,"
"             'send ' || NULLIF(t.typsend::oid, 0)::regprocedure::text,"
"             'typmod_in ' || NULLIF(t.typmodin::oid, 0)::regprocedure::text,"
"             'typmod_out ' || NULLIF(t.typmodout::oid, 0)::regprocedure::text,"
"             'analyze ' || NULLIF(t.typanalyze::oid, 0)::regprocedure::text,"
"             'internallength ' || t.typlen,"
"             CASE WHEN t.typbyval THEN 'passedbyvalue' END,"
"             'alignment ' || t.typalign::text, 'storage ' || t.typstorage::text,"
"             'category ' || quote_literal(t.typcategory::text),"
"             CASE WHEN t.typispreferred THEN 'preferred' END,"
"             'delimiter ' || quote_literal(t.typdelim::text),"
"             'element ' || format_type(NULLIF(t.typelem, 0), NULL),"
"             CASE WHEN t.typcollation <> 0 THEN 'collatable' END)"
"         END"
"  FROM typ t"
") "
"SELECT l.kind, l.object, l.definition FROM ("
"  SELECT o.kind, o.object, coalesce(o.definition, '') AS definition FROM objs o"
"  UNION ALL"
"  SELECT 'comment', o.kind || ' ' || o.object, d.description"
"  FROM objs o JOIN pg_description d"
"    ON d.classoid = o.classid AND d.objoid = o.objid AND d.objsubid = o.objsubid"
") l "
"ORDER BY l.kind COLLATE \"C\", l.object COLLATE \"C\", l.definition COLLATE \"C\"";

/*
 * hash_field: feed one length-prefixed field into the hash.
 */
static void
hash_field(pg_cryptohash_ctx *ctx, const char *s)
{
	char		len[32];
	size_t		n = strlen(s);

	snprintf(len, sizeof(len), "%zu:", n);
	if (pg_cryptohash_update(ctx, (const uint8 *) len, strlen(len)) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) s, n) < 0)
		elog(ERROR, "pg_migrate: could not compute SHA-256: %s",
			 pg_cryptohash_error(ctx));
}

/*
 * fp_hash: the hex SHA-256 of the format tag and the sorted lines.
 */
static void
fp_hash(PgmFp *fp)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	uint8		digest[PG_SHA256_DIGEST_LENGTH];

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) FP_FORMAT, strlen(FP_FORMAT)) < 0)
		elog(ERROR, "pg_migrate: could not compute SHA-256: %s",
			 pg_cryptohash_error(ctx));
	for (int i = 0; i < fp->n; i++)
	{
		hash_field(ctx, fp->lines[i].kind);
		hash_field(ctx, fp->lines[i].object);
		hash_field(ctx, fp->lines[i].definition);
	}
	if (pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "pg_migrate: could not compute SHA-256: %s",
			 pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
	for (int i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
		snprintf(fp->hash + 2 * i, 3, "%02x", digest[i]);
}

/*
 * pgm_fp_schemas: check the schema names of a text[] argument and return
 * them as an oid[] Datum; *isnull is set when names is NULL (every
 * schema but the system ones and migrate).
 */
Datum
pgm_fp_schemas(ArrayType *names, bool *isnull)
{
	char	  **cnames;
	int			n;
	Datum	   *oids;

	*isnull = (names == NULL);
	if (names == NULL)
		return (Datum) 0;
	cnames = pgm_array_to_cstrings(names, &n, "schemas");
	oids = palloc(sizeof(Datum) * (n ? n : 1));
	for (int i = 0; i < n; i++)
	{
		Oid			nsp = get_namespace_oid(cnames[i], true);

		/* a name longer than NAMEDATALEN names nothing: do not echo all of it */
		if (!OidIsValid(nsp) && strlen(cnames[i]) >= NAMEDATALEN)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_SCHEMA_NAME),
					 errmsg("schema \"%s...\" does not exist",
							pnstrdup(cnames[i], pg_mbcliplen(cnames[i], strlen(cnames[i]), NAMEDATALEN - 1))),
					 errdetail("Element %d of the schemas argument is %d bytes long; schema names have at most %d.",
							   i + 1, (int) strlen(cnames[i]), NAMEDATALEN - 1),
					 errhint("Name existing schemas exactly as they are spelled (case matters), or pass NULL for every schema except the system schemas and migrate.")));
		if (!OidIsValid(nsp))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_SCHEMA_NAME),
					 errmsg("schema \"%s\" does not exist", cnames[i]),
					 errdetail("Element %d of the schemas argument names no schema of this database.",
							   i + 1),
					 errhint("Name existing schemas exactly as they are spelled (case matters), or pass NULL for every schema except the system schemas and migrate.")));
		oids[i] = ObjectIdGetDatum(nsp);
	}
	return PointerGetDatum(construct_array(oids, n, OIDOID, sizeof(Oid), true,
										   TYPALIGN_INT));
}

/*
 * pgm_fp_compute: describe and hash the schemas; SPI must be connected.
 * search_path is pinned to pg_catalog, pg_temp for the query, so that the
 * lines do not depend on the caller's settings.
 */
PgmFp *
pgm_fp_compute(Datum schemas, bool schemas_null)
{
	Oid			types[1] = {OIDARRAYOID};
	Datum		values[1];
	char		nulls[1];
	int			nest = NewGUCNestLevel();
	PgmFp	   *fp = palloc0(sizeof(PgmFp));
	MemoryContext cxt = CurrentMemoryContext;
	MemoryContext old;
	SPITupleTable *tt;

	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	values[0] = schemas;
	nulls[0] = schemas_null ? 'n' : ' ';
	pgm_exec(DESCRIBE_SQL, 1, types, values, nulls, false, 0, SPI_OK_SELECT);
	AtEOXact_GUC(true, nest);

	tt = SPI_tuptable;
	if (SPI_processed > (uint64) (INT_MAX / sizeof(PgmFpLine)))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many objects to fingerprint: " UINT64_FORMAT,
						SPI_processed)));
	old = MemoryContextSwitchTo(cxt);
	fp->n = (int) SPI_processed;
	fp->lines = palloc(sizeof(PgmFpLine) * (fp->n ? fp->n : 1));
	for (int i = 0; i < fp->n; i++)
	{
		HeapTuple	tup = tt->vals[i];
		bool		isnull;
		Datum		d;

		d = SPI_getbinval(tup, tt->tupdesc, 1, &isnull);
		fp->lines[i].kind = isnull ? pstrdup("") : TextDatumGetCString(d);
		d = SPI_getbinval(tup, tt->tupdesc, 2, &isnull);
		fp->lines[i].object = isnull ? pstrdup("") : TextDatumGetCString(d);
		d = SPI_getbinval(tup, tt->tupdesc, 3, &isnull);
		fp->lines[i].definition = isnull ? pstrdup("") : TextDatumGetCString(d);
	}
	MemoryContextSwitchTo(old);
	SPI_freetuptable(tt);
	fp_hash(fp);
	return fp;
}

/*
 * line_cmp: order of two lines by kind, then object (unique together), as
 * the "C" collation sorts them.
 */
static int
line_cmp(const PgmFpLine *a, const PgmFpLine *b)
{
	int			c = strcmp(a->kind, b->kind);

	return c != 0 ? c : strcmp(a->object, b->object);
}

/*
 * clip: a definition for a message, at most 120 bytes (on a character
 * boundary), with newlines folded to spaces.
 */
static char *
clip(const char *s)
{
	int			len = strlen(s);
	int			cut = len > 120 ? pg_mbcliplen(s, len, 117) : len;
	char	   *out = psprintf("%.*s%s", cut, s, cut < len ? "..." : "");

	for (char *p = out; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	return out;
}

/*
 * pgm_fp_diff: the differences between expected and actual, in words:
 * "extra index public.i; missing column public.t.c; changed type
 * public.mood (was "enum ('a')", now "enum ('a', 'b')")", at most limit of
 * them named and the rest counted; NULL when both have the same lines.
 */
char *
pgm_fp_diff(const PgmFp *expected, const PgmFp *actual, int limit)
{
	StringInfoData buf;
	int			i = 0,
				j = 0,
				ndiff = 0;

	initStringInfo(&buf);
	while (i < expected->n || j < actual->n)
	{
		const PgmFpLine *e = i < expected->n ? &expected->lines[i] : NULL;
		const PgmFpLine *a = j < actual->n ? &actual->lines[j] : NULL;
		int			c = (e == NULL) ? 1 : (a == NULL) ? -1 : line_cmp(e, a);
		char	   *what = NULL;

		if (c < 0)
		{
			what = psprintf("missing %s %s", e->kind, e->object);
			i++;
		}
		else if (c > 0)
		{
			what = psprintf("extra %s %s", a->kind, a->object);
			j++;
		}
		else
		{
			if (strcmp(e->definition, a->definition) != 0)
				what = psprintf("changed %s %s (was \"%s\", now \"%s\")",
								e->kind, e->object, clip(e->definition),
								clip(a->definition));
			i++;
			j++;
		}
		if (what == NULL)
			continue;
		if (ndiff < limit)
			appendStringInfo(&buf, "%s%s", ndiff ? "; " : "", what);
		ndiff++;
	}
	if (ndiff == 0)
		return NULL;
	if (ndiff > limit)
		appendStringInfo(&buf, "; and %d more difference%s", ndiff - limit,
						 ndiff - limit == 1 ? "" : "s");
	return buf.data;
}

PG_FUNCTION_INFO_V1(pgm_fingerprint);

/*
 * migrate.fingerprint(schemas text[] DEFAULT NULL) RETURNS text: the hex
 * SHA-256 of what migrate.describe(schemas) returns.
 */
Datum
pgm_fingerprint(PG_FUNCTION_ARGS)
{
	bool		isnull;
	Datum		schemas = pgm_fp_schemas(PG_ARGISNULL(0) ? NULL : PG_GETARG_ARRAYTYPE_P(0),
										 &isnull);
	MemoryContext caller = CurrentMemoryContext;
	PgmFp	   *fp;
	text	   *result;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_migrate: SPI_connect failed");
	fp = pgm_fp_compute(schemas, isnull);
	/* the result must outlive SPI_finish */
	result = (text *) MemoryContextAlloc(caller, VARHDRSZ + 64);
	SET_VARSIZE(result, VARHDRSZ + 64);
	memcpy(VARDATA(result), fp->hash, 64);
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "pg_migrate: SPI_finish failed");
	PG_RETURN_TEXT_P(result);
}

PG_FUNCTION_INFO_V1(pgm_describe);

/*
 * migrate.describe(schemas text[] DEFAULT NULL): the normalized lines
 * (kind, object, definition) of the schemas, sorted.
 */
Datum
pgm_describe(PG_FUNCTION_ARGS)
{
	bool		isnull;
	Datum		schemas = pgm_fp_schemas(PG_ARGISNULL(0) ? NULL : PG_GETARG_ARRAYTYPE_P(0),
										 &isnull);
	TupleDesc	td;
	Tuplestorestate *ts = pgm_srf_begin(fcinfo, &td);
	PgmFp	   *fp;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_migrate: SPI_connect failed");
	fp = pgm_fp_compute(schemas, isnull);
	for (int i = 0; i < fp->n; i++)
	{
		Datum		v[3];
		bool		nl[3] = {false, false, false};

		v[0] = CStringGetTextDatum(fp->lines[i].kind);
		v[1] = CStringGetTextDatum(fp->lines[i].object);
		v[2] = CStringGetTextDatum(fp->lines[i].definition);
		tuplestore_putvalues(ts, td, v, nl);
	}
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "pg_migrate: SPI_finish failed");
	return (Datum) 0;
}
