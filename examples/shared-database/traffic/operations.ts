import type http from 'node:http';
import { randomAccount } from '../setup/sample-data.js';
import { type HttpAnswer, requestJson } from './http-client.js';

/** The three services' base URLs, e.g. `http://127.0.0.1:41234`. */
export interface TrafficTargets {
  users: string;
  invoicing: string;
  reporting: string;
}

/** The ids the generator has seen, to read and update existing rows. */
export interface KnownIds {
  accounts: number[];
  invoices: number[];
}

/** One kind of request of the mix. */
export interface Operation {
  name: string;
  service: keyof TrafficTargets;
  /** Relative frequency in the mix. */
  weight: number;
  /** Sends the request; returns the answer (the generator counts non-2xx as errors). */
  send(
    targets: TrafficTargets,
    ids: KnownIds,
    random: () => number,
    agent: http.Agent,
  ): Promise<HttpAnswer>;
}

function pickId(list: number[], random: () => number): number | undefined {
  if (list.length === 0) return undefined;
  // Recent rows are read more often than old ones, as in real systems.
  const skew = Math.floor(list.length * (1 - random() ** 2));
  return list[Math.min(list.length - 1, skew)];
}

function remember(list: number[], id: unknown, max = 5000): void {
  if (typeof id !== 'number') return;
  list.push(id);
  if (list.length > max) list.splice(0, list.length - max);
}

const unknownId = (what: string): Promise<HttpAnswer> =>
  Promise.resolve({ status: 0, body: undefined, error: `no ${what} known yet` });

/** A realistic mix: mostly reads, some writes, a few heavier reports. */
export const OPERATIONS: Operation[] = [
  {
    name: 'create-account',
    service: 'users',
    weight: 8,
    async send(t, ids, random, agent) {
      const answer = await requestJson(agent, 'POST', `${t.users}/accounts`, randomAccount(random));
      if (answer.status === 201) remember(ids.accounts, (answer.body as { id?: unknown }).id);
      return answer;
    },
  },
  {
    name: 'get-account',
    service: 'users',
    weight: 25,
    send(t, ids, random, agent) {
      const id = pickId(ids.accounts, random);
      return id === undefined
        ? unknownId('account')
        : requestJson(agent, 'GET', `${t.users}/accounts/${id}`);
    },
  },
  {
    name: 'update-account',
    service: 'users',
    weight: 5,
    send(t, ids, random, agent) {
      const id = pickId(ids.accounts, random);
      const { street_and_number, zip, city } = randomAccount(random);
      return id === undefined
        ? unknownId('account')
        : requestJson(agent, 'PATCH', `${t.users}/accounts/${id}`, {
            street_and_number,
            zip,
            city,
          });
    },
  },
  {
    name: 'create-invoice',
    service: 'invoicing',
    weight: 15,
    async send(t, ids, random, agent) {
      const accountId = pickId(ids.accounts, random);
      if (accountId === undefined) return unknownId('account');
      const amount = (5 + Math.floor(random() * 50_000) / 100).toFixed(2);
      const answer = await requestJson(agent, 'POST', `${t.invoicing}/invoices`, {
        account_id: accountId,
        amount,
      });
      if (answer.status === 201) remember(ids.invoices, (answer.body as { id?: unknown }).id);
      return answer;
    },
  },
  {
    name: 'get-invoice',
    service: 'invoicing',
    weight: 20,
    send(t, ids, random, agent) {
      const id = pickId(ids.invoices, random);
      return id === undefined
        ? unknownId('invoice')
        : requestJson(agent, 'GET', `${t.invoicing}/invoices/${id}`);
    },
  },
  {
    name: 'customers-by-city',
    service: 'reporting',
    weight: 3,
    send(t, _ids, _random, agent) {
      return requestJson(agent, 'GET', `${t.reporting}/reports/customers-by-city`);
    },
  },
  {
    name: 'accounts-per-month',
    service: 'reporting',
    weight: 4,
    send(t, _ids, _random, agent) {
      return requestJson(agent, 'GET', `${t.reporting}/reports/accounts-per-month?months=24`);
    },
  },
];

/** Picks an operation by weight. */
export function pickOperation(operations: Operation[], random: () => number): Operation {
  const total = operations.reduce((sum, o) => sum + o.weight, 0);
  let r = random() * total;
  for (const op of operations) {
    r -= op.weight;
    if (r < 0) return op;
  }
  return operations[operations.length - 1]!;
}
