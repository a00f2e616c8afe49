/*-------------------------------------------------------------------------
 *
 * lintweigh.c
 *	  What the lint rules ask the live database: which table a name means
 *	  and how many rows it has, which CHECK constraints it carries, whether
 *	  a default is volatile and whether a type change rewrites.
 *
 * Nothing here waits for a lock or changes anything.  Row estimates come
 * from pg_class.reltuples as the last ANALYZE or VACUUM left it.  A table
 * that was never analyzed (reltuples = -1) is estimated the way the planner
 * does it: its current number of pages times the rows that fit on a page
 * given the widths of its columns -- except that an empty table counts as
 * empty (the planner assumes at least ten pages).  Reading the current
 * size needs a share lock on the table: it is taken only when free at once
 * and released straight away; otherwise pg_class.relpages is used.  A
 * partitioned or inheritance parent counts the rows of all its children.
 *
 * The questions that need parse analysis (is this default volatile? does
 * this type change rewrite?) mirror what ALTER TABLE itself decides in
 * tablecmds.c, and run in a subtransaction: a default that names a
 * function the same SQL text creates cannot be analyzed before it runs, and
 * is then reported as LINT_UNKNOWN, never as an error of lint.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/plancat.h"
#include "parser/parse_coerce.h"
#include "parser/parse_expr.h"
#include "parser/parse_node.h"
#include "parser/parse_type.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "lint.h"

/*
 * same_name: does a name written in the SQL text (schema may be NULL) match
 * an entry recorded from the text?  Unqualified names match by name alone.
 */
static bool
same_name(const LintName *n, const char *schema, const char *name)
{
	if (strcmp(n->name, name) != 0)
		return false;
	return schema == NULL || n->schema == NULL || strcmp(n->schema, schema) == 0;
}

/*
 * created_in_text: was a relation of this name created earlier in the text?
 */
static bool
created_in_text(LintState *st, const RangeVar *rv)
{
	ListCell   *lc;

	foreach(lc, st->created_tables)
		if (same_name((LintName *) lfirst(lc), rv->schemaname, rv->relname))
			return true;
	return false;
}

/*
 * pgm_lint_qualname: schema.table, quoted where needed.
 */
char *
pgm_lint_qualname(Oid relid)
{
	char	   *rel = get_rel_name(relid);
	char	   *nsp = get_namespace_name(get_rel_namespace(relid));

	if (rel == NULL || nsp == NULL)
		return psprintf("(relation %u)", relid);
	return pstrdup(quote_qualified_identifier(nsp, rel));
}

/*
 * never_analyzed_rows: the row estimate of a table that has no statistics
 * (see the file header).
 */
static double
never_analyzed_rows(Oid relid, BlockNumber relpages)
{
	BlockNumber pages = relpages;
	int32		width = 0;
	double		density;

	if (ConditionalLockRelationOid(relid, AccessShareLock))
	{
		if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		{
			Relation	rel = relation_open(relid, NoLock);

			pages = RelationGetNumberOfBlocks(rel);
			width = get_rel_data_width(rel, NULL);
			relation_close(rel, NoLock);
		}
		UnlockRelationOid(relid, AccessShareLock);
	}
	if (pages == 0)
		return 0;
	if (width <= 0)
		width = 32;
	/* as table_block_relation_estimate_size() in the planner */
	density = (BLCKSZ - SizeOfPageHeaderData) /
		(double) (width + MAXALIGN(SizeofHeapTupleHeader) + sizeof(ItemIdData));
	return floor(density) * pages;
}

/*
 * own_rows: the estimate of one relation, without its children.
 */
static double
own_rows(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Form_pg_class cls;
	double		rows;

	if (!HeapTupleIsValid(tup))
		return 0;				/* dropped meanwhile */
	cls = (Form_pg_class) GETSTRUCT(tup);
	if (!RELKIND_HAS_TABLE_AM(cls->relkind))
		rows = 0;				/* partitioned parents, foreign tables */
	else if (cls->reltuples >= 0)
		rows = cls->reltuples;
	else
		rows = never_analyzed_rows(relid, (BlockNumber) cls->relpages);
	ReleaseSysCache(tup);
	return rows;
}

