/**
 * Corpus over the article's schema (fixtures/example.sql):
 * users.account(id, name, street_and_number, zip, city, created_at),
 * invoicing.invoice(id, account_id, amount, billing_name, billing_street_and_number,
 * billing_zip, billing_city, created_at), public.legacy_customer(id, full_name, email, notes),
 * view users.account_address(id, street_and_number, zip, city).
 */
import { type CorpusCase, columnsOf } from './case.js';

const A = columnsOf('users.account');
const I = columnsOf('invoicing.invoice');
const L = columnsOf('public.legacy_customer');
const V = columnsOf('users.account_address');
const ACCOUNT = 'users.account';
const INVOICE = 'invoicing.invoice';
const LEGACY = 'public.legacy_customer';
const VIEW = 'users.account_address';
const ALL_A = A('id', 'name', 'street_and_number', 'zip', 'city', 'created_at');
const ALL_I = I(
  'id',
  'account_id',
  'amount',
  'billing_name',
  'billing_street_and_number',
  'billing_zip',
  'billing_city',
  'created_at',
);
const ALL_L = L('id', 'full_name', 'email', 'notes');
const ALL_V = V('id', 'street_and_number', 'zip', 'city');

export const EXAMPLE_CORPUS: CorpusCase[] = [
  // Plain reads, schema-qualified names, search_path and $user.
  {
    sql: 'SELECT id, name FROM users.account WHERE id = $1',
    reads: A('id', 'name'),
    relationsRead: [ACCOUNT],
  },
  {
    sql: 'SELECT name, street_and_number, zip, city FROM users.account WHERE id = $1',
    reads: A('name', 'street_and_number', 'zip', 'city', 'id'),
    relationsRead: [ACCOUNT],
  },
  { sql: 'SELECT count(*) FROM users.account', relationsRead: [ACCOUNT] },
  {
    sql: 'SELECT count(*) FROM invoicing.invoice WHERE account_id = $1',
    reads: I('account_id'),
    relationsRead: [INVOICE],
  },
  {
    sql: 'SELECT * FROM users.account',
    reads: ALL_A,
    relationsRead: [ACCOUNT],
    warnings: ['* expanded from the catalog: reads every column of users.account'],
  },
  {
    sql: 'SELECT a.* FROM users.account a',
    reads: ALL_A,
    relationsRead: [ACCOUNT],
    warnings: ['a.* expanded'],
  },
  {
    sql: 'SELECT a.name, i.amount FROM users.account a JOIN invoicing.invoice i ON i.account_id = a.id',
    reads: [...A('name', 'id'), ...I('amount', 'account_id')],
    relationsRead: [ACCOUNT, INVOICE],
  },
  {
    sql: 'SELECT name FROM users.account a JOIN invoicing.invoice i ON i.account_id = a.id WHERE amount > 100',
    reads: [...A('name', 'id'), ...I('account_id', 'amount')],
    relationsRead: [ACCOUNT, INVOICE],
  },
  {
    sql: 'SELECT users.account.name FROM users.account',
    reads: A('name'),
    relationsRead: [ACCOUNT],
  },
  { sql: 'SELECT account.zip FROM users.account', reads: A('zip'), relationsRead: [ACCOUNT] },
  {
    sql: 'SELECT name FROM account WHERE id = $1',
    searchPath: ['users'],
    reads: A('name', 'id'),
    relationsRead: [ACCOUNT],
  },
  {
    sql: 'SELECT amount FROM invoice',
    role: 'invoicing',
    reads: I('amount'),
    relationsRead: [INVOICE],
  },
  { sql: 'SELECT full_name FROM legacy_customer', reads: L('full_name'), relationsRead: [LEGACY] },
  {
    sql: 'SELECT amount FROM invoice WHERE account_id = $1',
    outsidePath: true,
    reads: I('amount', 'account_id'),
    relationsRead: [INVOICE],
    warnings: [
      'relation "invoice" is not on the search_path (public): taken as invoicing.invoice, the only relation of that name',
    ],
  },
  {
    sql: 'SELECT email FROM public.legacy_customer WHERE lower(email) = lower($1)',
    reads: L('email'),
    relationsRead: [LEGACY],
  },
  {
    sql: 'SELECT name FROM account',
    relationsRead: [],
    warnings: ['relation "account" not found in the catalog (search_path: public)'],
  },
  // Joins: USING, NATURAL, LEFT, aliases hiding names.
  {
    sql: 'SELECT a.id FROM users.account a JOIN users.account_address USING (id)',
    reads: [...A('id'), ...V('id')],
    relationsRead: [ACCOUNT, VIEW],
  },
  {
    sql: 'SELECT city FROM users.account NATURAL JOIN users.account_address',
    reads: [...A('id', 'street_and_number', 'zip', 'city'), ...ALL_V],
    relationsRead: [ACCOUNT, VIEW],
  },
  {
    sql: 'SELECT a.name, count(i.id) FROM users.account a LEFT JOIN invoicing.invoice i ON i.account_id = a.id GROUP BY a.name',
    reads: [...A('name', 'id'), ...I('id', 'account_id')],
    relationsRead: [ACCOUNT, INVOICE],
  },
  {
    sql: 'SELECT account_no FROM users.account AS a(account_no)',
    reads: A('id'),
    relationsRead: [ACCOUNT],
  },
  {
    sql: 'SELECT id FROM users.account a, invoicing.invoice i',
    reads: [...A('id'), ...I('id')],
    relationsRead: [ACCOUNT, INVOICE],
    warnings: ['column reference "id" is ambiguous'],
  },
  {
    sql: 'SELECT i.*, a.name FROM invoicing.invoice i JOIN users.account a ON a.id = i.account_id',
    reads: [...ALL_I, ...A('name', 'id')],
    relationsRead: [ACCOUNT, INVOICE],
    warnings: ['i.* expanded'],
  },
  // Subqueries, correlation, LATERAL.
  {
    sql: 'SELECT name FROM users.account WHERE id IN (SELECT account_id FROM invoicing.invoice WHERE amount > $1)',
    reads: [...A('name', 'id'), ...I('account_id', 'amount')],
    relationsRead: [ACCOUNT, INVOICE],
  },
  {
    sql: 'SELECT a.name FROM users.account a WHERE EXISTS (SELECT 1 FROM invoicing.invoice i WHERE i.account_id = a.id)',
    reads: [...A('name', 'id'), ...I('account_id')],
    relationsRead: [ACCOUNT, INVOICE],
  },
  {
    // The unqualified id belongs to the innermost level that has one: the invoice.
    sql: 'SELECT name FROM users.account WHERE EXISTS (SELECT 1 FROM invoicing.invoice WHERE account_id = id)',
    reads: [...A('name'), ...I('account_id', 'id')],
    relationsRead: [ACCOUNT, INVOICE],
  },
  {
    sql: 'SELECT id FROM users.account WHERE EXISTS (SELECT 1 FROM invoicing.invoice WHERE billing_zip = zip)',
    reads: [...A('id', 'zip'), ...I('billing_zip')],
    relationsRead: [ACCOUNT, INVOICE],
  },
  {
    sql: 'SELECT a.id, (SELECT sum(amount) FROM invoicing.invoice i WHERE i.account_id = a.id) AS total FROM users.account a',
    reads: [...A('id'), ...I('amount', 'account_id')],
    relationsRead: [ACCOUNT, INVOICE],
  },
  {
    sql: 'SELECT s.n FROM (SELECT name AS n, zip FROM users.account) s WHERE s.zip = $1',
    reads: A('name', 'zip'),
    relationsRead: [ACCOUNT],
  },
  {
    sql: 'SELECT x FROM (SELECT city FROM users.account) AS s(x)',
    reads: A('city'),
    relationsRead: [ACCOUNT],
  },
  {
    sql: 'SELECT id FROM (SELECT id, name FROM users.account) s NATURAL JOIN users.account_address',
    reads: [...A('id', 'name'), ...V('id')],
    relationsRead: [ACCOUNT, VIEW],
  },
  {
    sql: 'SELECT a.name, last.amount FROM users.account a CROSS JOIN LATERAL (SELECT amount FROM invoicing.invoice i WHERE i.account_id = a.id ORDER BY created_at DESC LIMIT 1) last',
    reads: [...A('name', 'id'), ...I('amount', 'account_id', 'created_at')],
    relationsRead: [ACCOUNT, INVOICE],
  },
  {
    sql: 'SELECT a.id, x.c FROM users.account a LEFT JOIN LATERAL (SELECT count(*) AS c FROM invoicing.invoice WHERE account_id = a.id) x ON true',
    reads: [...A('id'), ...I('account_id')],
    relationsRead: [ACCOUNT, INVOICE],
  },
  {
    sql: 'SELECT a.name FROM users.account a WHERE a.id = ANY (ARRAY(SELECT account_id FROM invoicing.invoice))',
    reads: [...A('name', 'id'), ...I('account_id')],
    relationsRead: [ACCOUNT, INVOICE],
  },
  {
    sql: 'SELECT id FROM users.account WHERE (zip, city) IN (SELECT billing_zip, billing_city FROM invoicing.invoice)',
    reads: [...A('id', 'zip', 'city'), ...I('billing_zip', 'billing_city')],
    relationsRead: [ACCOUNT, INVOICE],
  },
  // WITH: plain, shadowing, recursive, data-modifying.
  {
    sql: 'WITH big AS (SELECT account_id, sum(amount) AS total FROM invoicing.invoice GROUP BY account_id) SELECT a.name, big.total FROM big JOIN users.account a ON a.id = big.account_id',
    reads: [...I('account_id', 'amount'), ...A('name', 'id')],
    relationsRead: [ACCOUNT, INVOICE],
  },
  { sql: 'WITH account AS (SELECT 1 AS id) SELECT id FROM account', searchPath: ['users'] },
  {
    sql: 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10) SELECT i FROM n',
  },
  {
    sql: 'WITH RECURSIVE chain AS (SELECT id, account_id FROM invoicing.invoice WHERE id = $1 UNION ALL SELECT i.id, i.account_id FROM invoicing.invoice i JOIN chain c ON i.id = c.id + 1) SELECT count(*) FROM chain',
    reads: I('id', 'account_id'),
    relationsRead: [INVOICE],
  },
  {
    sql: 'WITH gone AS (DELETE FROM invoicing.invoice WHERE created_at < $1 RETURNING id, account_id) SELECT count(*) FROM gone',
    reads: I('created_at', 'id', 'account_id'),
    relationsRead: [INVOICE],
    relationsWritten: [INVOICE],
  },
  {
    sql: 'WITH moved AS (DELETE FROM public.legacy_customer RETURNING *) INSERT INTO users.account (id, name) SELECT id, full_name FROM moved',
    reads: ALL_L,
    writes: A('id', 'name'),
    relationsRead: [LEGACY],
    relationsWritten: [LEGACY, ACCOUNT],
    warnings: ['* expanded from the catalog: reads every column of public.legacy_customer'],
  },
  // Set operations.
  {
    sql: 'SELECT name FROM users.account UNION SELECT full_name FROM public.legacy_customer',
    reads: [...A('name'), ...L('full_name')],
    relationsRead: [ACCOUNT, LEGACY],
  },
  {
    sql: 'SELECT zip AS code FROM users.account UNION ALL SELECT billing_zip FROM invoicing.invoice ORDER BY code',
    reads: [...A('zip'), ...I('billing_zip')],
    relationsRead: [ACCOUNT, INVOICE],
  },
  {
    sql: 'SELECT id FROM users.account EXCEPT SELECT account_id FROM invoicing.invoice',
    reads: [...A('id'), ...I('account_id')],
    relationsRead: [ACCOUNT, INVOICE],
  },
  {
    sql: 'SELECT city FROM users.account INTERSECT SELECT billing_city FROM invoicing.invoice',
    reads: [...A('city'), ...I('billing_city')],
    relationsRead: [ACCOUNT, INVOICE],
  },
  // Ordering, grouping, windows, DISTINCT ON.
  {
    sql: 'SELECT name AS n FROM users.account ORDER BY n',
    reads: A('name'),
    relationsRead: [ACCOUNT],
  },
  {
    sql: 'SELECT name FROM users.account ORDER BY created_at DESC LIMIT $1',
    reads: A('name', 'created_at'),
    relationsRead: [ACCOUNT],
  },
  {
    sql: 'SELECT city, count(*) FROM users.account GROUP BY city HAVING count(*) > $1',
    reads: A('city'),
    relationsRead: [ACCOUNT],
  },
  {
    sql: 'SELECT zip, count(*) FROM users.account GROUP BY 1 ORDER BY 2 DESC',
    reads: A('zip'),
    relationsRead: [ACCOUNT],
  },
  {
    sql: 'SELECT zip FROM users.account GROUP BY zip ORDER BY count(*) DESC',
    reads: A('zip'),
    relationsRead: [ACCOUNT],
  },
  {
    sql: 'SELECT id, amount, sum(amount) OVER (PARTITION BY account_id ORDER BY created_at) FROM invoicing.invoice',
    reads: I('id', 'amount', 'account_id', 'created_at'),
    relationsRead: [INVOICE],
  },
  {
    sql: 'SELECT id, rank() OVER w FROM invoicing.invoice WINDOW w AS (PARTITION BY billing_city ORDER BY amount DESC)',
    reads: I('id', 'billing_city', 'amount'),
    relationsRead: [INVOICE],
  },
  {
    sql: 'SELECT DISTINCT ON (account_id) account_id, amount FROM invoicing.invoice ORDER BY account_id, created_at DESC',
    reads: I('account_id', 'amount', 'created_at'),
    relationsRead: [INVOICE],
  },
  {
    sql: "SELECT CASE WHEN zip IS NULL THEN 'unknown' ELSE city END, coalesce(street_and_number, '') FROM users.account",
    reads: A('zip', 'city', 'street_and_number'),
    relationsRead: [ACCOUNT],
  },
  {
    sql: 'SELECT name FROM users.account WHERE zip = ANY($1::text[])',
    reads: A('name', 'zip'),
    relationsRead: [ACCOUNT],
  },
  {
    sql: 'SELECT id FROM users.account LIMIT 10 FOR UPDATE SKIP LOCKED',
    reads: A('id'),
    relationsRead: [ACCOUNT],
  },
  // Whole rows, composite access, views, functions.
  {
    sql: 'SELECT row_to_json(a) FROM users.account a',
    reads: ALL_A,
    relationsRead: [ACCOUNT],
    warnings: [
      'whole-row reference "a" expanded from the catalog: reads every column of users.account',
    ],
  },
  { sql: 'SELECT (a).zip FROM users.account a', reads: A('zip'), relationsRead: [ACCOUNT] },
  {
    sql: 'SELECT zip, city FROM users.account_address WHERE id = $1',
    reads: V('zip', 'city', 'id'),
    relationsRead: [VIEW],
  },
  {
    sql: 'SELECT * FROM users.account_address',
    reads: ALL_V,
    relationsRead: [VIEW],
    warnings: ['reads every column of users.account_address'],
  },
  {
    sql: 'TABLE users.account_address',
    reads: ALL_V,
    relationsRead: [VIEW],
    warnings: ['reads every column of users.account_address'],
  },
  {
    sql: 'SELECT id, invoicing.total_for(id) FROM users.account',
    reads: A('id'),
    relationsRead: [ACCOUNT],
    warnings: ['function invoicing.total_for is opaque'],
  },
  {
    sql: 'SELECT total_for($1)',
    searchPath: ['invoicing'],
    warnings: ['function invoicing.total_for is opaque'],
  },
  { sql: 'SELECT $1::int AS x' },
  { sql: 'SELECT generate_series(1, 3)' },
  {
    sql: 'SELECT g.n, a.name FROM generate_series(1, 3) AS g(n) JOIN users.account a ON a.id = g.n',
    reads: A('name', 'id'),
    relationsRead: [ACCOUNT],
  },
  { sql: "VALUES (1, 'a'), (2, 'b')" },
  {
    sql: 'SELECT v.x FROM (VALUES (1), (2)) AS v(x) JOIN users.account ON id = v.x',
    reads: A('id'),
    relationsRead: [ACCOUNT],
  },
  // INSERT.
  {
    sql: 'INSERT INTO users.account (name, zip, city) VALUES ($1, $2, $3)',
    writes: A('name', 'zip', 'city'),
    relationsWritten: [ACCOUNT],
  },
  {
    sql: 'INSERT INTO users.account (name) VALUES ($1) RETURNING id, created_at',
    reads: A('id', 'created_at'),
    writes: A('name'),
    relationsRead: [ACCOUNT],
    relationsWritten: [ACCOUNT],
  },
  {
    sql: 'INSERT INTO public.legacy_customer VALUES ($1, $2, $3, $4)',
    writes: ALL_L,
    relationsWritten: [LEGACY],
    warnings: ['taken from the catalog by position'],
  },
  {
    sql: 'INSERT INTO public.legacy_customer VALUES ($1, $2)',
    writes: L('id', 'full_name'),
    relationsWritten: [LEGACY],
    warnings: ['taken from the catalog by position'],
  },
  { sql: 'INSERT INTO users.account DEFAULT VALUES', relationsWritten: [ACCOUNT] },
  {
    sql: 'INSERT INTO invoicing.invoice (account_id, amount, billing_name, billing_street_and_number, billing_zip, billing_city) SELECT id, $1, name, street_and_number, zip, city FROM users.account WHERE id = $2',
    reads: A('id', 'name', 'street_and_number', 'zip', 'city'),
    writes: I(
      'account_id',
      'amount',
      'billing_name',
      'billing_street_and_number',
      'billing_zip',
      'billing_city',
    ),
    relationsRead: [ACCOUNT],
    relationsWritten: [INVOICE],
  },
  {
    sql: "INSERT INTO public.legacy_customer (id, email) VALUES (1, 'a'), (2, 'b')",
    writes: L('id', 'email'),
    relationsWritten: [LEGACY],
  },
  {
    sql: 'INSERT INTO public.legacy_customer (id, email) VALUES ($1, $2) ON CONFLICT DO NOTHING',
    writes: L('id', 'email'),
    relationsWritten: [LEGACY],
  },
  {
    sql: "INSERT INTO public.legacy_customer AS c (id, email, full_name) VALUES ($1, $2, $3) ON CONFLICT (email) DO UPDATE SET full_name = EXCLUDED.full_name, notes = c.notes || ' (updated)' WHERE c.full_name IS DISTINCT FROM EXCLUDED.full_name",
    reads: L('email', 'notes', 'full_name'),
    writes: L('id', 'email', 'full_name', 'notes'),
    relationsRead: [LEGACY],
    relationsWritten: [LEGACY],
  },
  {
    sql: 'INSERT INTO invoicing.invoice (account_id, amount, created_at) VALUES ($1, $2, $3) ON CONFLICT ON CONSTRAINT invoice_account_created DO UPDATE SET amount = invoice.amount + EXCLUDED.amount',
    reads: I('account_id', 'created_at', 'amount'),
    writes: I('account_id', 'amount', 'created_at'),
    relationsRead: [INVOICE],
    relationsWritten: [INVOICE],
  },
  {
    sql: 'INSERT INTO users.account (name, zip) SELECT full_name, $1 FROM public.legacy_customer WHERE notes IS NULL RETURNING *',
    reads: [...ALL_A, ...L('full_name', 'notes')],
    writes: A('name', 'zip'),
    relationsRead: [ACCOUNT, LEGACY],
    relationsWritten: [ACCOUNT],
    warnings: ['reads every column of users.account'],
  },
  // UPDATE.
  {
    sql: 'UPDATE users.account SET street_and_number = $1, zip = $2 WHERE id = $3',
    reads: A('id'),
    writes: A('street_and_number', 'zip'),
    relationsRead: [ACCOUNT],
    relationsWritten: [ACCOUNT],
  },
  {
    sql: 'UPDATE public.legacy_customer SET notes = NULL',
    writes: L('notes'),
    relationsWritten: [LEGACY],
  },
  {
    sql: 'UPDATE invoicing.invoice SET amount = amount * 1.1 WHERE billing_city = $1 RETURNING id, amount',
    reads: I('amount', 'billing_city', 'id'),
    writes: I('amount'),
    relationsRead: [INVOICE],
    relationsWritten: [INVOICE],
  },
  {
    sql: 'UPDATE invoicing.invoice i SET billing_name = a.name, billing_zip = a.zip FROM users.account a WHERE a.id = i.account_id AND i.created_at > $1',
    reads: [...A('name', 'zip', 'id'), ...I('account_id', 'created_at')],
    writes: I('billing_name', 'billing_zip'),
    relationsRead: [ACCOUNT, INVOICE],
    relationsWritten: [INVOICE],
  },
  {
    sql: 'UPDATE invoicing.invoice SET (billing_street_and_number, billing_city) = (SELECT street_and_number, city FROM users.account WHERE users.account.id = invoice.account_id)',
    reads: [...A('street_and_number', 'city', 'id'), ...I('account_id')],
    writes: I('billing_street_and_number', 'billing_city'),
    relationsRead: [ACCOUNT, INVOICE],
    relationsWritten: [INVOICE],
  },
  {
    sql: 'UPDATE users.account SET created_at = DEFAULT WHERE id = $1',
    reads: A('id'),
    writes: A('created_at'),
    relationsRead: [ACCOUNT],
    relationsWritten: [ACCOUNT],
  },
  {
    sql: 'UPDATE users.account SET nickname = $1 WHERE id = $2',
    reads: A('id'),
    relationsRead: [ACCOUNT],
    relationsWritten: [ACCOUNT],
    warnings: ['column "nickname" of relation users.account not found'],
  },
  // DELETE.
  {
    sql: 'DELETE FROM invoicing.invoice WHERE id = $1',
    reads: I('id'),
    relationsRead: [INVOICE],
    relationsWritten: [INVOICE],
  },
  { sql: 'DELETE FROM public.legacy_customer', relationsWritten: [LEGACY] },
  {
    sql: 'DELETE FROM invoicing.invoice i USING users.account a WHERE a.id = i.account_id AND a.city = $1',
    reads: [...A('id', 'city'), ...I('account_id')],
    relationsRead: [ACCOUNT, INVOICE],
    relationsWritten: [INVOICE],
  },
  {
    sql: 'DELETE FROM public.legacy_customer WHERE id = $1 RETURNING *',
    reads: ALL_L,
    relationsRead: [LEGACY],
    relationsWritten: [LEGACY],
    warnings: ['reads every column of public.legacy_customer'],
  },
  {
    sql: 'DELETE FROM legacy_customer USING users.account a WHERE a.name = legacy_customer.full_name',
    reads: [...A('name'), ...L('full_name')],
    relationsRead: [ACCOUNT, LEGACY],
    relationsWritten: [LEGACY],
  },
  // MERGE.
  {
    sql: 'MERGE INTO invoicing.invoice t USING users.account s ON t.account_id = s.id WHEN MATCHED THEN UPDATE SET billing_name = s.name WHEN NOT MATCHED THEN INSERT (account_id, amount) VALUES (s.id, 0)',
    reads: [...I('account_id'), ...A('id', 'name')],
    writes: I('billing_name', 'account_id', 'amount'),
    relationsRead: [ACCOUNT, INVOICE],
    relationsWritten: [INVOICE],
  },
  {
    sql: 'MERGE INTO public.legacy_customer c USING (SELECT id, name FROM users.account WHERE city = $1) s ON c.id = s.id WHEN MATCHED AND c.notes IS NULL THEN DELETE WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.name)',
    reads: [...A('id', 'name', 'city'), ...L('id', 'notes')],
    writes: L('id', 'full_name'),
    relationsRead: [ACCOUNT, LEGACY],
    relationsWritten: [LEGACY],
    warnings: ['taken from the catalog by position'],
  },
  {
    sql: 'MERGE INTO public.legacy_customer c USING users.account a ON c.id = a.id WHEN MATCHED THEN DO NOTHING',
    reads: [...L('id'), ...A('id')],
    relationsRead: [ACCOUNT, LEGACY],
  },
  // COPY.
  {
    sql: 'COPY users.account (id, name) TO STDOUT',
    reads: A('id', 'name'),
    relationsRead: [ACCOUNT],
  },
  {
    sql: 'COPY invoicing.invoice TO STDOUT WITH (FORMAT csv)',
    reads: ALL_I,
    relationsRead: [INVOICE],
    warnings: ['COPY expanded from the catalog: reads every column of invoicing.invoice'],
  },
  {
    sql: 'COPY public.legacy_customer (id, email) FROM STDIN',
    writes: L('id', 'email'),
    relationsWritten: [LEGACY],
  },
  {
    sql: "COPY (SELECT name, city FROM users.account WHERE created_at > now() - interval '1 day') TO STDOUT",
    reads: A('name', 'city', 'created_at'),
    relationsRead: [ACCOUNT],
  },
  // What cannot be resolved, and statements without data access.
  { sql: 'SELECT x FROM nowhere', warnings: ['relation "nowhere" not found in the catalog'] },
  {
    sql: 'SELECT nope FROM users.account',
    relationsRead: [ACCOUNT],
    warnings: ['column "nope" not found'],
  },
  {
    sql: 'SELECT relname FROM pg_catalog.pg_class',
    warnings: ['system relation pg_catalog.pg_class is not tracked'],
  },
  { sql: 'BEGIN' },
  // pg_stat_statements's normalized forms of name-taking utility statements.
  { sql: 'SAVEPOINT $1' },
  { sql: 'RELEASE SAVEPOINT $1' },
  { sql: 'ROLLBACK TO SAVEPOINT $1' },
  { sql: 'DEALLOCATE $1' },
  { sql: 'SELECT $1 IN ($2 /*, ... */)' },
  { sql: "SET statement_timeout = '5s'" },
  { sql: 'EXPLAIN SELECT name FROM users.account', reads: A('name'), relationsRead: [ACCOUNT] },
  {
    sql: 'PREPARE q(bigint) AS SELECT amount FROM invoicing.invoice WHERE account_id = $1',
    reads: I('amount', 'account_id'),
    relationsRead: [INVOICE],
  },
  { sql: 'EXECUTE q(1)', warnings: ['EXECUTE "q" runs a prepared statement'] },
  {
    sql: 'CREATE TABLE public.account_copy AS SELECT id, zip FROM users.account',
    reads: A('id', 'zip'),
    relationsRead: [ACCOUNT],
  },
  { sql: 'TRUNCATE public.legacy_customer', relationsWritten: [LEGACY] },
  {
    sql: 'ALTER TABLE users.account ADD COLUMN street text',
    warnings: ['AlterTableStmt is not analyzed for data access'],
  },
  { sql: 'DO $$ BEGIN PERFORM 1; END $$', warnings: ['DO block is opaque'] },
];
