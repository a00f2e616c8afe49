/*-------------------------------------------------------------------------
 *
 * lintrules.c
 *	  The lint rules: one function per kind of statement, each looking at
 *	  the raw parse tree and asking lintweigh.c about the live table.
 *
 * Every rule on a table is weighed: a table created earlier in the same
 * SQL text, a table that does not exist, or one with fewer estimated rows
 * than pg_migrate.lint_min_rows gives no finding.  The statements are seen
 * in order, so the rules also remember what the text did before: tables
 * and types it created, enum types it dropped or renamed away, CHECK (col
 * IS NOT NULL) constraints it added or validated, whether it set a
 * lock_timeout.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "commands/defrem.h"
#include "commands/tablecmds.h"
#include "nodes/makefuncs.h"
#include "parser/parse_type.h"
#include "storage/lockdefs.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "lint.h"

/*
 * name_entry: a LintName for a name of the text.
 */
static LintName *
name_entry(const char *schema, const char *name)
{
	LintName   *n = palloc0(sizeof(LintName));

	n->schema = schema ? pstrdup(schema) : NULL;
	n->name = pstrdup(name);
	return n;
}

/*
 * split_names: the schema (or NULL) and the name of a qualified name list.
 */
static void
split_names(List *names, char **schema, char **name)
{
	*schema = NULL;
	*name = NULL;
	if (names == NIL)
		return;
	*name = strVal(llast(names));
	if (list_length(names) >= 2)
		*schema = strVal(list_nth(names, list_length(names) - 2));
}

static LintName *
find_name(List *list, const char *schema, const char *name)
{
	ListCell   *lc;

	if (name == NULL)
		return NULL;
	foreach(lc, list)
	{
		LintName   *n = (LintName *) lfirst(lc);

		if (strcmp(n->name, name) == 0 &&
			(schema == NULL || n->schema == NULL || strcmp(n->schema, schema) == 0))
			return n;
	}
	return NULL;
}

static void
remember_table(LintState *st, const RangeVar *rv)
{
	if (rv != NULL)
		st->created_tables = lappend(st->created_tables,
									 name_entry(rv->schemaname, rv->relname));
}

static void
remember_type(LintState *st, List *names, bool constrained)
{
	char	   *schema;
	char	   *name;
	LintName   *n;

	split_names(names, &schema, &name);
	if (name == NULL)
		return;
	n = name_entry(schema, name);
	n->flag = constrained;
	st->created_types = lappend(st->created_types, n);
}

/*
 * created_type: the entry of a type the text created earlier, or NULL.
 */
static LintName *
created_type(LintState *st, const TypeName *tn)
{
	char	   *schema;
	char	   *name;

	if (tn == NULL || tn->names == NIL)
		return NULL;
	split_names(tn->names, &schema, &name);
	return find_name(st->created_types, schema, name);
}

/*
 * big_table: the live table a RangeVar names, when it is weighed in.
 */
static bool
big_table(LintState *st, const RangeVar *rv, Oid *relid, double *rows,
		  char **qual, char *kind)
{
	*relid = pgm_lint_table(st, rv, rows, qual, kind);
	return OidIsValid(*relid) && *rows >= st->min_rows;
}

/*
 * lock_timeout_set: will a lock timeout bound the wait of the current
 * statement?  The text's own SET wins; otherwise the session's
 * lock_timeout or pg_migrate.lock_timeout; deploy() always sets one.
 */
static bool
lock_timeout_set(LintState *st)
{
	const char *v;
	int			ms;

	if (st->deploy)
		return true;
	if (st->text_lock_timeout >= 0)
		return st->text_lock_timeout > 0;
	if (LockTimeout > 0)
		return true;
	v = GetConfigOption("pg_migrate.lock_timeout", true, false);
	return v != NULL && parse_int(v, &ms, GUC_UNIT_MS, NULL) && ms > 0;
}

/*
 * setting_value_on: is a lock_timeout value (an A_Const) non-zero?
 */
