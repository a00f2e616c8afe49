/*-------------------------------------------------------------------------
 *
 * lintwaiver.c
 *	  The comments of an SQL text, which the parser drops, and the lint
 *	  waivers among them.
 *
 * A waiver is a line comment
 *
 *		-- pg_migrate:allow <rule> <reason>
 *
 * on the line before a statement (or in a block of comment lines directly
 * above it) or on one of the statement's own lines, typically at the end of
 * its last line.  The scanner knows enough of the SQL lexical rules --
 * string constants, quoted identifiers, dollar quotes, nested block
 * comments -- never to take "--" inside one of them for a comment.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "parser/parser.h"

#include "lint.h"

#define WAIVER_TAG "pg_migrate:allow"

/*
 * ident_char: may c continue an identifier (or a dollar-quote tag)?
 */
static bool
ident_char(char c)
{
	return isalnum((unsigned char) c) || c == '_' || (unsigned char) c >= 0x80;
}

/*
 * dollar_tag_len: if sql[pos] starts a dollar-quote delimiter ($$ or $tag$),
 * its length, else 0.  "$1" is a parameter, not a delimiter.
 */
static int
dollar_tag_len(const char *sql, int pos)
{
	int			i = pos + 1;

	if (sql[pos] != '$')
		return 0;
	if (sql[i] == '$')
		return 2;
	if (!(isalpha((unsigned char) sql[i]) || sql[i] == '_' ||
		  (unsigned char) sql[i] >= 0x80))
		return 0;
	while (ident_char(sql[i]) && sql[i] != '$')
		i++;
	return sql[i] == '$' ? i - pos + 1 : 0;
}

/*
 * skip_quoted: the position just after a quoted token that starts at pos
 * (a string constant, a quoted identifier or a dollar-quoted string).
 * backslash: backslashes escape (E'...' strings).
 */
static int
skip_quoted(const char *sql, int pos, char quote, bool backslash)
{
	int			i = pos + 1;

	while (sql[i])
	{
		if (backslash && sql[i] == '\\' && sql[i + 1])
			i += 2;
		else if (sql[i] == quote && sql[i + 1] == quote)
			i += 2;
		else if (sql[i] == quote)
			return i + 1;
		else
			i++;
	}
	return i;
}

/*
 * skip_block_comment: the position just after a (possibly nested) block
 * comment starting at pos.
 */
static int
skip_block_comment(const char *sql, int pos)
{
	int			depth = 0;
	int			i = pos;

	while (sql[i])
	{
		if (sql[i] == '/' && sql[i + 1] == '*')
		{
			depth++;
			i += 2;
		}
		else if (sql[i] == '*' && sql[i + 1] == '/')
		{
			i += 2;
			if (--depth == 0)
				return i;
		}
		else
			i++;
	}
	return i;
}

/*
 * pgm_lint_skip_blanks: the position of the first character at or after
 * pos that is neither white space nor part of a comment.
 */
int
pgm_lint_skip_blanks(const char *sql, int pos)
{
	for (;;)
	{
		while (sql[pos] && isspace((unsigned char) sql[pos]))
			pos++;
		if (sql[pos] == '-' && sql[pos + 1] == '-')
		{
			while (sql[pos] && sql[pos] != '\n')
				pos++;
		}
		else if (sql[pos] == '/' && sql[pos + 1] == '*')
			pos = skip_block_comment(sql, pos);
		else
			return pos;
	}
}

/*
 * pgm_lint_scan_comments: every line comment of the text, in order, with
 * its line and whether it stands alone on its line.
 */
