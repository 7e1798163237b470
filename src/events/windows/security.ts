// Security log (Microsoft-Windows-Security-Auditing) → ECS as the system integration's security
// pipeline (default.yml → standard.yml) does it. The steps run in the pipeline's order because
// later steps overwrite earlier ones (e.g. 4648: the target user is copied first, then the
// subject replaces it).
import { LOGON_FAILURE_STATUS, LOGON_TYPES, SECURITY_EVENTS, SERVICE_TYPES } from './tables.js';
import { type Doc, appendUnique, child, decodeLong, dropStageFields, obj, splitCommandLineSecurity, str } from './common.js';

const COPY_TARGET_USER = new Set(['4624', '4625', '4634', '4647', '4648', '4768', '4769', '4770', '4771', '4776', '4964']);
const LOGON_ID_FROM_TARGET = new Set(['4634', '4647', '4964']);
const SUBJECT_USER = new Set([
  '4657', '4670', '4672', '4673', '4674', '4688', '4689', '4697', '4698', '4699', '4700', '4701', '4702', '4706',
  '4707', '4713', '4716', '4717', '4718', '4719', '4720', '4722', '4723', '4724', '4725', '4726', '4727', '4728',
  '4729', '4730', '4731', '4732', '4733', '4734', '4735', '4737', '4738', '4739', '4740', '4741', '4742', '4743',
  '4744', '4745', '4746', '4747', '4748', '4749', '4750', '4751', '4752', '4753', '4754', '4755', '4756', '4757',
  '4758', '4759', '4760', '4761', '4762', '4763', '4764', '4767', '4781', '4798', '4799', '4817', '4904', '4905',
  '4907', '4912', '4648', '5140', '5145',
]);
const GROUP_MEMBER = new Set([
  '4727', '4728', '4729', '4730', '4731', '4732', '4733', '4734', '4735', '4737', '4744', '4745', '4746', '4747',
  '4748', '4749', '4750', '4751', '4752', '4753', '4754', '4755', '4756', '4757', '4758', '4759', '4760', '4761',
  '4762', '4763', '4764', '4799',
]);
const TARGET_TO_TARGET = new Set(['4670', '4720', '4722', '4723', '4724', '4725', '4726', '4738', '4740', '4767', '4798', '4817', '4907']);
const TARGET_TO_EFFECTIVE = new Set(['4648', '4688']);
const COMMON_AUTH = new Set([
  '1100', '1102', '1104', '1105', '1108', '4624', '4648', '4625', '4670', '4673', '4674', '4689', '4697', '4719',
  '4720', '4722', '4723', '4724', '4725', '4726', '4727', '4728', '4729', '4730', '4731', '4732', '4733', '4734',
  '4735', '4737', '4738', '4740', '4741', '4742', '4743', '4744', '4745', '4746', '4747', '4748', '4749', '4750',
  '4751', '4752', '4753', '4754', '4755', '4756', '4757', '4758', '4759', '4760', '4761', '4762', '4763', '4764',
  '4767', '4768', '4769', '4770', '4771', '4798', '4799', '4817', '4904', '4905', '4907', '4912', '5140', '5145',
]);
const RELATED_TARGET_USER = new Set(['4688', '4720', '4722', '4723', '4724', '4725', '4726', '4738', '4740', '4767', '4798']);
const PRIVILEGE_LIST = new Set(['4672', '4673', '4674', '4741', '4742', '4743']);

const usable = (v: unknown): v is string => typeof v === 'string' && v !== '' && v !== '-';