static int
setting_value_on(Node *arg)
{
	A_Const    *c;
	int			ms;

	if (arg == NULL || !IsA(arg, A_Const))
		return 1;
	c = (A_Const *) arg;
	if (c->isnull)
		return 0;
	if (IsA(&c->val, Integer))
		return intVal(&c->val) != 0;
	if (IsA(&c->val, String))
	{
		if (!parse_int(strVal(&c->val), &ms, GUC_UNIT_MS, NULL))
			return 1;			/* the SET itself will complain */
		return ms != 0;
	}
	return 1;
}

/*
 * missing_lock_timeout: the rule of that name, for a statement that takes
 * lockmode on a big table.
 */
static void
missing_lock_timeout(LintState *st, const char *what, LOCKMODE lockmode,
					 const char *qual, double rows)
{
	if (lockmode < ShareLock || st->lock_timeout_reported || lock_timeout_set(st))
		return;
	st->lock_timeout_reported = true;	/* once per text: one SET fixes all */
	pgm_lint_add(st, "missing-lock-timeout", qual, rows, NULL,
				 "%s on %s waits for a lock that blocks %s, with no lock_timeout: while it waits, every query on the table queues behind it",
				 what, qual,
				 lockmode == AccessExclusiveLock ? "reads and writes" : "writes");
}

/*
 * rule_index: CREATE INDEX without CONCURRENTLY.
 */
static void
rule_index(LintState *st, IndexStmt *s)
{
	Oid			relid;
	double		rows;
	char	   *qual;
	char		kind;

	if (s->concurrent || !big_table(st, s->relation, &relid, &rows, &qual, &kind))
		return;
	if (kind == RELKIND_PARTITIONED_TABLE && !s->relation->inh)
		return;					/* ON ONLY: an invalid index, nothing built */
	pgm_lint_add(st, "create-index-without-concurrently", qual, rows,
				 kind == RELKIND_PARTITIONED_TABLE ?
				 "CREATE INDEX CONCURRENTLY does not support partitioned tables: create the index on each partition with CREATE INDEX CONCURRENTLY (in transactional => false revisions run by CALL migrate.deploy()), then create it on the parent with CREATE INDEX ... ON ONLY and attach each partition's index with ALTER INDEX ... ATTACH PARTITION." : NULL,
				 "creating %s%s on %s without CONCURRENTLY blocks writes to the table while the index builds",
				 s->idxname ? "index " : "an index",
				 s->idxname ? quote_identifier(s->idxname) : "", qual);
}

/*
 * raw_not_null_column: the column of a raw CHECK expression "col IS NOT
 * NULL", or NULL.
 */
static char *
raw_not_null_column(Node *expr)
{
	NullTest   *nt;
	ColumnRef  *cr;
	Node	   *last;

	if (expr == NULL || !IsA(expr, NullTest))
		return NULL;
	nt = (NullTest *) expr;
	if (nt->nulltesttype != IS_NOT_NULL || nt->arg == NULL ||
		!IsA(nt->arg, ColumnRef))
		return NULL;
	cr = (ColumnRef *) nt->arg;
	last = llast(cr->fields);
	return IsA(last, String) ? strVal(last) : NULL;
}

static void
remember_notnull_check(LintState *st, Oid relid, const char *conname,
					   const char *column, bool validated)
{
	LintNotNullCheck *c = palloc0(sizeof(LintNotNullCheck));

	c->relid = relid;
	c->conname = conname ? pstrdup(conname) : NULL;
	c->column = column ? pstrdup(column) : NULL;
	c->validated = validated;
	st->notnull_checks = lappend(st->notnull_checks, c);
}

/*
 * constraint_words: "foreign key constraint \"fk\"" and the like.
 */
static char *
constraint_words(const Constraint *c, const char *kind)
{
	if (c->conname)
		return psprintf("%s constraint %s", kind, quote_identifier(c->conname));
	return psprintf("a %s constraint", kind);
}

/*
 * rule_add_constraint: ALTER TABLE ... ADD CONSTRAINT on a big table.
 */
