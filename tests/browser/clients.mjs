// Client conformance: SegmentIQ's GraphQL API driven by the client libraries dashboards and
// scripts really use, against a real server (BASE_URL) and database, run by
// scripts/browser-test.sh after the browser flows.
//
// - graphql-js: the full introspection query (every option) and `buildClientSchema`, compared
//   with the committed schema.graphql (no breaking or dangerous change either way);
// - urql: an upload by the GraphQL multipart request spec, queries (urql sends them over GET),
//   Relay paging of every assignment at `first: 1000`, and automatic persisted queries through
//   its persisted exchange;
// - graphql-ws: `runProgress` followed from the current state to the final status;
// - Apollo Client: automatic persisted queries with hashed queries over GET.
//
// With FULL_TOKEN set (the server has API_TOKEN), every client sends it. The last line is
// `clients: N passed, M failed`.

import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

import {
  buildClientSchema,
  buildSchema,
  findBreakingChanges,
  findDangerousChanges,
  getIntrospectionQuery,
  specifiedDirectives,
} from "graphql";
import { createClient as createWsClient } from "graphql-ws";
import WebSocket from "ws";
import { Client as UrqlClient, fetchExchange, gql } from "@urql/core";
import { persistedExchange } from "@urql/exchange-persisted";
import { ApolloClient, HttpLink, InMemoryCache, gql as apolloGql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const BASE_URL = (process.env.BASE_URL || "http://127.0.0.1:8000").replace(/\/$/, "");
const SAMPLE = join(root, "sample_data", "ethiopian_supermarket_customers.csv");
const TOKEN = process.env.FULL_TOKEN || "";
const AUTH = TOKEN ? { Authorization: `Bearer ${TOKEN}` } : {};
const RUN_TIMEOUT = Number(process.env.RUN_TIMEOUT_MS || 180_000);

function check(cond, message) {
  if (!cond) throw new Error(message);
}

function log(...parts) {
  console.error("  ·", ...parts);
}

/** A fetch that records each request's method and URL, for checking what a client sent. */
function recordingFetch(requests) {
  return async (url, init = {}) => {
    requests.push({ method: (init.method || "GET").toUpperCase(), url: String(url), body: init.body });
    return fetch(url, init);
  };
}

function urql(options = {}) {
  return new UrqlClient({
    url: `${BASE_URL}/graphql`,
    exchanges: options.exchanges || [fetchExchange],
    fetchOptions: { headers: AUTH },
    fetch: options.fetch,
    preferGetMethod: options.preferGetMethod,
    requestPolicy: "network-only",
  });
}

/** Runs an urql operation and fails on any error. */
async function ok(promise, what) {
  const result = await promise;
  check(!result.error, `${what}: ${result.error && result.error.message}`);
  return result.data;
}

// ---------------------------------------------------------------------------------------------

/** graphql-js's full introspection query with every option on, built into a client schema that
 * matches the committed SDL exactly. */
async function introspection() {
  const query = getIntrospectionQuery({
    descriptions: true,
    specifiedByUrl: true,
    directiveIsRepeatable: true,
    schemaDescription: true,
    inputValueDeprecation: true,
    oneOf: true,
  });
  const response = await fetch(`${BASE_URL}/graphql`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/graphql-response+json", ...AUTH },
    body: JSON.stringify({ query }),
  });
  check(response.status === 200, `introspection answered ${response.status}`);
  const body = await response.json();
  check(!body.errors, `introspection errors: ${JSON.stringify(body.errors)}`);
  const served = buildClientSchema(body.data);
  check(served.getQueryType().name === "QueryRoot", "the query type is not QueryRoot");
  check("assignments" in served.getQueryType().getFields(), "QueryRoot has no assignments");
  const committed = buildSchema(readFileSync(join(root, "schema.graphql"), "utf8"));
  // The built-in directives (@deprecated, @skip, ...) are graphql-js's own on the committed
  // side, which this graphql-js version may define with more locations than the spec's.
  const builtIn = new Set(specifiedDirectives.map((d) => d.name));
  const changes = [
    ...findBreakingChanges(committed, served),
    ...findDangerousChanges(committed, served),
    ...findBreakingChanges(served, committed),
    ...findDangerousChanges(served, committed),
  ].filter((c) => !(c.type.startsWith("DIRECTIVE_") && builtIn.has(c.description.match(/(\w+)\.?$/)[1])));
  check(changes.length === 0, `served and committed schemas differ: ${JSON.stringify(changes)}`);
  log(`${Object.keys(served.getTypeMap()).length} types, identical to schema.graphql`);
}

