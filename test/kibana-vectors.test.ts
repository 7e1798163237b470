// Kibana's own unit-test vectors for the pieces of an alert, ported from elastic/kibana
// (security_solution server/lib/detection_engine/rule_types/…):
//  * utils/reason_formatter.test.ts                 → buildReasonMessage
//  * eql/build_alert_group_from_sequence.test.ts    → objectPairIntersection / objectArrayIntersection,
//                                                      building block and shell ids
//  * factories/utils/traverse_and_mutate_doc.test.ts → prepareAlertSource
// Each expected value is Kibana's; where Kibana's current implementation and an older test
// disagree, the test says so.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { alertIdFromAncestors, buildingBlockIds, buildSequenceAlerts, eventAlertId, type Ancestor } from '../src/detect/alerts.js';
import { prepareAlertSource } from '../src/detect/ecs-source.js';
import { objectArrayIntersection, objectPairIntersection } from '../src/detect/intersect.js';
import { buildReasonMessage } from '../src/detect/reason.js';
import { makeRule } from './detect-helpers.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('reason_formatter.test.ts vectors', () => {
  const name = 'my-rule';
  const severity = 'medium';
  const fields = {
    'destination.ip': ['9.99.99.9'],
    'destination.port': ['6789'],
    'event.category': ['test'],
    'file.name': ['sample'],
    'host.name': ['host'],
    'process.name': ['doingThings.exe'],
    'process.parent.name': ['didThings.exe'],
    'source.ip': ['1.11.11.1'],
    'source.port': ['1234'],
    'user.name': ['test-user'],
    '@timestamp': '2021-08-11T02:28:59.101Z',
  };
  const full =
    'test event with process doingThings.exe, parent process didThings.exe, file sample, source 1.11.11.1:1234, destination 9.99.99.9:6789, by test-user on host created medium alert my-rule.';
  const withFields = (f: Record<string, unknown>) => buildReasonMessage(name, severity, { fields: { ...fields, ...f } });

  it('returns the full reason message', () => {
    expect(buildReasonMessage(name, severity, { fields })).toBe(full);
  });
  it('builds the reason message from _source when there is one', () => {
    const _source = {
      'destination.ip': '9.99.99.9',
      'destination.port': '6789',
      'event.category': 'test',
      'file.name': 'sample',
      'host.name': 'host',
      'process.name': 'doingThings.exe',
      'process.parent.name': 'didThings.exe',
      'source.ip': '1.11.11.1',
      'source.port': '1234',
      'user.name': 'test-user',
      '@timestamp': '2021-08-11T02:28:59.101Z',
    };
    expect(buildReasonMessage(name, severity, { fields: { '@timestamp': fields['@timestamp'] }, _source })).toBe(full);
  });
  it('builds the same reason message from array-wrapped _source values', () => {
    expect(buildReasonMessage(name, severity, { fields, _source: { ...fields } })).toBe(full);
  });
  it('shows every event category', () => {
    expect(withFields({ 'event.category': ['item one', 'item two'] })).toBe(
      'item one, item two event with process doingThings.exe, parent process didThings.exe, file sample, source 1.11.11.1:1234, destination 9.99.99.9:6789, by test-user on host created medium alert my-rule.',
    );
  });
  it('leaves out a missing host name', () => {
    expect(withFields({ 'host.name': ['-'] })).toBe(
      'test event with process doingThings.exe, parent process didThings.exe, file sample, source 1.11.11.1:1234, destination 9.99.99.9:6789, by test-user created medium alert my-rule.',
    );
  });
  it('leaves out a missing user name', () => {
    expect(withFields({ 'user.name': ['-'] })).toBe(
      'test event with process doingThings.exe, parent process didThings.exe, file sample, source 1.11.11.1:1234, destination 9.99.99.9:6789, on host created medium alert my-rule.',
    );
  });
  it('leaves out the destination port, then the destination', () => {
    expect(withFields({ 'destination.port': ['-'] })).toBe(
      'test event with process doingThings.exe, parent process didThings.exe, file sample, source 1.11.11.1:1234, destination 9.99.99.9 by test-user on host created medium alert my-rule.',
    );
    expect(withFields({ 'destination.ip': ['-'], 'destination.port': ['-'] })).toBe(
      'test event with process doingThings.exe, parent process didThings.exe, file sample, source 1.11.11.1:1234, by test-user on host created medium alert my-rule.',
    );
  });
  it('leaves out the source port, then the source', () => {
    expect(withFields({ 'source.port': ['-'] })).toBe(
      'test event with process doingThings.exe, parent process didThings.exe, file sample, source 1.11.11.1 destination 9.99.99.9:6789, by test-user on host created medium alert my-rule.',
    );
    expect(withFields({ 'source.ip': ['-'], 'source.port': ['-'] })).toBe(
      'test event with process doingThings.exe, parent process didThings.exe, file sample, destination 9.99.99.9:6789, by test-user on host created medium alert my-rule.',
    );
  });
  it('leaves out process details', () => {
    expect(withFields({ 'process.name': ['-'], 'process.parent.name': ['-'] })).toBe(
      'test event with file sample, source 1.11.11.1:1234, destination 9.99.99.9:6789, by test-user on host created medium alert my-rule.',
    );
  });
  it('has no "with" without a field of interest', () => {
    const only = { 'event.category': ['test'], 'user.name': ['test-user'], '@timestamp': '2021-08-11T02:28:59.101Z' };
    expect(buildReasonMessage(name, severity, { fields: only })).toBe('test event by test-user created medium alert my-rule.');
  });
  it('is empty without a document', () => {
    expect(buildReasonMessage(name, severity, undefined)).toBe('');
  });
  it('threshold-style documents: no category, no leading space', () => {
    const doc = (k: Record<string, string>) => ({ _source: { '@timestamp': '2022-08-16T11:01:09.848Z', threshold_result: [{}], ...k } });
    expect(buildReasonMessage(name, severity, doc({ 'user.name': 'Some User Name' }))).toBe('event by Some User Name created medium alert my-rule.');
    expect(buildReasonMessage(name, severity, doc({ 'host.name': 'Some Host Name' }))).toBe('event on Some Host Name created medium alert my-rule.');
    expect(buildReasonMessage(name, severity, doc({ 'host.name': 'Some Host Name', 'user.name': 'Some User Name' }))).toBe(
      'event by Some User Name on Some Host Name created medium alert my-rule.',
    );
  });
  it('drops values without a length (numbers in _source) and reads source.ip, not source.address', () => {
    const _source = { source: { ip: '10.0.0.1', address: 'a.example', port: 5000 }, destination: { ip: '8.8.8.8', port: 53 }, host: { name: 'h' } };
    expect(buildReasonMessage('Net', 'high', { _source })).toBe('event with source 10.0.0.1 destination 8.8.8.8 on h created high alert Net.');
  });
});

