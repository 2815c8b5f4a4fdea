/** Corpus over the larger shop schema (fixtures/shop.sql: 26 tables, 4 views, a materialized view). */
import { type CorpusCase, columnsOf } from './case.js';

const category = columnsOf('catalog.category');
const product = columnsOf('catalog.product');
const productCategory = columnsOf('catalog.product_category');
const price = columnsOf('catalog.price');
const warehouse = columnsOf('catalog.warehouse');
const inventory = columnsOf('catalog.inventory_item');
const review = columnsOf('catalog.review');
const customer = columnsOf('sales.customer');
const address = columnsOf('sales.address');
const order = columnsOf('sales.order');
const line = columnsOf('sales.order_line');
const payment = columnsOf('sales.payment');
const refund = columnsOf('sales.refund');
const coupon = columnsOf('sales.coupon');
const orderCoupon = columnsOf('sales.order_coupon');
const cart = columnsOf('sales.cart');
const cartItem = columnsOf('sales.cart_item');
const carrier = columnsOf('shipping.carrier');
const shipment = columnsOf('shipping.shipment');
const shipmentItem = columnsOf('shipping.shipment_item');
const department = columnsOf('hr.department');
const employee = columnsOf('hr.employee');
const salaryHistory = columnsOf('hr.salary_history');
const lead = columnsOf('CRM.Lead');
const eventLog = columnsOf('audit.event_log');
const orderSummary = columnsOf('sales.order_summary');
const customerPublic = columnsOf('sales.customer_public');
const productStock = columnsOf('catalog.product_stock');
const directory = columnsOf('hr.employee_directory');
const dailyRevenue = columnsOf('sales.daily_revenue');

const EVENT_LOG_INSERT = eventLog('occurred_at', 'actor', 'action', 'payload');