/*
 * pgm_lint_estimate_rows: the estimated rows of a table, its partitions or
 * inheritance children included.
 */
double
pgm_lint_estimate_rows(Oid relid)
{
	List	   *all = find_all_inheritors(relid, NoLock, NULL);
	ListCell   *lc;
	double		rows = 0;

	foreach(lc, all)
		rows += own_rows(lfirst_oid(lc));
	return rows;
}

/*
 * pgm_lint_table: the live table a RangeVar of the text names, with its
 * row estimate and qualified name; InvalidOid when the text created it
 * earlier, when it does not exist, or when it is not a table or
 * materialized view.
 */
Oid
pgm_lint_table(LintState *st, const RangeVar *rv, double *rows,
			   char **qualname, char *relkind)
{
	Oid			relid;
	char		kind;

	if (rv == NULL || created_in_text(st, rv))
		return InvalidOid;
	relid = RangeVarGetRelid(rv, NoLock, true);
	if (!OidIsValid(relid))
		return InvalidOid;
	kind = get_rel_relkind(relid);
	if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE &&
		kind != RELKIND_MATVIEW)
		return InvalidOid;
	*rows = pgm_lint_estimate_rows(relid);
	*qualname = pgm_lint_qualname(relid);
	if (relkind)
		*relkind = kind;
	return relid;
}

/*
 * pgm_lint_column_exists / pgm_lint_column_not_null: facts of a live column.
 */
bool
pgm_lint_column_exists(Oid relid, const char *column)
{
	HeapTuple	tup = SearchSysCacheAttName(relid, column);

	if (!HeapTupleIsValid(tup))
		return false;
	ReleaseSysCache(tup);
	return true;
}

bool
pgm_lint_column_not_null(Oid relid, const char *column)
{
	HeapTuple	tup = SearchSysCacheAttName(relid, column);
	bool		notnull;

	if (!HeapTupleIsValid(tup))
		return false;
	notnull = ((Form_pg_attribute) GETSTRUCT(tup))->attnotnull;
	ReleaseSysCache(tup);
	return notnull;
}

/*
 * proves_not_null: is a CHECK expression "col IS NOT NULL" (possibly
 * ANDed with other conditions) for attribute attnum?
 */
static bool
proves_not_null(Node *expr, AttrNumber attnum)
{
	if (expr == NULL)
		return false;
	if (IsA(expr, NullTest))
	{
		NullTest   *nt = (NullTest *) expr;

		return nt->nulltesttype == IS_NOT_NULL && !nt->argisrow &&
			nt->arg != NULL && IsA(nt->arg, Var) &&
			((Var *) nt->arg)->varattno == attnum;
	}
	if (IsA(expr, BoolExpr) && ((BoolExpr *) expr)->boolop == AND_EXPR)
	{
		ListCell   *lc;

		foreach(lc, ((BoolExpr *) expr)->args)
			if (proves_not_null((Node *) lfirst(lc), attnum))
				return true;
	}
	return false;
}

/*
 * check_constraints: call back for each CHECK constraint of a table with
 * its name, whether it is validated, and whether it proves the column
 * attnum NOT NULL; stops when the callback returns true.
 */
typedef bool (*CheckVisitor) (const char *conname, bool validated,
							  bool proves, void *arg);

