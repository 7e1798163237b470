// Lookup tables that Winlogbeat renders from provider manifests or that Elastic's ingest
// pipelines carry as script params. Offline there is no manifest and no pipeline, so they ship
// here. Everything is an object literal (cheap to build at import time, which keeps this module
// cheap to load inside worker threads) without a prototype: the tables are indexed with values
// read from events, and `LEVELS["constructor"]` must be undefined, not Object.
import { lookupTable } from '../../util/own.js';

/** ECS categorisation for one event id. `action` is a string or, for Sysmon 7 (current integration), a list. */
export interface Categorization {
  category?: string[];
  type?: string[];
  action?: string | string[];
  outcome?: string;
}

/**
 * Sysmon event id → categorisation, as the Elastic Agent "windows" integration pipeline
 * (data stream sysmon_operational, default.yml) sets it. Event 24 has no category there.
 */
export const SYSMON_INTEGRATION: Readonly<Record<string, Categorization>> = lookupTable({
  '1': { category: ['process'], type: ['start'], action: 'Process creation' },
  '2': { category: ['file'], type: ['change'], action: 'A process changed a file creation time' },
  '3': { category: ['network'], type: ['start', 'connection', 'protocol'], action: 'Network connection' },
  '4': { category: ['process'], type: ['change'], action: 'Sysmon service state changed' },
  '5': { category: ['process'], type: ['end'], action: 'Process terminated' },
  '6': { category: ['driver'], type: ['start'], action: 'Driver loaded' },
  '7': { category: ['process'], type: ['change'], action: 'Image loaded' },
  '8': { category: ['process'], type: ['change'], action: 'CreateRemoteThread' },
  '9': { category: ['process'], type: ['access'], action: 'RawAccessRead' },
  '10': { category: ['process'], type: ['access'], action: 'ProcessAccess' },
  '11': { category: ['file'], type: ['creation'], action: 'FileCreate' },
  '12': { category: ['configuration', 'registry'], type: ['change'], action: 'RegistryEvent (Object create and delete)' },
  '13': { category: ['configuration', 'registry'], type: ['change'], action: 'RegistryEvent (Value Set)' },
  '14': { category: ['configuration', 'registry'], type: ['change'], action: 'RegistryEvent (Key and Value Rename)' },
  '15': { category: ['file'], type: ['access'], action: 'FileCreateStreamHash' },
  '16': { category: ['configuration'], type: ['change'], action: 'ServiceConfigurationChange' },
  '17': { category: ['file'], type: ['creation'], action: 'PipeEvent (Pipe Created)' },
  '18': { category: ['file'], type: ['access'], action: 'PipeEvent (Pipe Connected)' },
  '19': { category: ['process'], type: ['info'], action: 'WmiEvent (WmiEventFilter activity detected)' },
  '20': { category: ['process'], type: ['change'], action: 'WmiEvent (WmiEventConsumer activity detected)' },
  '21': { category: ['process'], type: ['access'], action: 'WmiEvent (WmiEventConsumerToFilter activity detected)' },
  '22': { category: ['network'], type: ['connection', 'protocol', 'info'], action: 'DNSEvent (DNS query)' },
  '23': { category: ['file'], type: ['deletion'], action: 'FileDelete (File Delete archived)' },
  '24': { type: ['change'], action: 'ClipboardChange (New content in the clipboard)' },
  '25': { category: ['process'], type: ['change'], action: 'ProcessTampering (Process image change)' },
  '26': { category: ['file'], type: ['deletion'], action: 'FileDeleteDetected (File Delete logged)' },
  '27': { category: ['file'], type: ['creation'], outcome: 'failure', action: 'FileBlockExecutable' },
  '28': { category: ['file'], type: ['deletion'], action: 'FileBlockShredding' },
  '29': { category: ['file'], type: ['creation'], action: 'FileExecutableDetected' },
  '255': { category: ['process'], outcome: 'failure', action: 'Error' },
});