/** Applies the Security mapping to a beat-stage document in place. */
export function mapSecurity(doc: Doc): void {
  const winlog = child(doc, 'winlog');
  const event = child(doc, 'event');
  const code = String(winlog.event_id ?? event.code ?? '');
  event.code = code;
  event.kind = 'event';
  const ed: Doc = obj(winlog.event_data) ?? {};
  const related = (): Doc => child(doc, 'related');

  const cat = SECURITY_EVENTS[code];
  if (cat) {
    if (cat.category) event.category = [...cat.category];
    if (cat.type) event.type = [...cat.type];
    if (typeof cat.action === 'string') event.action = cat.action;
  }

  const logonType = typeof ed.LogonType === 'string' ? LOGON_TYPES[ed.LogonType] : undefined;
  if (logonType) child(winlog, 'logon').type = logonType;

  if (usable(ed.ServiceName)) child(doc, 'service').name = ed.ServiceName;
  if (typeof ed.ServiceType === 'string' && SERVICE_TYPES[ed.ServiceType] !== undefined) {
    child(doc, 'service').type = SERVICE_TYPES[ed.ServiceType];
  }

  if ((code === '4625' || code === '4776') && typeof ed.Status === 'string') {
    const status = LOGON_FAILURE_STATUS[ed.Status.toLowerCase()];
    if (status) child(child(winlog, 'logon'), 'failure').status = status;
    const sub = typeof ed.SubStatus === 'string' ? LOGON_FAILURE_STATUS[ed.SubStatus.toLowerCase()] : undefined;
    if (sub) child(child(winlog, 'logon'), 'failure').sub_status = sub;
  }

  const user: Doc = obj(doc.user) ?? {};
  doc.user = user;

  if (COPY_TARGET_USER.has(code)) {
    const id = str(ed.TargetUserSid) ?? str(ed.TargetSid);
    if (id !== undefined) {
      if (user.id === undefined) user.id = id;
      else child(user, 'target').id = id;
    }
    if (typeof ed.TargetUserName === 'string') {
      const name = ed.TargetUserName.split('@')[0]!;
      if (user.name === undefined) user.name = name;
      else child(user, 'target').name = name;
      appendUnique(related(), 'user', name);
    }
    if (typeof ed.TargetDomainName === 'string') {
      if (user.domain === undefined) user.domain = ed.TargetDomainName;
      else child(user, 'target').domain = ed.TargetDomainName;
    }
  }

  if (GROUP_MEMBER.has(code)) mapGroupMember(doc, ed, user);

  if (LOGON_ID_FROM_TARGET.has(code) && ed.TargetLogonId !== undefined) child(winlog, 'logon').id = ed.TargetLogonId;

  if (SUBJECT_USER.has(code)) {
    if (typeof ed.SubjectUserSid === 'string') user.id = ed.SubjectUserSid;
    if (typeof ed.SubjectUserName === 'string') {
      user.name = ed.SubjectUserName;
      appendUnique(related(), 'user', ed.SubjectUserName);
    }
    if (typeof ed.SubjectDomainName === 'string') user.domain = ed.SubjectDomainName;
  }

  if (TARGET_TO_TARGET.has(code)) copyTargetInto(child(user, 'target'), ed, related, true);
  if (TARGET_TO_EFFECTIVE.has(code)) copyTargetInto(child(user, 'effective'), ed, related, false);
  for (const k of ['target', 'effective'] as const) {
    const o = obj(user[k]);
    if (o && Object.keys(o).length === 0) delete user[k];
  }

  // 1102 (log cleared) carries its subject in UserData/LogFileCleared.
  const ud = obj(winlog.user_data);
  if (code === '1102' && ud) {
    if (typeof ud.SubjectUserSid === 'string') user.id = ud.SubjectUserSid;
    if (typeof ud.SubjectUserName === 'string') {
      user.name = ud.SubjectUserName;
      appendUnique(related(), 'user', ud.SubjectUserName);
    }
    if (typeof ud.SubjectDomainName === 'string') user.domain = ud.SubjectDomainName;
  }

  // Applied to every event after the user steps, so it wins over TargetLogonId when both exist.
  if (ed.SubjectLogonId !== undefined) child(winlog, 'logon').id = ed.SubjectLogonId;
  if (code === '1102' && ud && ud.SubjectLogonId !== undefined) child(winlog, 'logon').id = ud.SubjectLogonId;

  const process: Doc = obj(doc.process) ?? {};
  if (COMMON_AUTH.has(code)) {
    moveNumber(ed, 'ProcessId', process, 'pid');
    moveString(ed, 'ProcessName', process, 'executable');
    const source: Doc = obj(doc.source) ?? {};
    if (ed.IpAddress !== '-') moveString(ed, 'IpAddress', source, 'ip');
    if (ed.IpPort !== '-') moveNumber(ed, 'IpPort', source, 'port');
    moveString(ed, 'WorkstationName', source, 'domain');
    if (Object.keys(source).length > 0) doc.source = source;
    if (process.name === undefined && typeof process.executable === 'string') {
      process.name = process.executable.split('\\').pop();
    }
  }

  if (code === '4688') map4688(ed, process, related);
  if (Object.keys(process).length > 0) doc.process = process;

  if ((code === '4624' || code === '4648') && usable(ed.SubjectUserName)) appendUnique(related(), 'user', ed.SubjectUserName);
  if (RELATED_TARGET_USER.has(code) && usable(ed.TargetUserName)) appendUnique(related(), 'user', ed.TargetUserName);

  if (PRIVILEGE_LIST.has(code) && typeof ed.PrivilegeList === 'string') {
    ed.PrivilegeList = ed.PrivilegeList.trim().split(/\s+/);
  }

  // default.yml: IPv4-mapped source addresses are stored as IPv4, and source.ip joins related.ip.
  const source = obj(doc.source);
  if (source && typeof source.ip === 'string') {
    source.ip = source.ip.replace(/::ffff:/g, '');
    appendUnique(related(), 'ip', source.ip);
  }

  if (typeof winlog.level === 'string' && winlog.level !== '') child(doc, 'log').level = winlog.level;
  if (Object.keys(ed).length > 0) winlog.event_data = ed;
  else delete winlog.event_data;
  dropStageFields(doc, winlog);
  if (Object.keys(user).length === 0) delete doc.user;
}