static void
rule_add_constraint(LintState *st, Oid relid, const char *qual, double rows,
					Constraint *c)
{
	char	   *col;

	switch (c->contype)
	{
		case CONSTR_FOREIGN:
			if (!c->skip_validation)
				pgm_lint_add(st, "constraint-without-not-valid", qual, rows, NULL,
							 "adding %s to %s checks every row while blocking writes to it and to the referenced table",
							 constraint_words(c, "foreign key"), qual);
			break;
		case CONSTR_CHECK:
			if (!c->skip_validation)
				pgm_lint_add(st, "constraint-without-not-valid", qual, rows, NULL,
							 "adding %s to %s scans every row under an ACCESS EXCLUSIVE lock, blocking reads and writes",
							 constraint_words(c, "check"), qual);
			col = raw_not_null_column(c->raw_expr);
			if (col != NULL)
				remember_notnull_check(st, relid, c->conname, col, !c->skip_validation);
			break;
		case CONSTR_UNIQUE:
			if (c->indexname == NULL)
				pgm_lint_add(st, "add-unique-without-index", qual, rows, NULL,
							 "adding %s to %s builds its index under an ACCESS EXCLUSIVE lock, blocking reads and writes",
							 constraint_words(c, "unique"), qual);
			break;
		case CONSTR_PRIMARY:
			if (c->indexname == NULL)
				pgm_lint_add(st, "add-primary-key-without-index", qual, rows, NULL,
							 "adding a primary key to %s builds its index (and checks its columns for NULLs) under an ACCESS EXCLUSIVE lock, blocking reads and writes",
							 qual);
			break;
		default:
			break;
	}
}

static bool
is_serial(const TypeName *tn)
{
	static const char *const serials[] = {"smallserial", "serial", "bigserial",
	"serial2", "serial4", "serial8"};
	char	   *schema;
	char	   *name;

	if (tn == NULL || tn->names == NIL || tn->arrayBounds != NIL)
		return false;
	split_names(tn->names, &schema, &name);
	if (schema != NULL && strcmp(schema, "pg_catalog") != 0)
		return false;
	for (int i = 0; i < lengthof(serials); i++)
		if (strcmp(name, serials[i]) == 0)
			return true;
	return false;
}

/*
 * is_literal: a constant, possibly cast: never volatile.
 */
static bool
is_literal(Node *n)
{
	while (n != NULL && IsA(n, TypeCast))
		n = ((TypeCast *) n)->arg;
	return n != NULL && IsA(n, A_Const);
}

/*
 * domain_has_constraints: is the column type a domain with constraints?
 */
static bool
domain_has_constraints(LintState *st, TypeName *tn)
{
	LintName   *made = created_type(st, tn);
	Oid			typid;

	if (made != NULL)
		return made->flag;
	typid = LookupTypeNameOid(NULL, tn, true);
	return OidIsValid(typid) && DomainHasConstraints(typid);
}

/*
 * rule_add_column: ALTER TABLE ... ADD COLUMN on a big table: a value that
 * must be computed per row rewrites the table; column constraints scan it
 * or build an index.
 */