/**
 * Sysmon categorisation of the older Winlogbeat module (winlogbeat-sysmon.js, 7.x). It sets no
 * action (the rendered task name from the beat stays) and no category for 8, 9, 19, 20, 21; 1 and
 * 5 carry the extra legacy types.
 */
export const SYSMON_WINLOGBEAT: Readonly<Record<string, Categorization>> = lookupTable({
  '1': { category: ['process'], type: ['start', 'process_start'] },
  '2': { category: ['file'], type: ['change'] },
  '3': { category: ['network'], type: ['connection', 'start', 'protocol'] },
  '4': { category: ['process'], type: ['change'] },
  '5': { category: ['process'], type: ['end', 'process_end'] },
  '6': { category: ['driver'], type: ['start'] },
  '7': { category: ['process'], type: ['change'] },
  '10': { category: ['process'], type: ['access'] },
  '11': { category: ['file'], type: ['creation'] },
  '12': { category: ['configuration', 'registry'], type: ['change'] },
  '13': { category: ['configuration', 'registry'], type: ['change'] },
  '14': { category: ['configuration', 'registry'], type: ['change'] },
  '15': { category: ['file'], type: ['access'] },
  '16': { category: ['configuration'], type: ['change'] },
  '17': { category: ['file'], type: ['creation'] },
  '18': { category: ['file'], type: ['access'] },
  '22': { category: ['network'], type: ['connection', 'protocol', 'info'] },
  '23': { category: ['file'], type: ['deletion'] },
  '24': { type: ['change'] },
  '25': { category: ['process'], type: ['change'] },
  '26': { category: ['file'], type: ['deletion'] },
});

/** Sysmon manifest task names (task id = event id), what Winlogbeat puts in winlog.task and event.action. */
export const SYSMON_TASKS: Readonly<Record<string, string>> = lookupTable({
  '1': 'Process Create (rule: ProcessCreate)',
  '2': 'File creation time changed (rule: FileCreateTime)',
  '3': 'Network connection detected (rule: NetworkConnect)',
  '4': 'Sysmon service state changed',
  '5': 'Process terminated (rule: ProcessTerminate)',
  '6': 'Driver loaded (rule: DriverLoad)',
  '7': 'Image loaded (rule: ImageLoad)',
  '8': 'CreateRemoteThread detected (rule: CreateRemoteThread)',
  '9': 'RawAccessRead detected (rule: RawAccessRead)',
  '10': 'Process accessed (rule: ProcessAccess)',
  '11': 'File created (rule: FileCreate)',
  '12': 'Registry object added or deleted (rule: RegistryEvent)',
  '13': 'Registry value set (rule: RegistryEvent)',
  '14': 'Registry object renamed (rule: RegistryEvent)',
  '15': 'File stream created (rule: FileCreateStreamHash)',
  '16': 'Sysmon config state changed',
  '17': 'Pipe Created (rule: PipeEvent)',
  '18': 'Pipe Connected (rule: PipeEvent)',
  '19': 'WmiEventFilter activity detected (rule: WmiEvent)',
  '20': 'WmiEventConsumer activity detected (rule: WmiEvent)',
  '21': 'WmiEventConsumerToFilter activity detected (rule: WmiEvent)',
  '22': 'Dns query (rule: DnsQuery)',
  '23': 'File Delete archived (rule: FileDelete)',
  '24': 'Clipboard changed (rule: ClipboardChange)',
  '25': 'Process Tampering (rule: ProcessTampering)',
  '26': 'File Delete logged (rule: FileDeleteDetected)',
  '27': 'File Block Executable (rule: FileBlockExecutable)',
  '28': 'File Block Shredding (rule: FileBlockShredding)',
  '29': 'File Executable Detected (rule: FileExecutableDetected)',
  '255': 'Error report',
});

