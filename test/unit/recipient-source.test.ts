import assert from 'node:assert/strict';
import { test } from 'node:test';
import { declaredFormat, sniffFormat } from '../../src/build/recipient-source.js';

test('a list declares its format by extension first, then by media type', () => {
  assert.equal(declaredFormat('lists/a.csv'), 'csv');
  assert.equal(declaredFormat('lists/a.JSON'), 'json');
  assert.equal(declaredFormat('lists/a.jsonl'), 'jsonl');
  assert.equal(declaredFormat('lists/a.ndjson', 'text/csv'), 'jsonl');
  assert.equal(declaredFormat('lists/export', 'application/json; charset=utf-8'), 'json');
  assert.equal(declaredFormat('lists/export', 'application/x-ndjson'), 'jsonl');
  assert.equal(declaredFormat('lists/export', 'text/csv'), 'csv');
  assert.equal(declaredFormat('lists/export', 'binary/octet-stream'), undefined);
  assert.equal(declaredFormat('lists/export.txt'), undefined);
});

test('an undeclared list is sniffed from its opening', () => {
  assert.equal(sniffFormat('email,name\na@x.test,A\n'), 'csv');
  assert.equal(sniffFormat('\uFEFF  [{"email":"a@x.test"}'), 'json');
  assert.equal(sniffFormat('{"email":"a@x.test"}\n{"email":"b@x.test"}\n'), 'jsonl');
  assert.equal(sniffFormat('{\n  "recipients": [\n'), 'json');
  assert.equal(sniffFormat('{"recipients": [{"email": "a@x.test"}]}'), 'json');
  assert.equal(sniffFormat('{"recipients": [{"email": "a@x.test"},\n{"email": "b@x.test"}]}'), 'json');
});
