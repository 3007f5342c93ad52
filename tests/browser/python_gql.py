"""Python's `gql` against SegmentIQ: the schema fetched by introspection (every option graphql-core
offers), a query validated against it locally and run, and a mistake caught by the fetched schema
before anything is sent. Run by scripts/browser-test.sh with BASE_URL (and FULL_TOKEN when the
server has API_TOKEN); exits non-zero on failure."""

import os
import sys

from gql import Client, gql
from gql.transport.requests import RequestsHTTPTransport
from graphql import GraphQLError

base = os.environ.get("BASE_URL", "http://127.0.0.1:8000").rstrip("/")
token = os.environ.get("FULL_TOKEN")
headers = {"Authorization": f"Bearer {token}"} if token else {}

transport = RequestsHTTPTransport(url=f"{base}/graphql", headers=headers, retries=0)
client = Client(
    transport=transport,
    fetch_schema_from_transport=True,
    introspection_args={
        "descriptions": True,
        "specified_by_url": True,
        "directive_is_repeatable": True,
        "schema_description": True,
        "input_value_deprecation": True,
    },
)

with client as session:
    result = session.execute(gql("{ datasets(first: 5) { totalCount nodes { id name rowCount } } }"))
    assert result["datasets"]["totalCount"] >= 1, result
    schema = client.schema
    assert schema is not None and schema.query_type.name == "QueryRoot", schema
    assert "assignments" in schema.query_type.fields, schema.query_type.fields.keys()
    try:
        session.execute(gql("{ datasets { noSuchField } }"))
    except GraphQLError as e:
        assert "noSuchField" in str(e), e
    else:
        sys.exit("python gql: a query with an unknown field was not caught by the fetched schema")

print(f"python gql: schema of {len(schema.type_map)} types fetched; queries validated and run", file=sys.stderr)