static void
rule_add_column(LintState *st, Oid relid, const char *qual, double rows,
				ColumnDef *def)
{
	ListCell   *lc;
	Node	   *raw_default = NULL;
	const char *why = NULL;
	const char *col = quote_identifier(def->colname);

	foreach(lc, def->constraints)
	{
		Constraint *c = (Constraint *) lfirst(lc);

		if (!IsA(c, Constraint))
			continue;
		switch (c->contype)
		{
			case CONSTR_DEFAULT:
				raw_default = c->raw_expr;
				break;
			case CONSTR_IDENTITY:
				why = "it is an identity column";
				break;
			case CONSTR_GENERATED:
				why = "it is a stored generated column";
				break;
			case CONSTR_FOREIGN:
			case CONSTR_CHECK:
				pgm_lint_add(st, "constraint-without-not-valid", qual, rows,
							 "Add the column first, then add the constraint with NOT VALID and run ALTER TABLE ... VALIDATE CONSTRAINT in a later revision: validation takes a lock that does not block reads or writes.",
							 "adding column %s to %s with %s checks every row while holding a lock that blocks writes",
							 col, qual, c->contype == CONSTR_FOREIGN ?
							 "a foreign key" : "a check constraint");
				break;
			case CONSTR_UNIQUE:
				pgm_lint_add(st, "add-unique-without-index", qual, rows, NULL,
							 "adding column %s as UNIQUE to %s builds its index under an ACCESS EXCLUSIVE lock, blocking reads and writes",
							 col, qual);
				break;
			case CONSTR_PRIMARY:
				pgm_lint_add(st, "add-primary-key-without-index", qual, rows, NULL,
							 "adding column %s as the primary key of %s builds its index under an ACCESS EXCLUSIVE lock, blocking reads and writes",
							 col, qual);
				break;
			default:
				break;
		}
	}

	if (why == NULL && is_serial(def->typeName))
		why = "it is a serial column, whose default calls nextval()";
	if (why == NULL && domain_has_constraints(st, def->typeName))
		why = "its type is a domain with constraints, which are checked on every row";
	if (why != NULL)
	{
		pgm_lint_add(st, "volatile-default", qual, rows,
					 "Add a plain nullable column, set its default for new rows with ALTER COLUMN ... SET DEFAULT, fill the existing rows in batches with CALL migrate.backfill(), and add the remaining constraints the safe way (NOT VALID, then VALIDATE CONSTRAINT) in a later revision.",
					 "adding column %s to %s rewrites the table under an ACCESS EXCLUSIVE lock, blocking reads and writes: %s",
					 col, qual, why);
		return;
	}
	if (raw_default == NULL || is_literal(raw_default))
		return;
	switch (created_type(st, def->typeName) ? LINT_UNKNOWN :
			pgm_lint_default_volatile(raw_default, def->typeName))
	{
		case LINT_NO:
			break;
		case LINT_YES:
			pgm_lint_add(st, "volatile-default", qual, rows, NULL,
						 "adding column %s to %s rewrites the table under an ACCESS EXCLUSIVE lock, blocking reads and writes: its default is volatile",
						 col, qual);
			break;
		case LINT_UNKNOWN:
			pgm_lint_add(st, "volatile-default", qual, rows, NULL,
						 "adding column %s to %s may rewrite the table under an ACCESS EXCLUSIVE lock: its default cannot be checked before the SQL runs (it names something that does not exist yet), so lint assumes it is volatile",
						 col, qual);
			break;
	}
}

/*
 * notnull_check_in_text: did the text add and validate (or validate by
 * name) a CHECK (column IS NOT NULL) on the table?
 */
static bool
notnull_check_in_text(LintState *st, Oid relid, const char *column)
{
	ListCell   *lc;

	foreach(lc, st->notnull_checks)
	{
		LintNotNullCheck *c = (LintNotNullCheck *) lfirst(lc);

		if (c->relid == relid && c->validated && c->column &&
			strcmp(c->column, column) == 0)
			return true;
	}
	return false;
}

/*
 * remember_validation: ALTER TABLE ... VALIDATE CONSTRAINT conname.
 */
static void
remember_validation(LintState *st, Oid relid, const char *conname)
{
	ListCell   *lc;

	foreach(lc, st->notnull_checks)
	{
		LintNotNullCheck *c = (LintNotNullCheck *) lfirst(lc);

		if (c->relid == relid && c->conname && strcmp(c->conname, conname) == 0)
			c->validated = true;
	}
	remember_notnull_check(st, relid, conname, NULL, true);
}

/*
 * rule_set_not_null: SET NOT NULL scans the table unless a validated CHECK
 * (col IS NOT NULL) proves it.
 */