/** Security-Auditing task ids (audit subcategories) → rendered task name. */
export const SECURITY_TASKS: Readonly<Record<string, string>> = lookupTable({
  '12288': 'Security State Change',
  '12289': 'Security System Extension',
  '12290': 'System Integrity',
  '12291': 'IPsec Driver',
  '12292': 'Other System Events',
  '12544': 'Logon',
  '12545': 'Logoff',
  '12546': 'Account Lockout',
  '12547': 'IPsec Main Mode',
  '12548': 'Special Logon',
  '12549': 'IPsec Quick Mode',
  '12550': 'IPsec Extended Mode',
  '12551': 'Other Logon/Logoff Events',
  '12552': 'Network Policy Server',
  '12553': 'User / Device Claims',
  '12554': 'Group Membership',
  '12800': 'File System',
  '12801': 'Registry',
  '12802': 'Kernel Object',
  '12803': 'SAM',
  '12804': 'Other Object Access Events',
  '12805': 'Certification Services',
  '12806': 'Application Generated',
  '12807': 'Handle Manipulation',
  '12808': 'File Share',
  '12809': 'Filtering Platform Packet Drop',
  '12810': 'Filtering Platform Connection',
  '12811': 'Detailed File Share',
  '12812': 'Removable Storage',
  '12813': 'Central Policy Staging',
  '13056': 'Sensitive Privilege Use',
  '13057': 'Non Sensitive Privilege Use',
  '13058': 'Other Privilege Use Events',
  '13312': 'Process Creation',
  '13313': 'Process Termination',
  '13314': 'DPAPI Activity',
  '13315': 'RPC Events',
  '13316': 'Plug and Play Events',
  '13317': 'Token Right Adjusted Events',
  '13568': 'Audit Policy Change',
  '13569': 'Authentication Policy Change',
  '13570': 'Authorization Policy Change',
  '13571': 'MPSSVC Rule-Level Policy Change',
  '13572': 'Filtering Platform Policy Change',
  '13573': 'Other Policy Change Events',
  '13824': 'User Account Management',
  '13825': 'Computer Account Management',
  '13826': 'Security Group Management',
  '13827': 'Distribution Group Management',
  '13828': 'Application Group Management',
  '13829': 'Other Account Management Events',
  '14080': 'Directory Service Access',
  '14081': 'Directory Service Changes',
  '14082': 'Directory Service Replication',
  '14083': 'Detailed Directory Service Replication',
  '14336': 'Credential Validation',
  '14337': 'Kerberos Service Ticket Operations',
  '14338': 'Other Account Logon Events',
  '14339': 'Kerberos Authentication Service',
});

/**
 * Security event id → categorisation from the system integration's security pipeline
 * (standard.yml). Covers the account, logon, process, service and task events rules use.
 */
