#!/usr/bin/node
// Migrate the database when an application instance starts (node-postgres).
//
//     NODE_PATH=/usr/share/nodejs /usr/bin/node app_start.js [DSN]
//
// The same behaviour as app_start.py: connect with DSN or the PG* environment,
// register every revision file of MIGRATE_REVISIONS (default: revisions/ next
// to this file) in name order, run migrate.upgrade(MIGRATE_TARGET, default
// 'heads') in one transaction, print its steps and NOTICEs.
//
// Exit status: 0 migrated (or nothing to do), 3 a revision failed (nothing of
// this call is applied), 1 any other error.
'use strict';

const fs = require('fs');
const path = require('path');
const { Client } = require('pg');

const revisions = process.env.MIGRATE_REVISIONS || path.join(__dirname, 'revisions');
const target = process.env.MIGRATE_TARGET || 'heads';
const isSqlState = (code) => /^[0-9A-Z]{5}$/.test(code || '');

async function main() {
  const client = new Client(process.argv[2] ? { connectionString: process.argv[2] } : {});
  client.on('notice', (n) => console.log(`${n.severity}:  ${n.message}`));
  await client.connect();
  try {
    // Register: each file is one implicit transaction (identical content is a no-op).
    for (const file of fs.readdirSync(revisions).filter((f) => f.endsWith('.sql')).sort()) {
      await client.query(fs.readFileSync(path.join(revisions, file), 'utf8'));
    }

    // Upgrade: one transaction, all or nothing.
    await client.query('BEGIN');
    let res;
    try {
      res = await client.query(
        `SELECT step, revision, operation, message, extract(epoch FROM duration) AS seconds
           FROM migrate.upgrade($1)`, [target]);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      if (!isSqlState(err.code)) throw err; // a network error, not the server's
      const where = /revision "?(\w+)/.exec(err.where || '');
      console.error(`migration failed: revision ${where ? where[1] : '?'}: ` +
                    `SQLSTATE ${err.code}: ${err.message}`);
      if (err.where) console.error(`CONTEXT: ${err.where.trim()}`);
      return 3;
    }
    await client.query('COMMIT');
    for (const r of res.rows) {
      console.log(`[${r.step}] ${r.operation} ${r.revision}: ${r.message} ` +
                  `(${Number(r.seconds).toFixed(3)} s)`);
    }
    return 0;
  } finally {
    await client.end();
  }
}

main().then((status) => { process.exitCode = status; }, (err) => {
  console.error(`error: ${isSqlState(err.code) ? `SQLSTATE ${err.code}: ` : ''}${err.message}`);
  process.exitCode = 1;
});