static void
rule_set_not_null(LintState *st, Oid relid, const char *qual, double rows,
				  const char *column)
{
	if (!pgm_lint_column_exists(relid, column) ||
		pgm_lint_column_not_null(relid, column) ||
		notnull_check_in_text(st, relid, column) ||
		pgm_lint_has_notnull_check(relid, column, true, st->notnull_checks))
		return;
	pgm_lint_add(st, "set-not-null", qual, rows,
				 psprintf("Add CONSTRAINT ... CHECK (%s IS NOT NULL) NOT VALID, run ALTER TABLE ... VALIDATE CONSTRAINT in a later revision (it does not block reads or writes), then SET NOT NULL, which then skips the scan, and drop the CHECK constraint.",
						  quote_identifier(column)),
				 "setting column %s of %s NOT NULL scans every row under an ACCESS EXCLUSIVE lock, blocking reads and writes",
				 quote_identifier(column), qual);
}

/*
 * rule_type_change: ALTER COLUMN ... TYPE, unless the change keeps the
 * stored data (binary-coercible, as PostgreSQL itself decides).
 */
static void
rule_type_change(LintState *st, Oid relid, const char *qual, double rows,
				 const char *column, ColumnDef *def)
{
	char	   *newtype = NULL;
	LintVerdict v;
	const char *col = quote_identifier(column);

	if (!pgm_lint_column_exists(relid, column))
		return;
	if (created_type(st, def->typeName) != NULL)
		v = LINT_UNKNOWN;
	else
		v = pgm_lint_type_change_rewrites(relid, column, def, &newtype);
	if (newtype == NULL)
		newtype = TypeNameToString(def->typeName);
	if (v == LINT_YES)
		pgm_lint_add(st, "column-type-change", qual, rows, NULL,
					 "changing the type of column %s of %s to %s rewrites the table and its indexes under an ACCESS EXCLUSIVE lock, blocking reads and writes",
					 col, qual, newtype);
	else if (v == LINT_UNKNOWN)
		pgm_lint_add(st, "column-type-change", qual, rows, NULL,
					 "changing the type of column %s of %s to %s may rewrite the table under an ACCESS EXCLUSIVE lock: %s, so lint assumes it does",
					 col, qual, newtype,
					 created_type(st, def->typeName) ? "the type is created by the same SQL" :
					 def->raw_default ? "its USING expression is more than the column and casts" :
					 "the change cannot be checked before the SQL runs");
}

/*
 * rule_alter_table: the subcommands of ALTER TABLE, then the lock timeout.
 */
static void
rule_alter_table(LintState *st, AlterTableStmt *s)
{
	Oid			relid;
	double		rows;
	char	   *qual;
	ListCell   *lc;

	if (s->objtype != OBJECT_TABLE ||
		!big_table(st, s->relation, &relid, &rows, &qual, NULL))
		return;
	foreach(lc, s->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

		if (!IsA(cmd, AlterTableCmd))
			continue;
		switch (cmd->subtype)
		{
			case AT_AddColumn:
				if (cmd->def && IsA(cmd->def, ColumnDef))
					rule_add_column(st, relid, qual, rows, (ColumnDef *) cmd->def);
				break;
			case AT_AddConstraint:
				if (cmd->def && IsA(cmd->def, Constraint))
					rule_add_constraint(st, relid, qual, rows, (Constraint *) cmd->def);
				break;
			case AT_ValidateConstraint:
				if (cmd->name)
					remember_validation(st, relid, cmd->name);
				break;
			case AT_SetNotNull:
				if (cmd->name)
					rule_set_not_null(st, relid, qual, rows, cmd->name);
				break;
			case AT_AlterColumnType:
				if (cmd->name && cmd->def && IsA(cmd->def, ColumnDef))
					rule_type_change(st, relid, qual, rows, cmd->name,
									 (ColumnDef *) cmd->def);
				break;
			case AT_DropColumn:
				if (cmd->name && pgm_lint_column_exists(relid, cmd->name))
					pgm_lint_add(st, "drop-column", qual, rows, NULL,
								 "dropping column %s of %s loses its data and breaks running code that still uses it",
								 quote_identifier(cmd->name), qual);
				break;
			default:
				break;
		}
	}
	missing_lock_timeout(st, "ALTER TABLE", AlterTableGetLockLevel(s->cmds),
						 qual, rows);
}

/*
 * enum_recreated: the finding for an enum type that the text dropped (or
 * renamed away) and now creates again under its old name.
 */
