// Prometheus metrics (`GET /metrics`). One registry per service instance, so that tests can run
// several services in one process.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly bulkRequests: Counter<'status'>;
  readonly bulkDuration: Histogram;
  readonly eventsReceived: Counter;
  readonly eventsStored: Counter;
  readonly eventsDuplicate: Counter;
  readonly eventsMapped: Counter;
  readonly itemsRejected: Counter<'reason'>;
  readonly eventsDeleted: Counter<'reason'>;
  readonly pending: Gauge;
  readonly storeBytes: Gauge<'store'>;
  readonly storeEvents: Gauge;
  readonly storeAvailable: Gauge;
  readonly ruleRuns: Counter<'status'>;
  readonly ruleRunDuration: Histogram;
  readonly ruleLag: Gauge;
  readonly alertsWritten: Counter<'severity' | 'mode'>;
  readonly gaps: Counter;
  readonly realtimeLatency: Histogram;
  readonly detectionBacklog: Gauge;
  readonly lateEvents: Counter;
  readonly repairRuns: Counter;
  readonly repairPagePeak: Gauge;
  readonly repairSplit: Counter;
  readonly webhookDeliveries: Counter<'webhook' | 'outcome'>;
  readonly rulesLoaded: Gauge<'state'>;
  readonly rulesGeneration: Gauge;
  readonly authFailures: Counter;

  constructor() {
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: 'eqlite_' });
    this.bulkRequests = new Counter({ name: 'eqlite_bulk_requests_total', help: 'Bulk requests by HTTP status', labelNames: ['status'], registers: [r] });
    this.bulkDuration = new Histogram({
      name: 'eqlite_bulk_duration_seconds',
      help: 'Bulk request latency: body received to acknowledgement (stored on disk)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [r],
    });
    this.eventsReceived = new Counter({ name: 'eqlite_events_received_total', help: 'Bulk items received', registers: [r] });
    this.eventsStored = new Counter({ name: 'eqlite_events_stored_total', help: 'Events committed to the event store', registers: [r] });
    this.eventsDuplicate = new Counter({ name: 'eqlite_events_duplicate_total', help: 'Items not stored again because an event with the same index and _id (or content) exists', registers: [r] });
    this.eventsMapped = new Counter({ name: 'eqlite_events_mapped_total', help: 'Raw Windows events mapped to ECS on ingest', registers: [r] });
    this.itemsRejected = new Counter({ name: 'eqlite_bulk_items_rejected_total', help: 'Bulk items answered with a 4xx (malformed line, bad index name, …)', labelNames: ['reason'], registers: [r] });
    this.eventsDeleted = new Counter({ name: 'eqlite_events_deleted_total', help: 'Events deleted by retention', labelNames: ['reason'], registers: [r] });
    this.pending = new Gauge({ name: 'eqlite_ingest_pending_events', help: 'Events accepted and not yet committed', registers: [r] });
    this.storeBytes = new Gauge({ name: 'eqlite_store_bytes', help: 'Bytes in use by each store', labelNames: ['store'], registers: [r] });
    this.storeEvents = new Gauge({ name: 'eqlite_store_events', help: 'Events in the event store (approximate: newest seq - oldest seq + 1)', registers: [r] });
    this.storeAvailable = new Gauge({ name: 'eqlite_store_writable', help: '1 when the event store accepts writes', registers: [r] });
    this.ruleRuns = new Counter({ name: 'eqlite_rule_runs_total', help: 'Scheduled rule runs by outcome', labelNames: ['status'], registers: [r] });
    this.ruleRunDuration = new Histogram({
      name: 'eqlite_rule_run_duration_seconds',
      help: 'Duration of scheduled rule runs',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60],
      registers: [r],
    });
    this.ruleLag = new Gauge({ name: 'eqlite_rule_lag_seconds', help: 'Largest delay of a scheduled run after its due time', registers: [r] });
    this.alertsWritten = new Counter({ name: 'eqlite_alerts_written_total', help: 'Alerts written to the alert store', labelNames: ['severity', 'mode'], registers: [r] });
    this.gaps = new Counter({ name: 'eqlite_rule_gaps_total', help: 'Schedule gaps that could not be caught up', registers: [r] });
    this.realtimeLatency = new Histogram({
      name: 'eqlite_realtime_alert_latency_seconds',
      help: 'Real-time detection (its stream and repair runs): time from the commit of the last event of a match to its alert being written',
      // Tenths of a second up to 1 s, and 0.95: the promise is a p99 under one second, and an
      // alert takes at least the reorder hold (250 ms by default) plus the release's tick, so the
      // quantiles fall between 0.3 and 1 s, where a bucket of a quarter second (0.75 to 1) could
      // not tell a p99 of 0.76 s from one of 0.99 s. Beyond 1 s: how far a miss went.
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1, 1.5, 2, 2.5, 5, 10],
      registers: [r],
    });
    this.detectionBacklog = new Gauge({ name: 'eqlite_detection_backlog_events', help: 'Stored events real-time detection has not processed yet', registers: [r] });
    this.lateEvents = new Counter({ name: 'eqlite_detection_late_events_total', help: 'Real-time detection: events read after a later event had been pushed (beyond the reorder hold)', registers: [r] });
    this.repairRuns = new Counter({ name: 'eqlite_detection_repair_runs_total', help: 'Real-time detection: rule runs over a window read again from the store because of late events', registers: [r] });
    this.repairPagePeak = new Gauge({ name: 'eqlite_detection_repair_page_peak_events', help: 'Real-time detection: the most events a repair run has held read at once (a page of its time-ordered read; [detection] repair_page bounds it)', registers: [r] });
    this.repairSplit = new Counter({ name: 'eqlite_detection_repair_split_events_total', help: 'Real-time detection: events of a millisecond holding more than a repair page, read over several pages (ordered by store position within it, not by sub-millisecond time)', registers: [r] });
    this.webhookDeliveries = new Counter({ name: 'eqlite_webhook_deliveries_total', help: 'Webhook POSTs by outcome', labelNames: ['webhook', 'outcome'], registers: [r] });
    this.rulesLoaded = new Gauge({ name: 'eqlite_rules', help: 'Rules by state', labelNames: ['state'], registers: [r] });
    this.rulesGeneration = new Gauge({ name: 'eqlite_rules_generation', help: 'Generation of the rules running (grows with every rule change, across restarts)', registers: [r] });
    this.authFailures = new Counter({ name: 'eqlite_auth_failures_total', help: 'Requests refused with 401', registers: [r] });
  }
}