static bool
visit_checks(Oid relid, AttrNumber attnum, CheckVisitor visit, void *arg)
{
	Relation	conrel = table_open(ConstraintRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		done = false;

	ScanKeyInit(&key, Anum_pg_constraint_conrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(conrel, ConstraintRelidTypidNameIndexId, true,
							  NULL, 1, &key);
	while (!done && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tup);
		bool		isnull;
		Datum		bin;
		bool		proves = false;

		if (con->contype != CONSTRAINT_CHECK)
			continue;
		bin = heap_getattr(tup, Anum_pg_constraint_conbin,
						   RelationGetDescr(conrel), &isnull);
		if (!isnull && attnum > 0)
			proves = proves_not_null((Node *) stringToNode(TextDatumGetCString(bin)),
									 attnum);
		done = visit(NameStr(con->conname), con->convalidated, proves, arg);
	}
	systable_endscan(scan);
	table_close(conrel, AccessShareLock);
	return done;
}

static AttrNumber
column_attnum(Oid relid, const char *column)
{
	HeapTuple	tup = SearchSysCacheAttName(relid, column);
	AttrNumber	attnum;

	if (!HeapTupleIsValid(tup))
		return InvalidAttrNumber;
	attnum = ((Form_pg_attribute) GETSTRUCT(tup))->attnum;
	ReleaseSysCache(tup);
	return attnum;
}

typedef struct NotNullSearch
{
	List	   *validated;		/* LintNotNullCheck validated in the text */
	Oid			relid;
	const char *conname;		/* for pgm_lint_is_notnull_check */
} NotNullSearch;

static bool
visit_for_set_not_null(const char *conname, bool validated, bool proves,
					   void *arg)
{
	NotNullSearch *s = (NotNullSearch *) arg;
	ListCell   *lc;

	if (!proves)
		return false;
	if (validated)
		return true;
	/* a NOT VALID constraint that the text validated earlier */
	foreach(lc, s->validated)
	{
		LintNotNullCheck *c = (LintNotNullCheck *) lfirst(lc);

		if (c->relid == s->relid && c->validated && c->conname &&
			strcmp(c->conname, conname) == 0)
			return true;
	}
	return false;
}

/*
 * pgm_lint_has_notnull_check: does the live table have a CHECK (column IS
 * NOT NULL) constraint that is validated, or that the text validated
 * earlier (a list of LintNotNullCheck)?
 */
bool
pgm_lint_has_notnull_check(Oid relid, const char *column, bool validated_only,
						   List *validated)
{
	AttrNumber	attnum = column_attnum(relid, column);
	NotNullSearch s;

	if (attnum <= 0)
		return false;
	s.validated = validated;
	s.relid = relid;
	s.conname = NULL;
	return visit_checks(relid, attnum, visit_for_set_not_null, &s);
}

static bool
visit_by_name(const char *conname, bool validated, bool proves, void *arg)
{
	NotNullSearch *s = (NotNullSearch *) arg;

	return proves && strcmp(conname, s->conname) == 0;
}

/*
 * pgm_lint_is_notnull_check: is the live constraint conname of the table a
 * CHECK (column IS NOT NULL)?
 */
bool
pgm_lint_is_notnull_check(Oid relid, const char *conname, const char *column)
{
	AttrNumber	attnum = column_attnum(relid, column);
	NotNullSearch s;

	if (attnum <= 0)
		return false;
	s.validated = NIL;
	s.relid = relid;
	s.conname = conname;
	return visit_checks(relid, attnum, visit_by_name, &s);
}

typedef struct DefaultArgs
{
	Node	   *raw_default;
	TypeName   *typeName;
	LintVerdict verdict;
} DefaultArgs;

/*
 * default_volatile: cook a column default as cookDefault() does (transform,
 * coerce to the column type) and ask whether it is volatile, which is what
 * makes ADD COLUMN rewrite the table instead of storing the value once.
 */
static void
default_volatile(void *p)
{
	DefaultArgs *a = (DefaultArgs *) p;
	ParseState *pstate = make_parsestate(NULL);
	Oid			typid;
	int32		typmod;
	Node	   *expr;

	typenameTypeIdAndMod(pstate, a->typeName, &typid, &typmod);
	expr = transformExpr(pstate, copyObject(a->raw_default),
						 EXPR_KIND_COLUMN_DEFAULT);
	expr = coerce_to_target_type(pstate, expr, exprType(expr), typid, typmod,
								 COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST, -1);
	if (expr != NULL)
		a->verdict = contain_volatile_functions(expr) ? LINT_YES : LINT_NO;
}

/*
 * pgm_lint_default_volatile: is the default of a new column volatile?
 */
LintVerdict
pgm_lint_default_volatile(Node *raw_default, TypeName *typeName)
{
	DefaultArgs a;

	a.raw_default = raw_default;
	a.typeName = typeName;
	a.verdict = LINT_UNKNOWN;
	if (!pgm_lint_try(default_volatile, &a))
		return LINT_UNKNOWN;
	return a.verdict;
}

/*
 * change_requires_rewrite: ATColumnChangeRequiresRewrite() of tablecmds.c:
 * only the column itself under binary relabelings, unconstrained domain
 * coercions and (with the session time zone UTC) timestamp <-> timestamptz
 * keeps the stored data.
 */
static bool
change_requires_rewrite(Node *expr, AttrNumber attnum)
{
	for (;;)
	{
		if (IsA(expr, Var) && ((Var *) expr)->varattno == attnum)
			return false;
		else if (IsA(expr, RelabelType))
			expr = (Node *) ((RelabelType *) expr)->arg;
		else if (IsA(expr, CoerceToDomain))
		{
			CoerceToDomain *d = (CoerceToDomain *) expr;

			if (DomainHasConstraints(d->resulttype))
				return true;
			expr = (Node *) d->arg;
		}
		else if (IsA(expr, FuncExpr))
		{
			FuncExpr   *f = (FuncExpr *) expr;

			if ((f->funcid == F_TIMESTAMPTZ_TIMESTAMP ||
				 f->funcid == F_TIMESTAMP_TIMESTAMPTZ) &&
				!TimestampTimestampTzRequiresRewrite())
				expr = linitial(f->args);
			else
				return true;
		}
		else
			return true;
	}
}

typedef struct TypeChangeArgs
{
	Oid			relid;
	const char *column;
	ColumnDef  *def;
	char	   *newtype;
	LintVerdict verdict;
} TypeChangeArgs;

/*
 * using_of_column: the USING expression as a transformed tree when it is
 * the column itself, possibly under casts; NULL for anything else.
 */
static Node *
using_of_column(ParseState *pstate, Node *raw, const char *column, Var *var)
{
	if (IsA(raw, ColumnRef))
	{
		ColumnRef  *cr = (ColumnRef *) raw;
		Node	   *last = llast(cr->fields);

		if (IsA(last, String) && strcmp(strVal(last), column) == 0)
			return (Node *) var;
		return NULL;
	}
	if (IsA(raw, TypeCast))
	{
		TypeCast   *tc = (TypeCast *) raw;
		Node	   *arg = using_of_column(pstate, tc->arg, column, var);
		Oid			typid;
		int32		typmod;

		if (arg == NULL)
			return NULL;
		typenameTypeIdAndMod(pstate, tc->typeName, &typid, &typmod);
		return coerce_to_target_type(pstate, arg, exprType(arg), typid, typmod,
									 COERCION_EXPLICIT, COERCE_EXPLICIT_CAST, -1);
	}
	return NULL;
}

/*
 * type_change_rewrites: what ATPrepAlterColumnType() decides, for a column
 * of a live table.
 */
static LintVerdict
type_change_verdict(TypeChangeArgs *a)
{
	ParseState *pstate = make_parsestate(NULL);
	HeapTuple	tup = SearchSysCacheAttName(a->relid, a->column);
	Form_pg_attribute att;
	Oid			typid;
	int32		typmod;
	Var		   *var;
	Node	   *transform;

	if (!HeapTupleIsValid(tup))
		return LINT_NO;			/* no such column: the statement fails */
	att = (Form_pg_attribute) GETSTRUCT(tup);
	var = makeVar(1, att->attnum, att->atttypid, att->atttypmod,
				  att->attcollation, 0);
	ReleaseSysCache(tup);

	typenameTypeIdAndMod(pstate, a->def->typeName, &typid, &typmod);
	a->newtype = format_type_with_typemod(typid, typmod);

	if (a->def->raw_default != NULL)
	{
		transform = using_of_column(pstate, a->def->raw_default, a->column, var);
		if (transform == NULL)
			return LINT_UNKNOWN;	/* any other USING: assumed to rewrite */
	}
	else
		transform = (Node *) var;
	transform = coerce_to_target_type(pstate, transform, exprType(transform),
									  typid, typmod, COERCION_ASSIGNMENT,
									  COERCE_IMPLICIT_CAST, -1);
	if (transform == NULL)
		return LINT_NO;			/* cannot be cast: the statement fails */
	transform = (Node *) expression_planner((Expr *) transform);
	return change_requires_rewrite(transform, var->varattno) ? LINT_YES : LINT_NO;
}

static void
type_change_rewrites(void *p)
{
	TypeChangeArgs *a = (TypeChangeArgs *) p;

	a->verdict = type_change_verdict(a);
}

/*
 * pgm_lint_type_change_rewrites: does ALTER COLUMN column TYPE def rewrite
 * the table?  *newtype receives the new type as PostgreSQL prints it when
 * known.
 */
LintVerdict
pgm_lint_type_change_rewrites(Oid relid, const char *column, ColumnDef *def,
							  char **newtype)
{
	TypeChangeArgs *a = palloc0(sizeof(TypeChangeArgs));
	LintVerdict v;

	a->relid = relid;
	a->column = column;
	a->def = def;
	a->verdict = LINT_UNKNOWN;
	v = pgm_lint_try(type_change_rewrites, a) ? a->verdict : LINT_UNKNOWN;
	*newtype = a->newtype;
	return v;
}

/*
 * pgm_lint_enum_oid: the live enum type a TypeName names, or InvalidOid;
 * *schema receives its schema.
 */
Oid
pgm_lint_enum_oid(TypeName *tn, char **schema)
{
	Oid			typid = LookupTypeNameOid(NULL, tn, true);
	HeapTuple	tup;

	if (!OidIsValid(typid))
		return InvalidOid;
	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	if (!HeapTupleIsValid(tup))
		return InvalidOid;
	if (((Form_pg_type) GETSTRUCT(tup))->typtype != TYPTYPE_ENUM)
		typid = InvalidOid;
	else
		*schema = get_namespace_name(((Form_pg_type) GETSTRUCT(tup))->typnamespace);
	ReleaseSysCache(tup);
	return typid;
}

/*
 * pgm_lint_biggest_user: the biggest table with a column of type typid (or
 * an array of it), by row estimate; InvalidOid when none.
 */
Oid
pgm_lint_biggest_user(Oid typid, double *rows)
{
	Oid			types[2];
	Oid			best = InvalidOid;
	Relation	deprel = table_open(DependRelationId, AccessShareLock);

	*rows = -1;
	types[0] = typid;
	types[1] = get_array_type(typid);
	for (int t = 0; t < 2; t++)
	{
		ScanKeyData key[2];
		SysScanDesc scan;
		HeapTuple	tup;

		if (!OidIsValid(types[t]))
			continue;
		ScanKeyInit(&key[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber,
					F_OIDEQ, ObjectIdGetDatum(TypeRelationId));
		ScanKeyInit(&key[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber,
					F_OIDEQ, ObjectIdGetDatum(types[t]));
		scan = systable_beginscan(deprel, DependReferenceIndexId, true, NULL,
								  2, key);
		while (HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tup);
			char		kind;
			double		r;

			if (dep->classid != RelationRelationId || dep->objsubid <= 0)
				continue;
			kind = get_rel_relkind(dep->objid);
			if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE &&
				kind != RELKIND_MATVIEW)
				continue;
			r = pgm_lint_estimate_rows(dep->objid);
			if (r > *rows)
			{
				*rows = r;
				best = dep->objid;
			}
		}
		systable_endscan(scan);
	}
	table_close(deprel, AccessShareLock);
	return best;
}