static void
enum_recreated(LintState *st, List *names)
{
	char	   *schema;
	char	   *name;
	LintName   *gone;
	Oid			user;
	double		rows;
	char	   *qual;

	split_names(names, &schema, &name);
	gone = find_name(st->gone_enums, schema, name);
	if (gone == NULL)
		return;
	user = pgm_lint_biggest_user(gone->oid, &rows);
	if (!OidIsValid(user) || rows < st->min_rows)
		return;
	qual = pgm_lint_qualname(user);
	pgm_lint_add(st, "enum-recreate", qual, rows, NULL,
				 "enum type %s is dropped and created again: every column of that type must be dropped or converted, which rewrites the tables that use it (the biggest is %s)",
				 gone->schema ? quote_qualified_identifier(gone->schema, gone->name) :
				 quote_identifier(gone->name), qual);
}

/*
 * remember_gone_enum: an enum type the text drops or renames away.
 */
static void
remember_gone_enum(LintState *st, TypeName *tn)
{
	char	   *typschema = NULL;
	Oid			typid = pgm_lint_enum_oid(tn, &typschema);
	char	   *schema;
	char	   *name;
	LintName   *n;

	if (!OidIsValid(typid))
		return;
	split_names(tn->names, &schema, &name);
	n = name_entry(typschema, name);
	n->oid = typid;
	st->gone_enums = lappend(st->gone_enums, n);
}

/*
 * rule_rename: ALTER TABLE ... RENAME [COLUMN], and renames of types that
 * take part in re-creating an enum.
 */
static void
rule_rename(LintState *st, RenameStmt *s)
{
	Oid			relid;
	double		rows;
	char	   *qual;

	switch (s->renameType)
	{
		case OBJECT_TABLE:
			if (s->relation &&
				find_name(st->created_tables, s->relation->schemaname, s->relation->relname))
				st->created_tables = lappend(st->created_tables,
											 name_entry(s->relation->schemaname, s->newname));
			if (!big_table(st, s->relation, &relid, &rows, &qual, NULL))
				return;
			pgm_lint_add(st, "rename-table", qual, rows, NULL,
						 "renaming table %s to %s breaks running code that still uses the old name",
						 qual, quote_identifier(s->newname));
			missing_lock_timeout(st, "ALTER TABLE ... RENAME", AccessExclusiveLock, qual, rows);
			break;
		case OBJECT_COLUMN:
			if (s->relationType != OBJECT_TABLE || s->subname == NULL ||
				!big_table(st, s->relation, &relid, &rows, &qual, NULL) ||
				!pgm_lint_column_exists(relid, s->subname))
				return;
			pgm_lint_add(st, "rename-column", qual, rows, NULL,
						 "renaming column %s of %s to %s breaks running code that still uses the old name",
						 quote_identifier(s->subname), qual,
						 quote_identifier(s->newname));
			missing_lock_timeout(st, "ALTER TABLE ... RENAME COLUMN", AccessExclusiveLock, qual, rows);
			break;
		case OBJECT_TYPE:
			if (s->object && IsA(s->object, List))
			{
				List	   *names = (List *) s->object;
				List	   *newnames = list_copy(names);

				remember_gone_enum(st, makeTypeNameFromNameList(names));
				/* the new name in the old schema */
				newnames = list_truncate(newnames, list_length(newnames) - 1);
				newnames = lappend(newnames, makeString(s->newname));
				enum_recreated(st, newnames);
			}
			break;
		default:
			break;
	}
}

/*
 * rule_drop: DROP TABLE; DROP TYPE of an enum (for enum-recreate).
 */
static void
rule_drop(LintState *st, DropStmt *s)
{
	ListCell   *lc;

	foreach(lc, s->objects)
	{
		Node	   *obj = (Node *) lfirst(lc);

		if (s->removeType == OBJECT_TABLE && IsA(obj, List))
		{
			Oid			relid;
			double		rows;
			char	   *qual;

			if (big_table(st, makeRangeVarFromNameList((List *) obj), &relid,
						  &rows, &qual, NULL))
				pgm_lint_add(st, "drop-table", qual, rows, NULL,
							 "dropping table %s loses its data and breaks running code that still uses it",
							 qual);
		}
		else if (s->removeType == OBJECT_TYPE && IsA(obj, TypeName))
			remember_gone_enum(st, (TypeName *) obj);
	}
}