List *
pgm_lint_scan_comments(const char *sql)
{
	List	   *out = NIL;
	int			line = 1;
	bool		code_on_line = false;
	int			i = 0;

	while (sql[i])
	{
		char		c = sql[i];
		int			next;

		if (c == '\n')
		{
			line++;
			code_on_line = false;
			i++;
			continue;
		}
		if (isspace((unsigned char) c))
		{
			i++;
			continue;
		}
		if (c == '-' && sql[i + 1] == '-')
		{
			LintComment *lc = palloc0(sizeof(LintComment));
			int			e = i + 2;

			while (sql[e] && sql[e] != '\n')
				e++;
			lc->line = line;
			lc->alone = !code_on_line;
			lc->text = pnstrdup(sql + i + 2, e - i - 2);
			out = lappend(out, lc);
			i = e;
			continue;
		}
		if (c == '/' && sql[i + 1] == '*')
			next = skip_block_comment(sql, i);
		else if (c == '\'')
		{
			/* E'...' escapes with backslashes, as all strings do without
			 * standard_conforming_strings */
			bool		esc = !standard_conforming_strings ||
			(i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
			 (i < 2 || !ident_char(sql[i - 2])));

			next = skip_quoted(sql, i, '\'', esc);
		}
		else if (c == '"')
			next = skip_quoted(sql, i, '"', false);
		else if (c == '$' && (i == 0 || !ident_char(sql[i - 1])) &&
				 dollar_tag_len(sql, i) > 0)
		{
			int			len = dollar_tag_len(sql, i);
			const char *end = NULL;
			const char *p = sql + i + len;

			while ((p = strchr(p, '$')) != NULL)
			{
				if (strncmp(p, sql + i, len) == 0)
				{
					end = p + len;
					break;
				}
				p++;
			}
			next = end ? (int) (end - sql) : (int) strlen(sql);
		}
		else
		{
			/* an ordinary character: identifiers run on */
			next = i + 1;
			if (ident_char(c))
				while (sql[next] && (ident_char(sql[next]) || sql[next] == '$'))
					next++;
		}
		code_on_line = true;
		/* count the lines a multi-line token spans */
		for (int k = i; k < next; k++)
			if (sql[k] == '\n')
				line++;
		i = next;
	}
	return out;
}

/*
 * parse_waiver: a LintWaiver for a comment that is a waiver, else NULL.
 */
static LintWaiver *
parse_waiver(const LintComment *c)
{
	const char *p = c->text;
	const char *s;
	LintWaiver *w;

	while (*p == ' ' || *p == '\t')
		p++;
	if (pg_strncasecmp(p, WAIVER_TAG, strlen(WAIVER_TAG)) != 0)
		return NULL;
	p += strlen(WAIVER_TAG);
	if (*p && !isspace((unsigned char) *p))
		return NULL;			/* pg_migrate:allowed ... is not ours */
	w = palloc0(sizeof(LintWaiver));
	w->line = c->line;
	while (*p && isspace((unsigned char) *p))
		p++;
	s = p;
	while (*p && !isspace((unsigned char) *p))
		p++;
	if (p > s)
		w->rule = pnstrdup(s, p - s);
	while (*p && isspace((unsigned char) *p))
		p++;
	if (*p)
	{
		const char *e = p + strlen(p);

		while (e > p && isspace((unsigned char) e[-1]))
			e--;
		w->reason = pnstrdup(p, e - p);
	}
	return w;
}

/*
 * pgm_lint_waivers_for: the waivers that apply to a statement spanning
 * lines first_line..last_line: those on its own lines, and those in the
 * block of comment-only lines directly above it.
 */
List *
pgm_lint_waivers_for(List *comments, int first_line, int last_line)
{
	List	   *out = NIL;
	int			above = first_line - 1;
	ListCell   *lc;

	/* the block of comment-only lines directly above the statement */
	for (;;)
	{
		bool		found = false;

		foreach(lc, comments)
		{
			LintComment *c = (LintComment *) lfirst(lc);

			if (c->line == above && c->alone)
			{
				found = true;
				break;
			}
		}
		if (!found)
			break;
		above--;
	}

	foreach(lc, comments)
	{
		LintComment *c = (LintComment *) lfirst(lc);
		LintWaiver *w;

		if (c->line > last_line)
			break;
		if (c->line <= above)
			continue;
		if (c->line < first_line && !c->alone)
			continue;
		w = parse_waiver(c);
		if (w != NULL)
			out = lappend(out, w);
	}
	return out;
}
