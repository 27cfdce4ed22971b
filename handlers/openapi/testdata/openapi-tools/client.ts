// A client generated from /openapi.json (openapi-typescript types, the
// openapi-fetch runtime), type-checked by tsc and run by
// handlers/openapi/client_test.go against the running server.
import createClient from "openapi-fetch";
import type { paths, components } from "./schema.js";

type UsageRecord = components["schemas"]["UsageRecord"];
type TwilioPage = components["schemas"]["TwilioUsageRecordsPage"];

declare const process: { env: Record<string, string | undefined> };
declare const Buffer: { from(s: string): { toString(enc: string): string } };

const env = process.env;
const client = createClient<paths>({ baseUrl: env.BILLING_URL });

const usage = await client.GET("/billing/usage.json", {
  params: { query: { AccountId: env.BILLING_ACCOUNT, StartDate: "2024-03-01", EndDate: "2024-03-31" } },
  headers: { Authorization: "Bearer " + env.BILLING_ADMIN_TOKEN },
});
// The route also answers JSONP (text) when asked for a callback; this
// request asks for none.
if (usage.error || !usage.data || typeof usage.data === "string") throw new Error("ListUsageRecords: " + JSON.stringify(usage.error));
const records: UsageRecord[] = usage.data;

const basic = Buffer.from(env.BILLING_ACCOUNT + ":" + env.BILLING_AUTH_TOKEN).toString("base64");
const daily = await client.GET("/2010-04-01/Accounts/{AccountSid}/Usage/Records/Daily.json", {
  params: {
    path: { AccountSid: env.BILLING_ACCOUNT! },
    query: { Category: "calls-outbound", StartDate: "2024-03-10", EndDate: "2024-03-15", PageSize: 2 },
  },
  headers: { Authorization: "Basic " + basic },
});
if (daily.error || !daily.data) throw new Error("Daily: " + JSON.stringify(daily.error));
const page: TwilioPage = daily.data;

console.log(JSON.stringify({
  records: records.map((r) => ({ category: r.category, price: r.price, usage: r.usage })),
  daily: { page_size: page.page_size, next: page.next_page_uri, days: page.usage_records.map((r) => [r.start_date, r.usage, r.price]) },
}));
