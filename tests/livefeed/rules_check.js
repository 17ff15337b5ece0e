// Evaluates Realtime Database rules offline with targaryen, for tests/livefeed/test_rules.py.
// stdin: {"rules": path, "data": {...}, "cases": [{"auth": null|{uid}, "op": "read"|"write"|"update", "path", "value"}]}
// stdout: [{"allowed": bool, "info": "..."}], one per case, in order.
"use strict";
const fs = require("fs");
const targaryen = require("targaryen");

const input = JSON.parse(fs.readFileSync(0, "utf8"));
const rules = JSON.parse(fs.readFileSync(input.rules, "utf8"));
const database = targaryen.database(rules, input.data).with({debug: true});
const results = input.cases.map(({auth, op, path, value}) => {
  const as = database.as(auth);
  const result = op === "read" ? as.read(path) : op === "update" ? as.update(path, value) : as.write(path, value);
  return {allowed: result.allowed, info: result.info};
});
process.stdout.write(JSON.stringify(results));