function copyTargetInto(target: Doc, ed: Doc, related: () => Doc, fromTargetSid: boolean): void {
  const id = fromTargetSid ? ed.TargetSid : ed.TargetUserSid;
  if (usable(id)) target.id = id;
  if (usable(ed.TargetUserName)) {
    const name = ed.TargetUserName.split('@')[0]!;
    target.name = name;
    appendUnique(related(), 'user', name);
  }
  if (usable(ed.TargetDomainName)) target.domain = ed.TargetDomainName;
}

/** Group membership events: the member goes to user.target, the group to group.* and user.target.group. */
function mapGroupMember(doc: Doc, ed: Doc, user: Doc): void {
  if (typeof ed.MemberName === 'string') {
    const parts = ed.MemberName.split(',');
    const member = parts[0]!.replace(/CN=/g, '').replace(/cn=/g, '');
    const target = child(user, 'target');
    target.name = member;
    appendUnique(child(doc, 'related'), 'user', member);
    if (parts.length >= 4) target.domain = parts[3]!.replace(/DC=/g, '').replace(/dc=/g, '');
  }
  const group: Doc = obj(doc.group) ?? {};
  if (typeof ed.TargetUserSid === 'string') group.id = ed.TargetUserSid;
  if (typeof ed.TargetSid === 'string') group.id = ed.TargetSid;
  if (typeof ed.TargetUserName === 'string') group.name = ed.TargetUserName;
  if (typeof ed.TargetDomainName === 'string') group.domain = ed.TargetDomainName.replace(/DC=/g, '').replace(/dc=/g, '');
  if (Object.keys(group).length > 0) doc.group = group;
  const target = obj(user.target);
  if (target) {
    const g: Doc = {};
    if (group.id !== undefined) g.id = group.id;
    if (group.name !== undefined) g.name = group.name;
    if (group.domain !== undefined) g.domain = group.domain;
    target.group = g;
  }
}

/**
 * Moves an event_data value into an ECS field, as the pipeline's rename processors do: the value
 * leaves winlog.event_data once it has an ECS home. A number that does not decode stays unset.
 */
function moveNumber(ed: Doc, key: string, target: Doc, field: string): void {
  if (ed[key] === undefined) return;
  const n = decodeLong(ed[key]);
  if (n !== undefined) target[field] = n;
  delete ed[key];
}

function moveString(ed: Doc, key: string, target: Doc, field: string): void {
  if (typeof ed[key] !== 'string') return;
  target[field] = ed[key];
  delete ed[key];
}

/** 4688 process creation: new process, parent and the pipeline's own command-line split. */
function map4688(ed: Doc, process: Doc, related: () => Doc): void {
  moveNumber(ed, 'NewProcessId', process, 'pid');
  moveString(ed, 'NewProcessName', process, 'executable');
  const parent: Doc = obj(process.parent) ?? {};
  moveString(ed, 'ParentProcessName', parent, 'executable');
  if (process.name === undefined && typeof process.executable === 'string') {
    process.name = process.executable.split('\\').pop();
  }
  if (parent.name === undefined && typeof parent.executable === 'string') {
    parent.name = parent.executable.split('\\').pop();
  }
  if (ed.ProcessId !== undefined) {
    const ppid = decodeLong(ed.ProcessId);
    if (ppid !== undefined) parent.pid = ppid;
  }
  if (Object.keys(parent).length > 0) process.parent = parent;
  if (typeof ed.CommandLine === 'string') {
    const args = splitCommandLineSecurity(ed.CommandLine);
    process.args = args;
    process.args_count = args.length;
    process.command_line = ed.CommandLine;
  }
  if (usable(ed.TargetUserName)) appendUnique(related(), 'user', ed.TargetUserName);
}