const UPLOAD = gql`
  mutation Upload($file: Upload!) {
    uploadDataset(file: $file) { id rowCount columns { name kind } }
  }
`;

/** urql sends a file in variables by the GraphQL multipart request spec by itself. */
async function multipartUpload(state) {
  const requests = [];
  const client = urql({ fetch: recordingFetch(requests) });
  const file = new File([readFileSync(SAMPLE)], "ethiopian_supermarket_customers.csv", { type: "text/csv" });
  const data = await ok(client.mutation(UPLOAD, { file }).toPromise(), "upload");
  check(requests.length === 1 && requests[0].body instanceof FormData, "urql did not send multipart");
  const dataset = data.uploadDataset;
  check(dataset.rowCount === 2000, `rowCount ${dataset.rowCount}`);
  check(dataset.columns.some((c) => c.kind === "IDENTIFIER"), "no identifier column detected");
  state.datasetId = dataset.id;
  log(`dataset ${dataset.id}: ${dataset.rowCount} rows`);
}

/** trainRun through urql, then graphql-ws follows runProgress from the current state to the end. */
async function subscriptionToTheEnd(state) {
  const client = urql();
  const data = await ok(
    client
      .mutation(gql`mutation Train($d: ID!) { trainRun(input: { datasetId: $d, linkage: WARD, nClusters: 4 }) { id status } }`, {
        d: state.datasetId,
      })
      .toPromise(),
    "trainRun",
  );
  state.runId = data.trainRun.id;
  const ws = createWsClient({
    url: `${BASE_URL.replace(/^http/, "ws")}/graphql/ws`,
    webSocketImpl: WebSocket,
    connectionParams: AUTH,
    retryAttempts: 0,
  });
  const events = [];
  try {
    const subscription = ws.iterate({
      query: `subscription($id: ID!) { runProgress(runId: $id) { status stage fraction message } }`,
      variables: { id: state.runId },
    });
    const timeout = setTimeout(() => subscription.return(), RUN_TIMEOUT);
    for await (const event of subscription) {
      check(!event.errors, `subscription errors: ${JSON.stringify(event.errors)}`);
      events.push(event.data.runProgress);
    }
    clearTimeout(timeout);
  } finally {
    await ws.dispose();
  }
  check(events.length >= 2, `only ${events.length} progress events`);
  const last = events[events.length - 1];
  check(last.status === "SUCCEEDED", `the subscription ended on ${JSON.stringify(last)}`);
  for (let i = 1; i < events.length; i++) {
    check(events[i].fraction >= events[i - 1].fraction, `progress went back: ${JSON.stringify(events)}`);
  }
  log(`${events.length} events, ${events[0].status} -> ${last.status}`);
}

const PAGE = gql`
  query Page($run: ID!, $after: String) {
    assignments(runId: $run, first: 1000, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { rowIndex cluster silhouette payload }
    }
  }
`;

/** Relay paging of every assignment at first: 1000, as a BI tool does; urql sends the pages
 * over GET. */
async function relayPaging(state) {
  const requests = [];
  const client = urql({ fetch: recordingFetch(requests) });
  const seen = new Set();
  let after = null;
  let total = null;
  let pages = 0;
  for (;;) {
    const data = await ok(client.query(PAGE, { run: state.runId, after }).toPromise(), `page ${pages + 1}`);
    const page = data.assignments;
    total = page.totalCount;
    pages += 1;
    for (const node of page.nodes) {
      check(!seen.has(node.rowIndex), `row ${node.rowIndex} came twice`);
      check(typeof node.payload.customer_id === "string", `row ${node.rowIndex} has no payload`);
      seen.add(node.rowIndex);
    }
    if (!page.pageInfo.hasNextPage) break;
    after = page.pageInfo.endCursor;
    check(pages < 10, "more pages than 2,000 rows need");
  }
  check(total === 2000 && seen.size === 2000, `read ${seen.size} of ${total} assignments`);
  check(pages === 2, `${pages} pages of 1,000`);
  check(requests.every((r) => r.method === "GET"), "urql's queries did not go over GET");
  log(`${seen.size} assignments in ${pages} pages over GET`);
}

/** Apollo Client's persisted-queries link, hashed queries over GET: the first client registers
 * the query after PersistedQueryNotFound, a second client sends the hash alone. */
