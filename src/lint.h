/*-------------------------------------------------------------------------
 *
 * lint.h
 *	  migrate.lint(): rules over revision SQL, weighed by the live tables.
 *
 * lint.c is the driver (parsing, waivers, the SQL functions, the hooks for
 * registration and upgrade, the settings); lintrules.c holds the rules, one
 * function per kind of statement; lintweigh.c answers what the rules ask
 * the live catalog (row estimates, constraints, whether a change rewrites);
 * lintwaiver.c finds the waiver comments that the parser drops.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGM_LINT_H
#define PGM_LINT_H

#include "postgres.h"

#include "nodes/parsenodes.h"
#include "nodes/pg_list.h"

#include "runner.h"

/* pg_migrate.lint */
typedef enum PgmLintMode
{
	PGM_LINT_OFF,
	PGM_LINT_WARN,
	PGM_LINT_ERROR
} PgmLintMode;

extern int	pgm_lint_mode;
extern int	pgm_lint_min_rows;

typedef enum LintSeverity
{
	LINT_INFO,					/* reported, never refuses a revision */
	LINT_WARNING,				/* breaks running code, loses data, or
								 * queues traffic */
	LINT_ERROR					/* blocks traffic for as long as the table
								 * takes to scan or rewrite */
} LintSeverity;

/* One rule: its stable id, severity and the safe alternative. */
typedef struct LintRule
{
	const char *id;
	LintSeverity severity;
	bool		weighed;		/* quiet on small or new tables */
	const char *what;			/* what it catches, one line */
	const char *hint;			/* the safe alternative (full sentences) */
} LintRule;

/* One finding. */
typedef struct LintFinding
{
	int			statement;		/* 1-based */
	int			line;			/* 1-based line of the SQL text */
	const LintRule *rule;
	char	   *message;
	const char *hint;			/* a specific hint, or rule->hint */
	char	   *table;			/* qualified name, or NULL */
	double		rows;			/* estimated rows, or -1 */
	bool		waived;
	char	   *reason;			/* waiver reason */
} LintFinding;

/* A name created, dropped or renamed earlier in the SQL text. */
typedef struct LintName
{
	char	   *schema;			/* NULL: unqualified */
	char	   *name;
	Oid			oid;			/* for types dropped or renamed away */
	bool		flag;			/* domains: has constraints */
} LintName;

/* A CHECK (col IS NOT NULL) constraint the SQL text added or validated. */
typedef struct LintNotNullCheck
{
	Oid			relid;
	char	   *conname;		/* NULL: unnamed */
	char	   *column;			/* NULL: validated by name only */
	bool		validated;
} LintNotNullCheck;

/* What lint knows while it walks one SQL text. */
typedef struct LintState
{
	const char *sql;
	int			statement;		/* current statement number */
	int			line;			/* its first line */
	double		min_rows;
	bool		deploy;			/* deploy() sets its own lock timeout */
	int			text_lock_timeout;	/* -1: not set in the text, 0: off, 1:
									 * on */
	bool		lock_timeout_reported;	/* missing-lock-timeout: once */
	List	   *created_tables; /* LintName */
	List	   *created_types;	/* LintName */
	List	   *gone_enums;		/* LintName: enums dropped or renamed away */
	List	   *notnull_checks; /* LintNotNullCheck */
	List	   *findings;		/* LintFinding */
} LintState;

/* lint.c */
extern const LintRule *pgm_lint_rule(const char *id);
extern const LintRule *pgm_lint_rules(int *n);
extern const char *pgm_lint_severity_name(LintSeverity s);
extern List *pgm_lint_sql(const char *sql, bool deploy);
extern void pgm_lint_revision(const char *revision_id, const char *sql,
							  PgmRunMode mode);
extern void pgm_lint_registered(const char *revision_id, const char *sql);
extern void pgm_lint_define_gucs(void);
extern bool pgm_lint_try(void (*fn) (void *), void *arg);
extern LintFinding *pgm_lint_add(LintState *st, const char *rule,
								 const char *table, double rows,
								 const char *hint, const char *fmt,...)
			pg_attribute_printf(6, 7);

/* lintrules.c */
extern void pgm_lint_statement(LintState *st, Node *stmt);

/* lintweigh.c */
typedef enum LintVerdict
{
	LINT_NO,
	LINT_YES,
	LINT_UNKNOWN				/* could not be checked before it runs */
} LintVerdict;

extern Oid	pgm_lint_table(LintState *st, const RangeVar *rv, double *rows,
						   char **qualname, char *relkind);
extern double pgm_lint_estimate_rows(Oid relid);
extern char *pgm_lint_qualname(Oid relid);
extern bool pgm_lint_column_not_null(Oid relid, const char *column);
extern bool pgm_lint_column_exists(Oid relid, const char *column);
extern bool pgm_lint_has_notnull_check(Oid relid, const char *column,
									   bool validated_only, List *validated);
extern bool pgm_lint_is_notnull_check(Oid relid, const char *conname,
									  const char *column);
extern LintVerdict pgm_lint_default_volatile(Node *raw_default,
											 TypeName *typeName);
extern LintVerdict pgm_lint_type_change_rewrites(Oid relid, const char *column,
												 ColumnDef *def, char **newtype);
extern Oid	pgm_lint_enum_oid(TypeName *tn, char **schema);
extern Oid	pgm_lint_biggest_user(Oid typid, double *rows);

/* lintwaiver.c */
typedef struct LintWaiver
{
	int			line;
	char	   *rule;			/* NULL: none given */
	char	   *reason;			/* NULL: none given */
} LintWaiver;

typedef struct LintComment
{
	int			line;
	bool		alone;			/* nothing but blanks before it on its line */
	char	   *text;			/* after the two dashes */
} LintComment;

extern List *pgm_lint_scan_comments(const char *sql);
extern int	pgm_lint_skip_blanks(const char *sql, int pos);
extern List *pgm_lint_waivers_for(List *comments, int first_line,
								  int last_line);

#endif							/* PGM_LINT_H */
