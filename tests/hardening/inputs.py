"""The inputs the app's OpenAPI document lists that need the hardest values: times and cursors."""


def _resolve(document, schema):
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _time_fields(document, schema, path=""):
    schema = _resolve(document, schema)
    found = [path] if schema.get("format") == "date-time" else []
    for part in schema.get("allOf", []):
        found += _time_fields(document, part, path)
    for name, child in schema.get("properties", {}).items():
        found += _time_fields(document, child, f"{path}.{name}" if path else name)
    if "items" in schema:
        found += _time_fields(document, schema["items"], f"{path}[]")
    return found


def documented_inputs(client):
    """{"METHOD /path body field" or "METHOD /path query name": "time" or "cursor"} of every such input."""
    document = client.get("/api/v1/openapi.json").json
    inputs = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":  # the path's own parameters: path segments, never times or cursors
                continue
            for parameter in operation.get("parameters", []):
                label = f"{method.upper()} {path} query {parameter['name']}"
                if parameter.get("schema", {}).get("format") == "date-time":
                    inputs[label] = "time"
                elif parameter["name"] in {"cursor", "since"}:
                    inputs[label] = "cursor"
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            for field in _time_fields(document, body) if body else []:
                inputs[f"{method.upper()} {path} body {field}"] = "time"
    return inputs