export const SECURITY_EVENTS: Readonly<Record<string, Categorization>> = lookupTable({
  '1100': { category: ['process'], type: ['end'], action: 'logging-service-shutdown' },
  '1102': { category: ['iam'], type: ['admin', 'change'], action: 'audit-log-cleared' },
  '1104': { category: ['iam'], type: ['admin'], action: 'logging-full' },
  '4616': { category: ['configuration'], type: ['change'], action: 'system-time-changed' },
  '4624': { category: ['authentication'], type: ['start'], action: 'logged-in' },
  '4625': { category: ['authentication'], type: ['start'], action: 'logon-failed' },
  '4634': { category: ['authentication'], type: ['end'], action: 'logged-out' },
  '4647': { category: ['authentication'], type: ['end'], action: 'logged-out' },
  '4648': { category: ['authentication'], type: ['start'], action: 'logged-in-explicit' },
  '4657': { category: ['registry', 'configuration'], type: ['change'], action: 'registry-value-modified' },
  '4670': { category: ['iam', 'configuration'], type: ['admin', 'change'], action: 'permissions-changed' },
  '4672': { category: ['iam'], type: ['admin'], action: 'logged-in-special' },
  '4673': { category: ['iam'], type: ['admin'], action: 'privileged-service-called' },
  '4674': { category: ['iam'], type: ['admin'], action: 'privileged-operation' },
  '4688': { category: ['process'], type: ['start'], action: 'created-process' },
  '4689': { category: ['process'], type: ['end'], action: 'exited-process' },
  '4697': { category: ['iam', 'configuration'], type: ['admin', 'change'], action: 'service-installed' },
  '4698': { category: ['iam', 'configuration'], type: ['creation', 'admin'], action: 'scheduled-task-created' },
  '4699': { category: ['iam', 'configuration'], type: ['deletion', 'admin'], action: 'scheduled-task-deleted' },
  '4700': { category: ['iam', 'configuration'], type: ['change', 'admin'], action: 'scheduled-task-enabled' },
  '4701': { category: ['iam', 'configuration'], type: ['change', 'admin'], action: 'scheduled-task-disabled' },
  '4702': { category: ['iam', 'configuration'], type: ['change', 'admin'], action: 'scheduled-task-updated' },
  '4719': { category: ['iam', 'configuration'], type: ['admin', 'change'], action: 'changed-audit-config' },
  '4720': { category: ['iam'], type: ['user', 'creation'], action: 'added-user-account' },
  '4722': { category: ['iam'], type: ['user', 'change'], action: 'enabled-user-account' },
  '4723': { category: ['iam'], type: ['user', 'change'], action: 'changed-password' },
  '4724': { category: ['iam'], type: ['user', 'change'], action: 'reset-password' },
  '4725': { category: ['iam'], type: ['user', 'deletion'], action: 'disabled-user-account' },
  '4726': { category: ['iam'], type: ['user', 'deletion'], action: 'deleted-user-account' },
  '4727': { category: ['iam'], type: ['group', 'creation'], action: 'added-group-account' },
  '4728': { category: ['iam'], type: ['group', 'change'], action: 'added-member-to-group' },
  '4729': { category: ['iam'], type: ['group', 'change'], action: 'removed-member-from-group' },
  '4730': { category: ['iam'], type: ['group', 'deletion'], action: 'deleted-group-account' },
  '4731': { category: ['iam'], type: ['group', 'creation'], action: 'added-group-account' },
  '4732': { category: ['iam'], type: ['group', 'change'], action: 'added-member-to-group' },
  '4733': { category: ['iam'], type: ['group', 'change'], action: 'removed-member-from-group' },
  '4734': { category: ['iam'], type: ['group', 'deletion'], action: 'deleted-group-account' },
  '4735': { category: ['iam'], type: ['group', 'change'], action: 'modified-group-account' },
  '4737': { category: ['iam'], type: ['group', 'change'], action: 'modified-group-account' },
  '4738': { category: ['iam'], type: ['user', 'change'], action: 'modified-user-account' },
  '4740': { category: ['iam'], type: ['user', 'change'], action: 'locked-out-user-account' },
  '4741': { category: ['iam'], type: ['creation', 'admin'], action: 'added-computer-account' },
  '4742': { category: ['iam'], type: ['change', 'admin'], action: 'changed-computer-account' },
  '4743': { category: ['iam'], type: ['deletion', 'admin'], action: 'deleted-computer-account' },
  '4754': { category: ['iam'], type: ['group', 'creation'], action: 'added-group-account' },
  '4755': { category: ['iam'], type: ['group', 'change'], action: 'modified-group-account' },
  '4756': { category: ['iam'], type: ['group', 'change'], action: 'added-member-to-group' },
  '4757': { category: ['iam'], type: ['group', 'change'], action: 'removed-member-from-group' },
  '4758': { category: ['iam'], type: ['group', 'deletion'], action: 'deleted-group-account' },
  '4767': { category: ['iam'], type: ['user', 'change'], action: 'unlocked-user-account' },
  '4768': { category: ['authentication'], type: ['start'], action: 'kerberos-authentication-ticket-requested' },
  '4769': { category: ['authentication'], type: ['start'], action: 'kerberos-service-ticket-requested' },
  '4770': { category: ['authentication'], type: ['start'], action: 'kerberos-service-ticket-renewed' },
  '4771': { category: ['authentication'], type: ['start'], action: 'kerberos-preauth-failed' },
  '4776': { category: ['authentication'], type: ['start'], action: 'credential-validated' },
  '4778': { category: ['authentication', 'session'], type: ['start'], action: 'session-reconnected' },
  '4779': { category: ['authentication', 'session'], type: ['end'], action: 'session-disconnected' },
  '4781': { category: ['iam'], type: ['user', 'change'], action: 'renamed-user-account' },
  '4798': { category: ['iam'], type: ['user', 'info'], action: 'group-membership-enumerated' },
  '4799': { category: ['iam'], type: ['group', 'info'], action: 'user-member-enumerated' },
  '5140': { category: ['network', 'file'], type: ['info', 'access'], action: 'network-share-object-accessed' },
  '5145': { category: ['network', 'file'], type: ['info', 'access'], action: 'network-share-object-access-checked' },
});