export const SHOP_CORPUS: CorpusCase[] = [
  {
    sql: 'SELECT p.sku, p.name, c.name AS category FROM catalog.product p JOIN catalog.category c ON c.id = p.category_id WHERE p.active',
    reads: [...product('sku', 'name', 'category_id', 'active'), ...category('name', 'id')],
    relationsRead: ['catalog.product', 'catalog.category'],
  },
  {
    sql: 'WITH RECURSIVE tree AS (SELECT id, parent_id, name, 1 AS depth FROM catalog.category WHERE parent_id IS NULL UNION ALL SELECT c.id, c.parent_id, c.name, t.depth + 1 FROM catalog.category c JOIN tree t ON c.parent_id = t.id) SELECT name, depth FROM tree ORDER BY depth',
    reads: category('id', 'parent_id', 'name'),
    relationsRead: ['catalog.category'],
  },
  {
    sql: 'SELECT amount FROM catalog.price WHERE product_id = $1 AND currency = $2 AND valid_from <= current_date AND (valid_to IS NULL OR valid_to > current_date) ORDER BY valid_from DESC LIMIT 1',
    reads: price('amount', 'product_id', 'currency', 'valid_from', 'valid_to'),
    relationsRead: ['catalog.price'],
  },
  {
    sql: 'SELECT available FROM catalog.product_stock WHERE sku = $1',
    reads: productStock('available', 'sku'),
    relationsRead: ['catalog.product_stock'],
  },
  {
    sql: 'SELECT o.id, o.placed_at, l.line_no, l.quantity, l.unit_price, p.name FROM sales."order" o JOIN sales.order_line l ON l.order_id = o.id JOIN catalog.product p ON p.id = l.product_id WHERE o.customer_id = $1',
    reads: [
      ...order('id', 'placed_at', 'customer_id'),
      ...line('line_no', 'quantity', 'unit_price', 'order_id', 'product_id'),
      ...product('name', 'id'),
    ],
    relationsRead: ['sales.order', 'sales.order_line', 'catalog.product'],
  },
  {
    sql: 'INSERT INTO sales."order" (customer_id, billing_address_id, shipping_address_id, currency) VALUES ($1, $2, $3, $4) RETURNING id',
    reads: order('id'),
    writes: order('customer_id', 'billing_address_id', 'shipping_address_id', 'currency'),
    relationsRead: ['sales.order'],
    relationsWritten: ['sales.order'],
  },
  {
    sql: 'INSERT INTO sales.order_line (order_id, line_no, product_id, quantity, unit_price) SELECT $1, row_number() OVER (ORDER BY ci.added_at), ci.product_id, ci.quantity, pr.amount FROM sales.cart_item ci JOIN catalog.price pr ON pr.product_id = ci.product_id AND pr.currency = $2 WHERE ci.cart_id = $3',
    reads: [
      ...cartItem('added_at', 'product_id', 'quantity', 'cart_id'),
      ...price('amount', 'product_id', 'currency'),
    ],
    writes: line('order_id', 'line_no', 'product_id', 'quantity', 'unit_price'),
    relationsRead: ['sales.cart_item', 'catalog.price'],
    relationsWritten: ['sales.order_line'],
  },
  {
    sql: 'UPDATE sales."order" SET total = sales.order_total(id) WHERE id = $1',
    reads: order('id'),
    writes: order('total'),
    relationsRead: ['sales.order'],
    relationsWritten: ['sales.order'],
    warnings: ['function sales.order_total is opaque'],
  },
  {
    sql: 'UPDATE sales."order" SET status = \'paid\' WHERE id = (SELECT order_id FROM sales.payment WHERE provider_ref = $1)',
    reads: [...order('id'), ...payment('order_id', 'provider_ref')],
    writes: order('status'),
    relationsRead: ['sales.order', 'sales.payment'],
    relationsWritten: ['sales.order'],
  },
  {
    sql: 'INSERT INTO sales.payment (order_id, method, amount, provider_ref, paid_at) VALUES ($1, $2, $3, $4, now()) ON CONFLICT (provider_ref) DO UPDATE SET paid_at = EXCLUDED.paid_at',
    reads: payment('provider_ref'),
    writes: payment('order_id', 'method', 'amount', 'provider_ref', 'paid_at'),
    relationsRead: ['sales.payment'],
    relationsWritten: ['sales.payment'],
  },
  {
    sql: 'SELECT p.order_id, sum(r.amount) AS refunded FROM sales.refund r JOIN sales.payment p ON p.id = r.payment_id GROUP BY p.order_id HAVING sum(r.amount) > 0',
    reads: [...refund('amount', 'payment_id'), ...payment('order_id', 'id')],
    relationsRead: ['sales.refund', 'sales.payment'],
  },
  {
    sql: 'UPDATE sales.coupon SET uses = uses + 1 WHERE code = $1 AND (max_uses IS NULL OR uses < max_uses) RETURNING percent_off',
    reads: coupon('uses', 'code', 'max_uses', 'percent_off'),
    writes: coupon('uses'),
    relationsRead: ['sales.coupon'],
    relationsWritten: ['sales.coupon'],
  },
  {
    sql: 'SELECT o.id, c.percent_off FROM sales."order" o JOIN sales.order_coupon oc ON oc.order_id = o.id JOIN sales.coupon c ON c.code = oc.coupon_code',
    reads: [
      ...order('id'),
      ...orderCoupon('order_id', 'coupon_code'),
      ...coupon('percent_off', 'code'),
    ],
    relationsRead: ['sales.order', 'sales.order_coupon', 'sales.coupon'],
  },
  {
    sql: 'SELECT si.quantity, l.product_id FROM shipping.shipment_item si JOIN sales.order_line l USING (order_id, line_no)',
    reads: [
      ...shipmentItem('quantity', 'order_id', 'line_no'),
      ...line('product_id', 'order_id', 'line_no'),
    ],
    relationsRead: ['shipping.shipment_item', 'sales.order_line'],
  },
  {
    sql: 'SELECT first_name, last_name FROM sales.customer_public WHERE id = $1',
    reads: customerPublic('first_name', 'last_name', 'id'),
    relationsRead: ['sales.customer_public'],
  },
  {
    sql: 'SELECT day, revenue FROM sales.daily_revenue WHERE currency = $1 ORDER BY day DESC LIMIT 30',
    reads: dailyRevenue('day', 'revenue', 'currency'),
    relationsRead: ['sales.daily_revenue'],
  },
  {
    sql: 'REFRESH MATERIALIZED VIEW sales.daily_revenue',
    relationsWritten: ['sales.daily_revenue'],
  },
  { sql: "SELECT nextval('sales.invoice_number_seq')" },
  {
    sql: 'SELECT last_value FROM sales.invoice_number_seq',
    relationsRead: ['sales.invoice_number_seq'],
  },
  {
    sql: 'SELECT id, sku FROM catalog.search_products($1)',
    warnings: ['function catalog.search_products is opaque'],
  },
  {
    sql: 'SELECT e.first_name, m.first_name AS manager FROM hr.employee e LEFT JOIN hr.employee m ON m.id = e.manager_id',
    reads: employee('first_name', 'id', 'manager_id'),
    relationsRead: ['hr.employee'],
  },
  {
    sql: 'WITH RECURSIVE chain(id, manager_id, lvl) AS (SELECT id, manager_id, 0 FROM hr.employee WHERE id = $1 UNION ALL SELECT e.id, e.manager_id, c.lvl + 1 FROM hr.employee e JOIN chain c ON e.id = c.manager_id) SELECT id, lvl FROM chain',
    reads: employee('id', 'manager_id'),
    relationsRead: ['hr.employee'],
  },
  {
    sql: 'SELECT department_id, first_name, salary, rank() OVER (PARTITION BY department_id ORDER BY salary DESC) FROM hr.employee WHERE left_on IS NULL',
    reads: employee('department_id', 'first_name', 'salary', 'left_on'),
    relationsRead: ['hr.employee'],
  },
  {
    sql: 'WITH raised AS (UPDATE hr.employee SET salary = salary * 1.05 WHERE department_id = $1 RETURNING id, salary) INSERT INTO hr.salary_history (employee_id, changed_on, new_salary) SELECT id, current_date, salary FROM raised',
    reads: employee('salary', 'department_id', 'id'),
    writes: [...employee('salary'), ...salaryHistory('employee_id', 'changed_on', 'new_salary')],
    relationsRead: ['hr.employee'],
    relationsWritten: ['hr.employee', 'hr.salary_history'],
  },
  {
    sql: 'SELECT d.department, count(*) FROM hr.employee_directory d GROUP BY d.department',
    reads: directory('department'),
    relationsRead: ['hr.employee_directory'],
  },
  {
    sql: 'SELECT d.name, e.last_name FROM hr.department d JOIN hr.employee e ON e.id = d.manager_id',
    reads: [...department('name', 'manager_id'), ...employee('last_name', 'id')],
    relationsRead: ['hr.department', 'hr.employee'],
  },
  // Names that need quoting: upper case, spaces, dots, non-ASCII.
  {
    sql: 'SELECT "E-Mail", "Größe" FROM "CRM"."Lead" WHERE "LeadId" = $1',
    reads: lead('E-Mail', 'Größe', 'LeadId'),
    relationsRead: ['CRM.Lead'],
  },
  {
    sql: 'UPDATE "CRM"."Lead" SET "Source Channel" = $1, "owner.name" = $2 WHERE "E-Mail" = $3',
    reads: lead('E-Mail'),
    writes: lead('Source Channel', 'owner.name'),
    relationsRead: ['CRM.Lead'],
    relationsWritten: ['CRM.Lead'],
  },
  {
    sql: 'SELECT l."Größe" AS größe FROM "CRM"."Lead" l ORDER BY größe',
    reads: lead('Größe'),
    relationsRead: ['CRM.Lead'],
  },
  {
    sql: 'SELECT leadid FROM "CRM"."Lead"',
    relationsRead: ['CRM.Lead'],
    warnings: ['column "leadid" not found'],
  },
  { sql: 'SELECT * FROM crm.lead', warnings: ['relation "crm.lead" not found in the catalog'] },
  {
    sql: 'INSERT INTO "CRM"."Lead" ("E-Mail", "Source Channel") VALUES ($1, $2) RETURNING "LeadId"',
    reads: lead('LeadId'),
    writes: lead('E-Mail', 'Source Channel'),
    relationsRead: ['CRM.Lead'],
    relationsWritten: ['CRM.Lead'],
  },
  // Partitioned table and a partition.
  {
    sql: 'INSERT INTO audit.event_log (occurred_at, actor, action, payload) VALUES (now(), $1, $2, $3::jsonb)',
    writes: EVENT_LOG_INSERT,
    relationsWritten: ['audit.event_log'],
  },
  {
    sql: 'SELECT count(*) FROM audit.event_log_2024 WHERE actor = $1',
    reads: ['audit.event_log_2024.actor'],
    relationsRead: ['audit.event_log_2024'],
  },
  // JSON, table functions, unnest.
  {
    sql: "SELECT id, attributes ->> 'color' FROM catalog.product WHERE attributes @> $1::jsonb",
    reads: product('id', 'attributes'),
    relationsRead: ['catalog.product'],
  },
  {
    sql: "SELECT p.sku, jt.color FROM catalog.product p, JSON_TABLE(p.attributes, '$' COLUMNS (color text PATH '$.color')) AS jt",
    reads: product('sku', 'attributes'),
    relationsRead: ['catalog.product'],
  },
  {
    sql: 'SELECT p.id, kv.key FROM catalog.product p CROSS JOIN LATERAL jsonb_each(p.attributes) AS kv',
    reads: product('id', 'attributes'),
    relationsRead: ['catalog.product'],
  },
  { sql: 'SELECT u.x, u.ordinality FROM unnest($1::bigint[]) WITH ORDINALITY AS u(x)' },
  {
    sql: 'SELECT p.name FROM catalog.product p JOIN unnest($1::bigint[]) AS ids(id) ON ids.id = p.id',
    reads: product('name', 'id'),
    relationsRead: ['catalog.product'],
  },
  {
    sql: "SELECT x.v FROM catalog.product p, XMLTABLE('/a' PASSING xmlparse(document p.description) COLUMNS v text PATH 'b') AS x",
    reads: product('description'),
    relationsRead: ['catalog.product'],
  },
  // Aggregates, grouping sets, FILTER, ordered aggregates.
  {
    sql: 'SELECT count(*) FILTER (WHERE rating >= 4) AS good, avg(rating) FROM catalog.review WHERE product_id = $1',
    reads: review('rating', 'product_id'),
    relationsRead: ['catalog.review'],
  },
  {
    sql: "SELECT order_id, string_agg(product_id::text, ',' ORDER BY line_no) FROM sales.order_line GROUP BY order_id",
    reads: line('order_id', 'product_id', 'line_no'),
    relationsRead: ['sales.order_line'],
  },
  {
    sql: 'SELECT country, city, count(*) FROM sales.address GROUP BY GROUPING SETS ((country), (country, city), ())',
    reads: address('country', 'city'),
    relationsRead: ['sales.address'],
  },
  {
    sql: 'SELECT currency, status, sum(total) FROM sales."order" GROUP BY ROLLUP (currency, status)',
    reads: order('currency', 'status', 'total'),
    relationsRead: ['sales.order'],
  },
  {
    sql: 'SELECT count(DISTINCT customer_id) FROM sales."order"',
    reads: order('customer_id'),
    relationsRead: ['sales.order'],
  },
  {
    // GROUP BY month: not an input column, so the output column of that name.
    sql: 'SELECT date_trunc(\'month\', placed_at)::date AS month, sum(total) FROM sales."order" GROUP BY month ORDER BY month',
    reads: order('placed_at', 'total'),
    relationsRead: ['sales.order'],
  },
  {
    // GROUP BY country: an input column takes precedence over the output alias.
    sql: 'SELECT city AS country, count(*) FROM sales.address GROUP BY country',
    reads: address('city', 'country'),
    relationsRead: ['sales.address'],
  },
  {
    // ORDER BY last_name: the output column takes precedence over the input column.
    sql: 'SELECT first_name AS last_name FROM sales.customer ORDER BY last_name',
    reads: customer('first_name'),
    relationsRead: ['sales.customer'],
  },
  // Upserts, deletes, MERGE.
  {
    sql: 'INSERT INTO sales.cart_item (cart_id, product_id, quantity) VALUES ($1, $2, $3) ON CONFLICT (cart_id, product_id) DO UPDATE SET quantity = sales.cart_item.quantity + EXCLUDED.quantity, added_at = now()',
    reads: cartItem('cart_id', 'product_id', 'quantity'),
    writes: cartItem('cart_id', 'product_id', 'quantity', 'added_at'),
    relationsRead: ['sales.cart_item'],
    relationsWritten: ['sales.cart_item'],
  },
  {
    sql: "DELETE FROM sales.cart c WHERE c.updated_at < now() - interval '30 days' AND NOT EXISTS (SELECT 1 FROM sales.cart_item i WHERE i.cart_id = c.id)",
    reads: [...cart('updated_at', 'id'), ...cartItem('cart_id')],
    relationsRead: ['sales.cart', 'sales.cart_item'],
    relationsWritten: ['sales.cart'],
  },
  {
    sql: 'DELETE FROM sales.cart_item ci USING sales.cart c WHERE c.id = ci.cart_id AND c.customer_id = $1',
    reads: [...cart('id', 'customer_id'), ...cartItem('cart_id')],
    relationsRead: ['sales.cart', 'sales.cart_item'],
    relationsWritten: ['sales.cart_item'],
  },
  {
    sql: 'DELETE FROM sales.order_coupon oc USING sales.coupon c WHERE c.code = oc.coupon_code AND c.valid_until < current_date RETURNING oc.order_id',
    reads: [...coupon('code', 'valid_until'), ...orderCoupon('coupon_code', 'order_id')],
    relationsRead: ['sales.coupon', 'sales.order_coupon'],
    relationsWritten: ['sales.order_coupon'],
  },
  {
    sql: 'MERGE INTO catalog.inventory_item AS inv USING (VALUES ($1::int, $2::bigint, $3::int)) AS v(warehouse_id, product_id, qty) ON inv.warehouse_id = v.warehouse_id AND inv.product_id = v.product_id WHEN MATCHED THEN UPDATE SET quantity = inv.quantity + v.qty, updated_at = now() WHEN NOT MATCHED THEN INSERT (warehouse_id, product_id, quantity) VALUES (v.warehouse_id, v.product_id, v.qty)',
    reads: inventory('warehouse_id', 'product_id', 'quantity'),
    writes: inventory('quantity', 'updated_at', 'warehouse_id', 'product_id'),
    relationsRead: ['catalog.inventory_item'],
    relationsWritten: ['catalog.inventory_item'],
  },
  {
    sql: 'MERGE INTO catalog.product_category pc USING (SELECT id AS product_id, category_id FROM catalog.product WHERE category_id IS NOT NULL) src ON pc.product_id = src.product_id AND pc.category_id = src.category_id WHEN NOT MATCHED BY TARGET THEN INSERT (product_id, category_id) VALUES (src.product_id, src.category_id) WHEN NOT MATCHED BY SOURCE THEN DELETE',
    reads: [...product('id', 'category_id'), ...productCategory('product_id', 'category_id')],
    writes: productCategory('product_id', 'category_id'),
    relationsRead: ['catalog.product', 'catalog.product_category'],
    relationsWritten: ['catalog.product_category'],
  },
  {
    sql: 'MERGE INTO sales.coupon c USING (SELECT $1::text AS code) s ON c.code = s.code WHEN MATCHED THEN UPDATE SET uses = c.uses + 1 RETURNING merge_action(), c.code, c.uses',
    reads: coupon('code', 'uses'),
    writes: coupon('uses'),
    relationsRead: ['sales.coupon'],
    relationsWritten: ['sales.coupon'],
  },
  // Shipping.
  {
    sql: "SELECT s.tracking_number, replace(c.tracking_url_template, '{n}', s.tracking_number) FROM shipping.shipment s JOIN shipping.carrier c ON c.id = s.carrier_id WHERE s.order_id = $1",
    reads: [
      ...shipment('tracking_number', 'carrier_id', 'order_id'),
      ...carrier('tracking_url_template', 'id'),
    ],
    relationsRead: ['shipping.shipment', 'shipping.carrier'],
  },
  {
    sql: 'INSERT INTO shipping.shipment_item (shipment_id, order_id, line_no, quantity) SELECT $1, l.order_id, l.line_no, l.quantity FROM sales.order_line l WHERE l.order_id = $2',
    reads: line('order_id', 'line_no', 'quantity'),
    writes: shipmentItem('shipment_id', 'order_id', 'line_no', 'quantity'),
    relationsRead: ['sales.order_line'],
    relationsWritten: ['shipping.shipment_item'],
  },
  {
    sql: 'UPDATE shipping.shipment s SET delivered_at = now() FROM sales."order" o WHERE o.id = s.order_id AND o.status = \'delivered\' AND s.delivered_at IS NULL',
    reads: [...order('id', 'status'), ...shipment('order_id', 'delivered_at')],
    writes: shipment('delivered_at'),
    relationsRead: ['sales.order', 'shipping.shipment'],
    relationsWritten: ['shipping.shipment'],
  },
  {
    sql: 'SELECT w.code, s.shipped_at FROM shipping.shipment s RIGHT JOIN catalog.warehouse w ON w.id = s.warehouse_id',
    reads: [...warehouse('code', 'id'), ...shipment('shipped_at', 'warehouse_id')],
    relationsRead: ['catalog.warehouse', 'shipping.shipment'],
  },
  // Nesting and correlation over several levels.
  {
    sql: 'SELECT c.email FROM sales.customer c WHERE c.id IN (SELECT o.customer_id FROM sales."order" o WHERE o.id IN (SELECT p.order_id FROM sales.payment p WHERE p.amount > (SELECT avg(amount) FROM sales.payment)))',
    reads: [
      ...customer('email', 'id'),
      ...order('customer_id', 'id'),
      ...payment('order_id', 'amount'),
    ],
    relationsRead: ['sales.customer', 'sales.order', 'sales.payment'],
  },
  {
    sql: 'SELECT c.id FROM sales.customer c WHERE EXISTS (SELECT 1 FROM sales."order" o WHERE o.customer_id = c.id AND EXISTS (SELECT 1 FROM sales.order_line l WHERE l.order_id = o.id AND l.quantity > c.id))',
    reads: [...customer('id'), ...order('customer_id', 'id'), ...line('order_id', 'quantity')],
    relationsRead: ['sales.customer', 'sales.order', 'sales.order_line'],
  },
  {
    sql: "SELECT customer_id FROM sales.address WHERE country = 'DE' INTERSECT SELECT customer_id FROM sales.\"order\" WHERE currency = 'EUR'",
    reads: [...address('customer_id', 'country'), ...order('customer_id', 'currency')],
    relationsRead: ['sales.address', 'sales.order'],
  },
  {
    sql: '(SELECT email AS contact FROM sales.customer) UNION (SELECT email FROM hr.employee) ORDER BY contact LIMIT 100',
    reads: [...customer('email'), ...employee('email')],
    relationsRead: ['sales.customer', 'hr.employee'],
  },
  {
    sql: 'WITH recent AS MATERIALIZED (SELECT id, customer_id FROM sales."order" WHERE placed_at > now() - interval \'7 days\') SELECT count(*) FROM recent r1 JOIN recent r2 ON r1.customer_id = r2.customer_id AND r1.id < r2.id',
    reads: order('id', 'customer_id', 'placed_at'),
    relationsRead: ['sales.order'],
  },
  {
    sql: 'WITH o AS (SELECT id, total FROM sales."order" WHERE status = $1), big AS (SELECT id FROM o WHERE total > 1000) SELECT count(*) FROM big',
    reads: order('id', 'total', 'status'),
    relationsRead: ['sales.order'],
  },
  {
    sql: 'WITH t(pid, qty) AS (SELECT product_id, sum(quantity) FROM sales.order_line GROUP BY product_id) SELECT p.name, t.qty FROM t JOIN catalog.product p ON p.id = t.pid ORDER BY t.qty DESC',
    reads: [...line('product_id', 'quantity'), ...product('name', 'id')],
    relationsRead: ['sales.order_line', 'catalog.product'],
  },
  {
    sql: "WITH d AS (DELETE FROM catalog.review WHERE created_at < $1 RETURNING id, product_id) INSERT INTO audit.event_log (occurred_at, actor, action, payload) SELECT now(), 'cleanup', 'review-deleted', jsonb_build_object('id', id, 'product', product_id) FROM d",
    reads: review('created_at', 'id', 'product_id'),
    writes: EVENT_LOG_INSERT,
    relationsRead: ['catalog.review'],
    relationsWritten: ['catalog.review', 'audit.event_log'],
  },
  {
    sql: 'SELECT c.id, top.name FROM catalog.category c CROSS JOIN LATERAL (SELECT p.name FROM catalog.product p WHERE p.category_id = c.id ORDER BY p.created_at DESC LIMIT 3) top',
    reads: [...category('id'), ...product('name', 'category_id', 'created_at')],
    relationsRead: ['catalog.category', 'catalog.product'],
  },
  {
    sql: 'SELECT x.n FROM sales.customer c, (SELECT count(*) AS n FROM sales."order") x',
    relationsRead: ['sales.customer', 'sales.order'],
  },
  {
    // NATURAL: order_id, line_no and quantity are the common columns.
    sql: 'SELECT order_id, line_no, quantity FROM shipping.shipment_item NATURAL JOIN sales.order_line',
    reads: [
      ...shipmentItem('order_id', 'line_no', 'quantity'),
      ...line('order_id', 'line_no', 'quantity'),
    ],
    relationsRead: ['shipping.shipment_item', 'sales.order_line'],
  },
  {
    sql: 'SELECT product_id, p.quantity AS stock, c.quantity AS in_carts FROM catalog.inventory_item p FULL JOIN sales.cart_item c USING (product_id)',
    reads: [...inventory('product_id', 'quantity'), ...cartItem('product_id', 'quantity')],
    relationsRead: ['catalog.inventory_item', 'sales.cart_item'],
  },
  {
    sql: 'SELECT j.product_id FROM catalog.price pr JOIN catalog.inventory_item ii USING (product_id) AS j',
    reads: [...price('product_id'), ...inventory('product_id')],
    relationsRead: ['catalog.price', 'catalog.inventory_item'],
  },
  {
    sql: 'SELECT j.sku FROM (catalog.product p JOIN catalog.category c ON c.id = p.category_id) AS j',
    reads: [...product('sku', 'category_id'), ...category('id')],
    relationsRead: ['catalog.product', 'catalog.category'],
  },
  {
    sql: 'SELECT p.sku FROM (catalog.product p JOIN catalog.category c ON c.id = p.category_id) AS j',
    reads: [...product('category_id'), ...category('id')],
    relationsRead: ['catalog.product', 'catalog.category'],
    warnings: ['column "p.sku" not found'],
  },
  {
    sql: 'SELECT u.addr FROM (SELECT line1 FROM sales.address UNION SELECT city FROM catalog.warehouse) AS u(addr)',
    reads: [...address('line1'), ...warehouse('city')],
    relationsRead: ['sales.address', 'catalog.warehouse'],
  },
  {
    sql: "SELECT id, CASE WHEN EXISTS (SELECT 1 FROM sales.refund r WHERE r.payment_id = p.id) THEN 'refunded' ELSE 'ok' END FROM sales.payment p",
    reads: [...payment('id'), ...refund('payment_id')],
    relationsRead: ['sales.payment', 'sales.refund'],
  },
  {
    sql: 'SELECT c.name, ARRAY(SELECT p.sku FROM catalog.product p WHERE p.category_id = c.id) FROM catalog.category c',
    reads: [...category('name', 'id'), ...product('sku', 'category_id')],
    relationsRead: ['catalog.category', 'catalog.product'],
  },
  // Expressions of many kinds.
  {
    sql: 'SELECT id FROM sales.customer WHERE last_name LIKE $1 AND birth_date BETWEEN $2 AND $3 AND marketing_opt_in',
    reads: customer('id', 'last_name', 'birth_date', 'marketing_opt_in'),
    relationsRead: ['sales.customer'],
  },
  {
    sql: 'SELECT greatest(quantity - reserved, 0), nullif(reserved, 0) FROM catalog.inventory_item WHERE warehouse_id = $1',
    reads: inventory('quantity', 'reserved', 'warehouse_id'),
    relationsRead: ['catalog.inventory_item'],
  },
  {
    sql: 'SELECT * FROM catalog.price WHERE (product_id, currency) = ($1, $2)',
    reads: price('product_id', 'currency', 'amount', 'valid_from', 'valid_to'),
    relationsRead: ['catalog.price'],
    warnings: ['reads every column of catalog.price'],
  },
  {
    sql: 'SELECT json_agg(w) FROM catalog.warehouse w',
    reads: warehouse('id', 'code', 'city', 'country'),
    relationsRead: ['catalog.warehouse'],
    warnings: ['whole-row reference "w"'],
  },
  {
    sql: 'SELECT (c).email FROM sales.customer c',
    reads: customer('email'),
    relationsRead: ['sales.customer'],
  },
  {
    sql: 'SELECT o.* FROM sales."order" o WHERE o.id = $1 FOR UPDATE',
    reads: order(
      'id',
      'customer_id',
      'billing_address_id',
      'shipping_address_id',
      'status',
      'currency',
      'total',
      'placed_at',
      'note',
    ),
    relationsRead: ['sales.order'],
    warnings: ['o.* expanded'],
  },
  {
    sql: 'SELECT sku FROM catalog.product TABLESAMPLE SYSTEM (10)',
    reads: product('sku'),
    relationsRead: ['catalog.product'],
  },
  {
    sql: 'SELECT ext.fn(id) FROM sales.customer',
    reads: customer('id'),
    relationsRead: ['sales.customer'],
    warnings: ['function ext.fn is not in the catalog'],
  },
  // Writes through views, PG 18 RETURNING old/new, INSERT ... SELECT *.
  {
    sql: 'UPDATE sales.customer_public SET first_name = $1 WHERE id = $2',
    reads: customerPublic('id'),
    writes: customerPublic('first_name'),
    relationsRead: ['sales.customer_public'],
    relationsWritten: ['sales.customer_public'],
  },
  {
    sql: 'UPDATE catalog.price SET amount = amount * 0.9 WHERE product_id = $1 RETURNING old.amount AS before, new.amount AS after',
    reads: price('amount', 'product_id'),
    writes: price('amount'),
    relationsRead: ['catalog.price'],
    relationsWritten: ['catalog.price'],
  },
  {
    sql: 'INSERT INTO sales.coupon SELECT * FROM sales.coupon WHERE code = $1',
    reads: coupon('code', 'percent_off', 'valid_until', 'max_uses', 'uses'),
    writes: coupon('code', 'percent_off', 'valid_until', 'max_uses', 'uses'),
    relationsRead: ['sales.coupon'],
    relationsWritten: ['sales.coupon'],
    warnings: ['reads every column of sales.coupon', 'taken from the catalog by position'],
  },
  {
    sql: 'INSERT INTO catalog.review (product_id, customer_id, rating) VALUES ((SELECT id FROM catalog.product WHERE sku = $1), $2, $3)',
    reads: product('id', 'sku'),
    writes: review('product_id', 'customer_id', 'rating'),
    relationsRead: ['catalog.product'],
    relationsWritten: ['catalog.review'],
  },
  // search_path and $user.
  {
    sql: 'SELECT sku, amount FROM product JOIN price ON price.product_id = product.id',
    searchPath: ['catalog'],
    reads: [...product('sku', 'id'), ...price('amount', 'product_id')],
    relationsRead: ['catalog.product', 'catalog.price'],
  },
  {
    sql: 'SELECT email FROM customer WHERE id = $1',
    role: 'sales',
    reads: customer('email', 'id'),
    relationsRead: ['sales.customer'],
  },
  {
    sql: 'SELECT name FROM department',
    searchPath: ['sales', 'hr'],
    reads: department('name'),
    relationsRead: ['hr.department'],
  },
  {
    sql: 'SELECT city FROM address',
    searchPath: ['$user', 'catalog'],
    role: 'sales',
    reads: address('city'),
    relationsRead: ['sales.address'],
  },
  {
    sql: 'SELECT city FROM address',
    searchPath: ['$user', 'catalog'],
    warnings: ['relation "address" not found in the catalog (search_path: catalog)'],
  },
  {
    sql: 'SELECT city FROM address',
    outsidePath: true,
    warnings: [
      'relation "address" is not on the search_path (public) and several schemas have one: hr.address, sales.address',
    ],
  },
  {
    sql: 'UPDATE employee SET salary = salary + $1 WHERE id = $2',
    outsidePath: true,
    reads: employee('salary', 'id'),
    writes: employee('salary'),
    relationsRead: ['hr.employee'],
    relationsWritten: ['hr.employee'],
    warnings: ['taken as hr.employee'],
  },
  // Utility statements.
  {
    sql: 'COPY (SELECT * FROM sales.order_summary WHERE status = $1) TO STDOUT',
    reads: orderSummary('id', 'customer_id', 'status', 'total', 'placed_at', 'line_count'),
    relationsRead: ['sales.order_summary'],
    warnings: ['reads every column of sales.order_summary'],
  },
  {
    sql: 'COPY catalog.warehouse FROM STDIN',
    writes: warehouse('id', 'code', 'city', 'country'),
    relationsWritten: ['catalog.warehouse'],
    warnings: ['taken from the catalog by position'],
  },
  {
    sql: 'TRUNCATE sales.cart_item, sales.cart',
    relationsWritten: ['sales.cart_item', 'sales.cart'],
  },
  { sql: 'CALL sales.close_order($1)', warnings: ['function sales.close_order is opaque'] },
  {
    sql: 'EXPLAIN (ANALYZE, BUFFERS) UPDATE catalog.product SET active = false WHERE id = $1',
    reads: product('id'),
    writes: product('active'),
    relationsRead: ['catalog.product'],
    relationsWritten: ['catalog.product'],
  },
  {
    sql: 'DECLARE c CURSOR FOR SELECT id, email FROM sales.customer',
    reads: customer('id', 'email'),
    relationsRead: ['sales.customer'],
  },
  { sql: 'FETCH 100 FROM c' },
  { sql: 'LOCK TABLE sales."order" IN SHARE MODE' },
  { sql: 'CREATE INDEX ON sales."order" (placed_at)', warnings: ['IndexStmt is not analyzed'] },
  {
    sql: 'SELECT column_name FROM information_schema.columns WHERE table_schema = $1',
    warnings: ['system relation information_schema.columns is not tracked'],
  },
  {
    sql: 'SELECT query, calls FROM pg_stat_statements ORDER BY total_exec_time DESC',
    warnings: ['system relation pg_stat_statements is not tracked'],
  },
];