/*
 * rule_vacuum: VACUUM FULL.
 */
static void
rule_vacuum(LintState *st, VacuumStmt *s)
{
	ListCell   *lc;
	bool		full = false;

	if (!s->is_vacuumcmd)
		return;
	foreach(lc, s->options)
	{
		DefElem    *opt = (DefElem *) lfirst(lc);

		if (strcmp(opt->defname, "full") == 0)
			full = defGetBoolean(opt);
	}
	if (!full)
		return;
	if (s->rels == NIL)
		pgm_lint_add(st, "vacuum-full", NULL, -1, NULL,
					 "VACUUM FULL without a table rewrites every table of the database, each under an ACCESS EXCLUSIVE lock");
	foreach(lc, s->rels)
	{
		VacuumRelation *vr = (VacuumRelation *) lfirst(lc);
		Oid			relid;
		double		rows;
		char	   *qual;

		if (IsA(vr, VacuumRelation) &&
			big_table(st, vr->relation, &relid, &rows, &qual, NULL))
			pgm_lint_add(st, "vacuum-full", qual, rows, NULL,
						 "VACUUM FULL rewrites %s under an ACCESS EXCLUSIVE lock, blocking reads and writes",
						 qual);
	}
}

/*
 * rule_cluster: CLUSTER.
 */
static void
rule_cluster(LintState *st, ClusterStmt *s)
{
	Oid			relid;
	double		rows;
	char	   *qual;

	if (s->relation == NULL)
		pgm_lint_add(st, "cluster", NULL, -1, NULL,
					 "CLUSTER without a table rewrites every previously clustered table of the database, each under an ACCESS EXCLUSIVE lock");
	else if (big_table(st, s->relation, &relid, &rows, &qual, NULL))
		pgm_lint_add(st, "cluster", qual, rows, NULL,
					 "CLUSTER rewrites %s under an ACCESS EXCLUSIVE lock, blocking reads and writes",
					 qual);
}

/*
 * rule_lock: LOCK TABLE in a mode that blocks writes.
 */
static void
rule_lock(LintState *st, LockStmt *s)
{
	static const char *const modes[] = {"", "ACCESS SHARE", "ROW SHARE",
		"ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE",
	"EXCLUSIVE", "ACCESS EXCLUSIVE"};
	ListCell   *lc;

	if (s->mode < ShareLock || s->mode > AccessExclusiveLock)
		return;
	foreach(lc, s->relations)
	{
		RangeVar   *rv = (RangeVar *) lfirst(lc);
		Oid			relid;
		double		rows;
		char	   *qual;

		if (IsA(rv, RangeVar) && big_table(st, rv, &relid, &rows, &qual, NULL))
			pgm_lint_add(st, "lock-table", qual, rows, NULL,
						 "LOCK TABLE %s IN %s MODE blocks %s until the transaction ends",
						 qual, modes[s->mode],
						 s->mode == AccessExclusiveLock ? "reads and writes" : "writes");
	}
}

/*
 * remember_set_config: SELECT set_config('lock_timeout', value, ...).
 */
static void
remember_set_config(LintState *st, SelectStmt *s)
{
	ListCell   *lc;

	foreach(lc, s->targetList)
	{
		ResTarget  *rt = (ResTarget *) lfirst(lc);
		FuncCall   *fc;
		A_Const    *name;

		if (!IsA(rt, ResTarget) || rt->val == NULL || !IsA(rt->val, FuncCall))
			continue;
		fc = (FuncCall *) rt->val;
		if (strcmp(strVal(llast(fc->funcname)), "set_config") != 0 ||
			list_length(fc->args) != 3 || !IsA(linitial(fc->args), A_Const))
			continue;
		name = (A_Const *) linitial(fc->args);
		if (!name->isnull && IsA(&name->val, String) &&
			pg_strcasecmp(strVal(&name->val), "lock_timeout") == 0)
			st->text_lock_timeout = setting_value_on(lsecond(fc->args));
	}
}