/** LogonType number → winlog.logon.type. */
export const LOGON_TYPES: Readonly<Record<string, string>> = lookupTable({
  '2': 'Interactive',
  '3': 'Network',
  '4': 'Batch',
  '5': 'Service',
  '7': 'Unlock',
  '8': 'NetworkCleartext',
  '9': 'NewCredentials',
  '10': 'RemoteInteractive',
  '11': 'CachedInteractive',
});

/** NTSTATUS values of 4625/4776 Status and SubStatus → winlog.logon.failure.status / sub_status. */
export const LOGON_FAILURE_STATUS: Readonly<Record<string, string>> = lookupTable({
  '0xc000005e': 'There are currently no logon servers available to service the logon request.',
  '0xc0000064': 'User logon with misspelled or bad user account',
  '0xc000006a': 'User logon with misspelled or bad password',
  '0xc000006d': 'This is either due to a bad username or authentication information',
  '0xc000006e': 'Unknown user name or bad password.',
  '0xc000006f': 'User logon outside authorized hours',
  '0xc0000070': 'User logon from unauthorized workstation',
  '0xc0000071': 'User logon with expired password',
  '0xc0000072': 'User logon to account disabled by administrator',
  '0xc0000133': 'Clocks between DC and other computer too far out of sync',
  '0xc000015b': 'The user has not been granted the requested logon type (aka logon right) at this machine',
  '0xc000018c':
    'The logon request failed because the trust relationship between the primary domain and the trusted domain failed.',
  '0xc0000192': 'An attempt was made to logon, but the Netlogon service was not started.',
  '0xc0000193': 'User logon with expired account',
  '0xc0000224': 'User is required to change password at next logon',
  '0xc0000225': 'Evidently a bug in Windows and not a risk',
  '0xc0000234': 'User logon with account locked',
  '0xc00002ee': 'Failure Reason: An Error occurred during Logon',
  '0xc0000371': 'The local account store does not contain secret material for the specified account',
  '0x0': 'Status OK.',
});

/** 4697 ServiceType → service.type. */
export const SERVICE_TYPES: Readonly<Record<string, string>> = lookupTable({
  '0x1': 'Kernel Driver',
  '0x2': 'File System Driver',
  '0x8': 'Recognizer Driver',
  '0x10': 'Win32 Own Process',
  '0x20': 'Win32 Share Process',
  '0x110': 'Interactive Own Process',
  '0x120': 'Interactive Share Process',
});

