/**
 * An object has one storage alarm. It is kept at the earliest of what needs doing: the next hold
 * or order deadline, the next retention slice, the queue's next tick, and whatever else asks (the
 * history copy's retry). Each time here may be early, never late: an early alarm finds nothing
 * due and sets the next one. Between firings the alarm only ever moves earlier.
 */
export class AlarmSchedule {
  /** Earliest deadline among active holds and pending orders. */
  expiryAt = Infinity;
  /** When retention next has something to delete. */
  retentionAt = Infinity;
  /** When the queue next needs the alarm (admissions expire, the rate budget refills). */
  queueTickAt = Infinity;
  /** When the storage alarm is set for, as far as this instance knows. */
  private alarmAt: number | null = null;

  constructor(private readonly storage: DurableObjectStorage) {}

  /** Read the alarm an earlier instance left. */
  async load(): Promise<void> {
    this.alarmAt = await this.storage.getAlarm();
  }

  /** A hold or an order now has a deadline at this time. */
  deadline(at: number): void {
    if (at < this.expiryAt) this.expiryAt = at;
  }

  /** What this instance believed about deadlines is void (a rollback, or the alarm): rescan. */
  rescanExpiry(): void {
    this.expiryAt = 0;
  }

  /** The alarm fired: it is no longer set. */
  fired(): void {
    this.alarmAt = null;
  }

  /** Set the alarm at the earliest thing that needs doing, if that is earlier than it is set. */
  arm(otherAt = Infinity): void {
    const at = Math.min(this.expiryAt, this.retentionAt, this.queueTickAt, otherAt);
    if (at === Infinity || (this.alarmAt !== null && this.alarmAt <= at)) return;
    this.alarmAt = at;
    this.storage.setAlarm(at).catch(() => (this.alarmAt = null));
  }
}