async function apolloPersistedQueries(state) {
  const sha256 = (text) => createHash("sha256").update(text).digest("hex");
  const query = apolloGql`
    query Segments($id: ID!) {
      run(id: $id) { status metrics { nClusters silhouetteScore } segments { segment size } }
    }
  `;
  const clientWith = (requests) =>
    new ApolloClient({
      cache: new InMemoryCache(),
      link: new PersistedQueryLink({ sha256, useGETForHashedQueries: true }).concat(
        new HttpLink({ uri: `${BASE_URL}/graphql`, headers: AUTH, fetch: recordingFetch(requests) }),
      ),
    });
  const first = [];
  const a = await clientWith(first).query({ query, variables: { id: state.runId } });
  check(a.data.run.segments.length === 4, `segments: ${JSON.stringify(a.data)}`);
  check(first.length === 2, `first client sent ${first.length} requests`);
  check(first[0].method === "GET" && !new URL(first[0].url).searchParams.has("query"), "the first try was not a hash-only GET");
  check(first[1].method === "POST" && JSON.parse(first[1].body).query, "the retry did not send the query");

  const second = [];
  const b = await clientWith(second).query({ query, variables: { id: state.runId } });
  check(JSON.stringify(b.data) === JSON.stringify(a.data), "the persisted query answered differently");
  check(second.length === 1 && second[0].method === "GET", `second client sent ${JSON.stringify(second.map((r) => r.method))}`);
  check(!new URL(second[0].url).searchParams.has("query"), "the second client's URL holds the query");
  log(`hash-only GET of ${second[0].url.length} characters`);
}

/** urql's persisted exchange speaks the same protocol. */
async function urqlPersistedQueries(state) {
  const requests = [];
  const client = urql({
    fetch: recordingFetch(requests),
    exchanges: [persistedExchange({ preferGetForPersistedQueries: true }), fetchExchange],
  });
  const query = gql`query Sizes($id: ID!) { run(id: $id) { metrics { clusterSizes { cluster size } } } }`;
  const data = await ok(client.query(query, { id: state.runId }).toPromise(), "persisted query");
  const sizes = data.run.metrics.clusterSizes.reduce((sum, c) => sum + c.size, 0);
  check(sizes === 2000, `cluster sizes add up to ${sizes}`);
  const again = await ok(client.query(query, { id: state.runId }).toPromise(), "persisted query again");
  check(JSON.stringify(again) === JSON.stringify(data), "the second answer differs");
  const last = requests[requests.length - 1];
  check(last.method === "GET" && !new URL(last.url).searchParams.has("query"), `last request: ${last.method} ${last.url}`);
  log(`${requests.length} requests, the last a hash-only GET`);
}

/** A GET query is revalidated with its ETag, as a caching dashboard would. */
async function getWithEtag(state) {
  const url = `${BASE_URL}/graphql?query=${encodeURIComponent(`{ run(id: "${state.runId}") { status } }`)}`;
  const first = await fetch(url, { headers: AUTH });
  check(first.status === 200, `GET answered ${first.status}`);
  const etag = first.headers.get("etag");
  check(etag, "no ETag");
  const again = await fetch(url, { headers: { ...AUTH, "If-None-Match": etag } });
  check(again.status === 304, `revalidation answered ${again.status}`);
  const mutation = await fetch(`${BASE_URL}/graphql?query=${encodeURIComponent(`mutation { deleteRun(id: "${state.runId}") }`)}`, {
    headers: AUTH,
  });
  check(mutation.status === 405, `a mutation over GET answered ${mutation.status}`);
  log("ETag revalidated (304); a mutation over GET refused (405)");
}

// ---------------------------------------------------------------------------------------------

const tests = [
  introspection,
  multipartUpload,
  subscriptionToTheEnd,
  relayPaging,
  apolloPersistedQueries,
  urqlPersistedQueries,
  getWithEtag,
];
const state = {};
let passed = 0;
let failed = 0;
for (const test of tests) {
  const started = Date.now();
  try {
    await test(state);
    passed += 1;
    console.error(`ok   ${test.name} (${Date.now() - started} ms)`);
  } catch (e) {
    failed += 1;
    console.error(`FAIL ${test.name}: ${e.stack || e}`);
    // Later tests need what earlier ones made.
    if (!state.runId) break;
  }
}
console.error(`clients: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