/** Sysmon 22 QueryStatus (Win32 / DNS error code) → sysmon.dns.status. The codes seen in practice. */
export const DNS_STATUS: Readonly<Record<string, string>> = lookupTable({
  '0': 'SUCCESS',
  '5': 'ERROR_ACCESS_DENIED',
  '8': 'ERROR_NOT_ENOUGH_MEMORY',
  '13': 'ERROR_INVALID_DATA',
  '14': 'ERROR_OUTOFMEMORY',
  '123': 'ERROR_INVALID_NAME',
  '1214': 'ERROR_INVALID_NETNAME',
  '1223': 'ERROR_CANCELLED',
  '1460': 'ERROR_TIMEOUT',
  '4312': 'ERROR_OBJECT_NOT_FOUND',
  '9001': 'DNS_ERROR_RCODE_FORMAT_ERROR',
  '9002': 'DNS_ERROR_RCODE_SERVER_FAILURE',
  '9003': 'DNS_ERROR_RCODE_NAME_ERROR',
  '9004': 'DNS_ERROR_RCODE_NOT_IMPLEMENTED',
  '9005': 'DNS_ERROR_RCODE_REFUSED',
  '9006': 'DNS_ERROR_RCODE_YXDOMAIN',
  '9007': 'DNS_ERROR_RCODE_YXRRSET',
  '9008': 'DNS_ERROR_RCODE_NXRRSET',
  '9009': 'DNS_ERROR_RCODE_NOTAUTH',
  '9010': 'DNS_ERROR_RCODE_NOTZONE',
  '9016': 'DNS_ERROR_RCODE_BADSIG',
  '9017': 'DNS_ERROR_RCODE_BADKEY',
  '9018': 'DNS_ERROR_RCODE_BADTIME',
  '9501': 'DNS_INFO_NO_RECORDS',
  '9502': 'DNS_ERROR_BAD_PACKET',
  '9503': 'DNS_ERROR_NO_PACKET',
  '9504': 'DNS_ERROR_RCODE',
  '9505': 'DNS_ERROR_UNSECURE_PACKET',
  '9506': 'DNS_REQUEST_PENDING',
  '9551': 'DNS_ERROR_INVALID_TYPE',
  '9552': 'DNS_ERROR_INVALID_IP_ADDRESS',
  '9553': 'DNS_ERROR_INVALID_PROPERTY',
  '9554': 'DNS_ERROR_TRY_AGAIN_LATER',
  '9555': 'DNS_ERROR_NOT_UNIQUE',
  '9556': 'DNS_ERROR_NON_RFC_NAME',
  '9557': 'DNS_STATUS_FQDN',
  '9558': 'DNS_STATUS_DOTTED_NAME',
  '9559': 'DNS_STATUS_SINGLE_PART_NAME',
  '9560': 'DNS_ERROR_INVALID_NAME_CHAR',
  '9561': 'DNS_ERROR_NUMERIC_NAME',
  '9701': 'DNS_ERROR_RECORD_DOES_NOT_EXIST',
  '9714': 'DNS_ERROR_NAME_DOES_NOT_EXIST',
  '9851': 'DNS_ERROR_NO_TCPIP',
  '9852': 'DNS_ERROR_NO_DNS_SERVERS',
  '10054': 'WSAECONNRESET',
  '10055': 'WSAENOBUFS',
  '10060': 'WSAETIMEDOUT',
});