describe('build_alert_group_from_sequence.test.ts: objectPairIntersection', () => {
  const pair = objectPairIntersection;
  it('identically-valued arrays', () => expect(pair({ field1: [1] }, { field1: [1] })).toEqual({ field1: [1] }));
  it('scalar against an array', () => expect(pair({ field1: 1 }, { field1: [1, 2, 3] })).toEqual({ field1: [1] }));
  it('arrays with one common element', () => expect(pair({ field1: [3, 4, 5] }, { field1: [1, 2, 3] })).toEqual({ field1: [3] }));
  it('arrays with two common elements', () => expect(pair({ field1: [3, 4, 5] }, { field1: [1, 2, 3, 4] })).toEqual({ field1: [3, 4] }));
  it('dot and nested notation are the same field', () => {
    expect(pair({ 'user.email': 'marshall@elastic.co' }, { user: { email: 'marshall@elastic.co' } })).toEqual({ user: { email: 'marshall@elastic.co' } });
    expect(pair({ 'a.b.c': 42 }, { a: { b: { c: 42 } } })).toEqual({ a: { b: { c: 42 } } });
    expect(pair({ 'user.emails': ['a@test.co'] }, { user: { emails: ['a@test.co'] } })).toEqual({ user: { emails: ['a@test.co'] } });
  });
  it('keeps a path dotted on both sides dotted (Kibana applyNotationPreference)', () => {
    // An older Kibana test expected { user: { email } } here; the current implementation keeps
    // paths that were dotted keys in both documents as dotted keys.
    expect(pair({ 'user.email': 'a@test.co' }, { 'user.email': 'a@test.co' })).toEqual({ 'user.email': 'a@test.co' });
  });
  it('undefined and empty inputs', () => {
    expect(pair(undefined, { a: 1 })).toBeUndefined();
    expect(pair({ a: 1 }, undefined)).toBeUndefined();
    expect(pair({}, {})).toBeUndefined();
    expect(pair({}, { a: 1 })).toBeUndefined();
    expect(pair({ a: 1 }, {})).toBeUndefined();
  });
  it('numbers and strings are unequal', () => {
    expect(pair({ field1: 1, field2: 1 }, { field1: 1, field2: '1' })).toEqual({ field1: 1 });
    expect(pair({ field1: 1, field2: 1, field3: 'abcd', field4: 'abcd' }, { field1: 1, field2: 100, field3: 'abcd', field4: 'wxyz' })).toEqual({ field1: 1, field3: 'abcd' });
  });
  it('null values', () => expect(pair({ field1: 1, field2: '1', field3: null }, { field1: null, field2: null, field3: null })).toEqual({ field3: null }));
  it('only undefined left gives undefined', () => {
    expect(pair({ field1: 1, field2: '1', field3: undefined }, { field1: undefined, field2: undefined, field3: undefined })).toBeUndefined();
  });
  it('disjoint arrays give []', () => {
    expect(pair({ array_field1: [1, 2], array_field2: [1, 2] }, { array_field1: [1, 2], array_field2: [3, 4] })).toEqual({ array_field1: [1, 2], array_field2: [] });
  });
  it('fields in one object only are dropped', () => expect(pair({ field1: 1 }, { field2: 1 })).toBeUndefined());
  const a = {
    field1: 1, field2: 1, field3: 10, field5: 1, field6: null, array_field: [1, 2],
    container_field: { sub_field1: 1, sub_field2: 1, sub_field3: 10 },
    container_field_without_intersection: { sub_field1: 1 },
  };
  const b = {
    field1: 1, field2: 2, field4: 10, field5: '1', field6: null, array_field: [1, 2],
    container_field: { sub_field1: 1, sub_field2: 2, sub_field4: 10 },
    container_field_without_intersection: { sub_field2: 1 },
  };
  const ab = { array_field: [1, 2], field1: 1, field6: null, container_field: { sub_field1: 1 } };
  it('objects within objects', () => {
    const x = {
      container_field: {
        field1: 1, field2: 1, field3: 10, field5: 1, field6: null, array_field: [1, 2],
        nested_container_field: { field1: 1, field2: 1 }, nested_container_field2: { field1: undefined },
      },
      container_field_without_intersection: { sub_field1: 1 },
    };
    const y = {
      container_field: {
        field1: 1, field2: 2, field4: 10, field5: '1', field6: null, array_field: [1, 2],
        nested_container_field: { field1: 1, field2: 2 }, nested_container_field2: { field1: undefined },
      },
      container_field_without_intersection: { sub_field2: 1 },
    };
    expect(pair(x, y)).toEqual({ container_field: { array_field: [1, 2], field1: 1, field6: null, nested_container_field: { field1: 1 } } });
  });
  it('objects with a variety of fields', () => expect(pair(a, b)).toEqual(ab));
  it('objectArrayIntersection', () => {
    expect(objectArrayIntersection([])).toBeUndefined();
    expect(objectArrayIntersection([a])).toEqual(a);
    expect(objectArrayIntersection([a, b])).toEqual(ab);
    const c = {
      field1: 1, field2: 2, field4: 10, field5: '1', array_field: [1, 2],
      container_field: { sub_field2: 2, sub_field4: 10 },
      container_field_without_intersection: { sub_field2: 1 },
    };
    expect(objectArrayIntersection([a, b, c])).toEqual({ array_field: [1, 2], field1: 1 });
    expect(objectArrayIntersection([{ 'user.id': 'u1', event: { action: 'login' } }, { user: { id: 'u1' }, event: { action: 'login' } }, { 'user.id': 'u1', 'event.action': 'login' }])).toEqual({
      user: { id: 'u1' },
      event: { action: 'login' },
    });
  });
});

