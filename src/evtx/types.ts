// Contract between the EVTX reader (src/evtx) and the Windows → ECS mapper (src/events/windows).

/**
 * One record rendered as JSON the way `eqlite convert --raw` prints it: the XML event's
 * System element and its EventData (or UserData) element, with every value rendered as the
 * Windows Event Viewer renders it (strings).
 */
export interface RawWindowsEvent {
  System: {
    Provider: { Name?: string; Guid?: string; EventSourceName?: string };
    EventID: string;
    /** Present when the EventID element carries a Qualifiers attribute. */
    Qualifiers?: string;
    Version?: string;
    Level?: string;
    Task?: string;
    Opcode?: string;
    Keywords?: string;
    /** TimeCreated/@SystemTime, ISO 8601 UTC with 7 fractional digits as Windows renders it. */
    TimeCreated: string;
    EventRecordID: string;
    Correlation?: { ActivityID?: string; RelatedActivityID?: string };
    Execution?: { ProcessID?: string; ThreadID?: string };
    Channel: string;
    Computer: string;
    Security?: { UserID?: string };
  };
  /** Named <Data Name="..."> values; unnamed ones get keys param1, param2, ... */
  EventData?: Record<string, string | string[] | null>;
  /** UserData: the first child element's children as name → value. */
  UserData?: Record<string, unknown>;
}
