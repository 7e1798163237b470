// Fast ISO 8601 formatting for microsecond epoch times. Consecutive events mostly share the same
// second, so the "YYYY-MM-DDTHH:MM:SS" prefix is cached and only the fraction is rebuilt.

export class TimeFormatter {
  private sec = Number.NaN;
  private prefix = '';

  private prefixOf(us: number): string {
    const sec = Math.floor(us / 1_000_000);
    if (sec !== this.sec) {
      this.sec = sec;
      this.prefix = new Date(sec * 1000).toISOString().slice(0, 19);
    }
    return this.prefix;
  }

  /** `2025-03-10T08:00:01.234567Z` (Elastic Defend keeps sub-millisecond time). */
  micros(us: number): string {
    const frac = us - Math.floor(us / 1_000_000) * 1_000_000;
    return `${this.prefixOf(us)}.${String(frac).padStart(6, '0')}Z`;
  }

  /** `2025-03-10T08:00:01.234Z` (Sysmon UtcTime and Beats timestamps are milliseconds). */
  millis(us: number): string {
    const frac = Math.floor((us - Math.floor(us / 1_000_000) * 1_000_000) / 1000);
    return `${this.prefixOf(us)}.${String(frac).padStart(3, '0')}Z`;
  }

  /** Sysmon's own rendering of UtcTime: `2025-03-10 08:00:01.234`. */
  sysmon(us: number): string {
    const ms = this.millis(us);
    return `${ms.slice(0, 10)} ${ms.slice(11, 23)}`;
  }
}
