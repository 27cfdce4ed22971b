// The official ServiceStack TypeScript client against the billing service,
// with nothing but a base URL, a bearer token and the DTOs the service itself
// serves at /types/typescript. Started by handlers/servicestack_client_test.go,
// which runs the server and passes what to expect in BILLING_* variables.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { JsonServiceClient } from '@servicestack/client';

const env = (name) => {
  const v = process.env[name];
  assert.ok(v, `${name} must be set`);
  return v;
};
const baseUrl = env('BILLING_URL');
const adminToken = env('BILLING_ADMIN_TOKEN');
const managerToken = env('BILLING_MANAGER_TOKEN');
const account = env('BILLING_ACCOUNT');
const parentAccount = env('BILLING_PARENT_ACCOUNT'); // the Manager's account, parent of account
const forbiddenAccount = env('BILLING_FORBIDDEN_ACCOUNT');
const range = JSON.parse(env('BILLING_RANGE')); // {startDate, endDate}
const expected = JSON.parse(env('BILLING_EXPECTED')); // the JSON answer for the range, fetched by Go
const expectedOverview = JSON.parse(env('BILLING_EXPECTED_OVERVIEW')); // the Manager's ListAccountUsage of calls over the range, by name

let dtos;

before(async () => {
  const res = await fetch(`${baseUrl}/types/typescript`);
  assert.equal(res.status, 200);
  const source = await res.text();
  const dir = mkdtempSync(join(tmpdir(), 'billing-dtos-'));
  writeFileSync(join(dir, 'dtos.ts'), source);

  // The DTOs must type-check as they are, used with the client's own typings.
  const here = dirname(fileURLToPath(import.meta.url));
  writeFileSync(join(dir, 'use.ts'), `
import { JsonServiceClient } from ${JSON.stringify(join(here, 'node_modules/@servicestack/client/dist/index.js'))};
import { ListUsageRecords, UsageRecord, RecordUsageEvents, RecordUsageEventsResponse, ListAccounts, ListAccountsResponse, AccountInfo, ListAccountUsage, ListAccountUsageResponse, AccountUsageItem } from './dtos';
export async function use(client: JsonServiceClient): Promise<number> {
  const records: UsageRecord[] = await client.get(new ListUsageRecords({ accountId: 'x', startDate: '2024-01-01' }));
  const ingested: RecordUsageEventsResponse = await client.post(new RecordUsageEvents({ events: [] }));
  const accounts: ListAccountsResponse = await client.get(new ListAccounts({ nameFilter: 'a', specificIds: ['x'], all: true }));
  const first: AccountInfo = accounts.items[0];
  const overview: ListAccountUsageResponse = await client.get(new ListAccountUsage({ parentId: 'x', includeSubaccounts: true, countPerPage: 10 }));
  const top: AccountUsageItem = overview.items[0];
  return records.length + ingested.accepted + accounts.totalCount + first.ancestorIds.length + overview.totals.length + top.usage.length + top.price;
}
`);
  const program = ts.createProgram([join(dir, 'dtos.ts'), join(dir, 'use.ts')], {
    strict: true, strictPropertyInitialization: false, noEmit: true,
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, moduleResolution: ts.ModuleResolutionKind.Bundler,
    skipLibCheck: true, lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
  });
  const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  assert.deepEqual(problems, [], 'the served DTOs must type-check');

  const js = ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022 } });
  writeFileSync(join(dir, 'dtos.mjs'), js.outputText);
  dtos = await import(pathToFileURL(join(dir, 'dtos.mjs')).href);
});

function client(token, basePath) {
  const c = new JsonServiceClient(baseUrl);
  if (basePath !== undefined) c.basePath = basePath;
  c.bearerToken = token;
  c.urls = [];
  c.urlFilter = (url) => c.urls.push(new URL(url).pathname);
  return c;
}

function request(extra = {}) {
  return new dtos.ListUsageRecords({ accountId: account, ...range, ...extra });
}

test('SystemAdministrator, default /api route', async () => {
  const c = client(adminToken);
  const records = await c.get(request());
  assert.deepEqual(c.urls, ['/api/ListUsageRecords']);
  assert.deepEqual(records, expected);
  assert.equal(records.length, 26);
  const calls = records.find((r) => r.category === 'calls');
  assert.equal(typeof calls.price, 'number');
  assert.equal(typeof calls.usage, 'string');
  assert.equal(typeof calls.count, 'number');
  assert.equal(records.find((r) => r.category === 'totalprice').count, undefined);
});