/*
 * remember_set: SET / RESET lock_timeout.
 */
static void
remember_set(LintState *st, VariableSetStmt *s)
{
	if (s->kind == VAR_RESET_ALL)
	{
		st->text_lock_timeout = -1;
		return;
	}
	if (s->name == NULL || pg_strcasecmp(s->name, "lock_timeout") != 0)
		return;
	if (s->kind == VAR_SET_VALUE)
		st->text_lock_timeout = setting_value_on(s->args ? linitial(s->args) : NULL);
	else if (s->kind == VAR_SET_DEFAULT || s->kind == VAR_RESET)
		st->text_lock_timeout = -1;
}

/*
 * domain_constrained: does CREATE DOMAIN give the domain constraints?
 */
static bool
domain_constrained(CreateDomainStmt *s)
{
	ListCell   *lc;

	foreach(lc, s->constraints)
	{
		Constraint *c = (Constraint *) lfirst(lc);

		if (IsA(c, Constraint) &&
			(c->contype == CONSTR_CHECK || c->contype == CONSTR_NOTNULL))
			return true;
	}
	return false;
}

/*
 * pgm_lint_statement: apply the rules to one raw statement, and remember
 * what it creates, drops or sets for the statements after it.
 */
void
pgm_lint_statement(LintState *st, Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_IndexStmt:
			rule_index(st, (IndexStmt *) stmt);
			break;
		case T_AlterTableStmt:
			rule_alter_table(st, (AlterTableStmt *) stmt);
			break;
		case T_RenameStmt:
			rule_rename(st, (RenameStmt *) stmt);
			break;
		case T_DropStmt:
			rule_drop(st, (DropStmt *) stmt);
			break;
		case T_VacuumStmt:
			rule_vacuum(st, (VacuumStmt *) stmt);
			break;
		case T_ClusterStmt:
			rule_cluster(st, (ClusterStmt *) stmt);
			break;
		case T_LockStmt:
			rule_lock(st, (LockStmt *) stmt);
			break;
		case T_CreateEnumStmt:
			enum_recreated(st, ((CreateEnumStmt *) stmt)->typeName);
			remember_type(st, ((CreateEnumStmt *) stmt)->typeName, false);
			break;
		case T_CreateDomainStmt:
			remember_type(st, ((CreateDomainStmt *) stmt)->domainname,
						  domain_constrained((CreateDomainStmt *) stmt));
			break;
		case T_CreateRangeStmt:
			remember_type(st, ((CreateRangeStmt *) stmt)->typeName, false);
			break;
		case T_CompositeTypeStmt:
			{
				RangeVar   *rv = ((CompositeTypeStmt *) stmt)->typevar;

				if (rv)
					remember_type(st, rv->schemaname ?
								  list_make2(makeString(rv->schemaname), makeString(rv->relname)) :
								  list_make1(makeString(rv->relname)), false);
				break;
			}
		case T_DefineStmt:
			if (((DefineStmt *) stmt)->kind == OBJECT_TYPE)
				remember_type(st, ((DefineStmt *) stmt)->defnames, false);
			break;
		case T_CreateStmt:
			remember_table(st, ((CreateStmt *) stmt)->relation);
			break;
		case T_CreateForeignTableStmt:
			remember_table(st, ((CreateForeignTableStmt *) stmt)->base.relation);
			break;
		case T_CreateTableAsStmt:
			if (((CreateTableAsStmt *) stmt)->into)
				remember_table(st, ((CreateTableAsStmt *) stmt)->into->rel);
			break;
		case T_SelectStmt:
			if (((SelectStmt *) stmt)->intoClause)
				remember_table(st, ((SelectStmt *) stmt)->intoClause->rel);
			remember_set_config(st, (SelectStmt *) stmt);
			break;
		case T_VariableSetStmt:
			remember_set(st, (VariableSetStmt *) stmt);
			break;
		default:
			break;
	}
}