/** DNS record type numbers (Windows dns-constants) → names, for dns.answers[].type. */
export const DNS_RECORD_TYPES: Readonly<Record<string, string>> = lookupTable({
  '1': 'A', '2': 'NS', '3': 'MD', '4': 'MF', '5': 'CNAME', '6': 'SOA', '7': 'MB', '8': 'MG', '9': 'MR',
  '10': 'NULL', '11': 'WKS', '12': 'PTR', '13': 'HINFO', '14': 'MINFO', '15': 'MX', '16': 'TXT', '17': 'RP',
  '18': 'AFSDB', '19': 'X25', '20': 'ISDN', '21': 'RT', '22': 'NSAP', '23': 'NSAPPTR', '24': 'SIG', '25': 'KEY',
  '26': 'PX', '27': 'GPOS', '28': 'AAAA', '29': 'LOC', '30': 'NXT', '31': 'EID', '32': 'NIMLOC', '33': 'SRV',
  '34': 'ATMA', '35': 'NAPTR', '36': 'KX', '37': 'CERT', '38': 'A6', '39': 'DNAME', '40': 'SINK', '41': 'OPT',
  '43': 'DS', '46': 'RRSIG', '47': 'NSEC', '48': 'DNSKEY', '49': 'DHCID', '100': 'UINFO', '101': 'UID',
  '102': 'GID', '103': 'UNSPEC', '248': 'ADDRS', '249': 'TKEY', '250': 'TSIG', '251': 'IXFR', '252': 'AXFR',
  '253': 'MAILB', '254': 'MAILA', '255': 'ANY', '65281': 'WINS', '65282': 'WINSR',
});

/** Registry root names → the short hive names of registry.hive. */
export const REGISTRY_HIVES: Readonly<Record<string, string>> = lookupTable({
  HKEY_CLASSES_ROOT: 'HKCR',
  HKCR: 'HKCR',
  HKEY_CURRENT_CONFIG: 'HKCC',
  HKCC: 'HKCC',
  HKEY_CURRENT_USER: 'HKCU',
  HKCU: 'HKCU',
  HKEY_DYN_DATA: 'HKDD',
  HKDD: 'HKDD',
  HKEY_LOCAL_MACHINE: 'HKLM',
  HKLM: 'HKLM',
  HKEY_PERFORMANCE_DATA: 'HKPD',
  HKPD: 'HKPD',
  HKEY_USERS: 'HKU',
  HKU: 'HKU',
});

/**
 * Well-known SIDs Winlogbeat resolves through LSA for winlog.user (no LSA offline). Only the
 * service accounts that System/Security@UserID carries in practice.
 */
export const WELL_KNOWN_SIDS: Readonly<Record<string, { name: string; domain: string; type: string }>> = lookupTable({
  'S-1-5-18': { name: 'SYSTEM', domain: 'NT AUTHORITY', type: 'Well Known Group' },
  'S-1-5-19': { name: 'LOCAL SERVICE', domain: 'NT AUTHORITY', type: 'Well Known Group' },
  'S-1-5-20': { name: 'NETWORK SERVICE', domain: 'NT AUTHORITY', type: 'Well Known Group' },
});

/** System/Level → rendered level name (log.level), lower case as Winlogbeat writes it. */
export const LEVELS: Readonly<Record<string, string>> = lookupTable({
  '0': 'information',
  '1': 'critical',
  '2': 'error',
  '3': 'warning',
  '4': 'information',
  '5': 'verbose',
});

/** System/Opcode → standard winmeta opcode names (winlog.opcode). */
export const OPCODES: Readonly<Record<string, string>> = lookupTable({
  '0': 'Info',
  '1': 'Start',
  '2': 'Stop',
  '3': 'DCStart',
  '4': 'DCStop',
  '5': 'Extension',
  '6': 'Reply',
  '7': 'Resume',
  '8': 'Suspend',
  '9': 'Send',
  '240': 'Receive',
});

/**
 * Standard (winmeta) keyword bits → rendered names (winlog.keywords). Provider-defined bits (the
 * low 48 bits, and the channel bit 0x8000000000000000) need the manifest and are not rendered.
 */
export const KEYWORD_BITS: ReadonlyArray<readonly [bigint, string]> = [
  [0x1000000000000n, 'Response Time'],
  [0x2000000000000n, 'Wdi Context'],
  [0x4000000000000n, 'Wdi Diag'],
  [0x8000000000000n, 'Sqm'],
  [0x10000000000000n, 'Audit Failure'],
  [0x20000000000000n, 'Audit Success'],
  [0x40000000000000n, 'Correlation Hint'],
  [0x80000000000000n, 'Classic'],
];