describe('build_alert_group_from_sequence.test.ts: ids and ancestry', () => {
  // Kibana's fixture: two events of index myFakeSignalIndex (sampleDocNoSortId), rule
  // sampleRuleGuid, rule-name / high.
  const ruleGuid = '04128c15-0d1b-4716-a4c5-46997ac7f3bd';
  const rule = makeRule({ name: 'rule-name', severity: 'high', risk_score: 50, id: ruleGuid, query: 'sequence [any where true] [any where true]' });
  const doc = (id: string) => ({
    id,
    index: 'myFakeSignalIndex',
    source: { someKey: 'someValue', '@timestamp': '2020-04-20T21:27:45+0000', source: { ip: '127.0.0.1' } },
  });
  const ev0 = doc('d5e8eb51-a6a0-456d-8a15-4b79bfec3d71');
  const ev1 = doc('619389b2-b077-400e-b40b-abde20d675d3');
  const ancestor = (e: { id: string; index: string }): Ancestor => ({ id: e.id, index: e.index, type: 'event', depth: 0 });

  it('building block ids f2db3574…, 1dbc4163… and the shell id 1b7d0695…fb23', () => {
    const ids = buildingBlockIds([[ancestor(ev0)], [ancestor(ev1)]], ruleGuid);
    expect(ids).toEqual([
      'f2db3574eaf8450e3f4d1cf4f416d70b110b035ae0a7a00026242df07f0a6c90',
      '1dbc416333244efbda833832eb83f13ea5d980a33c2f981ca8d2b35d82a045da',
    ]);
    const block = (id: string): Ancestor => ({ id, index: '', type: 'signal', depth: 1, rule: ruleGuid });
    expect(alertIdFromAncestors([ancestor(ev0), block(ids[0]!), ancestor(ev1), block(ids[1]!)], ruleGuid)).toBe(
      '1b7d06954e74257140f3bf73f139078483f9658fe829fd806cc307fc0388fb23',
    );
  });

  it('buildSequenceAlerts gives those ids, interleaved ancestors and the shell reason', () => {
    const alerts = buildSequenceAlerts(rule, [ev0, null, ev1], { runTime: '2020-01-01T00:00:00.000Z', executionUuid: 'e' });
    expect(alerts).toHaveLength(3);
    const [b0, b1, shell] = alerts as Record<string, unknown>[];
    expect(b0!['kibana.alert.uuid']).toBe('f2db3574eaf8450e3f4d1cf4f416d70b110b035ae0a7a00026242df07f0a6c90');
    expect(b1!['kibana.alert.uuid']).toBe('1dbc416333244efbda833832eb83f13ea5d980a33c2f981ca8d2b35d82a045da');
    expect(shell!['kibana.alert.uuid']).toBe('1b7d06954e74257140f3bf73f139078483f9658fe829fd806cc307fc0388fb23');
    expect(shell!['kibana.alert.group.id']).toBe(shell!['kibana.alert.uuid']);
    expect(b0!['kibana.alert.ancestors']).toEqual([ancestor(ev0)]);
    expect(b0!['kibana.alert.depth']).toBe(1);
    expect(shell!['kibana.alert.ancestors']).toEqual([
      ancestor(ev0),
      { id: b0!['kibana.alert.uuid'], index: '', type: 'signal', depth: 1, rule: ruleGuid },
      ancestor(ev1),
      { id: b1!['kibana.alert.uuid'], index: '', type: 'signal', depth: 1, rule: ruleGuid },
    ]);
    expect(shell!['kibana.alert.depth']).toBe(2);
    expect(shell!['kibana.alert.reason']).toBe('event with source 127.0.0.1 created high alert rule-name.');
    expect(b0!['kibana.alert.group.index']).toBe(0);
    expect(b1!['kibana.alert.group.index']).toBe(1);
    expect(shell!['kibana.alert.group.index']).toBeUndefined();
    // The shell is built from the building blocks: its original time is their @timestamp.
    expect(b0!['kibana.alert.original_time']).toBe('2020-04-20T21:27:45.000Z');
    expect(shell!['kibana.alert.original_time']).toBe('2020-01-01T00:00:00.000Z');
  });

  it("an event alert id is sha256(_index + _id + 'undefined' + 'default:' + rule uuid)", () => {
    expect(eventAlertId({ index: 'myFakeSignalIndex', id: ev0.id, source: {} }, ruleGuid)).toBe(
      sha256(`myFakeSignalIndex${ev0.id}undefineddefault:${ruleGuid}`),
    );
  });
});