test('Manager, /json/reply with basePath = null', async () => {
  const c = client(managerToken, null);
  const records = await c.get(request());
  assert.deepEqual(c.urls, ['/json/reply/ListUsageRecords']);
  assert.deepEqual(records, expected);
});

test('Manager, one category through api()', async () => {
  const c = client(managerToken);
  const api = await c.api(request({ category: 'calls' }));
  assert.ok(api.succeeded, JSON.stringify(api.error));
  assert.deepEqual(api.response, expected.filter((r) => r.category === 'calls'));
});

test('a forbidden account is a Forbidden error', async () => {
  const c = client(managerToken);
  await assert.rejects(c.get(request({ accountId: forbiddenAccount })), (e) => {
    assert.equal(e.responseStatus.errorCode, 'Forbidden');
    assert.match(e.responseStatus.message, /may not read account/);
    assert.deepEqual(e.responseStatus.errors, []);
    return true;
  });
  const api = await c.api(request({ accountId: forbiddenAccount }));
  assert.ok(api.failed);
  assert.equal(api.errorCode, 'Forbidden');
});

test('a bad date is a validation error naming the field', async () => {
  const c = client(adminToken, null);
  await assert.rejects(c.get(request({ startDate: '2024-13-45' })), (e) => {
    assert.equal(e.responseStatus.errorCode, 'Invalid');
    assert.equal(e.responseStatus.errors.length, 1);
    assert.equal(e.responseStatus.errors[0].fieldName, 'StartDate');
    assert.match(e.responseStatus.errors[0].message, /YYYY-MM-DD/);
    return true;
  });
  const api = await client(adminToken).api(request({ startDate: '2024-13-45' }));
  assert.ok(api.failed);
  assert.equal(api.fieldError('startDate').errorCode, 'Invalid');
});

test('no token is Unauthorized, a Manager cannot ingest', async () => {
  await assert.rejects(client(undefined).get(request()), (e) => {
    assert.equal(e.responseStatus.errorCode, 'Unauthorized');
    return true;
  });
  await assert.rejects(client(managerToken).post(new dtos.RecordUsageEvents({ events: [] })), (e) => {
    assert.equal(e.responseStatus.errorCode, 'Forbidden');
    return true;
  });
});

test('ListAccounts: a Manager sees its account and the sub-account, filtered and by id', async () => {
  const c = client(managerToken);
  const all = await c.get(new dtos.ListAccounts());
  assert.deepEqual(c.urls, ['/api/ListAccounts']);
  assert.deepEqual(all.items.map((a) => a.id).sort(), [account, parentAccount].sort());
  assert.equal(all.totalCount, 2);
  assert.equal(all.totalPages, 1);
  const child = all.items.find((a) => a.id === account);
  assert.equal(child.parentAccountId, parentAccount);
  assert.deepEqual(child.ancestorIds, [parentAccount]);

  const filtered = await c.get(new dtos.ListAccounts({ nameFilter: 'child' }));
  assert.deepEqual(filtered.items.map((a) => a.id), [account]);
  // An array goes into the query string as a,b; an account out of scope is left out.
  const byId = await c.get(new dtos.ListAccounts({ specificIds: [account, forbiddenAccount] }));
  assert.deepEqual(byId.items.map((a) => a.id), [account]);
  const paged = await client(adminToken, null).get(new dtos.ListAccounts({ countPerPage: 1, page: 1 }));
  assert.equal(paged.items.length, 1);
  assert.equal(paged.totalCount, 3);
  assert.equal(paged.totalPages, 3);
});

test('ListAccountUsage: a Manager ranks its accounts; a parent outside its scope is 403', async () => {
  const c = client(managerToken);
  const page = await c.get(new dtos.ListAccountUsage({ ...range, category: 'calls', orderBy: 'name' }));
  assert.deepEqual(c.urls, ['/api/ListAccountUsage']);
  assert.deepEqual(page, expectedOverview);
  const child = page.items.find((a) => a.accountId === account);
  assert.equal(child.usage, '19.5');
  assert.equal(child.count, 3);
  assert.equal(child.change, null);
  await assert.rejects(c.get(new dtos.ListAccountUsage({ parentId: forbiddenAccount })), (e) => {
    assert.equal(e.responseStatus.errorCode, 'Forbidden');
    return true;
  });
});
