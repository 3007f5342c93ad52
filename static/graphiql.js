// GraphiQL on /graphql, from a file rather than an inline script so the page's
// Content-Security-Policy can forbid inline scripts. Requests carry the session cookie of a
// signed-in browser (same-origin fetch and websocket).
(function () {
  "use strict";
  var wsScheme = location.protocol === "https:" ? "wss:" : "ws:";
  var fetcher = GraphiQL.createFetcher({
    url: "/graphql",
    subscriptionUrl: wsScheme + "//" + location.host + "/graphql/ws",
  });
  var defaultQuery = [
    "# Welcome to SegmentIQ. Try:",
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
      defaultEditorToolsVisibility: true,
    })
  );
})();
