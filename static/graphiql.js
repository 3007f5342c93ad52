// GraphiQL on /graphql, from a file rather than an inline script so the page's
// Content-Security-Policy can forbid inline scripts.
//
// Queries and mutations go to POST /graphql, subscriptions over graphql-transport-ws to
// /graphql/ws: graphiql@3's UMD bundle carries graphql-ws, so `subscriptionUrl` is all it needs.
// Both are same-origin, so a signed-in browser's session cookie authenticates them. Headers typed
// into the Headers tab go with every POST, and GraphiQL also sends them as the websocket's
// connection_init payload, where the server reads `Authorization` (a browser cannot set headers
// on a websocket).
(function () {
  "use strict";
  var wsScheme = location.protocol === "https:" ? "wss:" : "ws:";
  var fetcher = GraphiQL.createFetcher({
    url: "/graphql",
    subscriptionUrl: wsScheme + "//" + location.host + "/graphql/ws",
  });
  // Shown on a first visit (GraphiQL keeps the user's own tabs afterwards). The Authorization
  // hint lives here because the Headers editor holds JSON, which has no comments; lines are
  // short enough for a phone's editor.
  var defaultQuery = [
    "# SegmentIQ's GraphQL API.",
    "# Ctrl-Enter runs the query, the",
    "# book icon (left) opens the Docs,",
    "# Ctrl-Space completes names.",
    "#",
    "# Signed in in this browser, you",
    "# need nothing else. Scripts send",
    "#   Authorization: Bearer <token>",
    "# (API_TOKEN, or API_READ_TOKEN to",
    "# read only). To try a token here,",
    "# open Headers below and enter",
    '#   {"Authorization":',
    '#      "Bearer <token>"}',
    "# It goes with queries and",
    "# subscriptions alike.",
    "#",
    "# Follow a run live:",
    "# subscription {",
    '#   runProgress(runId: "1") {',
    "#     status stage fraction",
    "#   }",
    "# }",
    "query Datasets {",
    "  datasets(first: 10) {",
    "    totalCount",
    "    nodes { id name rowCount createdAt }",
    "  }",
    "}",
    "",
  ].join("\n");
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      // Variables and Headers open on wide screens; on a phone they start folded, so the
      // query and its response get the height.
      defaultEditorToolsVisibility: !window.matchMedia("(max-width: 720px)").matches,
      // The product is dark only; GraphiQL's theme setting would offer a light page.
      forcedTheme: "dark",
      // Headers may hold a token: keep them out of localStorage (GraphiQL's default, said
      // here so nobody turns it on for convenience).
      shouldPersistHeaders: false,
    })
  );
})();