describe('traverse_and_mutate_doc.test.ts vectors', () => {
  const t = (doc: Record<string, unknown>) => prepareAlertSource(doc);
  it('keeps ECS compliant fields', () => {
    const doc = { client: { nat: { port: '3000', ip: '127.0.0.2' }, ip: ['127.0.0.1'] } };
    expect(t(doc)).toEqual({ result: doc, removed: [] });
  });
  it('strips an object where ECS has a keyword, and a keyword where ECS has an object', () => {
    expect(t({ agent: { name: { first: 'test-1', second: 'test-2' }, type: 'filebeat' } })).toEqual({
      result: { agent: { type: 'filebeat' } },
      removed: [{ key: 'agent.name', value: { first: 'test-1', second: 'test-2' } }],
    });
    expect(t({ agent: 'test', message: 'test message' })).toEqual({ result: { message: 'test message' }, removed: [{ key: 'agent', value: 'test' }] });
    expect(t({ device: 'test', message: 'test message' })).toEqual({ result: { message: 'test message' }, removed: [{ key: 'device', value: 'test' }] });
  });
  it('array fields', () => {
    expect(t({ agent: [{ name: 'agent-1' }, { name: 'agent-2' }], message: 'test message' })).toEqual({
      result: { agent: [{ name: 'agent-1' }, { name: 'agent-2' }], message: 'test message' },
      removed: [],
    });
    expect(t({ agent: [{ name: 'agent-1', type: { conflict: 'conflict' } }, { name: 'agent-2' }], message: 'test message' })).toEqual({
      result: { agent: [{ name: 'agent-1' }, { name: 'agent-2' }], message: 'test message' },
      removed: [{ key: 'agent.type', value: { conflict: 'conflict' } }],
    });
    expect(t({ agent: ['agent-1', 'agent-2'], message: 'test message' })).toEqual({
      result: { message: 'test message' },
      removed: [{ key: 'agent', value: 'agent-1' }, { key: 'agent', value: 'agent-2' }],
    });
    expect(t({ agent: { name: [{ conflict: 'agent-1' }, { conflict: 'agent-2' }], type: 'filebeat' }, message: 'test message' })).toEqual({
      result: { agent: { type: 'filebeat' }, message: 'test message' },
      removed: [{ key: 'agent.name', value: { conflict: 'agent-1' } }, { key: 'agent.name', value: { conflict: 'agent-2' } }],
    });
    expect(t({ agent: [{ name: { conflict: 'agent-1' } }, { name: 'test' }], message: 'test message' })).toEqual({
      result: { agent: [{ name: 'test' }], message: 'test message' },
      removed: [{ key: 'agent.name', value: { conflict: 'agent-1' } }],
    });
  });
  it('dot notation', () => {
    expect(t({ 'agent.name.conflict': 'some-value', message: 'test message' })).toEqual({
      result: { message: 'test message' },
      removed: [{ key: 'agent.name.conflict', value: 'some-value' }],
    });
    expect(t({ 'agent.name.text': ['1'], message: 'test message' })).toEqual({ result: { message: 'test message' }, removed: [{ key: 'agent.name.text', value: '1' }] });
    expect(t({ 'agent.name.text': [], message: 'test message' })).toEqual({ result: { message: 'test message' }, removed: [] });
    const ok = { 'agent.name': 'some name', 'agent.build.original': 'v10', message: 'test message' };
    expect(t(ok)).toEqual({ result: ok, removed: [] });
  });
  it('non-ECS fields are kept', () => {
    const a = { non_ecs_object: { field1: 'value1' }, message: 'test message' };
    expect(t(a)).toEqual({ result: a, removed: [] });
    const b = { agent: { non_ecs_object: { field1: 'value1' }, non_ecs_field: 'value2' }, message: 'test message' };
    expect(t(b)).toEqual({ result: b, removed: [] });
  });
  it('ip fields', () => {
    expect(t({ source: { ip: '192.168.0.0', name: 'test source' } })).toEqual({ result: { source: { ip: '192.168.0.0', name: 'test source' } }, removed: [] });
    expect(t({ source: { ip: 'invalid-ip', name: 'test source' } })).toEqual({
      result: { source: { name: 'test source' } },
      removed: [{ key: 'source.ip', value: 'invalid-ip' }],
    });
  });
  it('nested fields', () => {
    expect(t({ threat: { enrichments: ['non-valid-threat-1', 'non-valid-threat-2'], 'indicator.port': 443 } })).toEqual({
      result: { threat: { 'indicator.port': 443 } },
      removed: [{ key: 'threat.enrichments', value: 'non-valid-threat-1' }, { key: 'threat.enrichments', value: 'non-valid-threat-2' }],
    });
    const ok = { threat: { enrichments: [{ 'indicator.as.number': 5 }] } };
    expect(t(ok)).toEqual({ result: ok, removed: [] });
  });
  it('date fields', () => {
    expect(t({ event: { created: true, category: 'start' } })).toEqual({
      result: { event: { category: 'start' }, 'kibana.alert.original_event.category': 'start' },
      removed: [{ key: 'event.created', value: true }],
    });
    expect(t({ event: { created: '2020-12-12', end: [2345562, '2022-10-12'] } })).toEqual({
      result: {
        event: { created: '2020-12-12', end: [2345562, '2022-10-12'] },
        'kibana.alert.original_event.created': '2020-12-12',
        'kibana.alert.original_event.end': [2345562, '2022-10-12'],
      },
      removed: [],
    });
  });
  it('long and numeric fields', () => {
    expect(t({ client: { bytes: 'non-valid' } })).toEqual({ result: {}, removed: [{ key: 'client.bytes', value: 'non-valid' }] });
    expect(t({ client: { bytes: '24 ' } })).toEqual({ result: {}, removed: [{ key: 'client.bytes', value: '24 ' }] });
    expect(t({ 'user.risk.calculated_score': 'non-valid' })).toEqual({ result: {}, removed: [{ key: 'user.risk.calculated_score', value: 'non-valid' }] });
    expect(t({ host: { 'cpu.usage': 'non-valid' } })).toEqual({ result: {}, removed: [{ key: 'host.cpu.usage', value: 'non-valid' }] });
    expect(t({ 'user.risk.calculated_score': '24 ' })).toEqual({ result: { 'user.risk.calculated_score': '24 ' }, removed: [] });
    expect(t({ 'host.cpu.usage': '24 ' })).toEqual({ result: { 'host.cpu.usage': '24 ' }, removed: [] });
    expect(t({ host: { 'cpu.usage': '1234' } })).toEqual({ result: { host: { 'cpu.usage': '1234' } }, removed: [] });
    const arr = { 'user.risk.calculated_score': [458.3333, '45.3', 10, 0, -667.23] };
    expect(t(arr)).toEqual({ result: arr, removed: [] });
  });
  it('boolean fields', () => {
    expect(t({ 'dll.code_signature.trusted': ['conflict', 'true', 5, 'False', 'ee', 'True'] })).toEqual({
      result: { 'dll.code_signature.trusted': ['true'] },
      removed: ['conflict', 5, 'False', 'ee', 'True'].map((value) => ({ key: 'dll.code_signature.trusted', value })),
    });
    expect(t({ 'dll.code_signature.trusted': 'True' })).toEqual({ result: {}, removed: [{ key: 'dll.code_signature.trusted', value: 'True' }] });
    const ok = { 'dll.code_signature.trusted': ['true', 'false', true, false, ''] };
    expect(t(ok)).toEqual({ result: ok, removed: [] });
    const nestedArr = { 'dll.code_signature.trusted': [[true, false], ''] };
    expect(t(nestedArr)).toEqual({ result: nestedArr, removed: [] });
  });
  it('geo_point fields are not validated', () => {
    for (const doc of [
      { 'client.location.geo': 'invalid geo_point' },
      { 'client.geo.location': [0, 90] },
      { 'client.geo.location': { type: 'Point', coordinates: [-88.34, 20.12] } },
      { 'client.geo.location': 'POINT (-71.34 41.12)' },
      { client: { geo: { location: { lat: 41.12, lon: -71.34 } } } },
    ]) {
      expect(t(doc).result).toEqual(doc);
    }
  });
  it('globally ignored fields', () => {
    expect(t({ kibana: 'test-value', non_ecs_field: 'value' })).toEqual({ result: { non_ecs_field: 'value' }, removed: [{ key: 'kibana', value: 'test-value' }] });
    expect(t({ 'kibana.test': 'test-value', non_ecs_field: 'value' })).toEqual({ result: { non_ecs_field: 'value' }, removed: [{ key: 'kibana.test', value: 'test-value' }] });
    const prefix = { kibana_test_prefix: 'test-value', non_ecs_field: 'value' };
    expect(t(prefix)).toEqual({ result: prefix, removed: [] });
  });
  it('copies event.* to kibana.alert.original_event.*', () => {
    expect(t({ event: { action: 'test' } }).result).toEqual({ event: { action: 'test' }, 'kibana.alert.original_event.action': 'test' });
    expect(t({ event: { action: 'test', field2: 'test2' } }).result).toEqual({
      event: { action: 'test', field2: 'test2' },
      'kibana.alert.original_event.action': 'test',
      'kibana.alert.original_event.field2': 'test2',
    });
    expect(t({ 'event.action': 'test' }).result).toEqual({ 'event.action': 'test', 'kibana.alert.original_event.action': 'test' });
    expect(t({ 'event.action': 'test', 'event.field2': 'test2' }).result).toEqual({
      'event.action': 'test',
      'event.field2': 'test2',
      'kibana.alert.original_event.action': 'test',
      'kibana.alert.original_event.field2': 'test2',
    });
    expect(t({ event: { 'field.subfield': 'test', 'field2.subfield': 'test2' } }).result).toEqual({
      event: { 'field.subfield': 'test', 'field2.subfield': 'test2' },
      'kibana.alert.original_event.field.subfield': 'test',
      'kibana.alert.original_event.field2.subfield': 'test2',
    });
    expect(t({ 'event.field': { subfield: 'test', subfield2: 'test2' } }).result).toEqual({
      'event.field': { subfield: 'test', subfield2: 'test2' },
      'kibana.alert.original_event.field.subfield': 'test',
      'kibana.alert.original_event.field.subfield2': 'test2',
    });
    expect(t({ 'top_field.event.action': 'test' }).result).toEqual({ 'top_field.event.action': 'test' });
    expect(t({ event: { event: 'test' } }).result).toEqual({ event: { event: 'test' }, 'kibana.alert.original_event.event': 'test' });
    expect(t({ event: { field: { subfield: 'test', subfield2: 'test2' } } }).result).toEqual({
      event: { field: { subfield: 'test', subfield2: 'test2' } },
      'kibana.alert.original_event.field.subfield': 'test',
      'kibana.alert.original_event.field.subfield2': 'test2',
    });
  });
  it('copies data_stream.* to kibana.alert.original_data_stream.* and drops empty [] and {}', () => {
    expect(t({ data_stream: { type: 'logs', dataset: 'x', namespace: 'default' }, labels: {}, tags: [], process: { args: [] } }).result).toEqual({
      data_stream: { type: 'logs', dataset: 'x', namespace: 'default' },
      'kibana.alert.original_data_stream.type': 'logs',
      'kibana.alert.original_data_stream.dataset': 'x',
      'kibana.alert.original_data_stream.namespace': 'default',
    });
  });
  it('never mutates its input', () => {
    const doc = { agent: 'x', event: { kind: 'event' }, kibana: { a: 1 } };
    const copy = structuredClone(doc);
    t(doc);
    expect(doc).toEqual(copy);
  });
});
