// Microsoft-Windows-PowerShell/Operational → ECS following the windows integration's
// powershell_operational pipeline: 4103 ContextInfo key/value lines, category "process",
// script block fields for 4104, host process fields and users.
import { type Doc, appendUnique, child, obj, setFileParts, splitCommandLineWindows, splitUser, toLong } from './common.js';

/** 4103 ContextInfo: "        Key = Value" lines, merged into event_data (keys lose their spaces below). */
function splitContextInfo(ed: Doc): void {
  if (typeof ed.ContextInfo !== 'string') return;
  for (const line of ed.ContextInfo.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (key !== '') ed[key] = value;
  }
}

const RENAMES: ReadonlyArray<readonly [string, string[]]> = [
  ['ShellID', ['powershell', 'id']],
  ['EngineVersion', ['powershell', 'engine', 'version']],
  ['PipelineID', ['powershell', 'pipeline_id']],
  ['RunspaceID', ['powershell', 'runspace_id']],
  ['RunspaceId', ['powershell', 'runspace_id']],
  ['HostVersion', ['powershell', 'process', 'executable_version']],
  ['CommandLine', ['powershell', 'command', 'value']],
  ['CommandPath', ['powershell', 'command', 'path']],
  ['CommandName', ['powershell', 'command', 'name']],
  ['CommandType', ['powershell', 'command', 'type']],
  ['ScriptBlockId', ['powershell', 'file', 'script_block_id']],
  ['ScriptBlockText', ['powershell', 'file', 'script_block_text']],
];

/** Applies the PowerShell Operational mapping to a beat-stage document in place. */
export function mapPowerShellOperational(doc: Doc): void {
  const winlog = child(doc, 'winlog');
  const event = child(doc, 'event');
  const code = String(winlog.event_id ?? event.code ?? '');
  const src: Doc = obj(winlog.event_data) ?? {};
  if (code === '4103') splitContextInfo(src);
  // Keys such as "Host Application" lose their whitespace ("HostApplication").
  const ed: Doc = {};
  for (const [k, v] of Object.entries(src)) ed[k.replace(/\s/g, '')] = v;

  event.kind = 'event';
  event.code = code;
  event.category = ['process'];
  event.type = [code === '4105' ? 'start' : code === '4106' ? 'end' : 'info'];
  const seq = toLong(ed.SequenceNumber);
  if (seq !== undefined) event.sequence = seq;

  const process: Doc = obj(doc.process) ?? {};
  if (typeof ed.HostID === 'string' && ed.HostID !== '') {
    process.entity_id = ed.HostID;
    delete ed.HostID;
  }
  if (typeof ed.HostApplication === 'string' && ed.HostApplication !== '') {
    process.command_line = ed.HostApplication;
    delete ed.HostApplication;
  }
  if (typeof ed.HostName === 'string' && ed.HostName !== '') {
    process.title = ed.HostName;
    delete ed.HostName;
  }

  const user: Doc = obj(doc.user) ?? {};
  const sid = obj(winlog.user)?.identifier;
  if (typeof sid === 'string' && sid !== '') user.id = sid;
  const u = typeof ed.User === 'string' ? splitUser(ed.User) : undefined;
  if (u) {
    if (u[0] !== '') user.domain = u[0];
    if (u[1] !== '') user.name = u[1];
  }
  if (typeof user.name === 'string') appendUnique(child(doc, 'related'), 'user', user.name);
  const cu = typeof ed.ConnectedUser === 'string' ? splitUser(ed.ConnectedUser) : undefined;
  if (cu) {
    // A remote session: the connected user is the source, the local account the destination.
    const sourceUser = child(child(doc, 'source'), 'user');
    if (cu[0] !== '') sourceUser.domain = cu[0];
    if (cu[1] !== '') sourceUser.name = cu[1];
    if (typeof sourceUser.name === 'string') appendUnique(child(doc, 'related'), 'user', sourceUser.name);
    const destUser = child(child(doc, 'destination'), 'user');
    if (user.domain !== undefined) destUser.domain = user.domain;
    if (user.name !== undefined) destUser.name = user.name;
    delete user.domain;
    delete user.name;
    if (sourceUser.domain !== undefined) user.domain = sourceUser.domain;
    if (sourceUser.name !== undefined) user.name = sourceUser.name;
  }

  const total = toLong(ed.MessageTotal);
  const number = toLong(ed.MessageNumber);
  if (number !== undefined) child(doc, 'powershell').sequence = number;
  if (total !== undefined) child(doc, 'powershell').total = total;
  for (const [key, path] of RENAMES) {
    const v = ed[key];
    if (v === undefined || v === '') continue;
    let o = doc;
    for (let i = 0; i < path.length - 1; i++) o = child(o, path[i]!);
    o[path[path.length - 1]!] = v;
    delete ed[key];
  }

  if (typeof process.command_line === 'string') {
    process.args = splitCommandLineWindows(process.command_line);
    process.args_count = (process.args as string[]).length;
  }
  if (typeof ed.Path === 'string' && ed.Path !== '' && ed.ScriptName === undefined) {
    ed.ScriptName = ed.Path;
    delete ed.Path;
  }
  if (typeof ed.ScriptName === 'string' && ed.ScriptName !== '') {
    const file = child(doc, 'file');
    setFileParts(file, ed.ScriptName);
    file.path = ed.ScriptName;
    delete ed.ScriptName;
  }

  // Payload (4103 invocation details) is kept raw in event_data: its structured parsing is not
  // reproduced, and dropping it would lose the command trace.
  for (const k of ['SequenceNumber', 'User', 'ConnectedUser', 'ContextInfo', 'Severity', 'MessageTotal', 'MessageNumber']) {
    delete ed[k];
  }
  for (const [k, v] of Object.entries(ed)) if (v === null || v === '') delete ed[k];
  if (Object.keys(ed).length > 0) winlog.event_data = ed;
  else delete winlog.event_data;
  if (typeof winlog.level === 'string' && winlog.level !== '') child(doc, 'log').level = winlog.level;
  delete winlog.level;
  delete winlog.time_created;
  if (Object.keys(process).length > 0) doc.process = process;
  if (Object.keys(user).length > 0) doc.user = user;
}
